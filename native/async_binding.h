// Node-API glue of acquireAsync (see async_waiter.h for the waiting itself).
#pragma once

#include <napi.h>

namespace worker_waker {

// Adds asyncAcquire, asyncCancel, asyncRef and asyncWaiterThreads to `exports`.
void InitAsyncExports(Napi::Env env, Napi::Object exports);

}  // namespace worker_waker
