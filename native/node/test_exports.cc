// The test build's extra exports (binding.gyp: compiled into worker_waker_test only, beside the
// release sources, which it leaves as they are). The release binary has none of them
// (test/package.test.js checks, and that the shared sources compile to the same objects in both
// builds): the C++ core's own reads and operations that lib/ does its own way (JS fast paths),
// for the differential tests, and the diagnostics the tests read. test/support/test-addon.d.ts
// declares them.
#include <napi.h>

#include "async_binding.h"
#include "binding_args.h"
#include "../core/wait_queue.h"
#include "../core/waker_core.h"

namespace worker_waker {
namespace {

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


void AddTestExports(Napi::Env env, Napi::Object exports) {
  const Export entries[] = {
      WW_OPERATION_AS(status, Status, (), AsBigUint)
      WW_OPERATION_AS(summary, Summary, (), AsBigUint)
      WW_OPERATION_AS(partitionSummary, PartitionSummary, (), AsBigUint)
      WW_OPERATION(tryAcquire, TryAcquire, ())
      WW_OPERATION(permits, Permits, ())
      WW_OPERATION(sleepers, Sleepers, ())
      WW_OPERATION(queued, Queued, ())
      WW_OPERATION(notifies, Notifies, ())
      WW_OPERATION(workerCount, WorkerCount, ())
      WW_OPERATION(partitionLeafHasWork, PartitionLeafHasWork, ("localLeafIdx"))
      {"release", Release},
      {"setSpinEnabled", SetSpinEnabled},
      {"waitQueues", [](const Napi::CallbackInfo& info) { return Num(info.Env(), wait_queue::QueueCount()); }},
      {"asyncPending", [](const Napi::CallbackInfo& info) { return Num(info.Env(), AsyncPending(info.Env())); }},
      {"asyncSpinReset", [](const Napi::CallbackInfo& info) { AsyncSpinReset(info.Env()); return info.Env().Undefined(); }},
      {"asyncSpinStats", [](const Napi::CallbackInfo& info) { return AsyncSpinStats(info.Env()); }},
      {"asyncCancelsGivingBackGrant",
       [](const Napi::CallbackInfo& info) { return Num(info.Env(), AsyncCancelsGivingBackGrant(info.Env())); }},
  };
  SetFunctions(env, exports, entries);
}

// Runs while the library loads, before Node calls the module's init (binding.cc), which then
// adds these exports after the release ones.
const bool registered = (SetExtraExports(AddTestExports), true);

}  // namespace
}  // namespace worker_waker
