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
#include "async_binding.h"

#include <algorithm>
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
  void Signal() override { napi_call_threadsafe_function(tsfn_, nullptr, napi_tsfn_nonblocking); }

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

  // JS thread, at environment teardown, before Node's TSFN hook.
  static void Cleanup(void* arg) { static_cast<Host*>(arg)->core_.Shutdown(); }

  // JS thread, when Node closes the TSFN (teardown).
  static void Finalize(napi_env env, void* data, void*) {
    Host* host = static_cast<Host*>(data);
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

}  // namespace

size_t AsyncPending(napi_env env) {
  Host* host = Host::Of(env);
  return host == nullptr ? 0 : host->core().Pending();
}

uint64_t AsyncCancelsGivingBackGrant(napi_env env) {
  Host* host = Host::Of(env);
  return host == nullptr ? 0 : host->core().CancelsGivingBack();
}

void InitAsyncExports(Napi::Env env, Napi::Object exports) {
  exports.Set("asyncInit", Napi::Function::New(env, AsyncInit, "asyncInit"));
  exports.Set("asyncBatch", Napi::Number::New(env, static_cast<double>(kBatch)));
  exports.Set("asyncAcquire", Napi::Function::New(env, AsyncAcquire, "asyncAcquire"));
  exports.Set("asyncCancel", Napi::Function::New(env, AsyncCancel, "asyncCancel"));
  exports.Set("asyncRef", Napi::Function::New(env, AsyncRef, "asyncRef"));
  exports.Set("asyncPoll", Napi::Function::New(env, AsyncPoll, "asyncPoll"));
}

}  // namespace worker_waker
