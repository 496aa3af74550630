// Node-API binding for the WorkerWaker core. Thin on purpose: every function takes the state
// (a BigUint64Array over the SharedArrayBuffer) as its first argument, guards its arguments
// cheaply (the .node can be loaded without the TypeScript layer), and calls the core.
// Handles hold no native memory: the SharedArrayBuffer is the state, so a handle is
// collectable like any JS object, and the state lives exactly as long as the buffer.
#include <napi.h>

#include <chrono>
#include <cmath>
#include <string>

#include "async_binding.h"
#include "binding_args.h"
#include "../core/wait_queue.h"
#include "../core/waker_core.h"

namespace worker_waker {
namespace {

// Timeouts above this (about 317 years) wait for ever; it also keeps time_point arithmetic
// far from overflow.
constexpr double kForeverMs = 1e13;

[[noreturn]] void ThrowType(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}
[[noreturn]] void ThrowRange(Napi::Env env, const std::string& message) {
  throw Napi::RangeError::New(env, message);
}

std::string Describe(const Napi::Value& value) {
  switch (value.Type()) {
    case napi_number: {
      double d = value.As<Napi::Number>().DoubleValue();
      if (std::isnan(d)) return "NaN";
      if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
      std::string s = std::to_string(d);
      s.erase(s.find_last_not_of('0') + 1);
      if (!s.empty() && s.back() == '.') s.pop_back();
      return s;
    }
    case napi_bigint: return "a bigint";
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_string: return "a string";
    case napi_boolean: return "a boolean";
    case napi_symbol: return "a symbol";
    case napi_function: return "a function";
    default: return "an object";
  }
}

Waker StateArg(const Napi::CallbackInfo& info) { return Waker(StateWordsArg(info)); }

double NumberArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value value = info[i];
  if (!value.IsNumber()) {
    ThrowType(info.Env(), std::string("The \"") + name + "\" argument must be of type number. Received " +
                              Describe(value));
  }
  return value.As<Napi::Number>().DoubleValue();
}

// An integer in [0, max].
uint64_t IndexArg(const Napi::CallbackInfo& info, size_t i, const char* name, double max) {
  double d = NumberArg(info, i, name);
  if (!(d >= 0 && d <= max && std::floor(d) == d)) {
    ThrowRange(info.Env(), std::string("The value of \"") + name +
                               "\" is out of range. It must be an integer from 0 to " +
                               Describe(Napi::Number::New(info.Env(), max)) + ". Received " +
                               Describe(info[i]));
  }
  return static_cast<uint64_t>(d);
}

Word* WordsArg(const Napi::CallbackInfo& info, size_t i, const char* name, size_t* length) {
  Word* words = nullptr;
  if (!WordsOf(info[i], &words, length)) {
    ThrowType(info.Env(), std::string("The \"") + name + "\" argument must be a BigUint64Array");
  }
  return words;
}

Napi::Value BigUint(Napi::Env env, uint64_t v) { return Napi::BigInt::New(env, v); }
Napi::Value Num(Napi::Env env, uint64_t v) { return Napi::Number::New(env, static_cast<double>(v)); }

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

void MarkYield(const Napi::CallbackInfo& info) { StateArg(info).MarkYield(); }
void TryUnmarkYield(const Napi::CallbackInfo& info) { StateArg(info).TryUnmarkYield(); }
void MarkTasks(const Napi::CallbackInfo& info) { StateArg(info).MarkTasks(); }
void TryUnmarkTasks(const Napi::CallbackInfo& info) { StateArg(info).TryUnmarkTasks(); }

void MarkActive(const Napi::CallbackInfo& info) {
  Waker waker = StateArg(info);
  waker.MarkActive(static_cast<unsigned>(IndexArg(info, 1, "index", kSummaryBitCount - 1)));
}

void MarkActiveMask(const Napi::CallbackInfo& info) {
  Waker waker = StateArg(info);
  Napi::Value value = info[1];
  if (!value.IsBigInt()) ThrowType(info.Env(), "The \"mask\" argument must be of type bigint. Received " + Describe(value));
  bool lossless = false;
  uint64_t mask = value.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless || (mask & ~kSummaryMask) != 0) {
    ThrowRange(info.Env(), "The value of \"mask\" is out of range. It must be >= 0n and < 2n ** 62n");
  }
  waker.MarkActiveMask(mask);
}

void TryUnmarkIfEmpty(const Napi::CallbackInfo& info) {
  Waker waker = StateArg(info);
  unsigned bitIndex = static_cast<unsigned>(IndexArg(info, 1, "bitIndex", kSummaryBitCount - 1));
  size_t length = 0;
  Word* words = WordsArg(info, 2, "words", &length);
  if (length == 0) ThrowRange(info.Env(), "The \"words\" argument must not be empty");
  double lastWord = static_cast<double>(length - 1);
  size_t wordIndex = static_cast<size_t>(info[3].IsUndefined() ? bitIndex : IndexArg(info, 3, "wordIndex", lastWord));
  if (wordIndex >= length) ThrowRange(info.Env(), "The \"words\" array has no word at index bitIndex");
  waker.TryUnmarkIfEmpty(bitIndex, words[wordIndex]);
}

void TryUnmark(const Napi::CallbackInfo& info) {
  Waker waker = StateArg(info);
  waker.TryUnmark(static_cast<unsigned>(IndexArg(info, 1, "bitIndex", kSummaryBitCount - 1)));
}

Napi::Value SummarySelect(const Napi::CallbackInfo& info) {
  Waker waker = StateArg(info);
  int found = waker.SummarySelect(static_cast<unsigned>(IndexArg(info, 1, "nearestToIndex", 63)));
  if (found < 0) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), found);
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

void Acquire(const Napi::CallbackInfo& info) { AcquireWithDeadline(info, StateArg(info), nullptr); }

Napi::Value AcquireTimeout(const Napi::CallbackInfo& info) {
  Waker waker = StateArg(info);
  // Anything but a number >= 0 is out of range, a non-number too (the contract's wording).
  double ms = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
  if (!(ms >= 0)) {
    ThrowRange(info.Env(), "The value of \"timeoutMs\" is out of range. It must be a number >= 0 (Infinity allowed). Received " +
                               Describe(info[1]));
  }
  bool acquired;
  if (ms > kForeverMs) {
    acquired = AcquireWithDeadline(info, waker, nullptr);
  } else {
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        std::chrono::duration<double, std::milli>(ms));
    acquired = AcquireWithDeadline(info, waker, &deadline);
  }
  return Napi::Boolean::New(info.Env(), acquired);
}

// The JS fast path of release() adds permits with Atomics and calls this only when it then sees
// waiters queued (the queued cell is not 0): hands the cell's permits to the oldest waiters.
void Dispatch(const Napi::CallbackInfo& info) { StateArg(info).Dispatch(); }

void RegisterSleeper(const Napi::CallbackInfo& info) { StateArg(info).RegisterSleeper(); }
void UnregisterSleeper(const Napi::CallbackInfo& info) { StateArg(info).UnregisterSleeper(); }
Napi::Value RegisterWorker(const Napi::CallbackInfo& info) { return Num(info.Env(), StateArg(info).RegisterWorker()); }
Napi::Value UnregisterWorker(const Napi::CallbackInfo& info) { return Num(info.Env(), StateArg(info).UnregisterWorker()); }

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

unsigned LeafArg(const Napi::CallbackInfo& info) {
  return static_cast<unsigned>(IndexArg(info, 1, "localLeafIdx", 63));
}

Napi::Value MarkPartitionLeafActive(const Napi::CallbackInfo& info) {
  Waker waker = StateArg(info);
  return Napi::Boolean::New(info.Env(), waker.MarkPartitionLeafActive(LeafArg(info)));
}

void ClearPartitionLeaf(const Napi::CallbackInfo& info) {
  Waker waker = StateArg(info);
  waker.ClearPartitionLeaf(LeafArg(info));
}

struct Entry {
  const char* name;
  Napi::Function::Callback callback;
};

template <size_t N>
void SetFunctions(Napi::Env env, Napi::Object exports, const Entry (&entries)[N]) {
  for (const Entry& entry : entries) {
    exports.Set(entry.name, Napi::Function::New(env, entry.callback, entry.name));
  }
}

#if defined(WORKER_WAKER_TEST_EXPORTS)
// The test build's extra exports (binding.gyp, target worker_waker_test): the C++ core's own reads
// and operations that lib/ does its own way (JS fast paths), for the differential tests, and
// diagnostics. The release binary has none of them (test/package.test.js checks).
Napi::Value Status(const Napi::CallbackInfo& info) { return BigUint(info.Env(), StateArg(info).Status()); }
Napi::Value Summary(const Napi::CallbackInfo& info) { return BigUint(info.Env(), StateArg(info).Summary()); }

Napi::Value TryAcquire(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), StateArg(info).TryAcquire());
}

// Returns false (and changes nothing) when permits would pass kMaxPermits (2^31 - 1); the
// TypeScript layer's own release (a JS fast path) throws a RangeError made in the caller's realm.
Napi::Value Release(const Napi::CallbackInfo& info) {
  Waker waker = StateArg(info);
  uint64_t n = IndexArg(info, 1, "n", kMaxSafeInteger);
  return Napi::Boolean::New(info.Env(), waker.Release(n));
}

// Process-wide switch for spinning before parking (benchmarks; WORKER_WAKER_SPIN=0 at start-up).
Napi::Value SetSpinEnabled(const Napi::CallbackInfo& info) {
  if (!info[0].IsBoolean()) ThrowType(info.Env(), "The \"enabled\" argument must be of type boolean");
  bool before = SpinEnabled();
  worker_waker::SetSpinEnabled(info[0].As<Napi::Boolean>().Value());
  return Napi::Boolean::New(info.Env(), before);
}

Napi::Value Permits(const Napi::CallbackInfo& info) { return Num(info.Env(), StateArg(info).Permits()); }
Napi::Value Sleepers(const Napi::CallbackInfo& info) { return Num(info.Env(), StateArg(info).Sleepers()); }
Napi::Value Queued(const Napi::CallbackInfo& info) { return Num(info.Env(), StateArg(info).Queued()); }
Napi::Value Notifies(const Napi::CallbackInfo& info) { return Num(info.Env(), StateArg(info).Notifies()); }
Napi::Value WorkerCount(const Napi::CallbackInfo& info) { return Num(info.Env(), StateArg(info).WorkerCount()); }

Napi::Value PartitionSummary(const Napi::CallbackInfo& info) {
  return BigUint(info.Env(), StateArg(info).PartitionSummary());
}

Napi::Value PartitionLeafHasWork(const Napi::CallbackInfo& info) {
  Waker waker = StateArg(info);
  return Napi::Boolean::New(info.Env(), waker.PartitionLeafHasWork(LeafArg(info)));
}

Napi::Value WaitQueues(const Napi::CallbackInfo& info) {
  return Num(info.Env(), wait_queue::QueueCount());
}

void InitTestExports(Napi::Env env, Napi::Object exports) {
  const Entry entries[] = {
      {"status", Status},
      {"summary", Summary},
      {"tryAcquire", TryAcquire},
      {"release", Release},
      {"setSpinEnabled", SetSpinEnabled},
      {"permits", Permits},
      {"sleepers", Sleepers},
      {"queued", Queued},
      {"notifies", Notifies},
      {"workerCount", WorkerCount},
      {"partitionSummary", PartitionSummary},
      {"partitionLeafHasWork", PartitionLeafHasWork},
      {"waitQueues", WaitQueues},
  };
  SetFunctions(env, exports, entries);
}
#endif  // WORKER_WAKER_TEST_EXPORTS

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Void functions are wrapped to return undefined.
#define WW_VOID(fn) [](const Napi::CallbackInfo& info) -> Napi::Value { fn(info); return info.Env().Undefined(); }
  const Entry entries[] = {
      {"format", WW_VOID(Format)},
      {"isState", IsState},
      {"markYield", WW_VOID(MarkYield)},
      {"tryUnmarkYield", WW_VOID(TryUnmarkYield)},
      {"markTasks", WW_VOID(MarkTasks)},
      {"tryUnmarkTasks", WW_VOID(TryUnmarkTasks)},
      {"markActive", WW_VOID(MarkActive)},
      {"markActiveMask", WW_VOID(MarkActiveMask)},
      {"tryUnmarkIfEmpty", WW_VOID(TryUnmarkIfEmpty)},
      {"tryUnmark", WW_VOID(TryUnmark)},
      {"summarySelect", SummarySelect},
      {"acquire", WW_VOID(Acquire)},
      {"acquireTimeout", AcquireTimeout},
      {"dispatch", WW_VOID(Dispatch)},
      {"registerSleeper", WW_VOID(RegisterSleeper)},
      {"unregisterSleeper", WW_VOID(UnregisterSleeper)},
      {"registerWorker", RegisterWorker},
      {"unregisterWorker", UnregisterWorker},
      {"syncPartitionSummary", SyncPartitionSummary},
      {"markPartitionLeafActive", MarkPartitionLeafActive},
      {"clearPartitionLeaf", WW_VOID(ClearPartitionLeaf)},
  };
#undef WW_VOID
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
  exports.Set("layout", layout);
  InitAsyncExports(env, exports);  // acquireAsync: native/node/async_binding.cc
#if defined(WORKER_WAKER_TEST_EXPORTS)
  InitTestExports(env, exports);
#endif
  return exports;
}

}  // namespace
}  // namespace worker_waker

static Napi::Object InitWorkerWaker(Napi::Env env, Napi::Object exports) {
  return worker_waker::Init(env, exports);
}

NODE_API_MODULE(worker_waker, InitWorkerWaker)
