// ES module entry: re-exports the CommonJS build, so `import` and `require` share one class.
export { WorkerWaker, SignalWords, AbortError } from './index.js';
export type { AcquireAsyncOptions } from './index.js';
