// Node-API glue of acquireAsync (see wait_queue.h for the queue and its accounting).
#pragma once

#include <napi.h>

namespace worker_waker {

// Adds asyncInit, asyncAcquire, asyncCancel, asyncRef, asyncPoll and asyncPending to `exports`.
void InitAsyncExports(Napi::Env env, Napi::Object exports);

}  // namespace worker_waker
