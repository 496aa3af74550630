#include "async_waiter.h"

#include <algorithm>
#include <atomic>
#include <system_error>
#include <unordered_map>
#include <utility>

namespace worker_waker {
namespace {

// Statistics for tests, per state with waiter threads running. Never destroyed, like the
// parking lot: a waiter thread may still be finishing while static destructors run at exit.
struct StateStats {
  uint64_t threads = 0;             // waiter threads running
  uint64_t cancelsGivingBack = 0;   // see CancelsGivingBackGrant()
};
struct ThreadCounts {
  std::mutex lock;
  std::unordered_map<const void*, StateStats> byState;  // erased with the last thread
};

ThreadCounts& Counts() {
  static ThreadCounts* counts = new ThreadCounts();
  return *counts;
}

void CountThread(const void* state, bool started) {
  ThreadCounts& counts = Counts();
  std::lock_guard<std::mutex> guard(counts.lock);
  if (started) {
    ++counts.byState[state].threads;
  } else if (--counts.byState[state].threads == 0) {
    counts.byState.erase(state);
  }
}

void CountCancelGivingBack(const void* state) {
  ThreadCounts& counts = Counts();
  std::lock_guard<std::mutex> guard(counts.lock);
  auto found = counts.byState.find(state);
  if (found != counts.byState.end()) ++found->second.cancelsGivingBack;
}

// One statistic of `state`; 0 when no waiter thread runs for it.
template <typename Field>
uint64_t ReadStat(const void* state, Field field) {
  ThreadCounts& counts = Counts();
  std::lock_guard<std::mutex> guard(counts.lock);
  if (state == nullptr) {
    uint64_t total = 0;
    for (const auto& entry : counts.byState) total += entry.second.*field;
    return total;
  }
  auto found = counts.byState.find(state);
  return found == counts.byState.end() ? 0 : found->second.*field;
}

}  // namespace

AsyncWaiter::~AsyncWaiter() { Stop(); }

uint64_t AsyncWaiter::RunningThreads(const void* state) { return ReadStat(state, &StateStats::threads); }

uint64_t AsyncWaiter::CancelsGivingBackGrant(const void* state) {
  return ReadStat(state, &StateStats::cancelsGivingBack);
}

bool AsyncWaiter::Start() {
  CountThread(waker_.key(), true);
  try {
    thread_ = std::thread([this] {
      Run();
      CountThread(waker_.key(), false);
    });
    return true;
  } catch (const std::system_error&) {  // out of threads: refuse demand instead of crashing
    CountThread(waker_.key(), false);
    std::lock_guard<std::mutex> lock(mutex_);
    retired_ = true;
    return false;
  }
}

bool AsyncWaiter::TryTakeNow() {
  std::lock_guard<std::mutex> lock(mutex_);
  // Only when nobody here waits: a permit that shows up while calls are pending belongs to the
  // oldest of them, and the waiter thread is about to take it.
  return demand_ == 0 && ready_ == 0 && waker_.TryAcquire();
}

bool AsyncWaiter::AddDemand() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (retired_ || stop_) return false;
  if (demand_++ == 0) idle_.notify_one();  // the thread lingers only while demand_ == 0
  return true;
}

void AsyncWaiter::Cancel() {
  bool giveBack = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (demand_ > 0) {
      --demand_;  // grants in flight stay with the next pending calls (FIFO)
    } else if (ready_ > 0) {
      --ready_;  // every remaining call is covered: this call's grant goes back
      giveBack = true;
    }
  }
  // Outside the lock: Release may take the parking spot's mutex and wake threads.
  if (giveBack) {
    GiveBack(1);
    CountCancelGivingBack(waker_.key());
  }
}

uint64_t AsyncWaiter::TakeReady() {
  std::lock_guard<std::mutex> lock(mutex_);
  notified_ = false;
  return std::exchange(ready_, 0);
}

void AsyncWaiter::GiveBack(uint64_t n) {
  // These permits were taken from this very counter; a give-back cannot be refused, so it
  // saturates at kMaxPermits (reached only if others released 2^31 - 1 permits meanwhile).
  if (n != 0) waker_.ReturnPermits(n);
}

void AsyncWaiter::RequestStop() {
  std::lock_guard<std::mutex> lock(mutex_);
  stop_ = true;
  // A thread parked in Waker::Acquire sees stop_ at its next slice (kParkSlice, 20 ms).
  idle_.notify_one();
}

void AsyncWaiter::Stop() {
  RequestStop();
  if (thread_.joinable()) thread_.join();
  uint64_t undelivered;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    demand_ = 0;
    undelivered = std::exchange(ready_, 0);
  }
  GiveBack(undelivered);
}

bool AsyncWaiter::ShouldLeaveAcquire() {
  std::lock_guard<std::mutex> lock(mutex_);
  return stop_ || demand_ == 0;
}

void AsyncWaiter::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    if (demand_ == 0) {
      bool idle = !idle_.wait_for(lock, kLinger, [this] { return demand_ != 0 || stop_; });
      // Not while grants are in flight: their calls are still pending in JS, and a call that
      // times out before its grant lands cancels through this waiter. Retiring now would let
      // the next call start a fresh waiter while this one still holds the grant (a lost
      // permit, before this check). Linger again instead; TakeReady or Cancel empties ready_.
      if (idle && ready_ == 0) {
        retired_ = true;  // from now on AddDemand refuses: the JS side starts a fresh waiter
        lock.unlock();
        sink_->Retired();
        return;
      }
      continue;
    }
    lock.unlock();
    // Parks on the state's parking spot like any acquire(), so release() wakes us with the
    // same handshake. The probe runs between 20 ms slices: it ends the wait on stop or when
    // every pending call gave up (a permit taken right then is given back below).
    WaitResult result = waker_.Acquire(nullptr, [this] { return ShouldLeaveAcquire(); });
    lock.lock();
    if (result != WaitResult::kAcquired) continue;
    // Batch: take what else is there for the calls still pending before telling JS once.
    uint64_t taken = 1;
    while (taken < demand_ && waker_.TryAcquire()) ++taken;
    uint64_t granted = std::min(taken, demand_);  // calls may have given up while we waited
    demand_ -= granted;
    ready_ += granted;
    bool notify = granted != 0 && !notified_;
    if (notify) notified_ = true;
    lock.unlock();
    GiveBack(taken - granted);
    if (notify && !sink_->Notify()) {
      // The JS side is gone (its environment is shutting down): nothing will take the grants.
      lock.lock();
      stop_ = true;
      demand_ = 0;
      uint64_t undelivered = std::exchange(ready_, 0);
      lock.unlock();
      GiveBack(undelivered);
      return;
    }
    lock.lock();
  }
}

}  // namespace worker_waker
