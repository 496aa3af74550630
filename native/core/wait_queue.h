// The wait queue: one FIFO of waiters per waker state, blocked threads (acquire) and async
// waiters (acquireAsync) alike, served directly by whoever adds permits. Plain C++, no Node
// headers: the event-loop signal is the GrantSink interface, so the native stress driver runs
// all of it under ThreadSanitizer and AddressSanitizer without Node.
//
// Registry. A process-wide map from state address to WaitQueue (threads of one process see a
// SharedArrayBuffer at one address). A queue lives while a thread uses it (Enter/Leave) or a
// waiter is linked in it; it is freed when neither holds, so dropped states leave nothing.
//
// The queued cell (kQueuedCell of the shared state) counts the waiters linked in the queues of
// the state, in every copy of the addon in the process. It lets a release made from JS (or by
// another copy of the addon, which has a registry of its own) skip the addon when it is 0:
//   waiter (queue mutex held)            releaser
//   link node; queued += 1               permits += n
//   Drain: load permits                  load queued; if != 0: lock the queue, Drain
// Both sides are seq_cst RMWs then seq_cst loads: in their single total order one of the two
// loads comes last and sees the other's write, so either the waiter finds the permit or the
// releaser drains it to the waiter. Under the queue mutex, Drain moves permits from the cell to
// the queue's head waiters, oldest first.
//
// FIFO bound for takers that do not queue (tryAcquire, a spinning acquire): they take only
// permits in the cell. Releases and marks made in C++ hand their permits to queued waiters
// directly, under the queue mutex, without touching the cell. A release() from JS (the fast path,
// matching a pure-JS semaphore's cost) adds its permits to the cell first and, seeing waiters
// queued, drains the cell to them before it returns. So a non-queued taker can take a permit
// ahead of a queued waiter only while a release() that adds it is still running (between its
// addition and its drain), or from a release that read queued == 0 before that waiter was
// counted: at most the permits of the releases that overlap the take. Once a release() has
// returned, its permits have gone to the waiters queued at that time.
//
// Safety net. The cell can disagree with the queue: a second copy of the addon (its registry
// does not know our waiters) or memory scribbled by another thread. Blocked waiters wake every
// kParkSlice and Drain; async waiters are drained by AsyncHost::Poll, which the JS layer calls
// from a backing-off timer while calls are pending. A permit that reached the cell without a
// Drain therefore reaches the oldest waiter within a slice or a poll period.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "waker_core.h"

// The OS address wait a blocked waiter sleeps on: futex on Linux, WaitOnAddress on Windows, a
// condition variable elsewhere. -DWORKER_WAKER_FORCE_CONDVAR forces the fallback (tested by
// scripts/test-native.sh on Linux).
#if defined(WORKER_WAKER_FORCE_CONDVAR)
#define WW_ADDRESS_WAIT_CONDVAR 1
#elif defined(__linux__)
#define WW_ADDRESS_WAIT_FUTEX 1
#elif defined(_WIN32)
#define WW_ADDRESS_WAIT_WINDOWS 1
#else
#define WW_ADDRESS_WAIT_CONDVAR 1
#endif

namespace worker_waker {

// A one-shot flag that one thread sleeps on and another sets. Set() runs under the queue mutex,
// and the sleeper takes that mutex once more before it leaves, so the flag is alive while Set()
// writes it. The wake itself comes after the granter has released the mutex (Wake(), through a
// Wakeups list), so that the woken thread does not run straight into the mutex its granter still
// holds (on one CPU: a context switch there and back per grant).
//
// With the OS address wait, Wake() needs only the flag's address, and the sleeper may have
// returned meanwhile (it saw the flag set and left): the kernel reads no memory to wake an
// address, and a wake that finds nobody, or a later sleeper on the same address, is a spurious
// wake-up, which every futex user re-checks for. The condition-variable fallback must notify a
// live condition variable, so there Set() notifies under the queue mutex and Wake() does nothing.
class Parker {
 public:
  // Acquire: pairs with Set()'s release store, so the sleeper sees what the granter wrote.
  bool IsSet() const { return flag_.load(std::memory_order_acquire) != 0; }
  // Sleeps until Set() or `until`; may return early (the caller re-checks).
  void SleepUntil(std::chrono::steady_clock::time_point until);
  // Queue mutex held.
  void Set();
  // After the queue mutex is released: wakes the sleeper on `flag` (see above).
  static void Wake(std::atomic<uint32_t>* flag);
  std::atomic<uint32_t>* flag() { return &flag_; }

 private:
  std::atomic<uint32_t> flag_{0};
#if defined(WW_ADDRESS_WAIT_CONDVAR)
  std::mutex mutex_;
  std::condition_variable wakeup_;
#endif
};

class AsyncHost;
class WaitQueue;

// Blocked waiters granted under a queue mutex, to wake once it is released (see Parker).
class Wakeups {
 public:
  Wakeups() = default;
  Wakeups(const Wakeups&) = delete;
  Wakeups& operator=(const Wakeups&) = delete;
  ~Wakeups() { Flush(); }
  void Add(Parker& parker);
  // Call after releasing the queue mutex.
  void Flush();

 private:
  // Most releases wake one or a few threads: no allocation for those.
  std::atomic<uint32_t>* first_[4] = {};
  size_t count_ = 0;
  std::vector<std::atomic<uint32_t>*> more_;
};

// One waiter: a blocked thread (on its own stack) or a pending acquireAsync call (on the heap,
// owned by its AsyncHost). Exactly one of these holds for a node at any time (the accounting
// invariant of the queue):
//   kQueued     linked in its queue, counted in the queued cell, holding no permit;
//   kGranted    unlinked, holding exactly one permit: a blocked node's thread keeps it (or passes
//               it on when its environment is going away); an async node sits in its host's ready
//               list, then in a delivery batch, until the permit is handed to a promise or given
//               back to the waker;
//   kLeft       unlinked without a permit (timed out, cancelled, interrupted).
// `place` changes only under the queue mutex (kQueued -> kGranted / kLeft).
struct WaitNode {
  enum class Kind : uint8_t { kBlocked, kAsync };
  enum class Place : uint8_t { kQueued, kGranted, kLeft };

  WaitNode(Kind k, Word* state) : kind(k), words(state) {}

  const Kind kind;
  Word* const words;
  Place place = Place::kQueued;
  WaitNode* prev = nullptr;  // the queue's links, then (async, granted) the ready list's
  WaitNode* next = nullptr;
  // Blocked nodes.
  Parker parker;
  // Async nodes. `delivering` and `cancelled` are touched only by the host's JS thread.
  AsyncHost* host = nullptr;
  uint64_t id = 0;
  uint32_t dispatcher = 0;  // which JS dispatcher of the host resolves it (see AsyncHost::Acquire)
  bool delivering = false;
  bool cancelled = false;
};

// How a host's JS thread hears that grants are ready: Signal() is called at most once per
// TakeReady(), under the host's mutex, from whichever thread granted (any thread).
// CallEnded(state) is called on the host's JS thread when a queued call's node is freed (its
// last touch of `state` is done): the binding keeps each state with queued calls alive until
// then, so that the memory a node points to outlives it.
class GrantSink {
 public:
  virtual ~GrantSink() = default;
  virtual void Signal() = 0;
  virtual void CallEnded(Word* state) = 0;
};

namespace wait_queue {
// Blocks the calling thread in the state's queue until it is granted a permit, `deadline`
// passes, or `interrupted()` (polled every kParkSlice and once after a grant) says its
// environment is going away; a permit granted to an interrupted thread goes to the next waiter.
WaitResult WaitBlocked(Waker& waker, const std::chrono::steady_clock::time_point* deadline,
                       const std::function<bool()>& interrupted);
// Adds n permits to the state: the oldest queued waiters get them directly, the rest go to the
// cell. `saturate`: stop at kMaxPermits (edges, give-backs); else refuse (false, nothing
// changed) when the cell would pass it.
bool Deliver(Waker& waker, uint64_t n, bool saturate);
// Moves permits that sit in the cell to queued waiters (after a JS release saw queued != 0).
void Dispatch(Waker& waker);
// Queues alive in this copy of the addon (leak tests).
size_t QueueCount();
}  // namespace wait_queue

// The pending acquireAsync calls of one JS thread (one Node environment). Every method but the
// granting path (which runs on whichever thread adds permits and only touches the ready list
// under mutex_) runs on that JS thread.
//
// Accounting of grants in delivery (the invariant, for every node of this host):
//   permits held by this host's nodes == nodes in the ready list + nodes in a delivery batch
//                                        that are not cancelled and not yet delivered.
// A node leaves the ready list only through TakeReady (into a batch) or Cancel/Shutdown (its
// permit given back). A batch ends in Finish(batch, delivered): the first `delivered` nodes were
// handed to promises (their permits are taken), every other node not cancelled meanwhile gives
// its permit back. A JS thread that dies mid-delivery thus returns every grant it had not yet
// handed to a promise, and Shutdown returns what is still ready at teardown.
class AsyncHost {
 public:
  enum class Start { kTaken, kNotTaken, kQueued };

  explicit AsyncHost(GrantSink* sink) : sink_(sink) {}
  AsyncHost(const AsyncHost&) = delete;
  AsyncHost& operator=(const AsyncHost&) = delete;
  ~AsyncHost();  // Shutdown()

  // A new call on `state`: kTaken when a permit was taken at once (only when nobody is queued
  // on the state, so FIFO holds); kNotTaken when none was and `wait` is false; else kQueued with
  // the call's id in *id (ids are below 2^53: they travel as JS Numbers). `dispatcher` is the
  // host's label for the JS code that will resolve the call (one per instance of the JS layer
  // on the thread), handed back with the node at delivery.
  Start Acquire(Word* state, bool wait, uint32_t dispatcher, uint64_t* id);
  // The call `id` gave up (timeout, abort): it leaves its queue, or its permit goes back.
  // Unknown ids are ignored.
  void Cancel(uint64_t id);
  // Up to `max` ready grants, oldest first, into *batch (each node marked delivering). When
  // more are left, Signal() is called again at once.
  void TakeReady(size_t max, std::vector<WaitNode*>* batch);
  // Ends a batch: see the accounting above. Frees the batch's nodes.
  void Finish(const std::vector<WaitNode*>& batch, size_t delivered);
  // The safety net: drains the queues of every state with a queued call of this host whose
  // cell holds permits.
  void Poll();
  // Teardown: every queued call leaves its queue, every ready grant goes back, the sink is
  // never signalled again. Idempotent.
  void Shutdown();
  // Calls of this host not yet delivered or cancelled.
  size_t Pending() const { return live_.size(); }
  // Cancels that found their call already granted and gave the permit back (a statistic: the
  // race tests check that the race happened).
  uint64_t CancelsGivingBack() const { return cancelsGivingBack_; }

  // Granting path (any thread, queue mutex held): `node` was granted; add it to the ready list.
  void PushReady(WaitNode* node);

 private:
  WaitNode* Find(uint64_t id) const;
  void Forget(WaitNode* node);  // erases from live_ and frees
  void Free(WaitNode* node);    // frees, and tells the sink

  GrantSink* const sink_;
  std::mutex mutex_;  // guards the ready list, signalled_ and closed_
  WaitNode* readyHead_ = nullptr;
  WaitNode* readyTail_ = nullptr;
  bool signalled_ = false;  // a Signal() not yet answered by TakeReady
  bool closed_ = false;
  std::unordered_map<uint64_t, WaitNode*> live_;  // JS thread only
  uint64_t nextId_ = 1;
  uint64_t cancelsGivingBack_ = 0;  // JS thread only
};

}  // namespace worker_waker
