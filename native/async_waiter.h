// AsyncWaiter: takes permits from a waker on behalf of the pending acquireAsync() calls of one
// JS thread, on a thread of its own (plain C++, no Node headers; async_binding.cc is the glue).
//
// Why a thread of our own: a wait parked on a libuv threadpool thread (an AsyncWorker) holds one
// of the 4 threads that fs, dns, crypto and zlib share, so a few pending waits stall all file
// I/O of the process. One AsyncWaiter thread serves every pending call of one (JS thread, waker
// state) pair, however many there are.
//
// Accounting. The JS thread keeps its pending calls in a FIFO queue of length q. Here:
//   demand_  permits still to take (calls not yet covered by a grant)
//   ready_   permits taken and not yet handed to JS (grants in flight)
// and q == demand_ + ready_ whenever the JS thread looks: AddDemand and Cancel run on the JS
// thread, TakeReady too, and the waiter thread only moves units from demand_ to ready_ under the
// lock. The waiter thread takes a permit only while demand_ > 0; a permit taken for a call that
// gave up meanwhile goes back to the waker (ReturnPermits), never into a hole. A cancelled call
// (timeout, abort) drops one unit of demand_ when there is one, so that grants already in flight
// pass to the next calls in FIFO order; when every remaining call is covered (demand_ == 0) it
// gives one in-flight grant back to the waker instead.
//
// Batching: the waiter thread takes every permit it can (up to demand_) before it tells JS, and
// tells JS only when no hand-back is outstanding (notified_), so a release(64) resolves 64
// calls from one callback on the event loop.
//
// Lifetime: Start() launches the thread; it lingers kLinger without demand, then retires (calls
// Sink::Retired() as its last act and exits; Stop() then only joins it). It never retires while a
// grant is in flight (ready_ > 0): the call that grant is for still counts on this waiter, and
// its timeout or abort must still reach it. Stop() stops it from any other thread, joins it and
// gives back the grants JS never received.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "waker_core.h"

namespace worker_waker {

class AsyncWaiter {
 public:
  // Where grants go. Both calls come from the waiter thread, without any lock held.
  class Sink {
   public:
    virtual ~Sink() = default;
    // Grants are ready (TakeReady() them on the JS thread). False when the receiver is gone:
    // the waiter then gives every grant back and stops.
    virtual bool Notify() = 0;
    // The thread retired after kLinger without demand; nothing else is called afterwards.
    virtual void Retired() = 0;
  };

  // Idle time after which the thread exits. Long enough that a steady flow of calls reuses
  // one thread, short enough that a waker used once does not hold a thread for long.
  static constexpr std::chrono::milliseconds kLinger{1000};

  AsyncWaiter(Word* state, Sink* sink) : waker_(state), sink_(sink) {}
  AsyncWaiter(const AsyncWaiter&) = delete;
  AsyncWaiter& operator=(const AsyncWaiter&) = delete;
  ~AsyncWaiter();  // Stop()s if still running

  // False when no thread could be started; the waiter then counts as retired.
  bool Start();

  // JS thread. Fast path: takes a permit at once when this waiter serves no pending call (so
  // FIFO order among the pending ones holds). No thread hop.
  bool TryTakeNow();
  // JS thread. One more pending call. False, with nothing changed, once the thread has retired
  // or stopped: the caller must use a fresh waiter.
  bool AddDemand();
  // JS thread. A pending call gave up (timeout, abort); see the accounting above.
  void Cancel();
  // JS thread. The grants to hand out now, in FIFO order; re-arms Notify().
  uint64_t TakeReady();
  // Gives permits back to the waker (grants that could not be delivered).
  void GiveBack(uint64_t n);

  // Any thread but the waiter's. Asks the thread to stop without waiting for it.
  void RequestStop();
  // Any thread but the waiter's: RequestStop(), join, and give back the undelivered grants.
  // Idempotent; after a retirement it only joins.
  void Stop();

  // Waiter threads running for `state` in this process, all JS threads together, or for every
  // state when `state` is null (for teardown and lifetime tests).
  static uint64_t RunningThreads(const void* state);
  // Cancel() calls on `state` (every state when null) that lost the race with their own grant:
  // every remaining call was covered (demand_ == 0, ready_ > 0), so the grant already taken for
  // this one went back to the waker. Counted while the state has waiter threads running (reset
  // with the last one): a statistic that lets the race tests check the race happened.
  static uint64_t CancelsGivingBackGrant(const void* state);

 private:
  void Run();
  bool ShouldLeaveAcquire();

  Waker waker_;
  Sink* sink_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable idle_;  // wakes the thread out of its linger
  // Guarded by mutex_.
  uint64_t demand_ = 0;
  uint64_t ready_ = 0;
  bool notified_ = false;  // a Notify() is outstanding; TakeReady() clears it
  bool retired_ = false;
  bool stop_ = false;
};

}  // namespace worker_waker
