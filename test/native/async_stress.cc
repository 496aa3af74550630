// Native stress driver for AsyncWaiter (the acquireAsync waiter thread, native/async_waiter.*),
// without Node. Built and run under ThreadSanitizer and under AddressSanitizer + UBSan by
// scripts/test-native.sh (`npm run test:native`); exits 1 on the first broken invariant.
//
//   async_stress [--seconds S] [--seed N] [--only NAME]
//
// S is the time budget of the randomized scenarios (default 3); "retire" adds about 2.5 s of
// fixed waits (the waiter's 1 s linger, twice). --only runs one scenario of this driver; a name
// that is not one of ours (the script passes the same flags to the core's driver) runs none.
//
// A fake "JS thread" (the main thread here) plays lib/acquire-async.ts: it keeps a FIFO count of
// pending calls, adds demand, cancels, and takes grants when the sink was notified, as the
// thread-safe function would make it. Producer threads release permits. Every scenario checks
// conservation: permits released == permits the JS thread received + permits left.
//
// Every wait is bounded: a watchdog thread prints the scenario and ends the process if one runs
// past its deadline, so a deadlock fails in seconds instead of hanging CI. Other failures stop
// and join every thread before they report (a joinable std::thread must never be destroyed).
//
// The core is built with WORKER_WAKER_TEST_HOOKS: the driver widens the window between a
// parking thread's last check and its wait. The park slice stays 20 ms, because the waiter
// notices cancels and stop requests between slices.
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "async_waiter.h"
#include "driver_args.h"
#include "test_hooks.h"
#include "waker_core.h"

namespace ww = worker_waker;
using Clock = std::chrono::steady_clock;
using std::chrono::microseconds;
using std::chrono::milliseconds;

namespace {

uint64_t gSeed = 1;
thread_local std::mt19937_64 tRandom{0};
// Relaxed (see SeedThread): each thread only needs a distinct salt; nothing else is ordered by it.
std::atomic<uint64_t> gThreadSalt{1};

// Each thread draws from its own generator, seeded from --seed (the schedule still varies
// from run to run: threads interleave as the OS decides).
void SeedThread() {
  tRandom.seed(gSeed * 0x9e3779b97f4a7c15ULL + gThreadSalt.fetch_add(1, std::memory_order_relaxed));
}
uint64_t Rand(uint64_t bound) { return tRandom() % bound; }  // [0, bound)

void Widen(ww::test_hooks::Window) {
  // Mostly a yield, sometimes a sleep: a release then often lands between the waiter's last
  // check and its wait, the window the parking handshake must close.
  if (Rand(4) == 0) {
    std::this_thread::sleep_for(microseconds(Rand(50)));
  } else {
    std::this_thread::yield();
  }
}

// Ends the process if the current scenario runs past its deadline (a deadlock or a lost
// wakeup): the threads are stuck, so there is nothing to join.
class Watchdog {
 public:
  Watchdog() : thread_([this] { Run(); }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      quit_ = true;
    }
    changed_.notify_one();
    thread_.join();
  }
  void Arm(const char* scenario, Clock::duration limit) {
    std::lock_guard<std::mutex> lock(mutex_);
    scenario_ = scenario;
    deadline_ = Clock::now() + limit;
    armed_ = true;
    changed_.notify_one();
  }
  void Disarm() {
    std::lock_guard<std::mutex> lock(mutex_);
    armed_ = false;
    changed_.notify_one();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!quit_) {
      if (!armed_) {
        changed_.wait(lock);
        continue;
      }
      Clock::time_point deadline = deadline_;
      if (changed_.wait_until(lock, deadline) == std::cv_status::timeout && armed_ && deadline_ == deadline) {
        std::fprintf(stderr, "FAIL [%s] watchdog: still running past its deadline (seed %" PRIu64 ")\n",
                     scenario_, gSeed);
        std::fflush(stderr);
        std::_Exit(1);
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  const char* scenario_ = "";
  Clock::time_point deadline_;
  bool armed_ = false;
  bool quit_ = false;
  std::thread thread_;  // last: starts after the fields it reads are set
};

// Stands in for the thread-safe function: Notify() flags the fake JS thread; `gone` plays an
// environment that is shutting down (napi_call_threadsafe_function returns napi_closing).
struct FakeSink : ww::AsyncWaiter::Sink {
  std::mutex mutex;
  std::condition_variable notified;
  bool pending = false;
  std::atomic<bool> gone{false};
  std::atomic<int> refused{0};  // Notify() calls answered false
  std::atomic<int> retired{0};

  bool Notify() override {
    if (gone.load()) {
      refused.fetch_add(1);
      return false;
    }
    std::lock_guard<std::mutex> lock(mutex);
    pending = true;
    notified.notify_one();
    return true;
  }
  void Retired() override { retired.fetch_add(1); }

  // The JS thread: waits up to `limit` for a notification; true (and cleared) if there was one.
  bool WaitNotified(microseconds limit) {
    std::unique_lock<std::mutex> lock(mutex);
    notified.wait_for(lock, limit, [this] { return pending; });
    return std::exchange(pending, false);
  }
};

// A fresh state (aligned like a SharedArrayBuffer's contents) and the counts to check on it.
struct State {
  alignas(128) ww::Word words[ww::kStateWords];
  State() { ww::Waker::Format(words); }
};

// Producers: release 1-3 permits at random moments while fewer than 2 wait (so that permits
// meet pending calls and their cancels instead of piling up), until stopped.
class Producers {
 public:
  Producers(ww::Word* words, int count) {
    for (int i = 0; i < count; ++i) {
      threads_.emplace_back([this, words] {
        SeedThread();
        ww::Waker waker(words);
        while (!stop_.load()) {
          uint64_t n = 1 + Rand(3);
          if (waker.Permits() < 2 && waker.Release(n)) released_.fetch_add(n);
          std::this_thread::sleep_for(microseconds(Rand(200)));
        }
      });
    }
  }
  ~Producers() { StopAndJoin(); }
  uint64_t StopAndJoin() {
    stop_.store(true);
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
    return released_.load();
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> released_{0};
  std::vector<std::thread> threads_;
};

// What the fake JS thread saw. q: its pending calls; taken: grants it received (TakeReady);
// fast: permits taken on the fast path.
struct JsSide {
  uint64_t q = 0;
  uint64_t taken = 0;
  uint64_t fast = 0;
  uint64_t cancels = 0;
  std::string failure;  // the first broken invariant, if any

  // One step of random JS activity: a new call, a cancel, or a wait for grants.
  void Step(ww::AsyncWaiter& waiter, FakeSink& sink) {
    uint64_t op = Rand(10);
    if (op < 4 || q < 4) {
      if (q == 0 && waiter.TryTakeNow()) {
        ++fast;
      } else if (!waiter.AddDemand()) {
        failure = "AddDemand refused while the waiter should be running";
      } else {
        ++q;
      }
    } else if (op < 6) {
      waiter.Cancel();
      --q;
      ++cancels;
    } else if (sink.WaitNotified(microseconds(300))) {
      TakeGrants(waiter);
    }
  }

  void TakeGrants(ww::AsyncWaiter& waiter) {
    uint64_t n = waiter.TakeReady();
    if (n > q) {
      failure = "grants " + std::to_string(n) + " > pending calls " + std::to_string(q);
      return;
    }
    q -= n;
    taken += n;
  }
};

// Conservation once every thread is joined: what was released was received or is left.
std::string CheckConservation(const char* what, uint64_t released, const JsSide& js, ww::Waker& waker) {
  uint64_t left = waker.Permits();
  if (js.taken + js.fast + left == released) return "";
  char line[256];
  std::snprintf(line, sizeof line, "%s: taken %" PRIu64 " + fast %" PRIu64 " + left %" PRIu64 " != released %" PRIu64,
                what, js.taken, js.fast, left, released);
  return line;
}

// ---- scenarios ------------------------------------------------------------------------------
// Each returns the first broken invariant, or "" when all held.

// Random calls, cancels and grants against two producers, in rounds of ~300 ms, alternating the
// spin before parking on and off.
std::string RandomScenario(Clock::duration budget) {
  Clock::time_point end = Clock::now() + budget;
  for (int round = 0; round == 0 || Clock::now() < end; ++round) {
    ww::SetSpinEnabled(round % 2 == 0);
    State state;
    ww::Waker waker(state.words);
    FakeSink sink;
    ww::AsyncWaiter waiter(state.words, &sink);
    if (!waiter.Start()) return "no waiter thread could be started";
    JsSide js;
    uint64_t released;
    {
      Producers producers(state.words, 2);
      Clock::time_point roundEnd = Clock::now() + milliseconds(300);
      while (Clock::now() < roundEnd && js.failure.empty()) js.Step(waiter, sink);
      // Drain as a JS thread would: every pending call gives up.
      while (js.q > 0) {
        waiter.Cancel();
        --js.q;
      }
      released = producers.StopAndJoin();
    }
    waiter.Stop();  // joins; gives back grants that were notified but never taken
    ww::SetSpinEnabled(true);
    if (!js.failure.empty()) return "round " + std::to_string(round) + ": " + js.failure;
    std::string broken = CheckConservation(("round " + std::to_string(round)).c_str(), released, js, waker);
    if (!broken.empty()) return broken;
    if (ww::AsyncWaiter::RunningThreads(state.words) != 0) return "a waiter thread left after Stop()";
    std::printf("  round %d: released %" PRIu64 ", taken %" PRIu64 ", fast %" PRIu64 ", cancels %" PRIu64 "\n",
                round, released, js.taken, js.fast, js.cancels);
  }
  return "";
}

// The environment goes away while calls are pending (Notify() answers false): the waiter gives
// back what it took, refuses new demand and exits by itself; Stop() then only joins.
std::string EnvGoneScenario(Clock::duration budget) {
  Clock::time_point end = Clock::now() + budget;
  for (int round = 0; round == 0 || Clock::now() < end; ++round) {
    State state;
    ww::Waker waker(state.words);
    FakeSink sink;
    ww::AsyncWaiter waiter(state.words, &sink);
    if (!waiter.Start()) return "no waiter thread could be started";
    JsSide js;
    uint64_t released;
    {
      Producers producers(state.words, 2);
      // Normal traffic for a random while (at least one grant), then the environment goes.
      Clock::time_point goneAt = Clock::now() + microseconds(Rand(50'000));
      while (js.failure.empty() && (Clock::now() < goneAt || js.taken == 0)) js.Step(waiter, sink);
      sink.gone.store(true);
      // The last hand-over that ran before the environment closed: it clears the outstanding
      // notification, so the waiter's next grant meets the closed sink. Calls stay pending, so
      // the waiter keeps taking permits for them.
      js.TakeGrants(waiter);
      if (js.q == 0 && waiter.AddDemand()) ++js.q;
      // From now on no JS runs. The waiter must notice (Notify false) and exit by itself; the
      // watchdog bounds this wait.
      while (js.failure.empty() && ww::AsyncWaiter::RunningThreads(state.words) != 0) {
        std::this_thread::sleep_for(microseconds(200));
      }
      released = producers.StopAndJoin();
    }
    if (js.failure.empty() && waiter.AddDemand()) js.failure = "AddDemand accepted after the environment went";
    waiter.Stop();
    if (!js.failure.empty()) return "round " + std::to_string(round) + ": " + js.failure;
    if (sink.refused.load() != 1) return "Notify() refused " + std::to_string(sink.refused.load()) + " times, not once";
    if (sink.retired.load() != 0) return "the waiter retired instead of stopping";
    std::string broken = CheckConservation(("round " + std::to_string(round)).c_str(), released, js, waker);
    if (!broken.empty()) return broken;
    if (round < 3 || Clock::now() >= end) {
      std::printf("  round %d: released %" PRIu64 ", taken %" PRIu64 ", fast %" PRIu64 ", %" PRIu64 " pending when it went\n",
                  round, released, js.taken, js.fast, js.q);
    }
  }
  return "";
}

// Retirement: never while a grant is in flight (its call still counts on this waiter), then
// after kLinger without demand; a retired waiter refuses demand.
std::string RetireScenario(Clock::duration) {
  State state;
  ww::Waker waker(state.words);
  FakeSink sink;
  ww::AsyncWaiter waiter(state.words, &sink);
  if (!waiter.Start()) return "no waiter thread could be started";
  JsSide js;
  std::string failure;
  auto check = [&](bool ok, const char* what) {
    if (!ok && failure.empty()) failure = what;
  };
  check(waiter.AddDemand(), "AddDemand refused by a fresh waiter");
  js.q = 1;
  waker.Release(1);
  check(sink.WaitNotified(std::chrono::seconds(5)), "no grant within 5 s");
  // The grant is in flight and the JS thread is busy for longer than the linger.
  std::this_thread::sleep_for(ww::AsyncWaiter::kLinger + milliseconds(300));
  check(sink.retired.load() == 0, "retired with a grant in flight");
  check(waiter.AddDemand(), "refused demand with a grant in flight");
  js.q = 2;
  js.TakeGrants(waiter);
  check(js.taken == 1 && js.q == 1, "the grant did not reach the JS thread");
  waiter.Cancel();  // the second call gives up: nothing in flight, no demand
  js.q = 0;
  std::this_thread::sleep_for(ww::AsyncWaiter::kLinger + milliseconds(300));
  check(sink.retired.load() == 1, "did not retire after the linger without demand");
  check(!waiter.AddDemand(), "a retired waiter accepted demand");
  waiter.Stop();
  check(ww::AsyncWaiter::RunningThreads(state.words) == 0, "a waiter thread left after Stop()");
  if (failure.empty()) failure = CheckConservation("retire", 1, js, waker);
  return failure;
}

struct Scenario {
  const char* name;
  double share;  // of --seconds
  std::string (*run)(Clock::duration);
};

const Scenario kScenarios[] = {
    {"async-random", 0.6, RandomScenario},
    {"async-env-gone", 0.4, EnvGoneScenario},
    {"async-retire", 0.0, RetireScenario},
};

}  // namespace

int main(int argc, char** argv) {
  ww::test_driver::Args args;
  if (!ww::test_driver::ParseArgs(argc, argv, &args)) return 2;
  const double seconds = args.seconds;
  const char* const only = args.only;
  gSeed = args.seed;
  std::printf("worker-waker acquireAsync waiter stress: %.1f s, seed %" PRIu64 "\n", seconds, gSeed);
  std::fflush(stdout);
  SeedThread();
  ww::test_hooks::widen = Widen;

  int failed = 0;
  {
    Watchdog watchdog;
    for (const Scenario& s : kScenarios) {
      if (only != nullptr && std::strcmp(only, s.name) != 0) continue;
      auto budget = std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(seconds * (only != nullptr ? 1.0 : s.share)));
      // Generous: sanitizers slow everything down, and the machine may be busy. A deadlock
      // still fails within a minute or so.
      watchdog.Arm(s.name, budget * 4 + std::chrono::seconds(30));
      std::printf("%s\n", s.name);
      std::fflush(stdout);
      Clock::time_point start = Clock::now();
      std::string broken = s.run(budget);
      watchdog.Disarm();
      if (!broken.empty()) {
        std::fprintf(stderr, "FAIL [%s] %s (seed %" PRIu64 ")\n", s.name, broken.c_str(), gSeed);
        failed = 1;
        break;
      }
      std::printf("  ok (%.2f s)\n", std::chrono::duration<double>(Clock::now() - start).count());
      std::fflush(stdout);
    }
  }
  ww::test_hooks::widen = nullptr;
  if (failed) return 1;
  if (ww::AsyncWaiter::RunningThreads(nullptr) != 0) {
    std::fprintf(stderr, "FAIL waiter threads left at the end\n");
    return 1;
  }
  if (only != nullptr) {
    std::printf("acquireAsync waiter: done (--only %s)\n", only);
  } else {
    std::printf("acquireAsync waiter: all invariants held\n");
  }
  return 0;
}
