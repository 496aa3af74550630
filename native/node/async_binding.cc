// Node-API glue of acquireAsync: one Host per environment (JS thread). A host wraps the core's
// AsyncHost (native/core/wait_queue.h: the queued calls, the ready grants, their accounting) and one
// thread-safe function, its GrantSink: whichever thread grants a permit to a queued call
// signals it, and the environment's event loop then hands the ready grants to the JS
// dispatcher of lib/acquire-async.ts. No thread of ours exists; one signal serves many grants.
//
// Threads: everything here runs on the environment's own JS thread (the exports, the TSFN's
// call_js and finalizer, the env cleanup hook) except Signal(), which any granting thread calls
// (under the AsyncHost's mutex) and which only touches the TSFN.
//
// Delivery is exact (the invariant is in wait_queue.h): call_js takes a batch of ready grants,
// writes their call ids into the dispatcher's `ids` array and calls dispatch(n), which writes
// into `progress[0]` how many of them it has handed to promises so far; whatever the call's outcome (an environment being terminated
// stops JS mid-loop), the grants past that count go back to the waker.
//
// Dispatchers: each instance of the JS layer on a thread registers its own (dispatch, progress,
// ids) with asyncInit and gets an index; its calls carry that index. Usually there is
// one; a test runner that loads lib/ afresh per test file (Jest) makes several, and each must
// get the grants of its own calls.
//
// Teardown: our cleanup hook, registered after the TSFN was made and therefore run before
// Node's own TSFN hook, shuts the host down (queued calls leave their queues, ready grants go
// back, the TSFN is never called again); Node then closes the TSFN and Finalize() frees the
// host. Pending promises stay pending: no JS runs any more.
//
// The loop spin (acquireAsync's `spinMicroseconds`). Waking a thread whose event loop sleeps in
// epoll costs tens of microseconds when its CPU has halted meanwhile; a grant that arrives while
// the thread is still awake costs none of that. So while a pending call of this thread asked for
// it, a libuv prepare handle (run right before the loop polls for I/O) polls `signalsSent_`
// for up to the largest requested budget, and returns as soon as a grant's signal has been
// sent that CallJs has not answered yet: the poll that follows then finds the TSFN's async handle ready and does not sleep. It
// spins only when the loop is about to sleep anyway (uv_backend_timeout() != 0: no setImmediate
// or other idle work pending), never longer than the loop's own timeout (a timer due meanwhile
// runs no later than without the spin), and adaptively (SpinBackoff: spins that find nothing
// back off, so a thread whose calls wait long stops burning its CPU). It also ends as soon as the
// loop has I/O to handle (LoopHasIo: a readable socket, an incoming connection, a message from
// another thread), which the poll would otherwise only see after the spin. The handle is unref'd: it
// never keeps a loop alive. Its memory (LoopSpin) lives until libuv has closed it, which an
// async cleanup hook does at teardown; the host and the handle drop their links to each other
// when either goes first.
#include "async_binding.h"

#include <uv.h>

// Where uv_backend_fd() is an fd that poll() reports ready when the loop has events: epoll
// (Linux) and kqueue (macOS, the BSDs). See LoopHasIo.
#if defined(__linux__) || defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || \
    defined(__NetBSD__) || defined(__DragonFly__)
#define WORKER_WAKER_POLLABLE_LOOP_FD 1
#include <poll.h>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <unordered_map>
#include <vector>

#include "binding_args.h"
#include "../core/wait_queue.h"

namespace worker_waker {
namespace {

// Grants handed to JS per call_js. More wait for the next call (queued at once), so that the
// microtasks of one batch run before the next is handed out: a thread terminated during a
// large hand-out leaves at most one batch of resolved promises that never ran on.
constexpr size_t kBatch = 256;

// The largest `spinMicroseconds` a call may ask for (lib/acquire-async.ts checks the option).
constexpr uint32_t kMaxLoopSpinMicros = 1000;

// How often the loop spin asks whether the loop has I/O ready: a poll() costs a system call
// (a few hundred nanoseconds), so it is made at most once per this interval of the spin.
constexpr std::chrono::microseconds kIoCheckInterval{2};

// Whether the loop's next poll would find I/O ready without sleeping. `backendFd` is
// uv_backend_fd(): the epoll fd on Linux, the kqueue fd on macOS and the BSDs. Both are
// readable exactly when their kernel object has events ready (epoll: its ready list is not
// empty, each fd rechecked as level-triggered; kqueue: a kevent() would return events), so a
// readable backend fd means the loop's epoll_wait/kevent returns at once: spinning on would only
// delay that I/O. Every source the loop waits on is in that set: sockets, pipes, the async
// handles other threads wake it with, the io_uring ring of libuv's fs calls. It may answer true
// for events libuv then ignores (a watcher stopped or changed earlier in this turn stays armed
// until the poll updates it): that ends a spin early, which costs the spin's gain, never
// correctness. Where there is no such fd it says false, and the spin ends only on a grant, its
// budget or the next timer: on Windows (uv_backend_fd() is -1: the loop waits on an I/O
// completion port, which cannot be asked without taking its events) and wherever the backend is
// something else (AIX's pollset handle is not an fd).
bool LoopHasIo(int backendFd) {
#if !defined(WORKER_WAKER_POLLABLE_LOOP_FD)
  (void)backendFd;
  return false;
#else
  if (backendFd < 0) return false;
  struct pollfd ready = {backendFd, POLLIN, 0};
  // Timeout 0: asks and returns. An error (EINTR) reads as "nothing ready": the spin goes on
  // and asks again at the next interval.
  return ::poll(&ready, 1, 0) > 0 && (ready.revents & POLLIN) != 0;
#endif
}

class Host;

// The prepare handle of the loop spin (see the top of this file) and the links that let the host
// and the handle outlive each other. JS thread only.
struct LoopSpin {
  uv_prepare_t handle;
  Host* host = nullptr;  // null once the host is finalized
  napi_async_cleanup_hook_handle hook = nullptr;
  bool started = false;
};

// What the loop spin did (the test build reads them: asyncSpinStats). JS thread only.
struct LoopSpinStats {
  double spins = 0;          // spins made
  double found = 0;          // spins that ended because a grant was signalled
  double endedByIo = 0;      // spins that ended because the loop had I/O to handle
  double notSleeping = 0;    // prepares skipped because the loop was not going to sleep
  double backingOff = 0;     // prepares skipped by the back-off
  double spunMicros = 0;     // time spent spinning
  double maxSpinMicros = 0;  // the longest spin
};

class Host final : public GrantSink {
 public:
  static Host* Of(napi_env env) {
    void* data = nullptr;
    if (napi_get_instance_data(env, &data) != napi_ok) return nullptr;
    return static_cast<Host*>(data);
  }

  static Host* Create(Napi::Env env) {
    Host* host = new Host(env);
    napi_value name;
    napi_status status = napi_create_string_utf8(env, "WorkerWaker.acquireAsync", NAPI_AUTO_LENGTH, &name);
    // No JS function of its own (call_js finds the dispatchers); an unbounded queue (a
    // nonblocking call never fails for space); no thread count to keep: the granting threads
    // come and go, and Signal() only queues a call.
    if (status == napi_ok) {
      status = napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, host, Finalize, host, CallJs,
                                               &host->tsfn_);
    }
    if (status != napi_ok) {
      delete host;
      throw Napi::Error::New(env, "worker-waker: could not set up acquireAsync on this thread");
    }
    // Unreferenced until a call with `ref: true` is pending (asyncRef).
    napi_unref_threadsafe_function(env, host->tsfn_);
    napi_add_env_cleanup_hook(env, Cleanup, host);
    napi_set_instance_data(env, host, nullptr, nullptr);
    return host;
  }

  // Registers a (dispatch, progress, ids) triple; returns its index.
  uint32_t AddDispatcher(Napi::Env env, Napi::Value dispatch, Napi::Value progress, Napi::Value ids) {
    if (!dispatch.IsFunction() || ArrayMemory(env, progress, napi_uint32_array, 1) == nullptr ||
        ArrayMemory(env, ids, napi_float64_array, kBatch) == nullptr) {
      throw Napi::TypeError::New(env, "asyncInit(dispatch, progress, ids) takes a function, a Uint32Array and a Float64Array(256)");
    }
    Dispatcher added;
    napi_create_reference(env, dispatch, 1, &added.dispatch);
    napi_create_reference(env, progress, 1, &added.progress);
    napi_create_reference(env, ids, 1, &added.ids);
    dispatchers_.push_back(added);
    return static_cast<uint32_t>(dispatchers_.size() - 1);
  }

  // Dispatcher `index` now has pending calls that asked for a loop spin of up to `micros` (0:
  // none). The loop spins for the largest request of all dispatchers; the prepare handle runs
  // only while that is not 0.
  void SetSpin(napi_env env, uint32_t index, uint32_t micros) {
    dispatchers_[index].spinMicros = micros;
    uint32_t largest = 0;
    for (const Dispatcher& dispatcher : dispatchers_) largest = std::max(largest, dispatcher.spinMicros);
    spinMicros_ = largest;
    if (largest != 0 && spin_ == nullptr) {
      uv_loop_t* loop = nullptr;
      if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) return;  // no spin: calls still work
      auto* spin = new LoopSpin();
      if (uv_prepare_init(loop, &spin->handle) != 0) {
        delete spin;
        return;
      }
      spin->handle.data = spin;
      spin->host = this;
      // Unref'd: a pending spin call must not keep the loop alive (its TSFN ref does, when asked).
      uv_unref(reinterpret_cast<uv_handle_t*>(&spin->handle));
      if (napi_add_async_cleanup_hook(env, CloseSpin, spin, &spin->hook) != napi_ok) {
        // Closed at once: without the hook nothing would close it at teardown.
        spin->host = nullptr;
        uv_close(reinterpret_cast<uv_handle_t*>(&spin->handle), FreeSpin);
        return;
      }
      spin_ = spin;
    }
    if (spin_ == nullptr) return;
    if (largest != 0 && !spin_->started) {
      uv_prepare_start(&spin_->handle, OnPrepare);
      spin_->started = true;
    } else if (largest == 0 && spin_->started) {
      uv_prepare_stop(&spin_->handle);
      spin_->started = false;
    }
  }

  const LoopSpinStats& spinStats() const { return spinStats_; }
  // The back-off as a thread that never spun has it (the test build: tests start from it).
  void ResetSpinBackoff() { spinBackoff_ = SpinBackoff(); }

  bool HasDispatcher(uint32_t index) const { return index < dispatchers_.size(); }

  void Ref(napi_env env, bool ref) {
    if (ref) {
      if (refs_++ == 0) napi_ref_threadsafe_function(env, tsfn_);
    } else if (refs_ != 0 && --refs_ == 0) {
      napi_unref_threadsafe_function(env, tsfn_);
    }
  }
  AsyncHost& core() { return core_; }

  // Any thread, under the AsyncHost's mutex, never after Shutdown().
  void Signal() override {
    if (napi_call_threadsafe_function(tsfn_, nullptr, napi_tsfn_nonblocking) != napi_ok) return;
    // Counted after the call: a loop spin that sees the count go up goes on to poll, and the
    // TSFN's async handle must already be ready then, or the poll would sleep after all. Release,
    // paired with the spin's acquire load: the wake-up written by the call above happens before
    // that poll. A count, not a flag that CallJs clears: CallJs may answer this call before the
    // count below lands (this thread preempted right after waking the JS thread, as on one CPU),
    // and a flag set after its clear would stay set with nothing pending, so the loop would not
    // spin again until some later grant. Each successful call is answered by one CallJs, so the
    // two counts meet again.
    signalsSent_.fetch_add(1, std::memory_order_release);
  }

  // JS thread: a call was queued on `state` (its BigUint64Array is `array`). The array stays
  // referenced while the state has queued calls here: a node points into its memory, and a
  // direct caller of the .node may drop the array while the call waits.
  void PinState(napi_env env, Word* state, napi_value array) {
    Pin& pin = pins_[state];
    if (pin.calls++ == 0 && napi_create_reference(env, array, 1, &pin.ref) != napi_ok) pin.ref = nullptr;
  }

  // JS thread (the core frees nodes there): the last touch of `state` by one call is done.
  void CallEnded(Word* state) override {
    auto found = pins_.find(state);
    if (found == pins_.end() || --found->second.calls != 0) return;
    if (found->second.ref != nullptr) napi_delete_reference(env_, found->second.ref);
    pins_.erase(found);
  }

 private:
  explicit Host(napi_env env) : env_(env), core_(this) {}

  static void CallJs(napi_env env, napi_value, void* context, void*) {
    // env is null when Node empties the queue of a finalized TSFN: nothing left to touch.
    if (env == nullptr) return;
    Host* host = static_cast<Host*>(context);
    // This call answers one Signal() (see there); a grant pushed after TakeReady below has
    // emptied the ready list signals again and is counted anew.
    ++host->signalsAnswered_;
    std::vector<WaitNode*> batch;
    host->core_.TakeReady(kBatch, &batch);
    // One dispatch call per run of calls of the same dispatcher, in FIFO order.
    std::vector<WaitNode*> run;
    bool stopped = false;  // once JS was refused (the environment is stopping), nothing is handed out
    for (size_t start = 0; start < batch.size();) {
      size_t end = start;
      while (end < batch.size() && batch[end]->dispatcher == batch[start]->dispatcher) ++end;
      run.assign(batch.begin() + static_cast<std::ptrdiff_t>(start), batch.begin() + static_cast<std::ptrdiff_t>(end));
      size_t delivered = stopped ? 0 : host->Deliver(env, run);
      if (delivered < run.size()) stopped = true;
      host->core_.Finish(run, delivered);
      start = end;
    }
  }

  // The memory of typed array `value` when it is of `type` with at least `length` elements;
  // else nullptr. Read afresh for every batch: a direct caller of the .node may have detached
  // or shrunk the buffer since it registered it.
  static void* ArrayMemory(napi_env env, napi_value value, napi_typedarray_type type, size_t length) {
    napi_typedarray_type actual;
    size_t actualLength = 0;
    void* data = nullptr;
    if (napi_get_typedarray_info(env, value, &actual, &actualLength, &data, nullptr, nullptr) != napi_ok ||
        actual != type || actualLength < length) {
      return nullptr;
    }
    return data;
  }

  // Hands `run` (calls of one dispatcher, at most kBatch) to JS; returns how many were handed
  // to promises.
  size_t Deliver(napi_env env, const std::vector<WaitNode*>& run) {
    // Copied out: JS run by the call below may register another dispatcher (the vector grows).
    const Dispatcher target = dispatchers_[run.front()->dispatcher];
    napi_value dispatch;
    napi_value progressArray;
    napi_value idsArray;
    napi_value count;
    napi_value recv;
    if (napi_get_reference_value(env, target.dispatch, &dispatch) != napi_ok || dispatch == nullptr ||
        napi_get_reference_value(env, target.progress, &progressArray) != napi_ok || progressArray == nullptr ||
        napi_get_reference_value(env, target.ids, &idsArray) != napi_ok || idsArray == nullptr ||
        napi_create_uint32(env, static_cast<uint32_t>(run.size()), &count) != napi_ok ||
        napi_get_undefined(env, &recv) != napi_ok) {
      return 0;
    }
    auto* progress = static_cast<uint32_t*>(ArrayMemory(env, progressArray, napi_uint32_array, 1));
    auto* ids = static_cast<double*>(ArrayMemory(env, idsArray, napi_float64_array, run.size()));
    if (progress == nullptr || ids == nullptr) return 0;
    progress[0] = 0;
    for (size_t i = 0; i < run.size(); ++i) ids[i] = static_cast<double>(run[i]->id);
    // The outcome does not matter: progress says how far the dispatcher got (all of it, or less
    // when the environment stopped JS mid-loop or refused to run it at all).
    napi_call_function(env, recv, dispatch, 1, &count, nullptr);
    // Read again: the dispatcher may have detached the buffer meanwhile (then nothing counts).
    progress = static_cast<uint32_t*>(ArrayMemory(env, progressArray, napi_uint32_array, 1));
    return progress == nullptr ? 0 : std::min<size_t>(progress[0], run.size());
  }

  // JS thread, before the loop polls for I/O, while some pending call asked for a loop spin.
  static void OnPrepare(uv_prepare_t* handle) {
    auto* spin = static_cast<LoopSpin*>(handle->data);
    if (spin->host != nullptr) spin->host->SpinBeforePoll(handle->loop);
  }

  // Whether a Signal() is sent and not answered yet (then the poll will not sleep), or answered
  // before its sender counted it (then it is counted any moment: not spinning meanwhile costs
  // nothing). Acquire: see Signal().
  bool SignalOutstanding() const { return signalsSent_.load(std::memory_order_acquire) != signalsAnswered_; }

  void SpinBeforePoll(uv_loop_t* loop) {
    using Clock = std::chrono::steady_clock;
    if (spinMicros_ == 0 || !SpinEnabled()) return;
    if (SignalOutstanding()) return;
    // Fresh: the timeout below is then measured from now, not from the start of this turn.
    uv_update_time(loop);
    const int timeout = uv_backend_timeout(loop);
    if (timeout == 0) {  // setImmediate callbacks or other idle work: the loop does not sleep
      ++spinStats_.notSleeping;
      return;
    }
    if (!spinBackoff_.ShouldSpin()) {
      ++spinStats_.backingOff;
      return;
    }
    std::chrono::microseconds budget{spinMicros_};
    if (timeout > 0) budget = std::min<std::chrono::microseconds>(budget, std::chrono::milliseconds(timeout));
    const Clock::time_point start = Clock::now();
    const Clock::time_point giveUpAt = start + budget;
    const int backendFd = uv_backend_fd(loop);
    bool found = false;
    // I/O that came in during this turn's callbacks: the poll would not sleep at all.
    bool io = LoopHasIo(backendFd);
    Clock::time_point nextIoCheck = start + kIoCheckInterval;
    for (unsigned round = 1; !io; ++round) {
      CpuRelax();
      if (SignalOutstanding()) {
        found = true;
        break;
      }
      if (round % 16 != 0) continue;  // reading the clock costs ~20 ns
      const Clock::time_point now = Clock::now();
      if (now >= giveUpAt) break;
      if (now >= nextIoCheck) {
        io = LoopHasIo(backendFd);
        nextIoCheck = now + kIoCheckInterval;
      }
    }
    // A grant's Signal() wakes the loop (its async handle: I/O) just before it counts the signal:
    // a spin that saw that I/O first was ended by the grant.
    if (io && SignalOutstanding()) {
      io = false;
      found = true;
    }
    // A spin ended by I/O neither found a grant nor spent its budget in vain (it ended when the
    // loop had work): it leaves the back-off as it was.
    if (!io) spinBackoff_.Record(found);
    const double spun = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    ++spinStats_.spins;
    if (found) ++spinStats_.found;
    if (io) ++spinStats_.endedByIo;
    spinStats_.spunMicros += spun;
    spinStats_.maxSpinMicros = std::max(spinStats_.maxSpinMicros, spun);
    // The loop computes its poll timeout from its cached time: brought up to date, the time spun
    // counts against that timeout instead of adding to it.
    uv_update_time(loop);
  }

  // JS thread, at teardown (an async cleanup hook, so that Node waits for the close).
  static void CloseSpin(napi_async_cleanup_hook_handle hook, void* arg) {
    auto* spin = static_cast<LoopSpin*>(arg);
    spin->hook = hook;
    if (spin->host != nullptr) spin->host->spin_ = nullptr;
    spin->host = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&spin->handle), FreeSpin);
  }

  static void FreeSpin(uv_handle_t* handle) {
    auto* spin = static_cast<LoopSpin*>(handle->data);
    if (spin->hook != nullptr) napi_remove_async_cleanup_hook(spin->hook);
    delete spin;
  }

  // The host is going away first: the handle stops and forgets it (CloseSpin still closes it).
  void DetachSpin() {
    if (spin_ == nullptr) return;
    if (spin_->started) uv_prepare_stop(&spin_->handle);
    spin_->started = false;
    spin_->host = nullptr;
    spin_ = nullptr;
  }

  // JS thread, at environment teardown, before Node's TSFN hook.
  static void Cleanup(void* arg) {
    Host* host = static_cast<Host*>(arg);
    host->DetachSpin();
    host->core_.Shutdown();
  }

  // JS thread, when Node closes the TSFN (teardown).
  static void Finalize(napi_env env, void* data, void*) {
    Host* host = static_cast<Host*>(data);
    host->DetachSpin();
    host->core_.Shutdown();
    napi_remove_env_cleanup_hook(env, Cleanup, host);
    for (Dispatcher& dispatcher : host->dispatchers_) {
      napi_delete_reference(env, dispatcher.dispatch);
      napi_delete_reference(env, dispatcher.progress);
      napi_delete_reference(env, dispatcher.ids);
    }
    napi_set_instance_data(env, nullptr, nullptr, nullptr);
    delete host;
  }

  struct Dispatcher {
    napi_ref dispatch = nullptr;
    napi_ref progress = nullptr;  // Uint32Array: [0] calls handed to promises so far
    napi_ref ids = nullptr;       // Float64Array of kBatch: the batch's call ids
    uint32_t spinMicros = 0;      // the loop spin its pending calls asked for (asyncSpin)
  };

  struct Pin {
    napi_ref ref = nullptr;
    size_t calls = 0;
  };

  napi_env env_;
  AsyncHost core_;
  napi_threadsafe_function tsfn_ = nullptr;
  std::vector<Dispatcher> dispatchers_;
  std::unordered_map<Word*, Pin> pins_;  // JS thread only
  size_t refs_ = 0;                      // JS thread only: see AsyncRef
  // Signal() calls made (any thread) and answered by CallJs (JS thread only); the loop spin
  // polls for the first to pass the second.
  std::atomic<uint64_t> signalsSent_{0};
  uint64_t signalsAnswered_ = 0;
  uint32_t spinMicros_ = 0;   // JS thread only: the largest request of the dispatchers
  LoopSpin* spin_ = nullptr;  // JS thread only: made on the first request
  SpinBackoff spinBackoff_;   // JS thread only
  LoopSpinStats spinStats_;   // JS thread only
};

Host& HostArg(const Napi::CallbackInfo& info) {
  Host* host = Host::Of(info.Env());
  if (host == nullptr) throw Napi::Error::New(info.Env(), "worker-waker: asyncInit was not called on this thread");
  return *host;
}

// asyncInit(dispatch, progress, ids) -> the dispatcher's index. dispatch(n) resolves the calls
// of ids[0 .. n) (a Float64Array of kBatch), oldest first, and counts them in progress[0] (a
// Uint32Array).
Napi::Value AsyncInit(const Napi::CallbackInfo& info) {
  Host* host = Host::Of(info.Env());
  if (host == nullptr) host = Host::Create(info.Env());
  return Napi::Number::New(info.Env(), host->AddDispatcher(info.Env(), info[0], info[1], info[2]));
}

// asyncAcquire(state, wait, dispatcher) -> 0 when a permit was taken now; -1 when none was and
// `wait` is false; else the id (>= 1) of the call now queued.
Napi::Value AsyncAcquire(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Word* words = StateWordsArg(info);
  // A queued call's node points into the state until the call ends. Only a SharedArrayBuffer
  // keeps that memory in place: a plain ArrayBuffer can be transferred or resized away meanwhile,
  // and the cancel or grant would then write into memory someone else owns.
  napi_value buffer = nullptr;
  bool plain = true;
  if (napi_get_typedarray_info(env, info[0], nullptr, nullptr, nullptr, &buffer, nullptr) != napi_ok ||
      napi_is_arraybuffer(env, buffer, &plain) != napi_ok || plain) {
    throw Napi::TypeError::New(env, "The \"state\" argument must be a BigUint64Array over a SharedArrayBuffer");
  }
  if (!info[1].IsBoolean()) throw Napi::TypeError::New(env, "The \"wait\" argument must be of type boolean");
  Host& host = HostArg(info);
  double dispatcher = info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : -1;
  if (!(dispatcher >= 0 && dispatcher < 4294967296.0) || !host.HasDispatcher(static_cast<uint32_t>(dispatcher))) {
    throw Napi::RangeError::New(env, "The \"dispatcher\" argument must be an index returned by asyncInit");
  }
  uint64_t id = 0;
  switch (host.core().Acquire(words, info[1].As<Napi::Boolean>().Value(), static_cast<uint32_t>(dispatcher), &id)) {
    case AsyncHost::Start::kTaken: return Napi::Number::New(env, 0);
    case AsyncHost::Start::kNotTaken: return Napi::Number::New(env, -1);
    case AsyncHost::Start::kQueued: break;
  }
  host.PinState(env, words, info[0]);
  return Napi::Number::New(env, static_cast<double>(id));
}

// asyncCancel(id): call `id` gave up (timeout, abort). Reads no shared state header, so that a
// scribbled state cannot make a timeout or an abort throw; unknown ids do nothing.
Napi::Value AsyncCancel(const Napi::CallbackInfo& info) {
  Host* host = Host::Of(info.Env());
  if (host != nullptr && info[0].IsNumber()) {
    double id = info[0].As<Napi::Number>().DoubleValue();
    if (id >= 1 && id <= kMaxSafeInteger) host->core().Cancel(static_cast<uint64_t>(id));
  }
  return info.Env().Undefined();
}

// asyncRef(ref): one more (true) or one less (false) reason for this thread's grant signal to
// keep the event loop alive. Each instance of the JS layer calls it when its count of pending
// calls made with `ref: true` leaves or reaches 0; the host counts the instances, so that one
// of them going idle does not unref another's calls.
Napi::Value AsyncRef(const Napi::CallbackInfo& info) {
  Host* host = Host::Of(info.Env());
  if (host != nullptr && info[0].IsBoolean()) host->Ref(info.Env(), info[0].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

// asyncPoll(): the safety net (wait_queue.h): permits sitting in the cell of a state with a
// call of this thread queued go to the oldest waiters.
Napi::Value AsyncPoll(const Napi::CallbackInfo& info) {
  if (Host* host = Host::Of(info.Env())) host->core().Poll();
  return info.Env().Undefined();
}

// asyncSpin(dispatcher, microseconds): the pending calls of `dispatcher` ask the loop to spin for
// up to `microseconds` (an integer 0-1000; 0: they no longer do) before it sleeps.
Napi::Value AsyncSpin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Host& host = HostArg(info);
  double dispatcher = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(dispatcher >= 0 && dispatcher < 4294967296.0) || !host.HasDispatcher(static_cast<uint32_t>(dispatcher))) {
    throw Napi::RangeError::New(env, "The \"dispatcher\" argument must be an index returned by asyncInit");
  }
  double micros = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
  if (!(micros >= 0 && micros <= kMaxLoopSpinMicros) || micros != static_cast<double>(static_cast<uint32_t>(micros))) {
    throw Napi::RangeError::New(env, "The \"microseconds\" argument must be an integer from 0 to 1000");
  }
  host.SetSpin(env, static_cast<uint32_t>(dispatcher), static_cast<uint32_t>(micros));
  return env.Undefined();
}

}  // namespace

size_t AsyncPending(napi_env env) {
  Host* host = Host::Of(env);
  return host == nullptr ? 0 : host->core().Pending();
}

uint64_t AsyncCancelsGivingBackGrant(napi_env env) {
  Host* host = Host::Of(env);
  return host == nullptr ? 0 : host->core().CancelsGivingBack();
}

void AsyncSpinReset(napi_env env) {
  if (Host* host = Host::Of(env)) host->ResetSpinBackoff();
}

Napi::Value AsyncSpinStats(Napi::Env env) {
  Host* host = Host::Of(env);
  LoopSpinStats stats = host == nullptr ? LoopSpinStats() : host->spinStats();
  Napi::Object result = Napi::Object::New(env);
  result.Set("spins", stats.spins);
  result.Set("found", stats.found);
  result.Set("endedByIo", stats.endedByIo);
  result.Set("notSleeping", stats.notSleeping);
  result.Set("backingOff", stats.backingOff);
  result.Set("spunMicros", stats.spunMicros);
  result.Set("maxSpinMicros", stats.maxSpinMicros);
  return result;
}

void InitAsyncExports(Napi::Env env, Napi::Object exports) {
  exports.Set("asyncInit", Napi::Function::New(env, AsyncInit, "asyncInit"));
  exports.Set("asyncBatch", Napi::Number::New(env, static_cast<double>(kBatch)));
  exports.Set("asyncAcquire", Napi::Function::New(env, AsyncAcquire, "asyncAcquire"));
  exports.Set("asyncCancel", Napi::Function::New(env, AsyncCancel, "asyncCancel"));
  exports.Set("asyncRef", Napi::Function::New(env, AsyncRef, "asyncRef"));
  exports.Set("asyncPoll", Napi::Function::New(env, AsyncPoll, "asyncPoll"));
  exports.Set("asyncSpin", Napi::Function::New(env, AsyncSpin, "asyncSpin"));
}

}  // namespace worker_waker
