// worker-waker: a cross-thread wake-up primitive for Node.js (see README.md).
/**
 * `require('worker-waker')`: the waker, its signal words and the abort error.
 *
 * @module worker-waker
 */
export { WorkerWaker } from './waker';
export { AbortError, type AcquireAsyncOptions } from './acquire-async';
export { SignalWords } from './signal-words';
