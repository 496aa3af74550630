#include "wait_queue.h"

#include <algorithm>
#include <unordered_set>

#if defined(WW_ADDRESS_WAIT_FUTEX)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>
#elif defined(WW_ADDRESS_WAIT_WINDOWS)
#ifndef NOMINMAX
#define NOMINMAX
#endif
// WaitOnAddress needs Windows 8 headers (Node 20 itself needs Windows 10).
#if !defined(_WIN32_WINNT) || _WIN32_WINNT < 0x0602
#undef _WIN32_WINNT
#define _WIN32_WINNT 0x0602
#endif
#include <windows.h>
#endif

#include "test_seams.h"

namespace worker_waker {

using Clock = std::chrono::steady_clock;

// ---- Parker -------------------------------------------------------------------------------

void Parker::SleepUntil(Clock::time_point until) {
#if defined(WW_ADDRESS_WAIT_FUTEX)
  Clock::duration left = until - Clock::now();
  if (left <= Clock::duration::zero()) return;
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(left);
  timespec timeout{};
  timeout.tv_sec = static_cast<time_t>(seconds.count());
  timeout.tv_nsec = static_cast<long>(std::chrono::duration_cast<std::chrono::nanoseconds>(left - seconds).count());
  // Sleeps only while the flag is still 0 (the kernel checks that atomically with queueing us),
  // so a Set() before this call makes it return at once.
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&flag_), FUTEX_WAIT_PRIVATE, 0u, &timeout, nullptr, 0);
#elif defined(WW_ADDRESS_WAIT_WINDOWS)
  Clock::duration left = until - Clock::now();
  if (left <= Clock::duration::zero()) return;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(left).count() + 1;
  uint32_t expected = 0;
  WaitOnAddress(&flag_, &expected, sizeof expected, static_cast<DWORD>(std::min<long long>(ms, 0x7fffffff)));
#else
  std::unique_lock<std::mutex> lock(mutex_);
  // Relaxed inside the predicate: mutex_ orders it with Set()'s store.
  wakeup_.wait_until(lock, until, [this] { return flag_.load(std::memory_order_relaxed) != 0; });
#endif
}

void Parker::Set() {
#if defined(WW_ADDRESS_WAIT_CONDVAR)
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Release: see IsSet().
    flag_.store(1, std::memory_order_release);
  }
  wakeup_.notify_one();
#else
  // Release: see IsSet(). The wake after the store (Wake) cannot be lost: a sleeper that has not
  // entered the kernel yet finds the flag set there and returns.
  flag_.store(1, std::memory_order_release);
#endif
}

void Parker::Wake(std::atomic<uint32_t>* flag) {
#if defined(WW_ADDRESS_WAIT_FUTEX)
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(flag), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
#elif defined(WW_ADDRESS_WAIT_WINDOWS)
  WakeByAddressSingle(flag);
#else
  (void)flag;  // Set() notified already
#endif
}

void Wakeups::Add(Parker& parker) {
#if !defined(WW_ADDRESS_WAIT_CONDVAR)
  if (count_ < 4) {
    first_[count_++] = parker.flag();
  } else {
    more_.push_back(parker.flag());
  }
#else
  (void)parker;
#endif
}

void Wakeups::Flush() {
  for (size_t i = 0; i < count_; ++i) Parker::Wake(first_[i]);
  for (std::atomic<uint32_t>* flag : more_) Parker::Wake(flag);
  count_ = 0;
  more_.clear();
}

// ---- queues and their registry ------------------------------------------------------------

namespace {

// The two intrusive lists a node lives in (its queue, then its host's ready list), through the
// same links.
void PushBack(WaitNode*& head, WaitNode*& tail, WaitNode* node) {
  node->prev = tail;
  node->next = nullptr;
  if (tail != nullptr) {
    tail->next = node;
  } else {
    head = node;
  }
  tail = node;
}

void Unlink(WaitNode*& head, WaitNode*& tail, WaitNode* node) {
  if (node->prev != nullptr) {
    node->prev->next = node->next;
  } else {
    head = node->next;
  }
  if (node->next != nullptr) {
    node->next->prev = node->prev;
  } else {
    tail = node->prev;
  }
  node->prev = node->next = nullptr;
}

}  // namespace

class WaitQueue {
 public:
  std::mutex mutex;
  size_t users = 0;  // threads between Enter and Leave; guarded by the registry's lock
  // Guarded by mutex.
  WaitNode* head = nullptr;
  WaitNode* tail = nullptr;

  void Push(WaitNode* node) { PushBack(head, tail, node); }
  void Unlink(WaitNode* node) { worker_waker::Unlink(head, tail, node); }
};

namespace {

struct Registry {
  std::mutex lock;
  std::unordered_map<const void*, WaitQueue*> queues;
};

// Never destroyed: a static destructor could run while a worker that is still shutting down
// uses it.
Registry& TheRegistry() {
  static Registry* registry = new Registry();
  return *registry;
}

WaitQueue* Enter(const void* key) {
  Registry& registry = TheRegistry();
  std::lock_guard<std::mutex> guard(registry.lock);
  WaitQueue*& queue = registry.queues[key];
  if (queue == nullptr) queue = new WaitQueue();
  ++queue->users;
  return queue;
}

// Like Enter, but nullptr when the state has no queue here (nobody waits through this copy).
WaitQueue* Visit(const void* key) {
  Registry& registry = TheRegistry();
  std::lock_guard<std::mutex> guard(registry.lock);
  auto found = registry.queues.find(key);
  if (found == registry.queues.end()) return nullptr;
  ++found->second->users;
  return found->second;
}

// Frees the queue when no thread uses it and no waiter is linked in it. Lock order: registry,
// then queue (nobody takes the registry's lock while holding a queue's).
void Leave(const void* key, WaitQueue* queue) {
  Registry& registry = TheRegistry();
  std::lock_guard<std::mutex> guard(registry.lock);
  if (--queue->users != 0) return;
  {
    std::lock_guard<std::mutex> lock(queue->mutex);
    if (queue->head != nullptr) return;  // async waiters keep it
  }
  registry.queues.erase(key);
  delete queue;
}

// Queue mutex held. `node` is queued: it leaves the queue with one permit. A blocked node's
// thread is woken through `wakeups`, once the caller has released the mutex.
void Grant(WaitQueue& queue, WaitNode* node, Waker& waker, Wakeups& wakeups) {
  queue.Unlink(node);
  waker.CountQueued(-1);
  node->place = WaitNode::Place::kGranted;
  if (node->kind == WaitNode::Kind::kBlocked) {
    waker.CountNotify();
    node->parker.Set();
    wakeups.Add(node->parker);
  } else {
    node->host->PushReady(node);
  }
}

// Queue mutex held. `node` is queued: it leaves the queue without a permit.
void Withdraw(WaitQueue& queue, WaitNode* node, Waker& waker) {
  queue.Unlink(node);
  waker.CountQueued(-1);
  node->place = WaitNode::Place::kLeft;
}

// Queue mutex held: permits in the cell go to the oldest waiters.
void Drain(WaitQueue& queue, Waker& waker, Wakeups& wakeups) {
  while (queue.head != nullptr && waker.TryAcquire()) Grant(queue, queue.head, waker, wakeups);
}

}  // namespace

namespace wait_queue {

size_t QueueCount() {
  Registry& registry = TheRegistry();
  std::lock_guard<std::mutex> guard(registry.lock);
  return registry.queues.size();
}

void Dispatch(Waker& waker) {
  WaitQueue* queue = Visit(waker.key());
  if (queue == nullptr) return;
  Wakeups wakeups;
  {
    std::lock_guard<std::mutex> lock(queue->mutex);
    Drain(*queue, waker, wakeups);
  }
  wakeups.Flush();
  Leave(waker.key(), queue);
}

bool Deliver(Waker& waker, uint64_t n, bool saturate) {
  if (n == 0) return true;
  if (waker.Queued() == 0) {
    if (!waker.AddToCell(n, saturate)) return false;
    // The releaser half of the handshake in wait_queue.h: a waiter counted meanwhile may have
    // looked at the cell before our addition.
    if (waker.Queued() != 0) Dispatch(waker);
    return true;
  }
  WaitQueue* queue = Visit(waker.key());
  if (queue == nullptr) {
    // Counted waiters, none of them here: another copy of the addon's (or a scribbled cell).
    // They take the permits from the cell (their Drain, their safety net).
    return waker.AddToCell(n, saturate);
  }
  bool added = true;
  Wakeups wakeups;
  {
    std::lock_guard<std::mutex> lock(queue->mutex);
    // The cap is checked before anything moves, so that a refused release changes nothing.
    if (!saturate && !waker.CellHasRoomFor(n)) {
      added = false;
    } else {
      uint64_t handed = 0;
      while (handed < n && queue->head != nullptr) {
        Grant(*queue, queue->head, waker, wakeups);
        ++handed;
      }
      // Past the check above, the rest saturates (a concurrent release may have filled the
      // cell meanwhile; refusing now would undo grants already made).
      if (handed < n) waker.AddToCell(n - handed, true);
      Drain(*queue, waker, wakeups);  // permits already in the cell (another copy, a race) go first in line
    }
  }
  wakeups.Flush();
  Leave(waker.key(), queue);
  return added;
}

WaitResult WaitBlocked(Waker& waker, const Clock::time_point* deadline, const std::function<bool()>& interrupted) {
  const void* key = waker.key();
  WaitQueue* queue = Enter(key);
  WaitNode node(WaitNode::Kind::kBlocked, waker.words());
  WaitResult result = WaitResult::kAcquired;
  bool queued = false;
  Wakeups wakeups;
  {
    std::lock_guard<std::mutex> lock(queue->mutex);
    if (queue->head != nullptr || !waker.TryAcquire()) {
      queue->Push(&node);
      waker.CountQueued(1);
      Drain(*queue, waker, wakeups);  // the waiter half of the handshake in wait_queue.h
      queued = true;
    }
  }
  wakeups.Flush();
  bool granted = !queued;
  bool stopping = false;
  while (queued) {
    Clock::time_point wakeAt = Clock::now() + WW_PARK_SLICE;
    if (deadline != nullptr && *deadline < wakeAt) wakeAt = *deadline;
    WW_TEST_WINDOW(kBeforeWait);  // the lost-wakeup window: counted, not yet asleep
    if (!node.parker.IsSet()) node.parker.SleepUntil(wakeAt);
    bool sliceOver = Clock::now() >= wakeAt;
    {
      // Taken also after a wake: the granter holds it while it touches our node, so once we
      // own it the node is ours to drop.
      std::lock_guard<std::mutex> lock(queue->mutex);
      // The safety net: permits that reached the cell without a Drain (another copy of the
      // addon released, or the queued cell was scribbled to 0).
      if (node.place == WaitNode::Place::kQueued) Drain(*queue, waker, wakeups);
      if (node.place == WaitNode::Place::kGranted) {
        granted = true;
        break;
      }
      if (deadline != nullptr && Clock::now() >= *deadline) {
        Withdraw(*queue, &node, waker);
        result = WaitResult::kTimedOut;
        break;
      }
    }
    wakeups.Flush();
    // Between slices, outside the mutex (the probe may call into the host).
    if (sliceOver && interrupted && interrupted()) {
      std::lock_guard<std::mutex> lock(queue->mutex);
      stopping = true;
      if (node.place == WaitNode::Place::kGranted) {
        granted = true;
      } else {
        Withdraw(*queue, &node, waker);
        result = WaitResult::kInterrupted;
      }
      break;
    }
  }
  wakeups.Flush();  // others granted by this thread's last Drain
  Leave(key, queue);
  if (granted && queued && interrupted && (stopping || interrupted())) {
    // A thread that is going away takes nothing: the permit goes to the next waiter.
    waker.ReturnPermits(1);
    return WaitResult::kInterrupted;
  }
  if (result == WaitResult::kTimedOut) {
    // One last try after leaving: a permit released after our last look went to the cell
    // (we were no longer queued), and nobody else would tell us.
    WW_TEST_WINDOW(kAfterTimeout);
    if (waker.TryAcquire()) result = WaitResult::kAcquired;
  }
  return result;
}

}  // namespace wait_queue

// ---- AsyncHost ----------------------------------------------------------------------------

AsyncHost::~AsyncHost() { Shutdown(); }

WaitNode* AsyncHost::Find(uint64_t id) const {
  auto found = live_.find(id);
  return found == live_.end() ? nullptr : found->second;
}

void AsyncHost::Forget(WaitNode* node) {
  live_.erase(node->id);
  Free(node);
}

void AsyncHost::Free(WaitNode* node) {
  Word* state = node->words;
  delete node;
  sink_->CallEnded(state);
}

AsyncHost::Start AsyncHost::Acquire(Word* state, bool wait, uint32_t dispatcher, uint64_t* id) {
  Waker waker(state);
  WaitNode* node = wait ? new WaitNode(WaitNode::Kind::kAsync, state) : nullptr;
  WaitQueue* queue = Enter(state);
  Start result = Start::kQueued;
  Wakeups wakeups;
  {
    std::lock_guard<std::mutex> lock(queue->mutex);
    if (queue->head == nullptr && waker.TryAcquire()) {
      result = Start::kTaken;
    } else if (node == nullptr) {
      result = Start::kNotTaken;
    } else {
      node->host = this;
      node->dispatcher = dispatcher;
      node->id = nextId_++;
      live_.emplace(node->id, node);
      *id = node->id;
      queue->Push(node);
      waker.CountQueued(1);
      Drain(*queue, waker, wakeups);  // the waiter half of the handshake in wait_queue.h
    }
  }
  wakeups.Flush();
  Leave(state, queue);
  if (result != Start::kQueued) delete node;
  return result;
}

void AsyncHost::PushReady(WaitNode* node) {
  std::lock_guard<std::mutex> lock(mutex_);
  PushBack(readyHead_, readyTail_, node);
  if (!signalled_ && !closed_) {
    signalled_ = true;
    sink_->Signal();
  }
}

void AsyncHost::Cancel(uint64_t id) {
  WaitNode* node = Find(id);
  if (node == nullptr) return;
  Waker waker(node->words);
  if (node->delivering) {
    // In the batch being handed out right now: Finish frees it and must not count it.
    node->cancelled = true;
    live_.erase(id);
    ++cancelsGivingBack_;
    waker.ReturnPermits(1);
    return;
  }
  WaitQueue* queue = Enter(node->words);
  bool wasQueued;
  {
    std::lock_guard<std::mutex> lock(queue->mutex);
    wasQueued = node->place == WaitNode::Place::kQueued;
    if (wasQueued) Withdraw(*queue, node, waker);
  }
  Leave(node->words, queue);
  if (!wasQueued) {
    // Granted (read under the queue mutex, which the granter held while it pushed the node):
    // the node is in the ready list. Its permit goes back.
    {
      std::lock_guard<std::mutex> lock(mutex_);
      Unlink(readyHead_, readyTail_, node);
    }
    ++cancelsGivingBack_;
    waker.ReturnPermits(1);
  }
  Forget(node);
}

void AsyncHost::TakeReady(size_t max, std::vector<WaitNode*>* batch) {
  std::lock_guard<std::mutex> lock(mutex_);
  while (readyHead_ != nullptr && batch->size() < max) {
    WaitNode* node = readyHead_;
    readyHead_ = node->next;
    node->prev = node->next = nullptr;
    node->delivering = true;
    batch->push_back(node);
  }
  if (readyHead_ == nullptr) {
    readyTail_ = nullptr;
    signalled_ = false;
  } else {
    readyHead_->prev = nullptr;
    if (!closed_) sink_->Signal();  // more than one batch: ask for another turn (signalled_ stays)
  }
}

namespace {
// Gives back `count` permits per state, one Deliver per run of nodes on the same state.
void GiveBackEach(const std::vector<WaitNode*>& nodes) {
  size_t i = 0;
  while (i < nodes.size()) {
    Word* words = nodes[i]->words;
    uint64_t count = 0;
    for (; i < nodes.size() && nodes[i]->words == words; ++i) ++count;
    Waker waker(words);
    waker.ReturnPermits(count);
  }
}
}  // namespace

void AsyncHost::Finish(const std::vector<WaitNode*>& batch, size_t delivered) {
  std::vector<WaitNode*> undelivered;
  for (size_t i = 0; i < batch.size(); ++i) {
    WaitNode* node = batch[i];
    // A cancelled node's permit went back in Cancel, which also dropped it from live_.
    if (!node->cancelled) {
      if (i >= delivered) undelivered.push_back(node);
      live_.erase(node->id);
    }
  }
  GiveBackEach(undelivered);
  for (WaitNode* node : batch) Free(node);
}

void AsyncHost::Poll() {
  std::unordered_set<Word*> withPermits;
  for (const auto& entry : live_) {
    WaitNode* node = entry.second;
    if (node->delivering) continue;
    Waker waker(node->words);
    if (waker.Permits() != 0) withPermits.insert(node->words);
  }
  for (Word* words : withPermits) {
    Waker waker(words);
    wait_queue::Dispatch(waker);
  }
}

void AsyncHost::Shutdown() {
  for (const auto& entry : live_) {
    WaitNode* node = entry.second;
    if (node->delivering) continue;
    Waker waker(node->words);
    WaitQueue* queue = Enter(node->words);
    {
      std::lock_guard<std::mutex> lock(queue->mutex);
      if (node->place == WaitNode::Place::kQueued) Withdraw(*queue, node, waker);
    }
    Leave(node->words, queue);
  }
  // No node is queued any more, so no granter can reach this host: the ready list is final.
  std::vector<WaitNode*> ready;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    for (WaitNode* node = readyHead_; node != nullptr; node = node->next) ready.push_back(node);
    readyHead_ = readyTail_ = nullptr;
  }
  GiveBackEach(ready);
  for (auto it = live_.begin(); it != live_.end();) {
    if (it->second->delivering) {
      ++it;
    } else {
      WaitNode* node = it->second;
      it = live_.erase(it);
      Free(node);
    }
  }
}

}  // namespace worker_waker
