// Native stress driver for the WorkerWaker core (no Node): hammers native/core/waker_core.* and
// native/core/wait_queue.* from several std::threads and checks what must hold once they settle.
// Built and run under ThreadSanitizer and under AddressSanitizer + UBSan by
// scripts/test-native.sh (`npm run test:native`); exits 1 on the first broken invariant.
//
//   stress [--seconds S] [--seed N] [--only NAME]
//
// S is the whole run's time budget (default 3), shared by the scenarios below, which all run
// twice: with the spin before parking on, then off (SetSpinEnabled). Every wait is bounded, so
// a bug fails in seconds instead of hanging.
//
// The core is built with WORKER_WAKER_TEST_HOOKS (test_hooks.h): the driver widens the racy
// windows with short sleeps and makes the park slice long, so a lost wakeup is a hang the
// deadlines report instead of a 20 ms delay that the next slice would heal.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "wait_queue.h"
#include "waker_core.h"
#include "driver_args.h"
#include "test_hooks.h"

namespace ww = worker_waker;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// ---- plumbing -------------------------------------------------------------------------------

const char* gScenario = "setup";

// Prints the broken invariant and ends the process at once: threads may be stuck in a wait
// (that is often the bug), so there is nothing to join.
[[noreturn]] void Fail(const char* format, ...) {
  std::va_list args;
  va_start(args, format);
  std::fprintf(stderr, "FAIL [%s] ", gScenario);
  std::vfprintf(stderr, format, args);
  std::fputc('\n', stderr);
  va_end(args);
  std::fflush(stderr);
  std::_Exit(1);
}

#define CHECK(cond, ...)      \
  do {                        \
    if (!(cond)) Fail(__VA_ARGS__); \
  } while (0)

thread_local std::mt19937_64 tRandom{0};
uint64_t gSeed = 1;

void SeedThread(uint64_t salt) { tRandom.seed(gSeed * 0x9e3779b97f4a7c15ULL + salt); }
uint64_t Rand(uint64_t bound) { return tRandom() % bound; }  // [0, bound)

// Set by SyncRaceScenario: runs once, on that scenario's only thread, inside the kDuringSync
// window. No other scenario sets it, so other threads only ever see it empty.
std::function<void()> gDuringSync;

// Set by a thread for its next kDuringSync window only: the partition owner's last sync of a
// round sleeps there long enough for schedulers to fill and mark leaves it scanned as empty.
thread_local bool tLongSyncWindow = false;

// Sometimes sleeps a few microseconds, sometimes yields, mostly runs on.
void RandomPause() {
  uint64_t r = Rand(8);
  if (r == 0) {
    std::this_thread::sleep_for(std::chrono::microseconds(1 + Rand(50)));
  } else if (r == 1) {
    std::this_thread::yield();
  }
}

// The widening hook: a RandomPause in every window, the sync window included (the random
// partition phase relies on that).
void Widen(ww::test_hooks::Window window) {
  if (window == ww::test_hooks::kDuringSync) {
    if (gDuringSync) {
      std::function<void()> action = std::move(gDuringSync);
      gDuringSync = nullptr;
      action();
      return;
    }
    if (tLongSyncWindow) {
      tLongSyncWindow = false;
      std::this_thread::sleep_for(std::chrono::microseconds(100 + Rand(200)));
      return;
    }
  }
  RandomPause();
}

// A waker over its own zeroed, formatted state (the driver's stand-in for a SharedArrayBuffer).
struct State {
  ww::Word words[ww::kStateWords];
  State() { ww::Waker::Format(words); }
  ww::Waker waker() { return ww::Waker(words); }
};

// Waits up to `limit` for `done()`, yielding; false on timeout.
bool WaitFor(const std::function<bool()>& done, Clock::duration limit) {
  Clock::time_point deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return true;
}

// Threads of one scenario; each counts itself out in `exited` so that joins can be bounded.
struct Crew {
  std::vector<std::thread> threads;
  std::atomic<int> exited{0};

  template <typename F>
  void Spawn(uint64_t salt, F body) {
    threads.emplace_back([this, salt, body] {
      SeedThread(salt);
      body();
      exited.fetch_add(1);
    });
  }
  // Joins every thread, calling `nudge` (e.g. a Release) until all have exited or `limit` passes.
  void JoinAll(const char* what, Clock::duration limit, const std::function<void()>& nudge = {}) {
    bool ok = WaitFor(
        [&] {
          if (nudge) nudge();
          return exited.load() == static_cast<int>(threads.size());
        },
        limit);
    CHECK(ok, "%s: %d of %zu threads still running after the deadline", what, exited.load(),
          threads.size());
    for (std::thread& t : threads) t.join();
    threads.clear();
  }
};

const std::function<bool()> kNeverInterrupted;  // empty: Acquire polls nothing

bool AcquireUntil(ww::Waker waker, Clock::duration wait) {
  Clock::time_point deadline = Clock::now() + wait;
  return waker.Acquire(&deadline, kNeverInterrupted) == ww::WaitResult::kAcquired;
}

void AcquireForever(ww::Waker waker) {
  ww::WaitResult r = waker.Acquire(nullptr, kNeverInterrupted);
  CHECK(r == ww::WaitResult::kAcquired, "an untimed Acquire returned without a permit");
}

// Lost-wakeup deadline: far longer than any honest wake-up, even under TSAN on a busy VM, and
// far shorter than the park slice the driver sets.
constexpr auto kWakeDeadline = std::chrono::seconds(3);

void CheckSettled(ww::Waker waker, const char* what) {
  CHECK(static_cast<uint64_t>(waker.Queued()) == 0, "%s: queued = %" PRIu64 " after every thread left", what,
        static_cast<uint64_t>(waker.Queued()));
}

// ---- scenario: lost wakeups ---------------------------------------------------------------
//
// The window: a parker has made its last TryAcquire and is about to wait (the hook sleeps
// there, holding the spot's mutex) when a release comes. Release must not notify into that
// gap. Producers release only once their consumers are counted as parked, so every release
// lands in or after the window; a lost notify leaves a consumer asleep for the whole (long)
// park slice and the round misses its deadline.
//   - two pairs, one consumer each, on separate states (separate wait queues);
//   - one group of three consumers on one state, woken by Release(k) or k x Release(1).
// A consumer takes one permit per round, so a release that wakes too few threads leaves
// permits that no running thread takes, and the round misses its deadline too.
// Conservation per state: released == acquired + permits left.
void WakeupScenario(Clock::duration budget) {
  struct Lane {
    State state;
    int consumers;
    std::atomic<uint64_t> acquired{0};
    std::atomic<uint64_t> round{0};
    std::atomic<bool> stop{false};
    uint64_t released = 0;  // written by the lane's producer, read after joining
  };
  Lane lanes[3];
  lanes[0].consumers = 1;
  lanes[1].consumers = 1;
  lanes[2].consumers = 3;

  Crew consumers;
  Crew producers;
  Clock::time_point end = Clock::now() + budget;
  for (int l = 0; l < 3; ++l) {
    Lane& lane = lanes[l];
    for (int c = 0; c < lane.consumers; ++c) {
      consumers.Spawn(100 * l + c, [&lane] {
        ww::Waker waker = lane.state.waker();
        while (!lane.stop.load()) {
          uint64_t round = lane.round.load();  // read first: the round cannot end before we take
          AcquireForever(waker);
          lane.acquired.fetch_add(1);
          bool next = WaitFor([&] { return lane.round.load() != round || lane.stop.load(); },
                              2 * kWakeDeadline);
          CHECK(next, "a consumer waited too long for the next round");
        }
      });
    }
    producers.Spawn(100 * l + 50, [&lane, end, l] {
      ww::Waker waker = lane.state.waker();
      const uint64_t all = static_cast<uint64_t>(lane.consumers);
      while (Clock::now() < end) {
        bool parked = WaitFor([&] { return static_cast<uint64_t>(waker.Queued()) == all; }, kWakeDeadline);
        CHECK(parked, "lane %d round %" PRIu64 ": only %" PRIu64 " of %" PRIu64
              " consumers parked (permits %" PRIu64 ")", l, lane.round.load(), static_cast<uint64_t>(waker.Queued()), all,
              waker.Permits());
        uint64_t before = lane.acquired.load();
        uint64_t n = 1 + Rand(all);
        if (n > 1 && Rand(2) == 0) {
          for (uint64_t i = 0; i < n; ++i) waker.Release(1);  // back to back: parked is stale
        } else {
          waker.Release(n);
        }
        lane.released += n;
        bool woke = WaitFor([&] { return lane.acquired.load() == before + n; }, kWakeDeadline);
        CHECK(woke, "lane %d round %" PRIu64 ": lost wakeup: released %" PRIu64
              " to %" PRIu64 " parked consumers, %" PRIu64 " acquired, permits %" PRIu64
              ", parked %" PRIu64, l, lane.round.load(), n, all, lane.acquired.load() - before,
              waker.Permits(), static_cast<uint64_t>(waker.Queued()));
        lane.round.fetch_add(1);
      }
    });
  }
  producers.JoinAll("producers", budget + 2 * kWakeDeadline);
  for (Lane& lane : lanes) lane.stop.store(true);
  consumers.JoinAll("consumers", kWakeDeadline, [&] {
    for (Lane& lane : lanes) {
      lane.state.waker().Release(1);
      ++lane.released;
    }
  });
  for (int l = 0; l < 3; ++l) {
    Lane& lane = lanes[l];
    ww::Waker waker = lane.state.waker();
    CHECK(lane.released == lane.acquired.load() + waker.Permits(),
          "lane %d: released %" PRIu64 " != acquired %" PRIu64 " + left %" PRIu64, l,
          lane.released, lane.acquired.load(), waker.Permits());
    CheckSettled(waker, "wakeup");
    std::printf("  lane %d: %d consumer(s), %" PRIu64 " rounds, %" PRIu64 " permits\n", l,
                lane.consumers, lane.round.load(), lane.released);
  }
}

// ---- scenario: permit conservation under mixed traffic -----------------------------------
//
// Permits come from Release(n) and from 0->1 edges of status bits, never from a mark of a bit
// that is already set. Each edge-maker below owns its bits (nobody else touches them) and marks
// them again while they are set (a second MarkYield, a mask that overlaps set bits, MarkActive
// on a set bit), so it knows exactly how many edges it made. One group marks the same two bits
// from three threads at once: each round, all three mark both bits, then a coordinator checks
// that both are set and clears them, so every round makes exactly two edges however the marks
// interleave. Consumers take permits with untimed, timed and non-blocking acquires at once.
// At the end: released + edges == acquired + permits left, and nobody is parked.
void ConservationScenario(Clock::duration budget) {
  State state;
  ww::Waker waker = state.waker();
  std::atomic<uint64_t> made{0};      // releases + edges
  std::atomic<uint64_t> acquired{0};
  std::atomic<bool> stopMaking{false};
  std::atomic<bool> stopTaking{false};
  ww::Word ownWord{0};  // the signal word behind summary bit 20

  Crew makers;
  for (int r = 0; r < 2; ++r) {
    makers.Spawn(200 + r, [&] {
      while (!stopMaking.load()) {
        uint64_t n = 1 + Rand(4);
        CHECK(waker.Release(n), "Release(%" PRIu64 ") refused far below the limit", n);
        made.fetch_add(n);
        if (Rand(4) == 0) std::this_thread::yield();
      }
    });
  }
  makers.Spawn(210, [&] {  // owns bit 5 and bit 40: MarkActive / TryUnmark
    while (!stopMaking.load()) {
      unsigned bit = Rand(2) == 0 ? 5 : 40;
      waker.MarkActive(bit);
      waker.MarkActive(bit);                  // already set: the fast path, no second permit
      waker.MarkActiveMask(ww::Bit(bit));     // already set, through the atomic OR: none either
      made.fetch_add(1);
      waker.TryUnmark(bit);
    }
  });
  makers.Spawn(211, [&] {  // owns bits 10 and 11: MarkActiveMask, overlapping set bits
    while (!stopMaking.load()) {
      waker.MarkActiveMask(ww::Bit(10));
      uint64_t mask = ww::Bit(10) | (Rand(2) == 0 ? ww::Bit(11) : 0);
      waker.MarkActiveMask(mask);  // bit 10 is set already: an edge only for bit 11
      made.fetch_add(1 + ((mask & ww::Bit(11)) != 0 ? 1 : 0));
      waker.TryUnmark(10);
      waker.TryUnmark(11);
    }
  });
  makers.Spawn(212, [&] {  // owns the yield flag and the partition flag (partition stays empty)
    while (!stopMaking.load()) {
      waker.MarkYield();
      waker.MarkYield();  // already set: no permit
      waker.MarkTasks();
      waker.MarkTasks();  // already set: no permit
      made.fetch_add(2);
      waker.TryUnmarkYield();
      waker.TryUnmarkTasks();
    }
  });
  makers.Spawn(213, [&] {  // owns bit 20 and its signal word: the TryUnmarkIfEmpty path
    while (!stopMaking.load()) {
      ownWord.store(1 + Rand(1000));
      waker.MarkActive(20);
      made.fetch_add(1);
      waker.TryUnmarkIfEmpty(20, ownWord);  // word non-empty: must keep the bit
      CHECK((waker.Status() & ww::Bit(20)) != 0, "TryUnmarkIfEmpty cleared the bit of a full word");
      ownWord.store(0);
      waker.TryUnmarkIfEmpty(20, ownWord);
    }
  });

  // The same bits (50 and 51) from three threads at once, in rounds.
  constexpr int kSameBitMarkers = 3;
  const uint64_t sameBits = ww::Bit(50) | ww::Bit(51);
  std::atomic<uint64_t> round{0};
  std::atomic<int> marked{0};  // markers done with the current round
  // Set by the coordinator between rounds (never while one is open, or a marker could leave
  // a round it was counted in).
  std::atomic<bool> sameBitStop{false};
  uint64_t sameBitRounds = 0;  // written by the coordinator, read after joining
  for (int m = 0; m < kSameBitMarkers; ++m) {
    makers.Spawn(230 + m, [&] {
      uint64_t seen = 0;
      for (;;) {
        while (round.load() == seen) {  // wait for the coordinator's next round
          if (sameBitStop.load()) return;
          std::this_thread::yield();
        }
        seen = round.load();
        for (int i = 1 + static_cast<int>(Rand(3)); i > 0; --i) {
          switch (Rand(4)) {
            case 0: waker.MarkActiveMask(sameBits); break;
            case 1: waker.MarkActive(50); waker.MarkActive(51); break;
            case 2: waker.MarkActiveMask(ww::Bit(51)); waker.MarkActiveMask(sameBits); break;
            default: waker.MarkActive(50); waker.MarkActiveMask(sameBits); break;
          }
        }
        marked.fetch_add(1);
      }
    });
  }
  makers.Spawn(239, [&] {  // the coordinator
    while (!stopMaking.load()) {
      marked.store(0);
      round.fetch_add(1);  // after the reset: a marker counts itself only once it sees the round
      bool done = WaitFor([&] { return marked.load() == kSameBitMarkers; }, kWakeDeadline);
      CHECK(done, "same-bit round %" PRIu64 ": only %d of %d markers finished", round.load(),
            marked.load(), kSameBitMarkers);
      CHECK((waker.Status() & sameBits) == sameBits, "same-bit round: status 0x%" PRIx64
            " lacks bits 50/51 that every marker set", waker.Status());
      made.fetch_add(2);  // one 0->1 edge per bit, however many marks raced for it
      waker.TryUnmark(50);
      waker.TryUnmark(51);
      ++sameBitRounds;
    }
    sameBitStop.store(true);
  });

  Crew takers;
  takers.Spawn(220, [&] {  // untimed
    while (!stopTaking.load()) {
      AcquireForever(waker);
      acquired.fetch_add(1);
    }
  });
  takers.Spawn(221, [&] {  // timed, often expiring
    while (!stopTaking.load()) {
      if (AcquireUntil(waker, std::chrono::microseconds(Rand(2000)))) acquired.fetch_add(1);
    }
  });
  takers.Spawn(222, [&] {  // non-blocking
    while (!stopTaking.load()) {
      if (waker.TryAcquire()) {
        acquired.fetch_add(1);
      } else {
        std::this_thread::yield();
      }
    }
  });

  std::this_thread::sleep_for(budget);
  stopMaking.store(true);
  makers.JoinAll("makers", kWakeDeadline);
  stopTaking.store(true);
  takers.JoinAll("takers", kWakeDeadline, [&] {
    waker.Release(1);  // unblocks the untimed taker
    made.fetch_add(1);
  });
  uint64_t left = waker.Permits();
  CHECK(made.load() == acquired.load() + left,
        "made %" PRIu64 " permits != acquired %" PRIu64 " + left %" PRIu64, made.load(),
        acquired.load(), left);
  CHECK(waker.Status() == 0, "status 0x%" PRIx64 " not clear after every owner cleared its bits",
        waker.Status());
  CheckSettled(waker, "conservation");
  std::printf("  %" PRIu64 " permits made, %" PRIu64 " acquired, %" PRIu64 " left, %" PRIu64
              " same-bit rounds\n", made.load(), acquired.load(), left, sameBitRounds);
}

// ---- scenario: no false negatives in the summary ----------------------------------------
//
// Producers set queue bits in a few signal words, the SignalWords.set way (mark the summary
// bit when a word goes 0 -> non-zero); consumers drain words only through the summary
// (SignalWords.take / .clear: empty it, then TryUnmarkIfEmpty). The hook sleeps between
// TryUnmarkIfEmpty's emptiness check and its clear, where a producer's fast-path MarkActive
// sees the bit still set and does nothing. Once the producers stop, consumers drain until the
// summary is empty; then every word must be empty too (a non-empty word with a clear summary
// bit is stranded work), and items set == items taken. Permits here come only from edges, which
// nobody outside the core can count exactly; but each MarkActive call makes at most one, and so
// does each TryUnmarkIfEmpty (its re-mark), and every summary bit still set made one: so
// set bits <= acquired + left <= marks + unmarks.
void SummaryScenario(Clock::duration budget) {
  constexpr unsigned kWords = 4;  // few words: producers and consumers collide constantly
  State state;
  ww::Waker waker = state.waker();
  ww::Word words[kWords];
  for (ww::Word& w : words) w.store(0);
  std::atomic<uint64_t> produced{0};
  std::atomic<uint64_t> consumed{0};
  std::atomic<uint64_t> marks{0};      // MarkActive calls
  std::atomic<uint64_t> unmarks{0};    // TryUnmarkIfEmpty calls
  std::atomic<uint64_t> acquired{0};
  std::atomic<bool> producing{true};

  Crew producers;
  for (int p = 0; p < 2; ++p) {
    producers.Spawn(300 + p, [&] {
      while (producing.load()) {
        unsigned w = static_cast<unsigned>(Rand(kWords));
        uint64_t bit = ww::Bit(static_cast<unsigned>(Rand(64)));
        uint64_t before = words[w].fetch_or(bit, std::memory_order_seq_cst);
        if ((before & bit) == 0) produced.fetch_add(1);
        if (before == 0) {
          waker.MarkActive(w);
          marks.fetch_add(1);
        }
        if (Rand(16) == 0) std::this_thread::yield();
      }
    });
  }
  Crew consumers;
  for (int c = 0; c < 2; ++c) {
    consumers.Spawn(310 + c, [&] {
      Clock::time_point drainDeadline = Clock::time_point::max();
      for (;;) {
        if (!producing.load()) {
          if (drainDeadline == Clock::time_point::max()) drainDeadline = Clock::now() + kWakeDeadline;
          if (waker.Summary() == 0) break;
          CHECK(Clock::now() < drainDeadline, "drain did not finish: summary 0x%" PRIx64,
                waker.Summary());
        }
        if (waker.TryAcquire() || AcquireUntil(waker, std::chrono::microseconds(200))) {
          acquired.fetch_add(1);
        }
        ww::IndexOrNone found = waker.SummarySelect(static_cast<unsigned>(Rand(64)));
        if (!found) continue;
        unsigned w = *found;
        ww::Word& word = words[w];
        auto unmark = [&] {
          waker.TryUnmarkIfEmpty(static_cast<unsigned>(w), word);
          unmarks.fetch_add(1);
        };
        if (Rand(2) == 0) {  // take: swap the whole word out
          consumed.fetch_add(static_cast<uint64_t>(ww::PopCount(word.exchange(0))));
          unmark();
        } else {  // clear: one bit; unmark when the word became empty
          uint64_t now = word.load();
          if (now == 0) {
            unmark();  // lazy cleanup
            continue;
          }
          uint64_t bit = ww::Bit(static_cast<unsigned>(ww::CountTrailingZeros(now)));
          uint64_t before = word.fetch_and(~bit);
          if ((before & bit) != 0) consumed.fetch_add(1);
          if ((before & ~bit) == 0) unmark();
        }
      }
    });
  }
  std::this_thread::sleep_for(budget);
  producing.store(false);
  producers.JoinAll("producers", kWakeDeadline);
  consumers.JoinAll("consumers", 2 * kWakeDeadline);

  uint64_t left = 0;
  for (unsigned w = 0; w < kWords; ++w) {
    uint64_t bits = words[w].load();
    CHECK(bits == 0 || (waker.Summary() & ww::Bit(w)) != 0,
          "false negative: word %u = 0x%" PRIx64 " but its summary bit is clear (summary 0x%" PRIx64
          ")", w, bits, waker.Summary());
    left += static_cast<uint64_t>(ww::PopCount(bits));
  }
  CHECK(produced.load() == consumed.load() + left,
        "items set %" PRIu64 " != taken %" PRIu64 " + left %" PRIu64, produced.load(),
        consumed.load(), left);
  uint64_t out = acquired.load() + waker.Permits();
  uint64_t setBits = static_cast<uint64_t>(ww::PopCount(waker.Status()));
  CHECK(setBits <= out && out <= marks.load() + unmarks.load(),
        "permits: acquired %" PRIu64 " + left %" PRIu64 " outside [%" PRIu64 " set bits, %" PRIu64
        " marks + %" PRIu64 " unmarks]", acquired.load(), waker.Permits(), setBits, marks.load(),
        unmarks.load());
  CheckSettled(waker, "summary");
  std::printf("  %" PRIu64 " queue bits set and taken, %" PRIu64 " permits acquired, %" PRIu64
              " left\n", produced.load(), acquired.load(), waker.Permits());
}

// ---- scenario: partition leaves toggled while syncing -----------------------------------
//
// Schedulers set bits in leaf words and call MarkPartitionLeafActive when a leaf goes
// 0 -> non-zero; a drainer empties leaves it finds in the bitmap, calls ClearPartitionLeaf,
// then re-reads the leaf and re-marks it if it filled meanwhile (the caller's half of the
// clear-then-recheck); it pauses at random between emptying a leaf and clearing its bit, so the
// bitmap often holds a stale bit for an empty leaf. The hook sleeps inside TryUnmarkTasks
// between its check and its clear, and inside SyncPartitionSummary between its scan and its
// publish.
//   Phase 1: no sync; the drainer and the schedulers only.
//   Phase 2: the same, and an owner that syncs all along; it also calls TryUnmarkTasks and takes
//   permits. So leaves are filled and marked while a sync scans and publishes, among them
//   leaves that the sync read as empty while their bit was stale: the mark of such a leaf
//   changes nothing in the bitmap, and only the sync's re-read after publishing can see it.
//
// Both phases run in short rounds. In phase 2 a round ends in two steps: first the owner stops,
// its last sync sleeping in the sync window while the schedulers and the drainer still run (so it
// scanned leaves that get filled and marked before it publishes), then everyone else. Once quiet, before anything
// repairs the bitmap: every non-empty leaf has its bitmap bit (a sync that erased a concurrent
// mark leaves one without), and a non-empty bitmap has the partition flag. After the last round
// a sync yields exactly the non-empty leaves, with the flag set iff there are any.
//
// Permits come only from partition-flag edges: MarkPartitionLeafActive returning true,
// ClearPartitionLeaf, TryUnmarkTasks and SyncPartitionSummary each make at most one, and a flag
// still set made one; the owner takes some. So flag <= acquired + left <= those calls.
void PartitionScenario(Clock::duration budget) {
  constexpr unsigned kLeaves = 8;
  for (int phase = 1; phase <= 2; ++phase) {
    State state;
    ww::Waker waker = state.waker();
    ww::Word leaves[kLeaves];
    for (ww::Word& l : leaves) l.store(0);
    std::atomic<uint64_t> produced{0};
    std::atomic<uint64_t> consumed{0};
    std::atomic<uint64_t> syncs{0};
    std::atomic<uint64_t> edgeCalls{0};  // calls that may make a partition-flag edge
    std::atomic<uint64_t> acquired{0};
    // Rounds: the main thread bumps `round`; `ownerStop` then `othersStop` end it; each thread
    // counts itself into `arrived` when it has stopped.
    std::atomic<uint64_t> round{0};
    std::atomic<bool> ownerStop{false};
    std::atomic<bool> othersStop{false};
    std::atomic<bool> finished{false};
    std::atomic<int> arrived{0};
    // Runs `work` once per round until `stop`, then counts in; returns when `finished` is set.
    auto rounds = [&](std::atomic<bool>& stop, const std::function<void()>& work,
                      const std::function<void()>& last) {
      uint64_t seen = 0;
      for (;;) {
        while (round.load() == seen) {
          if (finished.load()) return;
          std::this_thread::yield();
        }
        seen = round.load();
        while (!stop.load()) work();
        if (last) last();
        arrived.fetch_add(1);
      }
    };
    auto markLeaf = [&](unsigned l) {
      if (waker.MarkPartitionLeafActive(l)) edgeCalls.fetch_add(1);
    };
    auto drainOne = [&] {
      unsigned l = static_cast<unsigned>(Rand(kLeaves));
      if (!waker.PartitionLeafHasWork(l)) return;
      uint64_t bits = leaves[l].exchange(0);
      consumed.fetch_add(static_cast<uint64_t>(ww::PopCount(bits)));
      RandomPause();  // bit l is stale here: set over an empty leaf
      waker.ClearPartitionLeaf(l);
      edgeCalls.fetch_add(1);
      if (leaves[l].load() != 0) markLeaf(l);
    };

    Crew crew;
    for (int s = 0; s < 2; ++s) {
      crew.Spawn(400 + s, [&] {
        rounds(othersStop, [&] {
          unsigned l = static_cast<unsigned>(Rand(kLeaves));
          uint64_t bit = ww::Bit(static_cast<unsigned>(Rand(64)));
          uint64_t before = leaves[l].fetch_or(bit);
          if ((before & bit) == 0) produced.fetch_add(1);
          if (before == 0) markLeaf(l);
          if (Rand(8) == 0) std::this_thread::yield();
        }, {});
      });
    }
    crew.Spawn(410, [&] { rounds(othersStop, drainOne, {}); });  // drainer
    const int threads = phase == 1 ? 3 : 4;  // two schedulers, the drainer, the owner (phase 2)
    if (phase == 2) {
      auto sync = [&] {
        waker.SyncPartitionSummary(leaves, kLeaves);
        syncs.fetch_add(1);
        edgeCalls.fetch_add(1);
      };
      // owner (sync by value: it lives in this block)
      crew.Spawn(420, [&, sync] {
        rounds(ownerStop, [&] {
          sync();
          if (Rand(2) == 0) {
            waker.TryUnmarkTasks();
            edgeCalls.fetch_add(1);
          }
          if (waker.TryAcquire()) acquired.fetch_add(1);
        }, [&] {
          tLongSyncWindow = true;  // the round's last sync: a long scan-to-publish window
          sync();
        });
      });
    }

    Clock::time_point end = Clock::now() + budget / 2;
    uint64_t checks = 0;
    do {
      ownerStop.store(false);
      othersStop.store(false);
      arrived.store(0);
      round.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(500 + Rand(1500)));
      ownerStop.store(true);
      if (phase == 2) {
        bool ownerDone = WaitFor([&] { return arrived.load() == 1; }, kWakeDeadline);
        CHECK(ownerDone, "phase 2 round %" PRIu64 ": the owner did not stop", round.load());
      }
      othersStop.store(true);
      bool quiet = WaitFor([&] { return arrived.load() == threads; }, kWakeDeadline);
      CHECK(quiet, "phase %d round %" PRIu64 ": %d of %d threads stopped", phase, round.load(),
            arrived.load(), threads);

      uint64_t nonEmpty = 0;
      for (unsigned l = 0; l < kLeaves; ++l) {
        if (leaves[l].load() != 0) nonEmpty |= ww::Bit(l);
      }
      uint64_t bitmap = waker.PartitionSummary();
      bool flag = (waker.Status() & ww::kPartitionFlag) != 0;
      CHECK(bitmap == 0 || flag,
            "phase %d round %" PRIu64 ": bitmap 0x%" PRIx64 " but the partition flag is clear", phase,
            round.load(), bitmap);
      CHECK((nonEmpty & ~bitmap) == 0,
            "phase %d round %" PRIu64 ": leaves 0x%" PRIx64 " have work but the bitmap is 0x%" PRIx64
            " (a mark was lost)", phase, round.load(), nonEmpty, bitmap);
      uint64_t out = acquired.load() + waker.Permits();
      CHECK((flag ? 1u : 0u) <= out && out <= edgeCalls.load(),
            "phase %d round %" PRIu64 ": permits acquired %" PRIu64 " + left %" PRIu64
            " outside [flag %d, %" PRIu64 " edge-making calls]", phase, round.load(),
            acquired.load(), waker.Permits(), flag, edgeCalls.load());
      ++checks;
    } while (Clock::now() < end);
    finished.store(true);
    crew.JoinAll("partition threads", kWakeDeadline);

    uint64_t nonEmpty = 0;
    uint64_t left = 0;
    for (unsigned l = 0; l < kLeaves; ++l) {
      uint64_t bits = leaves[l].load();
      if (bits != 0) nonEmpty |= ww::Bit(l);
      left += static_cast<uint64_t>(ww::PopCount(bits));
    }
    bool any = waker.SyncPartitionSummary(leaves, kLeaves);
    bool flag = (waker.Status() & ww::kPartitionFlag) != 0;
    CHECK(waker.PartitionSummary() == nonEmpty && any == (nonEmpty != 0) && flag == any,
          "phase %d: after a quiet sync bitmap 0x%" PRIx64 " (want 0x%" PRIx64
          "), returned %d, flag %d", phase, waker.PartitionSummary(), nonEmpty, any, flag);
    CHECK(produced.load() == consumed.load() + left,
          "phase %d: items set %" PRIu64 " != taken %" PRIu64 " + left %" PRIu64, phase,
          produced.load(), consumed.load(), left);
    CheckSettled(waker, "partition");
    std::printf("  phase %d: %" PRIu64 " leaf bits set, %" PRIu64 " syncs, %" PRIu64
                " quiet checks\n", phase, produced.load(), syncs.load(), checks);
  }
}

// ---- scenario: wait-queue churn ----------------------------------------------------------
//
// Several threads park briefly and release on three states at random, so wait queues are
// created, shared and freed all the time (use-after-free and leaks are ASan's to find).
// Conservation per state; at the end no queue is left.
void ParkingLotScenario(Clock::duration budget) {
  constexpr int kStates = 3;
  State states[kStates];
  std::atomic<uint64_t> released[kStates] = {};
  std::atomic<uint64_t> acquired[kStates] = {};
  Clock::time_point end = Clock::now() + budget;
  Crew crew;
  for (int t = 0; t < 4; ++t) {
    crew.Spawn(500 + t, [&] {
      while (Clock::now() < end) {
        int s = static_cast<int>(Rand(kStates));
        ww::Waker waker = states[s].waker();
        if (Rand(2) == 0) {
          if (AcquireUntil(waker, std::chrono::microseconds(Rand(300)))) acquired[s].fetch_add(1);
        } else {
          waker.Release(1);
          released[s].fetch_add(1);
        }
      }
    });
  }
  crew.JoinAll("lot threads", budget + kWakeDeadline);
  for (int s = 0; s < kStates; ++s) {
    ww::Waker waker = states[s].waker();
    CHECK(released[s].load() == acquired[s].load() + waker.Permits(),
          "state %d: released %" PRIu64 " != acquired %" PRIu64 " + left %" PRIu64, s,
          released[s].load(), acquired[s].load(), waker.Permits());
    CheckSettled(waker, "lot");
  }
  std::printf("  %" PRIu64 " + %" PRIu64 " + %" PRIu64 " permits released\n", released[0].load(),
              released[1].load(), released[2].load());
}

// ---- scenario: a leaf marked while a sync scans ------------------------------------------
//
// Deterministic: inside SyncPartitionSummary, after the scan read leaf 3 as empty and before the
// bitmap is published, a scheduler fills leaf 3 and calls MarkPartitionLeafActive(3). The sync
// must end with that bit set (a plain store of the scanned bitmap, without a re-read, erased it).
void SyncRaceScenario(Clock::duration) {
  State state;
  ww::Waker waker = state.waker();
  constexpr unsigned kLeaves = 8;
  ww::Word leaves[kLeaves];
  for (ww::Word& l : leaves) l.store(0);
  leaves[1].store(1);
  gDuringSync = [&] {
    leaves[3].store(1);
    waker.MarkPartitionLeafActive(3);
  };
  bool any = waker.SyncPartitionSummary(leaves, kLeaves);
  CHECK(!gDuringSync, "the sync window was never reached");
  uint64_t expected = ww::Bit(1) | ww::Bit(3);
  CHECK(any && waker.PartitionSummary() == expected,
        "sync erased a concurrent mark: bitmap 0x%" PRIx64 ", expected 0x%" PRIx64,
        waker.PartitionSummary(), expected);
  CHECK((waker.Status() & ww::kPartitionFlag) != 0, "partition flag clear after the sync");
  // One edge of the partition flag (the concurrent mark found the bitmap empty); the sync's own
  // MarkTasks found the flag set and made none.
  CHECK(waker.Permits() == 1, "permits %" PRIu64 " after one partition-flag edge, want 1",
        waker.Permits());
}

// ---- scenario: a leaf marked during a sync while its bitmap bit is stale -------------------
//
// Deterministic. The bitmap holds a stale bit for an empty leaf 3 (as it does between a
// drainer's exchange of the leaf and its ClearPartitionLeaf). Inside SyncPartitionSummary, after
// the scan read leaf 3 as empty and before it publishes, a scheduler fills leaf 3 and calls
// MarkPartitionLeafActive(3), whose fetch_or changes nothing (the bit is set already), so the
// bitmap did not change while the sync scanned: only a re-read of leaf 3 after publishing can
// see the new work. Twice: with leaf 1 also holding work, and with leaf 3 the only leaf marked,
// where the scan finds nothing at all and the sync must still return true and keep the flag
// (set all along: no second permit).
void SyncStaleBitScenario(Clock::duration) {
  for (bool leafOneHasWork : {true, false}) {
    State state;
    ww::Waker waker = state.waker();
    constexpr unsigned kLeaves = 8;
    ww::Word leaves[kLeaves];
    for (ww::Word& l : leaves) l.store(0);
    uint64_t expected = ww::Bit(3);
    if (leafOneHasWork) {
      leaves[1].store(1);
      CHECK(waker.MarkPartitionLeafActive(1), "the first mark did not find the bitmap empty");
      expected |= ww::Bit(1);
    }
    waker.MarkPartitionLeafActive(3);  // leaf 3 is empty: a stale bit
    CHECK(waker.Permits() == 1, "permits %" PRIu64 " after one partition-flag edge",
          waker.Permits());
    bool markFoundEmpty = true;
    gDuringSync = [&] {
      leaves[3].store(1);
      markFoundEmpty = waker.MarkPartitionLeafActive(3);
    };
    bool any = waker.SyncPartitionSummary(leaves, kLeaves);
    CHECK(!gDuringSync, "the sync window was never reached");
    CHECK(!markFoundEmpty, "the mark inside the sync found the bitmap empty (no stale bit)");
    CHECK(waker.PartitionSummary() == expected,
          "sync erased a mark of a leaf with a stale bit: bitmap 0x%" PRIx64 ", expected 0x%" PRIx64
          " (leaf 3 has work)", waker.PartitionSummary(), expected);
    CHECK(any, "the sync returned false with bitmap 0x%" PRIx64, waker.PartitionSummary());
    CHECK((waker.Status() & ww::kPartitionFlag) != 0, "partition flag clear after the sync");
    CHECK(waker.Permits() == 1, "permits %" PRIu64 " after the sync, want 1 (the flag never cleared)",
          waker.Permits());
  }
}

struct Scenario {
  const char* name;
  double share;  // of the time budget
  void (*run)(Clock::duration);
};

const Scenario kScenarios[] = {
    {"wakeup", 0.25, WakeupScenario},
    {"conservation", 0.25, ConservationScenario},
    {"summary", 0.2, SummaryScenario},
    {"partition", 0.2, PartitionScenario},
    {"sync-race", 0.0, SyncRaceScenario},
    {"sync-stale-bit", 0.0, SyncStaleBitScenario},
    {"lot", 0.1, ParkingLotScenario},
};

}  // namespace

int main(int argc, char** argv) {
  ww::test_driver::Args args;
  if (!ww::test_driver::ParseArgs(argc, argv, &args)) return 2;
  const double seconds = args.seconds;
  const char* const only = args.only;
  gSeed = args.seed;
  std::printf("worker-waker native stress: %.1f s, seed %" PRIu64 "\n", seconds, gSeed);
  std::fflush(stdout);

  ww::test_hooks::widen = Widen;
  ww::test_hooks::parkSlice = std::chrono::minutes(10);  // a lost wakeup must not heal itself

  int ran = 0;
  for (bool spin : {true, false}) {
    ww::SetSpinEnabled(spin);
    for (const Scenario& s : kScenarios) {
      if (only != nullptr && std::strcmp(only, s.name) != 0) continue;
      gScenario = s.name;
      double share = (only != nullptr ? 1.0 : s.share) / 2;  // half the budget per spin mode
      auto budget = std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(seconds * share));
      Clock::time_point start = Clock::now();
      std::printf("%s (spin %s)\n", s.name, spin ? "on" : "off");
      std::fflush(stdout);
      s.run(budget);
      std::printf("  ok (%.2f s)\n",
                  std::chrono::duration<double>(Clock::now() - start).count());
      std::fflush(stdout);
      CHECK(ww::wait_queue::QueueCount() == 0, "%zu wait queues left after the scenario",
            ww::wait_queue::QueueCount());
      ++ran;
    }
  }
  CHECK(ran > 0, "no scenario named %s", only);
  ww::SetSpinEnabled(true);
  ww::test_hooks::widen = nullptr;
  ww::test_hooks::parkSlice = ww::kParkSlice;
  std::printf("all invariants held\n");
  return 0;
}
