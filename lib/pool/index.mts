// ES module entry of worker-waker/pool: re-exports the CommonJS build, so `import` and `require`
// share one Pool class.
export { Pool, AbortError, MAX_DEPTH, MAX_ENTRIES, MAX_FAST_BYTES, MAX_STRING } from './index.js';
export type { PoolOptions, RunOptions, TimeSummary } from './index.js';
