// Node-API glue of acquireAsync: one AsyncPort per (environment, waker state) with pending
// calls. A port owns an AsyncWaiter (the thread that takes permits), a thread-safe function
// that hands grants to the JS dispatcher of lib/acquire-async.ts, and a strong reference to
// the state array, so the SharedArrayBuffer outlives the thread that reads it.
//
// Threads: everything here runs on the environment's own JS thread (the exports, the TSFN's
// call_js and finalizer, the env cleanup hook) except Notify() and Retired(), which the waiter
// thread calls and which only touch the TSFN. Nothing touches a napi_env from another thread.
//
// Lifetime of a port:
//   - created by asyncAcquire when a call must wait and no live port serves the state;
//   - asyncCancel and asyncRef find it by id until it is finalized, also once a fresh port has
//     replaced it as the live one of its state, so a call always reaches the port it waits on;
//   - the waiter thread retires after AsyncWaiter::kLinger without demand and without grants in
//     flight, and releases the TSFN;
//     the TSFN then finalizes on the JS thread: Finalize() joins the thread and frees the port;
//   - at environment teardown (worker exit or terminate(), end of the main thread) our cleanup
//     hook, registered after the TSFN was made and therefore run before Node's own TSFN hook,
//     stops and joins every waiter thread of the environment and gives back undelivered grants;
//     Node then closes the TSFN and Finalize() frees the port. Pending promises stay pending:
//     no JS runs any more.
#include "async_binding.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

#include "async_waiter.h"
#include "binding_args.h"
#include "waker_core.h"

namespace worker_waker {
namespace {

class AsyncPort;

struct PortKey {
  napi_env env;
  const void* state;
  bool operator==(const PortKey& other) const { return env == other.env && state == other.state; }
};

struct PortKeyHash {
  size_t operator()(const PortKey& key) const {
    return std::hash<const void*>()(key.env) * 31 + std::hash<const void*>()(key.state);
  }
};

// The live port of each (environment, state): the one new calls join. Each environment runs on
// its own thread and only that thread touches its entries, so thread-local maps need no lock.
thread_local std::unordered_map<PortKey, AsyncPort*, PortKeyHash> ports;
// Every port of this thread not yet finalized, live or retired, by id: where asyncCancel and
// asyncRef go.
thread_local std::unordered_map<uint64_t, AsyncPort*> ports_by_id;

// Ids are Numbers in JS, so they stay below 2^53 (kMaxSafeInteger: at one port a microsecond,
// for 285 years).

// Ids let the JS dispatcher find the queue a grant belongs to. Only uniqueness matters, which
// fetch_add gives in any memory order: hence relaxed.
std::atomic<uint64_t> next_port_id{1};

class AsyncPort final : public AsyncWaiter::Sink {
 public:
  // Makes the port, its TSFN and cleanup hook, registers it and starts its thread.
  static AsyncPort* Create(Napi::Env env, Napi::Value stateArray, Word* words, Napi::Value dispatch) {
    AsyncPort* port = new AsyncPort(env, words);
    napi_status status = napi_create_reference(env, stateArray, 1, &port->state_ref_);
    if (status == napi_ok) {
      napi_value name;
      status = napi_create_string_utf8(env, "WorkerWaker.acquireAsync", NAPI_AUTO_LENGTH, &name);
      if (status == napi_ok) {
        // Unbounded queue (NonBlockingCall never fails for space) and one thread: the waiter's.
        status = napi_create_threadsafe_function(env, dispatch, nullptr, name, 0, 1, port, Finalize,
                                                 port, CallJs, &port->tsfn_);
      }
    }
    if (status != napi_ok) {
      if (port->state_ref_ != nullptr) napi_delete_reference(env, port->state_ref_);
      delete port;
      throw Napi::Error::New(env, "worker-waker: could not start an acquireAsync waiter");
    }
    // Unreferenced until a call with `ref: true` is pending (asyncRef); an idle port must not
    // keep the process alive.
    napi_unref_threadsafe_function(env, port->tsfn_);
    napi_add_env_cleanup_hook(env, Cleanup, port);
    ports[PortKey{env, words}] = port;  // replaces a retired port, which Finalize leaves alone
    ports_by_id[port->id_] = port;
    if (!port->waiter_.Start()) {
      // Release the thread count the waiter would have held: the TSFN finalizes on the loop
      // and Finalize() frees the port like after a retirement.
      napi_release_threadsafe_function(port->tsfn_, napi_tsfn_release);
      throw Napi::Error::New(env, "worker-waker: could not start an acquireAsync waiter thread");
    }
    return port;
  }

  AsyncWaiter& waiter() { return waiter_; }
  uint64_t id() const { return id_; }
  napi_env env() const { return env_; }
  const void* key() const { return key_; }
  napi_threadsafe_function tsfn() const { return tsfn_; }

  // Waiter thread.
  bool Notify() override {
    // napi_closing means the environment is tearing down; Node dropped our thread's count.
    return napi_call_threadsafe_function(tsfn_, nullptr, napi_tsfn_nonblocking) == napi_ok;
  }

  // Waiter thread, as its last act: the TSFN finalizes once its queue is empty.
  void Retired() override { napi_release_threadsafe_function(tsfn_, napi_tsfn_release); }

 private:
  AsyncPort(napi_env env, Word* words)
      : env_(env), key_(words), waiter_(words, this), id_(next_port_id.fetch_add(1, std::memory_order_relaxed)) {}

  // JS thread: hands every ready grant to dispatch(id, n), which returns how many of them found
  // no pending call; those go back to the waker.
  static void CallJs(napi_env env, napi_value dispatch, void* context, void*) {
    // env is null when Node empties the queue of a finalized TSFN: Finalize() already gave the
    // grants back and freed the port, so `context` must not be touched.
    if (env == nullptr || dispatch == nullptr) return;
    AsyncPort* port = static_cast<AsyncPort*>(context);
    uint64_t n = port->waiter_.TakeReady();
    if (n == 0) return;
    napi_value args[2];
    napi_value recv;
    napi_value result = nullptr;
    napi_status status = napi_create_double(env, static_cast<double>(port->id_), &args[0]);
    if (status == napi_ok) status = napi_create_double(env, static_cast<double>(n), &args[1]);
    if (status == napi_ok) status = napi_get_undefined(env, &recv);
    if (status == napi_ok) status = napi_call_function(env, recv, dispatch, 2, args, &result);
    if (status == napi_ok) {
      // Grants for calls that are gone (unreachable while the accounting holds) go back rather
      // than vanish. Anything but a number in [0, n] counts as "all delivered".
      double undelivered = 0;
      if (napi_get_value_double(env, result, &undelivered) == napi_ok && undelivered >= 1 &&
          undelivered <= static_cast<double>(n)) {
        port->waiter_.GiveBack(static_cast<uint64_t>(undelivered));
      }
      return;
    }
    // Without a pending exception the dispatcher did not run (the environment is stopping and
    // refuses to run JS), so the grants never left: give them back. An exception thrown by the
    // dispatcher itself stays pending and Node reports it as uncaught.
    bool thrown = false;
    napi_is_exception_pending(env, &thrown);
    if (!thrown) port->waiter_.GiveBack(n);
  }

  // JS thread, when the TSFN goes away (after retirement, or at teardown).
  static void Finalize(napi_env env, void* data, void*) {
    AsyncPort* port = static_cast<AsyncPort*>(data);
    port->waiter_.Stop();  // joins; gives back grants that never reached JS
    napi_remove_env_cleanup_hook(env, Cleanup, port);
    auto found = ports.find(PortKey{port->env_, port->key_});
    if (found != ports.end() && found->second == port) ports.erase(found);
    ports_by_id.erase(port->id_);
    napi_delete_reference(env, port->state_ref_);
    delete port;
  }

  // JS thread, at environment teardown.
  static void Cleanup(void* arg) {
    AsyncPort* self = static_cast<AsyncPort*>(arg);
    // Ask every waiter of this environment to stop first, so that their 20 ms parking slices
    // overlap instead of adding up when the other hooks join them.
    for (auto& entry : ports_by_id) {
      if (entry.second->env_ == self->env_) entry.second->waiter_.RequestStop();
    }
    self->waiter_.Stop();
    // Node's own TSFN hook runs next (hooks run in reverse order of registration) and calls
    // Finalize(), which frees the port.
  }

  napi_env env_;
  const void* key_;
  napi_ref state_ref_ = nullptr;
  napi_threadsafe_function tsfn_ = nullptr;
  AsyncWaiter waiter_;
  uint64_t id_;
};

AsyncPort* FindPort(napi_env env, const Word* words) {
  auto found = ports.find(PortKey{env, words});
  return found == ports.end() ? nullptr : found->second;
}

// Cheap guards (with StateWordsArg, binding_args.h): lib/acquire-async.ts validates with full
// messages; these only keep a direct caller of the .node from crashing the process.
bool BoolArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsBoolean()) {
    throw Napi::TypeError::New(info.Env(), std::string("The \"") + name + "\" argument must be of type boolean");
  }
  return info[i].As<Napi::Boolean>().Value();
}

double IdArg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "The \"id\" argument must be of type number");
  return info[i].As<Napi::Number>().DoubleValue();
}

// The port `id` of this environment and state, live or retired, until it is finalized; else
// nullptr (nothing to do: that port is gone, and with it every grant it took).
AsyncPort* PortArg(const Napi::CallbackInfo& info) {
  Word* words = StateWordsArg(info);
  double id = IdArg(info, 1);
  if (!(id >= 1 && id <= kMaxSafeInteger)) return nullptr;  // not one of our ids
  auto found = ports_by_id.find(static_cast<uint64_t>(id));
  if (found == ports_by_id.end()) return nullptr;
  AsyncPort* port = found->second;
  return port->env() == static_cast<napi_env>(info.Env()) && port->key() == words ? port : nullptr;
}

// asyncAcquire(state, dispatch, wait) -> 0 when a permit was taken now; -1 when none was and
// `wait` is false; else the id of the port that now counts one more pending call.
Napi::Value AsyncAcquire(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Word* words = StateWordsArg(info);
  if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "The \"dispatch\" argument must be a function");
  bool wait = BoolArg(info, 2, "wait");
  AsyncPort* port = FindPort(env, words);
  bool taken = port != nullptr ? port->waiter().TryTakeNow() : Waker(words).TryAcquire();
  if (taken) return Napi::Number::New(env, 0);
  if (!wait) return Napi::Number::New(env, -1);
  if (port == nullptr || !port->waiter().AddDemand()) {
    port = AsyncPort::Create(env, info[0], words, info[1]);
    port->waiter().AddDemand();  // a fresh waiter always accepts
  }
  return Napi::Number::New(env, static_cast<double>(port->id()));
}

// asyncCancel(state, id): one pending call of port `id` gave up (timeout or abort).
Napi::Value AsyncCancel(const Napi::CallbackInfo& info) {
  if (AsyncPort* port = PortArg(info)) port->waiter().Cancel();
  return info.Env().Undefined();
}

// asyncRef(state, id, ref): whether port `id` keeps the event loop alive (the JS side counts
// its pending calls made with `ref: true` and calls this when the count leaves or reaches 0).
Napi::Value AsyncRef(const Napi::CallbackInfo& info) {
  bool ref = BoolArg(info, 2, "ref");
  if (AsyncPort* port = PortArg(info)) {
    if (ref) {
      napi_ref_threadsafe_function(info.Env(), port->tsfn());
    } else {
      napi_unref_threadsafe_function(info.Env(), port->tsfn());
    }
  }
  return info.Env().Undefined();
}

// asyncWaiterThreads(state): waiter threads running for `state`, in the whole process.
Napi::Value AsyncWaiterThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(AsyncWaiter::RunningThreads(StateWordsArg(info))));
}

// asyncCancelsGivingBackGrant(state): cancels on `state` whose grant was already taken and went
// back to the waker, since its waiter threads started (a statistic: the race tests check that
// the race happened).
Napi::Value AsyncCancelsGivingBackGrant(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(),
                           static_cast<double>(AsyncWaiter::CancelsGivingBackGrant(StateWordsArg(info))));
}

}  // namespace

void InitAsyncExports(Napi::Env env, Napi::Object exports) {
  exports.Set("asyncAcquire", Napi::Function::New(env, AsyncAcquire, "asyncAcquire"));
  exports.Set("asyncCancel", Napi::Function::New(env, AsyncCancel, "asyncCancel"));
  exports.Set("asyncRef", Napi::Function::New(env, AsyncRef, "asyncRef"));
  exports.Set("asyncWaiterThreads", Napi::Function::New(env, AsyncWaiterThreads, "asyncWaiterThreads"));
  exports.Set("asyncCancelsGivingBackGrant",
              Napi::Function::New(env, AsyncCancelsGivingBackGrant, "asyncCancelsGivingBackGrant"));
}

}  // namespace worker_waker
