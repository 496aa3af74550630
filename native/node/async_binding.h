// Node-API glue of acquireAsync (see wait_queue.h for the queue and its accounting).
#pragma once

#include <napi.h>

namespace worker_waker {

// Adds the async* exports (asyncInit, asyncAcquire, asyncCancel, ...) to `exports`.
void InitAsyncExports(Napi::Env env, Napi::Object exports);

}  // namespace worker_waker
