// Unit checks of two small parts of the core that the stress driver cannot pin down, run by
// scripts/test-native.sh (`npm run test:native`) under AddressSanitizer + UBSan:
//   - the adaptive spin before parking (SpinBackoff, and Acquire through it): no spin at all
//     when spinning is off; 8 spins that find nothing, then 64 spin-free parks, then one spin
//     per back-off, the back-off doubling up to 4096; a spin that pays starts afresh;
//   - the permit cap (2^31 - 1) of the 32-bit permit cell: Release refuses to pass it, while
//     0->1 edges and give-backs (ReturnPermits) saturate
//     there instead of wrapping; ReturnPermits wakes a parked thread like Release;
//   - the one last try of a timed-out Acquire: a permit released after the wait timed out (in
//     the kAfterTimeout test window, where a release wakes nobody) is taken, exactly once.
// Exits 1 with a message on the first failed check.
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <thread>

#include "waker_core.h"
#include "test_hooks.h"

namespace ww = worker_waker;
using Clock = std::chrono::steady_clock;

namespace {

const char* gCheck = "setup";

#define CHECK(cond, ...)                                      \
  do {                                                        \
    if (!(cond)) {                                            \
      std::fprintf(stderr, "FAIL [%s] ", gCheck);             \
      std::fprintf(stderr, __VA_ARGS__);                      \
      std::fputc('\n', stderr);                               \
      std::exit(1);                                           \
    }                                                         \
  } while (0)

struct State {
  alignas(128) ww::Word words[ww::kStateWords];
  State() { ww::Waker::Format(words); }
  ww::Waker waker() { return ww::Waker(words); }
  // The permit cell, written directly (the layout is public): 2^31 releases would take too long.
  void SetPermits(uint32_t n) {
    reinterpret_cast<ww::Cell*>(words)[ww::kPermitsCell].store(n, std::memory_order_seq_cst);
  }
};

// Runs `body` on a fresh thread: the spin history is per thread, so each check starts afresh.
void OnFreshThread(const std::function<void()>& body) { std::thread(body).join(); }

// One Acquire that finds no permit and times out 100 us later; returns whether it spun first.
bool TimedOutAcquireSpun(ww::Waker& waker) {
  unsigned long before = ww::test_hooks::spins.load();
  Clock::time_point deadline = Clock::now() + std::chrono::microseconds(100);
  ww::WaitResult result = waker.Acquire(&deadline, nullptr);
  CHECK(result == ww::WaitResult::kTimedOut, "Acquire without permits did not time out");
  return ww::test_hooks::spins.load() != before;
}

// ---- SpinBackoff, step by step ---------------------------------------------------------------

// Feeds `backoff` failures only. Expects `spins` spins, then a back-off of `parks` parks.
void ExpectFailedSpinsThenBackoff(ww::SpinBackoff& backoff, unsigned spins, unsigned parks) {
  for (unsigned i = 0; i < spins; ++i) {
    CHECK(backoff.ShouldSpin(), "spin %u of %u before a back-off of %u was refused", i + 1, spins, parks);
    backoff.Record(false);
  }
  for (unsigned i = 0; i < parks; ++i) {
    CHECK(!backoff.ShouldSpin(), "park %u of a back-off of %u spun", i + 1, parks);
  }
}

void SpinBackoffSchedule() {
  gCheck = "SpinBackoff: 8 failures, then back-offs of 64, 128, ... 4096, one spin each";
  ww::SpinBackoff backoff;
  ExpectFailedSpinsThenBackoff(backoff, ww::kSpinFailureLimit, ww::kSpinBackoffMin);
  unsigned parks = ww::kSpinBackoffMin;
  for (int round = 0; round < 9; ++round) {  // 128 ... 4096, then 4096 twice more
    parks = std::min(parks * 2, ww::kSpinBackoffMax);
    ExpectFailedSpinsThenBackoff(backoff, 1, parks);
  }
  CHECK(parks == 4096 && ww::kSpinBackoffMax == 4096, "the back-off did not reach 4096");

  gCheck = "SpinBackoff: a spin that pays starts afresh";
  CHECK(backoff.ShouldSpin(), "no spin after a full back-off");
  backoff.Record(true);
  ExpectFailedSpinsThenBackoff(backoff, ww::kSpinFailureLimit, ww::kSpinBackoffMin);
  ExpectFailedSpinsThenBackoff(backoff, 1, 2 * ww::kSpinBackoffMin);

  gCheck = "SpinBackoff: a success between failures resets the count of failures";
  ww::SpinBackoff mixed;
  for (unsigned i = 0; i + 1 < ww::kSpinFailureLimit; ++i) {
    CHECK(mixed.ShouldSpin(), "spin refused before 8 failures");
    mixed.Record(false);
  }
  CHECK(mixed.ShouldSpin(), "spin refused after 7 failures");
  mixed.Record(true);
  ExpectFailedSpinsThenBackoff(mixed, ww::kSpinFailureLimit, ww::kSpinBackoffMin);
}

// ---- Acquire's spin, counted through the test hook -------------------------------------------

void AcquireSpins() {
  gCheck = "Acquire: no spin at all when spinning is off";
  ww::SetSpinEnabled(false);
  OnFreshThread([] {
    State state;
    ww::Waker waker = state.waker();
    for (int i = 0; i < 20; ++i) CHECK(!TimedOutAcquireSpun(waker), "wait %d spun", i + 1);
  });

  gCheck = "Acquire: 8 spins, 64 spin-free parks, then one spin";
  ww::SetSpinEnabled(true);
  OnFreshThread([] {
    State state;
    ww::Waker waker = state.waker();
    for (unsigned i = 0; i < ww::kSpinFailureLimit; ++i) CHECK(TimedOutAcquireSpun(waker), "wait %u did not spin", i + 1);
    for (unsigned i = 0; i < ww::kSpinBackoffMin; ++i) CHECK(!TimedOutAcquireSpun(waker), "park %u of the back-off spun", i + 1);
    CHECK(TimedOutAcquireSpun(waker), "no spin after the back-off");
    CHECK(!TimedOutAcquireSpun(waker), "a failed spin after a back-off did not back off again");
  });

  gCheck = "Acquire: a spin that finds a permit (released by another thread meanwhile)";
  OnFreshThread([] {
    State state;
    ww::Waker waker = state.waker();
    unsigned long before = ww::test_hooks::spins.load();
    std::thread releaser([&] {
      // Release as soon as the other thread has started its spin (it is not parked then).
      while (ww::test_hooks::spins.load() == before) std::this_thread::yield();
      waker.Release(1);
    });
    Clock::time_point deadline = Clock::now() + std::chrono::seconds(10);
    CHECK(waker.Acquire(&deadline, nullptr) == ww::WaitResult::kAcquired, "no permit within 10 s");
    releaser.join();
    CHECK(static_cast<uint64_t>(waker.Queued()) == 0 && waker.Permits() == 0, "parked %" PRIu64 ", permits %" PRIu64,
          static_cast<uint64_t>(waker.Queued()), waker.Permits());
  });
}

// ---- the permit cap ---------------------------------------------------------------------------

void PermitCap() {
  constexpr uint64_t kCap = ww::kMaxPermits;
  static_assert(ww::kMaxPermits == 0x7fffffff, "the cap is 2^31 - 1");

  gCheck = "Release refuses to pass the cap and changes nothing";
  {
    State state;
    ww::Waker waker = state.waker();
    CHECK(waker.Release(kCap - 1), "Release(cap - 1) refused");
    CHECK(!waker.Release(2), "Release(2) one below the cap accepted");
    CHECK(waker.Permits() == kCap - 1, "permits %" PRIu64 " after a refused release", waker.Permits());
    CHECK(waker.Release(1) && waker.Permits() == kCap, "Release(1) did not reach the cap");
    CHECK(!waker.Release(1) && !waker.Release(uint64_t{1} << 40), "a release past the cap was accepted");
    CHECK(waker.Permits() == kCap, "permits %" PRIu64 " after refused releases", waker.Permits());
    CHECK(waker.TryAcquire() && waker.Permits() == kCap - 1, "TryAcquire at the cap");
  }

  gCheck = "0->1 edges saturate at the cap";
  {
    State state;
    ww::Waker waker = state.waker();
    state.SetPermits(kCap - 3);
    waker.MarkActiveMask(0xff);  // eight new bits, room for three
    CHECK(waker.Permits() == kCap, "permits %" PRIu64 " after 8 edges 3 below the cap", waker.Permits());
    waker.MarkYield();
    waker.MarkTasks();
    waker.MarkActive(40);
    CHECK(waker.Permits() == kCap, "permits %" PRIu64 " after edges at the cap", waker.Permits());
    CHECK(waker.Status() == (ww::kYieldFlag | ww::kPartitionFlag | ww::Bit(40) | 0xff), "status bits lost");
    CHECK(waker.TryAcquire() && waker.Permits() == kCap - 1, "TryAcquire after saturation");
  }

  gCheck = "ReturnPermits saturates instead of failing";
  {
    State state;
    ww::Waker waker = state.waker();
    state.SetPermits(kCap - 1);
    waker.ReturnPermits(2);
    CHECK(waker.Permits() == kCap, "ReturnPermits(2) one below the cap left %" PRIu64, waker.Permits());
    waker.ReturnPermits(5);
    CHECK(waker.Permits() == kCap, "ReturnPermits(5) at the cap left %" PRIu64, waker.Permits());
    state.SetPermits(10);
    waker.ReturnPermits(3);
    CHECK(waker.Permits() == 13, "ReturnPermits(3) on 10 left %" PRIu64, waker.Permits());
  }

  gCheck = "ReturnPermits wakes a parked thread like Release";
  {
    // A long park slice: a lost wakeup would show as the 5 s timeout, not be healed in 20 ms.
    ww::test_hooks::parkSlice = std::chrono::milliseconds(60000);
    ww::SetSpinEnabled(false);
    State state;
    ww::Waker waker = state.waker();
    ww::WaitResult result = ww::WaitResult::kInterrupted;
    std::thread parker([&] {
      Clock::time_point deadline = Clock::now() + std::chrono::seconds(5);
      result = waker.Acquire(&deadline, nullptr);
    });
    Clock::time_point limit = Clock::now() + std::chrono::seconds(5);
    while (static_cast<uint64_t>(waker.Queued()) == 0 && Clock::now() < limit) std::this_thread::sleep_for(std::chrono::microseconds(100));
    CHECK(static_cast<uint64_t>(waker.Queued()) == 1, "the parker did not park");
    waker.ReturnPermits(1);
    parker.join();
    CHECK(result == ww::WaitResult::kAcquired, "the parked thread was not woken by ReturnPermits");
    ww::SetSpinEnabled(true);
    ww::test_hooks::parkSlice = ww::kParkSlice;
  }
}

// ---- the last try after a timeout -------------------------------------------------------------

// Set by LastTryAfterTimeout for one Acquire on this thread: what the kAfterTimeout window does.
std::function<void()> gAfterTimeout;
unsigned gAfterTimeoutCalls = 0;

void AfterTimeoutHook(ww::test_hooks::Window window) {
  if (window != ww::test_hooks::kAfterTimeout) return;
  ++gAfterTimeoutCalls;
  if (gAfterTimeout) gAfterTimeout();
}

void LastTryAfterTimeout() {
  // Single-threaded: the hooks are set and reset here, with no other thread running.
  ww::test_hooks::widen = AfterTimeoutHook;
  for (bool spin : {true, false}) {
    ww::SetSpinEnabled(spin);

    gCheck = "acquireTimeout: a permit released after the timeout is taken by the last try";
    {
      State state;
      ww::Waker waker = state.waker();
      gAfterTimeoutCalls = 0;
      uint64_t released = 0;
      gAfterTimeout = [&] {
        // The waiter has left its queue (queued is 0 again), so this release wakes nobody:
        // only Acquire's own last try can take the permit before it returns.
        CHECK(static_cast<uint64_t>(waker.Queued()) == 0, "parked %" PRIu64 " in the after-timeout window", static_cast<uint64_t>(waker.Queued()));
        CHECK(waker.Release(1), "Release(1) refused");
        ++released;
      };
      Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(2);
      ww::WaitResult result = waker.Acquire(&deadline, nullptr);
      gAfterTimeout = nullptr;
      CHECK(gAfterTimeoutCalls == 1, "the after-timeout window ran %u times, want 1", gAfterTimeoutCalls);
      CHECK(Clock::now() >= deadline, "Acquire returned before its deadline");
      CHECK(result == ww::WaitResult::kAcquired,
            "Acquire timed out with a permit released before it returned (permits %" PRIu64 ")",
            waker.Permits());
      // Conservation: one permit in, one taken, none left; and nobody was notified.
      uint64_t acquired = result == ww::WaitResult::kAcquired ? 1 : 0;
      CHECK(released == acquired + waker.Permits(),
            "released %" PRIu64 " != acquired %" PRIu64 " + left %" PRIu64, released, acquired,
            waker.Permits());
      CHECK(waker.Notifies() == 0, "%" PRIu64 " notifies for a release nobody waited for",
            waker.Notifies());
      CHECK(static_cast<uint64_t>(waker.Queued()) == 0, "parked %" PRIu64 " after Acquire returned", static_cast<uint64_t>(waker.Queued()));
    }

    gCheck = "acquireTimeout: nothing released after the timeout, the last try finds nothing";
    {
      State state;
      ww::Waker waker = state.waker();
      gAfterTimeoutCalls = 0;
      Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(2);
      ww::WaitResult result = waker.Acquire(&deadline, nullptr);
      CHECK(result == ww::WaitResult::kTimedOut, "Acquire without any permit did not time out");
      CHECK(gAfterTimeoutCalls == 1, "the after-timeout window ran %u times, want 1", gAfterTimeoutCalls);
      CHECK(waker.Permits() == 0 && static_cast<uint64_t>(waker.Queued()) == 0, "permits %" PRIu64 ", parked %" PRIu64,
            waker.Permits(), static_cast<uint64_t>(waker.Queued()));
    }

    gCheck = "acquireTimeout: a permit there before the deadline never reaches the window";
    {
      State state;
      ww::Waker waker = state.waker();
      gAfterTimeoutCalls = 0;
      CHECK(waker.Release(1), "Release(1) refused");
      Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(2);
      CHECK(waker.Acquire(&deadline, nullptr) == ww::WaitResult::kAcquired, "the permit was not taken");
      CHECK(gAfterTimeoutCalls == 0, "the after-timeout window ran without a timeout");
      CHECK(waker.Permits() == 0, "permits %" PRIu64 " after taking the only one", waker.Permits());
    }
  }
  ww::SetSpinEnabled(true);
  ww::test_hooks::widen = nullptr;
}

// acquireTimeout's deadline (the binding calls DeadlineAfter with the caller's milliseconds): up
// to kForeverMs a deadline that far ahead, above it none (a wait without end). Run with
// -fsanitize=float-cast-overflow (runs.txt): a conversion of too many milliseconds to the clock's
// int64 nanoseconds is undefined behaviour (with GCC on x86-64, a deadline in the past).
void DeadlineAfterMs() {
  gCheck = "DeadlineAfter: no deadline above kForeverMs, a deadline that far ahead up to it";
  using Clock = std::chrono::steady_clock;
  for (double ms : {9.2e12, 9.3e12, 1e13, 1.5e13, 1e300, HUGE_VAL}) {
    CHECK(!ww::DeadlineAfter(ms).has_value(), "a deadline for %g ms", ms);
  }
  Clock::time_point before = Clock::now();
  for (double ms : {0.0, 1.0, 2.5, 1e9, ww::kForeverMs}) {
    std::optional<Clock::time_point> deadline = ww::DeadlineAfter(ms);
    CHECK(deadline.has_value(), "no deadline for %g ms", ms);
    auto ahead = std::chrono::duration<double, std::milli>(*deadline - before).count();
    CHECK(ahead >= ms && ahead < ms + 60000, "the deadline for %g ms is %g ms ahead", ms, ahead);
  }
}

}  // namespace

int main() {
  DeadlineAfterMs();
  SpinBackoffSchedule();
  AcquireSpins();
  PermitCap();
  LastTryAfterTimeout();
  std::printf("core unit checks: all passed\n");
  return 0;
}
