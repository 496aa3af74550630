// Native stress driver for the wait queue (native/core/wait_queue.*) without Node: blocked waiters
// (Waker::Acquire on std::threads) and async waiters (an AsyncHost driven by a fake "JS thread"
// that plays lib/acquire-async.ts and the thread-safe function) in one FIFO, raced by releases,
// 0->1 edges, non-queued takers, cancels (timeouts and aborts), deliveries cut short (a thread
// terminated mid-hand-out), interrupted blocked waiters (a thread going away after its grant)
// and host teardown. Built and run under ThreadSanitizer and under AddressSanitizer + UBSan by
// scripts/test-native.sh (`npm run test:native`), once with the OS address wait and once with the
// condition-variable fallback; exits 1 on the first broken invariant.
//
//   wait_queue_stress [--seconds S] [--seed N] [--only NAME]
//
// S is the time budget of the randomized scenarios (default 3). --only runs one scenario of this
// driver; a name that is not one of ours (the script passes the same flags to the core's
// driver) runs none.
//
// Every scenario checks exact conservation: permits created (releases, edges) == permits taken
// (blocked acquires, async calls handed to a promise, non-queued takers) + permits left in the
// cell, and no waiter or queue left behind.
//
// Every wait is bounded: a watchdog thread prints the scenario and ends the process if one runs
// past its deadline, so a deadlock fails in seconds instead of hanging CI.
//
// The core is built with WORKER_WAKER_TEST_HOOKS: the driver widens the window between a
// waiter's last check and its sleep.
#include <atomic>
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "wait_queue.h"
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
  // check and its sleep, the window the queue's handshake must close.
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

// Stands in for the thread-safe function: Signal() wakes the fake JS thread. CallEnded counts
// the calls whose nodes were freed (every call the loop queued must end exactly once).
class FakeLoop : public ww::GrantSink {
 public:
  void CallEnded(ww::Word*) override { ++ended; }
  uint64_t ended = 0;  // the fake JS thread's own counter

  void Signal() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      signalled_ = true;
    }
    changed_.notify_one();
  }
  // True when a Signal() came (within `limit`); re-arms.
  bool Wait(Clock::duration limit) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, limit, [this] { return signalled_; });
    return std::exchange(signalled_, false);
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool signalled_ = false;
};

struct State {
  alignas(128) ww::Word words[ww::kStateWords];
  State() { ww::Waker::Format(words); }
  ww::Waker waker() { return ww::Waker(words); }
};

std::string gFailure;
std::mutex gFailureMutex;
void Fail(const std::string& what) {
  std::lock_guard<std::mutex> lock(gFailureMutex);
  if (gFailure.empty()) gFailure = what;
}

// Permits created, taken and left, all threads together. Relaxed counters: read after the
// threads that count are joined.
struct Tally {
  std::atomic<uint64_t> created{0};
  std::atomic<uint64_t> blockedTaken{0};
  std::atomic<uint64_t> asyncTaken{0};
  std::atomic<uint64_t> otherTaken{0};
  void Add(std::atomic<uint64_t>& counter, uint64_t n) { counter.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Get(const std::atomic<uint64_t>& counter) const { return counter.load(std::memory_order_relaxed); }
};

// Releases, 0->1 edges of the producer's own bit (so each MarkActive after TryUnmark adds exactly
// one permit) and non-queued takes, until `stop`.
// `stop` is read relaxed everywhere: it only ends the loops, and the driver joins the threads
// before it reads anything they wrote.
void Produce(State& state, Tally& tally, unsigned bit, const std::atomic<bool>& stop) {
  SeedThread();
  ww::Waker waker = state.waker();
  while (!stop.load(std::memory_order_relaxed)) {
    uint64_t roll = Rand(10);
    if (roll < 6) {
      uint64_t n = 1 + Rand(3);
      if (waker.Release(n)) tally.Add(tally.created, n);
    } else if (roll < 8) {
      waker.TryUnmark(bit);
      waker.MarkActive(bit);
      tally.Add(tally.created, 1);
    } else if (roll < 9) {
      if (waker.TryAcquire()) tally.Add(tally.otherTaken, 1);
    } else {
      std::this_thread::sleep_for(microseconds(Rand(200)));
    }
  }
}

// A blocked waiter: acquires with random deadlines until `stop` (its interrupt probe). With
// `dying`, the probe also says "going away" now and then, so a granted permit must be passed on.
void Block(State& state, Tally& tally, const std::atomic<bool>& stop, bool dying) {
  SeedThread();
  ww::Waker waker = state.waker();
  std::function<bool()> interrupted = [&] { return stop.load(std::memory_order_relaxed) || (dying && Rand(3) == 0); };
  while (!stop.load(std::memory_order_relaxed)) {
    Clock::time_point deadline = Clock::now() + microseconds(Rand(3000));
    bool timed = Rand(3) != 0;
    if (waker.Acquire(timed ? &deadline : nullptr, interrupted) == ww::WaitResult::kAcquired) {
      tally.Add(tally.blockedTaken, 1);
    }
  }
}

// The fake JS thread: keeps up to 16 calls pending, cancels some (timeouts, aborts; share
// `cancelOdds` in 16), takes grants when signalled and hands them out, sometimes cut short (a
// terminated thread) and sometimes with calls of the batch cancelled first (an abort listener
// run during the hand-out), polls, and now and then tears the host down and starts a new one.
void RunLoop(State& state, Tally& tally, const std::atomic<bool>& stop, uint64_t cancelOdds) {
  SeedThread();
  FakeLoop loop;
  auto host = std::make_unique<ww::AsyncHost>(&loop);
  std::vector<uint64_t> pending;
  uint64_t queued = 0;
  auto forget = [&](uint64_t id) {
    auto found = std::find(pending.begin(), pending.end(), id);
    if (found != pending.end()) pending.erase(found);
  };
  while (!stop.load(std::memory_order_relaxed)) {
    while (pending.size() < 16) {
      uint64_t id = 0;
      switch (host->Acquire(state.words, Rand(8) != 0, 0, &id)) {
        case ww::AsyncHost::Start::kTaken: tally.Add(tally.asyncTaken, 1); break;
        case ww::AsyncHost::Start::kNotTaken: break;
        case ww::AsyncHost::Start::kQueued:
          pending.push_back(id);
          ++queued;
          break;
      }
    }
    if (Rand(16) < cancelOdds && !pending.empty()) {
      uint64_t id = pending[Rand(pending.size())];
      host->Cancel(id);
      forget(id);
    }
    if (loop.Wait(microseconds(Rand(300)))) {
      std::vector<ww::WaitNode*> batch;
      host->TakeReady(1 + Rand(8), &batch);
      std::vector<bool> cancelled(batch.size(), false);
      if (!batch.empty() && Rand(4) == 0) {
        size_t j = Rand(batch.size());
        host->Cancel(batch[j]->id);
        cancelled[j] = true;
      }
      size_t delivered = Rand(5) == 0 ? Rand(batch.size() + 1) : batch.size();
      for (size_t i = 0; i < batch.size(); ++i) {
        if (i < delivered && !cancelled[i]) tally.Add(tally.asyncTaken, 1);
        forget(batch[i]->id);  // delivered, or given back by Finish (a call that never settles)
      }
      host->Finish(batch, delivered);
    }
    if (Rand(32) == 0) host->Poll();
    if (Rand(512) == 0) {
      host->Shutdown();  // teardown racing the producers' grants
      if (host->Pending() != 0) Fail("calls left after Shutdown");
      host = std::make_unique<ww::AsyncHost>(&loop);
      pending.clear();
    }
  }
  host->Shutdown();
  if (loop.ended != queued) Fail("a queued call's node was not freed exactly once (CallEnded)");
}

bool Settled(State& state, Tally& tally, const char* what) {
  ww::Waker waker = state.waker();
  uint64_t out = tally.Get(tally.blockedTaken) + tally.Get(tally.asyncTaken) + tally.Get(tally.otherTaken) + waker.Permits();
  char line[256];
  if (out != tally.Get(tally.created)) {
    std::snprintf(line, sizeof line,
                  "%s: created %" PRIu64 " != blocked %" PRIu64 " + async %" PRIu64 " + other %" PRIu64 " + left %" PRIu64,
                  what, tally.Get(tally.created), tally.Get(tally.blockedTaken), tally.Get(tally.asyncTaken),
                  tally.Get(tally.otherTaken), waker.Permits());
    Fail(line);
    return false;
  }
  if (waker.Queued() != 0 || ww::wait_queue::QueueCount() != 0) {
    std::snprintf(line, sizeof line, "%s: %u queued, %zu queues left", what, waker.Queued(), ww::wait_queue::QueueCount());
    Fail(line);
    return false;
  }
  std::printf("  created %" PRIu64 ": blocked %" PRIu64 ", async %" PRIu64 ", non-queued %" PRIu64 ", left %" PRIu64 "\n",
              tally.Get(tally.created), tally.Get(tally.blockedTaken), tally.Get(tally.asyncTaken),
              tally.Get(tally.otherTaken), waker.Permits());
  return true;
}

// Another thread overwrites the queued cell (0, all ones, 2^31, random) until `stop`: releases
// then skip or make needless dispatches, and waiters count themselves from garbage. Permits must
// still reach the waiters (their safety net) and none may be lost. Stored as the core stores it.
void Scribble(State& state, const std::atomic<bool>& stop) {
  SeedThread();
  ww::Cell& queued = reinterpret_cast<ww::Cell*>(state.words)[ww::kQueuedCell];
  const uint32_t values[] = {0, 0xffffffffu, 0x80000000u, 1};
  while (!stop.load(std::memory_order_relaxed)) {
    queued.store(Rand(5) == 4 ? static_cast<uint32_t>(tRandom()) : values[Rand(4)], std::memory_order_seq_cst);
    std::this_thread::sleep_for(microseconds(Rand(100)));
  }
}

// Blocked and async waiters, producers, non-queued takers, cancels at rate `cancelOdds` / 16;
// with `scribble`, the queued cell is overwritten while the producers run (reset to 0 once every
// waiter has left, so that the leftover check sees only what the queue itself left).
void Mixed(Clock::duration budget, uint64_t cancelOdds, const char* what, bool scribble = false) {
  State state;
  Tally tally;
  std::atomic<bool> stopProducers{false};
  std::atomic<bool> stopWaiters{false};
  std::vector<std::thread> threads;
  for (unsigned p = 0; p < 2; ++p) threads.emplace_back(Produce, std::ref(state), std::ref(tally), p, std::cref(stopProducers));
  if (scribble) threads.emplace_back(Scribble, std::ref(state), std::cref(stopProducers));
  std::vector<std::thread> waiters;
  for (int b = 0; b < 3; ++b) waiters.emplace_back(Block, std::ref(state), std::ref(tally), std::cref(stopWaiters), b == 2);
  waiters.emplace_back(RunLoop, std::ref(state), std::ref(tally), std::cref(stopWaiters), cancelOdds);
  std::this_thread::sleep_for(budget);
  stopProducers.store(true, std::memory_order_relaxed);
  for (auto& t : threads) t.join();
  stopWaiters.store(true, std::memory_order_relaxed);
  for (auto& t : waiters) t.join();
  if (scribble) reinterpret_cast<ww::Cell*>(state.words)[ww::kQueuedCell].store(0, std::memory_order_seq_cst);
  Settled(state, tally, what);
}

// FIFO across both kinds: async, blocked, async, blocked, async, blocked join in that order; six
// releases of one permit serve them in that order, and a TryAcquire right after each release
// finds nothing (the bound for non-queued takers: a release that starts after a waiter is
// queued goes to the queue).
void Fifo() {
  State state;
  ww::Waker waker = state.waker();
  FakeLoop loop;
  ww::AsyncHost host(&loop);
  std::mutex servedMutex;
  std::vector<int> served;
  std::vector<std::thread> blocked;
  std::vector<uint64_t> asyncIds(6, 0);
  for (int i = 0; i < 6; ++i) {
    if (i % 2 == 0) {
      host.Acquire(state.words, true, 0, &asyncIds[i]);
    } else {
      blocked.emplace_back([&, i] {
        Clock::time_point deadline = Clock::now() + std::chrono::seconds(5);
        if (state.waker().Acquire(&deadline, nullptr) == ww::WaitResult::kAcquired) {
          std::lock_guard<std::mutex> lock(servedMutex);
          served.push_back(i);
        }
      });
    }
    Clock::time_point limit = Clock::now() + std::chrono::seconds(5);
    while (waker.Queued() != static_cast<uint32_t>(i + 1) && Clock::now() < limit) std::this_thread::yield();
  }
  bool overtaken = false;
  for (int i = 0; i < 6; ++i) {
    waker.Release(1);
    if (waker.TryAcquire()) overtaken = true;
    Clock::time_point limit = Clock::now() + std::chrono::seconds(5);
    for (;;) {
      if (loop.Wait(milliseconds(1))) {
        std::vector<ww::WaitNode*> batch;
        host.TakeReady(16, &batch);
        for (ww::WaitNode* node : batch) {
          for (int k = 0; k < 6; ++k) {
            if (asyncIds[k] == node->id) {
              std::lock_guard<std::mutex> lock(servedMutex);
              served.push_back(k);
            }
          }
        }
        host.Finish(batch, batch.size());
      }
      std::lock_guard<std::mutex> lock(servedMutex);
      if (served.size() == static_cast<size_t>(i + 1) || Clock::now() > limit) break;
    }
  }
  for (auto& t : blocked) t.join();
  if (served != std::vector<int>{0, 1, 2, 3, 4, 5}) Fail("fifo: served out of order");
  if (overtaken) Fail("fifo: a TryAcquire after a release overtook a queued waiter");
  if (waker.Permits() != 0 || waker.Queued() != 0) Fail("fifo: permits or waiters left");
}

struct Scenario {
  const char* name;
  std::function<void(Clock::duration)> run;
  double share;  // of the time budget
};

}  // namespace

int main(int argc, char** argv) {
  ww::test_driver::Args args;
  if (!ww::test_driver::ParseArgs(argc, argv, &args)) return 2;
  gSeed = args.seed;
  SeedThread();
  std::printf("wait queue stress: seed %" PRIu64 ", %.1f s\n", gSeed, args.seconds);
  ww::test_hooks::widen = Widen;
  const Scenario scenarios[] = {
      {"queue-mixed", [](Clock::duration b) { Mixed(b, 4, "queue-mixed"); }, 0.4},
      {"queue-abort-storm", [](Clock::duration b) { Mixed(b, 12, "queue-abort-storm"); }, 0.35},
      {"queue-fifo", [](Clock::duration) { Fifo(); }, 0.1},
      {"queue-scribbled-cell", [](Clock::duration b) { Mixed(b, 4, "queue-scribbled-cell", true); }, 0.15},
  };
  Watchdog watchdog;
  for (const Scenario& s : scenarios) {
    if (args.only != nullptr && std::strcmp(args.only, s.name) != 0) continue;
    for (bool spin : {true, false}) {
      ww::SetSpinEnabled(spin);
      double share = (args.only != nullptr ? 1.0 : s.share) / 2;
      auto budget = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(args.seconds * share));
      watchdog.Arm(s.name, budget + std::chrono::seconds(30));
      Clock::time_point start = Clock::now();
      std::printf("%s (spin %s)\n", s.name, spin ? "on" : "off");
      std::fflush(stdout);
      s.run(budget);
      watchdog.Disarm();
      if (!gFailure.empty()) {
        std::fprintf(stderr, "FAIL [%s] %s (seed %" PRIu64 ")\n", s.name, gFailure.c_str(), gSeed);
        return 1;
      }
      std::printf("  ok (%.2f s)\n", std::chrono::duration<double>(Clock::now() - start).count());
      std::fflush(stdout);
    }
  }
  ww::SetSpinEnabled(true);
  ww::test_hooks::widen = nullptr;
  std::printf("all invariants held\n");
  return 0;
}
