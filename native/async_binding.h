// Node-API glue of acquireAsync (see async_waiter.h for the waiting itself).
#pragma once

#include <napi.h>

namespace worker_waker {

// Adds asyncAcquire, asyncCancel, asyncRef, asyncWaiterThreads and asyncCancelsGivingBackGrant
// to `exports`.
void InitAsyncExports(Napi::Env env, Napi::Object exports);

}  // namespace worker_waker
