// Node-API binding for the WorkerWaker core. Thin on purpose: every function takes the state
// (a BigUint64Array over the SharedArrayBuffer) as its first argument, guards its arguments
// cheaply (the .node can be loaded without the TypeScript layer), and calls the core.
// Handles hold no native memory: the SharedArrayBuffer is the state, so a handle is
// collectable like any JS object, and the state lives exactly as long as the buffer.
//
// The ordinary operations (WORKER_WAKER_OPERATIONS, native/core/waker_core.h) are generated
// from their signatures (native/node/binding_args.h); the exports below are written by hand
// because their arguments or results are not ordinary (each says why).
#include <napi.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include "async_binding.h"
#include "binding_args.h"
#include "../core/wait_queue.h"
#include "../core/waker_core.h"

namespace worker_waker {
namespace {

// True once this thread's environment is being torn down (worker.terminate(), process.exit()).
// Node then refuses Node-API calls that may run JS (those that check NAPI_PREAMBLE) with
// napi_pending_exception. napi_strict_equals is such a call that runs nothing and allocates
// nothing, so the probe is cheap enough to ask after every grant a parked thread receives.
bool EnvironmentIsStopping(napi_env env) {
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return true;
  napi_value undefined;
  bool same = false;
  napi_status status = napi_get_undefined(env, &undefined);
  if (status == napi_ok) status = napi_strict_equals(env, undefined, undefined, &same);
  napi_close_handle_scope(env, scope);
  return status == napi_pending_exception;
}

// ---- exported functions -----------------------------------------------------------------

void Format(const Napi::CallbackInfo& info) {
  Word* words = StateWordsOf(info);
  if (words == nullptr) {
    ThrowType(info.Env(), "The \"state\" argument must be a BigUint64Array of at least " +
                              std::to_string(kStateWords) + " words");
  }
  if (Waker::IsFormatted(words)) ThrowType(info.Env(), "The \"state\" argument is already formatted");
  Waker::Format(words);
}

Napi::Value IsState(const Napi::CallbackInfo& info) {
  Word* words = StateWordsOf(info);
  return Napi::Boolean::New(info.Env(), words != nullptr && Waker::IsFormatted(words));
}

// tryUnmarkIfEmpty: its word argument is one word of an array given with an optional index, and
// the index's range depends on the array's length.
void TryUnmarkIfEmpty(const Napi::CallbackInfo& info) {
  Waker waker = StateArg(info);
  SummaryIndex bitIndex = static_cast<unsigned>(IndexArg(info, 1, "bitIndex", SummaryIndex::kMax));
  size_t length = 0;
  Word* words = WordsArg(info, 2, "words", &length);
  if (length == 0) ThrowRange(info.Env(), "The \"words\" argument must not be empty");
  double lastWord = static_cast<double>(length - 1);
  size_t wordIndex = static_cast<size_t>(info[3].IsUndefined() ? bitIndex.value : IndexArg(info, 3, "wordIndex", lastWord));
  if (wordIndex >= length) ThrowRange(info.Env(), "The \"words\" array has no word at index bitIndex");
  waker.TryUnmarkIfEmpty(bitIndex, words[wordIndex]);
}

// Parks the calling JS thread. Returns true when a permit was taken, false on timeout; when the
// thread's environment is being torn down it returns false at once without taking a permit
// (no JS runs after it anyway).
bool AcquireWithDeadline(const Napi::CallbackInfo& info, Waker waker,
                         const std::chrono::steady_clock::time_point* deadline) {
  napi_env env = info.Env();
  WaitResult result = waker.Acquire(deadline, [env] { return EnvironmentIsStopping(env); });
  return result == WaitResult::kAcquired;
}

// acquire and acquireTimeout: they park the JS thread, with a probe of the environment's teardown.
void Acquire(const Napi::CallbackInfo& info) { AcquireWithDeadline(info, StateArg(info), nullptr); }

Napi::Value AcquireTimeout(const Napi::CallbackInfo& info) {
  Waker waker = StateArg(info);
  // Anything but a number >= 0 is out of range, a non-number too (the contract's wording).
  double ms = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
  if (!(ms >= 0)) {
    ThrowRange(info.Env(), "The value of \"timeoutMs\" is out of range. It must be a number >= 0 (Infinity allowed). Received " +
                               Describe(info[1]));
  }
  std::optional<std::chrono::steady_clock::time_point> deadline = DeadlineAfter(ms);
  return Napi::Boolean::New(info.Env(), AcquireWithDeadline(info, waker, deadline ? &*deadline : nullptr));
}

// syncPartitionSummary: a range [start, end) of an array, checked against its length.
Napi::Value SyncPartitionSummary(const Napi::CallbackInfo& info) {
  Waker waker = StateArg(info);
  size_t length = 0;
  // Read the leaf array first: start/end are checked against its length.
  Word* leaves = WordsArg(info, 3, "leafWords", &length);
  uint64_t start = IndexArg(info, 1, "start", static_cast<double>(length));
  uint64_t end = IndexArg(info, 2, "end", static_cast<double>(length));
  if (end < start || end - start > 64) {
    ThrowRange(info.Env(), "The range [start, end) is out of range. It must satisfy start <= end <= start + 64. Received [" +
                               std::to_string(start) + ", " + std::to_string(end) + ")");
  }
  return Napi::Boolean::New(info.Env(), waker.SyncPartitionSummary(leaves + start, end - start));
}

// Set while the library loads by the test build's extra source (binding_args.h); empty in the
// release binary. Constant-initialized, so it is null before any dynamic initializer runs.
ExportsHook extraExports = nullptr;

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  const Export entries[] = {
      // format and isState take state that is not formatted (yet, or at all).
      {"format", [](const Napi::CallbackInfo& info) -> Napi::Value { Format(info); return info.Env().Undefined(); }},
      {"isState", IsState},
      {"tryUnmarkIfEmpty", [](const Napi::CallbackInfo& info) -> Napi::Value { TryUnmarkIfEmpty(info); return info.Env().Undefined(); }},
      {"acquire", [](const Napi::CallbackInfo& info) -> Napi::Value { Acquire(info); return info.Env().Undefined(); }},
      {"acquireTimeout", AcquireTimeout},
      {"syncPartitionSummary", SyncPartitionSummary},
      WORKER_WAKER_OPERATIONS(WW_OPERATION)
  };
  SetFunctions(env, exports, entries);
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("stateWords", Num(env, kStateWords));
  layout.Set("stateBytes", Num(env, kStateBytes));
  layout.Set("headerWord", Num(env, kHeaderWord));
  layout.Set("statusWord", Num(env, kStatusWord));
  // Indices of the 32-bit cells in a Uint32Array over the state.
  layout.Set("permitsCell", Num(env, kPermitsCell));
  layout.Set("queuedCell", Num(env, kQueuedCell));
  layout.Set("sleepersWord", Num(env, kSleepersWord));
  layout.Set("partitionWord", Num(env, kPartitionWord));
  layout.Set("workersWord", Num(env, kWorkersWord));
  layout.Set("maxPermits", Num(env, kMaxPermits));
  // The status word's bits: summary bits 0 .. summaryBits - 1, then the two flags.
  layout.Set("summaryBits", Num(env, kSummaryBitCount));
  layout.Set("partitionBit", Num(env, kPartitionBit));
  layout.Set("yieldBit", Num(env, kYieldBit));
  layout.Set("header", BigUint(env, kHeader));
  // The largest value of each index argument (waker_core.h), for lib/'s own checks.
  layout.Set("summaryIndexMax", Num(env, SummaryIndex::kMax));
  layout.Set("leafIndexMax", Num(env, LeafIndex::kMax));
  layout.Set("nearestIndexMax", Num(env, NearestIndex::kMax));
  exports.Set("layout", layout);
  InitAsyncExports(env, exports);  // acquireAsync: native/node/async_binding.cc
  if (extraExports != nullptr) extraExports(env, exports);
  return exports;
}

}  // namespace

void SetExtraExports(ExportsHook hook) { extraExports = hook; }

}  // namespace worker_waker

static Napi::Object InitWorkerWaker(Napi::Env env, Napi::Object exports) {
  return worker_waker::Init(env, exports);
}

NODE_API_MODULE(worker_waker, InitWorkerWaker)
