// worker-waker: a cross-thread wake-up primitive for Node.js (see README.md).
export { WorkerWaker } from './waker';
export { AbortError, type AcquireAsyncOptions } from './acquire-async';
export { SignalWords } from './signal-words';
