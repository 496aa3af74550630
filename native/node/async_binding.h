// Node-API glue of acquireAsync (see wait_queue.h for the queue and its accounting).
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace worker_waker {

// Adds the async* exports (asyncInit, asyncAcquire, asyncCancel, ...) to `exports`.
void InitAsyncExports(Napi::Env env, Napi::Object exports);

// For the test build's diagnostics (native/node/test_exports.cc), on the environment's JS thread:
// this thread's acquireAsync calls neither delivered nor cancelled (leak tests), and the cancels
// that found their call already granted and gave the permit back (the race tests check that the
// race happened).
size_t AsyncPending(napi_env env);
uint64_t AsyncCancelsGivingBackGrant(napi_env env);
// What this thread's loop spin did so far (spins, found, notSleeping, backingOff, spunMicros,
// maxSpinMicros), all zero before any call asked for a spin.
Napi::Value AsyncSpinStats(Napi::Env env);
// Resets this thread's loop-spin back-off: the spins earlier tests of the same thread made that
// found nothing no longer make the next test's spins skip.
void AsyncSpinReset(napi_env env);

}  // namespace worker_waker
