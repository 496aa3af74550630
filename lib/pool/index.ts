// worker-waker/pool: a task pool shaped like piscina's API, on worker-waker and shared memory.
//
//   main thread                                     worker (one per slot)
//   run(arg): encode name + arg into the task's     wait on the task waker (acquire, or
//     record, state QUEUED, (id, token) into a        acquireAsync while its loop has work)
//     ring; every CHUNK tasks or at the end of the  summarySelect + take(word): the rings named
//     tick: store the ring's tail, taskWords.set()    claim a batch (CAS on head), start each
//                                           ───►      task (CAS on its state: runs once)
//   acquireAsync on the result waker        ◄───    small result into the record, id into its
//   take(0): which slots have results; read           result ring; tail store, resultWords.set
//     their rings, decode, resolve                  big results and errors: postMessage
//
// Docs: docs/pool.md. Crash handling: #onExit. Shutdown: close(), destroy().
/**
 * `require('worker-waker/pool')`: a task pool shaped like piscina's API.
 *
 * @module worker-waker/pool
 */
import { addAbortListener } from 'node:events';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { types } from 'node:util';
import { MessageChannel, SHARE_ENV, Worker, type MessagePort, type ResourceLimits, type Transferable } from 'node:worker_threads';

import { QUEUED } from '../cells';
import { invalidReceiver } from '../errors';
import { AbortError, SignalWords, WorkerWaker } from '../index';
import * as L from './layout';
import { FAST_START, KIND_FAST, KIND_SLOW, RECORD_KIND, type SlowPayload, type ToPool, type WorkerInit } from './layout';
import { PayloadCodec } from './payload';
import { rebuildThrown, type ErrorDescription, type ThrownValue } from './task-errors';

export { AbortError };
export { MAX_DEPTH, MAX_ENTRIES, MAX_STRING } from './payload';
/**
 * Bytes of a task's record that the fast path may fill (the name of a named export and the
 * argument, or the result): a larger value goes by `postMessage`.
 *
 * @example
 * ```js
 * const { MAX_FAST_BYTES, MAX_STRING, MAX_ENTRIES, MAX_DEPTH } = require('worker-waker/pool');
 *
 * console.log({ MAX_FAST_BYTES, MAX_STRING, MAX_ENTRIES, MAX_DEPTH }); // the fast path's limits
 * ```
 */
export const MAX_FAST_BYTES = L.RECORD_BYTES - FAST_START;

const WORKER_FILE = path.join(__dirname, 'worker.js');
const WORDS = 8; // signal words for task rings (at most): spread over the workers
const QUEUES_PER_WORD = 4;
const QUEUE_CAPACITY = 128; // ids per ring: words × 4 × 128 tasks in shared memory at most
const CHUNK = 32; // tasks written to a ring before it is published (the rest at the end of the tick)
const BATCH = 32; // tasks a worker claims at once
// A worker still running this long after close() (a task in an endless loop) or destroy() (a long
// task, or async tasks it is waiting for: what has not finished is rejected anyway) is terminated.
const CLOSE_JOIN_MS = 2000;
const DESTROY_JOIN_MS = 200;
const YIELD_EVERY_MS = 4; // let timers and I/O run while results keep streaming in
// The spinMicroseconds option (see its doc comment): on by default. On the 2-vCPU VM, 100 µs
// covers a parked worker's wake-up plus the task in the one-in-flight and open-loop demos.
const DEFAULT_SPIN_MICROSECONDS = 100;
const MAX_SPIN_MICROSECONDS = 1000;
const NO_SPIN = { spinMicroseconds: 0 };
/** Cores this process may use: the main thread's loop spin runs only while one is free for it. */
const CORES = os.availableParallelism();
const SAMPLES = 8192; // run and wait times kept for the summaries (the most recent)
const MAX_STARTUP_FAILURES = 3; // a worker that dies before it is ready, this many times in a row, fails the pool
const MAX_CONCURRENCY = 1 << 16;
const RESOURCE_LIMITS = ['maxYoungGenerationSizeMb', 'maxOldGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'] as const;

/**
 * Options of {@link Pool}, with piscina's names and meanings. Every option but `filename` is
 * optional; a wrong one makes the constructor throw a `TypeError` (wrong type) or `RangeError` (out
 * of range) whose message names it.
 *
 * @example
 * ```js
 * const { isMainThread } = require('node:worker_threads');
 * const { Pool } = require('worker-waker/pool');
 *
 * module.exports = (n) => n + 1; // the task: this same file, loaded by the workers
 * if (isMainThread) {
 *   const pool = new Pool({ filename: __filename, minThreads: 1, maxThreads: 2, idleTimeout: 100 });
 *   pool.run(1).then((result) => console.log(result)).finally(() => pool.close()); // 2
 * }
 * ```
 */
export interface PoolOptions {
  /**
   * Absolute path or `file:` URL (a string or a `URL`) of the task module, CommonJS or ES module.
   * Its default export (or `module.exports`) is the task; {@link RunOptions.name} picks another of
   * its own exports.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { pathToFileURL } = require('node:url');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = (text) => text.toUpperCase();
   * if (isMainThread) {
   *   const pool = new Pool({ filename: pathToFileURL(__filename), threads: 1 }); // or __filename
   *   pool.run('abc').then((result) => assert.strictEqual(result, 'ABC')).finally(() => pool.close());
   * }
   * ```
   */
  filename: string | URL;
  /**
   * Shorthand for `minThreads = maxThreads = threads` (1–64); leave out `minThreads` and
   * `maxThreads` when it is given.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = () => 0;
   * if (isMainThread) {
   *   const pool = new Pool({ filename: __filename, threads: 2 });
   *   assert.deepStrictEqual([pool.options.minThreads, pool.options.maxThreads, pool.threads.length], [2, 2, 2]);
   *   pool.close();
   * }
   * ```
   */
  threads?: number | undefined;
  /**
   * Workers started at once and kept while idle (1 to `maxThreads`; default `maxThreads`).
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = () => 0;
   * if (isMainThread) {
   *   const pool = new Pool({ filename: __filename, minThreads: 1, maxThreads: 4 });
   *   assert.strictEqual(pool.threads.length, 1); // more start while tasks outnumber the workers
   *   pool.close();
   * }
   * ```
   */
  minThreads?: number | undefined;
  /**
   * Most workers (1–64; default `os.availableParallelism()`, at most 64).
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = () => new Promise((resolve) => setTimeout(resolve, 20));
   * if (isMainThread) {
   *   const pool = new Pool({ filename: __filename, minThreads: 1, maxThreads: 2 });
   *   const tasks = Array.from({ length: 8 }, () => pool.run(null));
   *   assert.strictEqual(pool.threads.length, 2); // grew to maxThreads, no further
   *   Promise.all(tasks).finally(() => pool.close());
   * }
   * ```
   */
  maxThreads?: number | undefined;
  /**
   * Ms with no task pending before the workers above `minThreads` stop (default 0; `Infinity`
   * keeps them). Idle workers stop on their own when asked: none is terminated.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { setTimeout: sleep } = require('node:timers/promises');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = () => sleep(20);
   * if (isMainThread) {
   *   (async () => {
   *     const pool = new Pool({ filename: __filename, minThreads: 1, maxThreads: 2, idleTimeout: 50 });
   *     await Promise.all([pool.run(null), pool.run(null)]);
   *     assert.strictEqual(pool.threads.length, 2);
   *     while (pool.threads.length > 1) await sleep(20); // back to minThreads after 50 ms idle
   *     await pool.close();
   *   })();
   * }
   * ```
   */
  idleTimeout?: number | undefined;
  /**
   * Most tasks waiting for a busy worker before `run()` rejects with `ERR_POOL_QUEUE_FULL`, as in
   * piscina: tasks the workers can take at once (`maxThreads × concurrentTasksPerWorker`) do not
   * count, so `0` runs a task only when a worker is free. `'auto'` is `maxThreads ** 2`. Default
   * `Infinity`.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = () => new Promise((resolve) => setTimeout(resolve, 20));
   * if (isMainThread) {
   *   (async () => {
   *     const pool = new Pool({ filename: __filename, threads: 1, maxQueue: 1 });
   *     const accepted = [pool.run(null), pool.run(null)]; // one for the worker, one waiting
   *     await assert.rejects(pool.run(null), { code: 'ERR_POOL_QUEUE_FULL' });
   *     await Promise.all(accepted);
   *     await pool.close();
   *   })();
   * }
   * ```
   */
  maxQueue?: number | 'auto' | undefined;
  /**
   * Tasks one worker runs at once (default 1). It matters for async tasks: a worker starts the
   * next one while the others await.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { setTimeout: sleep } = require('node:timers/promises');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = async () => {
   *   const start = Date.now();
   *   await sleep(100);
   *   return [start, Date.now()];
   * };
   * if (isMainThread) {
   *   (async () => {
   *     const pool = new Pool({ filename: __filename, threads: 1, concurrentTasksPerWorker: 10 });
   *     const spans = await Promise.all(Array.from({ length: 10 }, () => pool.run(null)));
   *     const lastStart = Math.max(...spans.map(([start]) => start));
   *     const firstEnd = Math.min(...spans.map(([, end]) => end));
   *     assert.ok(lastStart < firstEnd); // all ten were waiting at once in the one worker
   *     await pool.close();
   *   })();
   * }
   * ```
   */
  concurrentTasksPerWorker?: number | undefined;
  /**
   * Microseconds (an integer from 0 to 1000; default 100) the pool's threads stay awake for the
   * next result or task instead of sleeping. While tasks are in flight, the main thread's event
   * loop, each time it would sleep, polls for a result for up to this long first
   * (`acquireAsync`'s `spinMicroseconds`), as long as a core is free for it (the workers not
   * waiting for a task, plus the main thread, fit in `os.availableParallelism()`: when every core
   * runs a worker, a spin would only slow the tasks down); an idle worker looks for a new task for up to 20 µs
   * (at most this long) before it blocks. A thread that sleeps costs a wake-up of tens of
   * microseconds when its CPU has halted meanwhile, and a round trip needs two: this is what
   * makes one task in flight and a trickle of tasks fast. The cost: up to this much CPU time on
   * the main thread each time its loop would sleep with tasks in flight (only when it has nothing
   * else to do; never while a `setImmediate` is pending nor past its next timer), taken from the
   * workers when cores are scarce; spins that keep finding nothing back off. `0` turns both off
   * (then every wait sleeps at once, as piscina's do).
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = (n) => n * 2;
   * if (isMainThread) {
   *   (async () => {
   *     const pool = new Pool({ filename: __filename, threads: 1, spinMicroseconds: 0 }); // never spin
   *     assert.strictEqual(pool.options.spinMicroseconds, 0);
   *     assert.strictEqual(await pool.run(21), 42);
   *     assert.throws(() => new Pool({ filename: __filename, spinMicroseconds: 5000 }), {
   *       name: 'RangeError',
   *       message: /"spinMicroseconds".*from 0 to 1000/,
   *     });
   *     await pool.close();
   *   })();
   * }
   * ```
   */
  spinMicroseconds?: number | undefined;
  /**
   * Passed to each `Worker`; each field given must be a finite number > 0 (an error names it:
   * `resourceLimits.maxOldGenerationSizeMb`). A worker that exceeds them dies and is replaced.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = (n) => n;
   * if (isMainThread) {
   *   assert.throws(() => new Pool({ filename: __filename, resourceLimits: { maxOldGenerationSizeMb: -5 } }), {
   *     name: 'RangeError',
   *     message: /resourceLimits\.maxOldGenerationSizeMb/,
   *   });
   *   const pool = new Pool({ filename: __filename, threads: 1, resourceLimits: { maxOldGenerationSizeMb: 64 } });
   *   pool.run(3).then((result) => assert.strictEqual(result, 3)).finally(() => pool.close());
   * }
   * ```
   */
  resourceLimits?: ResourceLimits | undefined;
  /**
   * Cloned into each worker: tasks read it as `require('node:worker_threads').workerData` (with
   * piscina, `require('piscina').workerData`).
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread, workerData } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = (name) => `${workerData.greeting}, ${name}`;
   * if (isMainThread) {
   *   const pool = new Pool({ filename: __filename, threads: 1, workerData: { greeting: 'Hello' } });
   *   pool.run('Ada').then((text) => assert.strictEqual(text, 'Hello, Ada')).finally(() => pool.close());
   * }
   * ```
   */
  workerData?: unknown;
  /**
   * Passed to each `Worker`: an object (the workers' `process.env`), or
   * `worker_threads.SHARE_ENV` to share the main thread's.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = (key) => process.env[key];
   * if (isMainThread) {
   *   const pool = new Pool({ filename: __filename, threads: 1, env: { MODE: 'test' } });
   *   pool.run('MODE').then((mode) => assert.strictEqual(mode, 'test')).finally(() => pool.close());
   * }
   * ```
   */
  env?: NodeJS.ProcessEnv | typeof SHARE_ENV | undefined;
}

/**
 * Options of {@link Pool.run}.
 *
 * @example
 * ```js
 * const assert = require('node:assert');
 * const { isMainThread } = require('node:worker_threads');
 * const { Pool } = require('worker-waker/pool');
 *
 * module.exports.byteLength = (buffer) => buffer.byteLength;
 * if (isMainThread) {
 *   const pool = new Pool({ filename: __filename, threads: 1 });
 *   const buffer = new ArrayBuffer(1024);
 *   const options = { name: 'byteLength', transferList: [buffer], signal: AbortSignal.timeout(5000) };
 *   pool.run(buffer, options).then((length) => assert.strictEqual(length, 1024)).finally(() => pool.close());
 * }
 * ```
 */
export interface RunOptions {
  /**
   * The export of the task module to call instead of its default export. Only the module's own
   * exports count: an inherited name such as `'toString'` rejects like a missing one.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports.square = (x) => x * x;
   * module.exports.cube = (x) => x * x * x;
   * if (isMainThread) {
   *   const pool = new Pool({ filename: __filename, threads: 1 });
   *   Promise.all([pool.run(3, { name: 'square' }), pool.run(3, { name: 'cube' })])
   *     .then((results) => assert.deepStrictEqual(results, [9, 27]))
   *     .finally(() => pool.close());
   * }
   * ```
   */
  name?: string | undefined;
  /**
   * Aborting it rejects the task's promise at once with an {@link AbortError} (`code`
   * `'ABORT_ERR'`, `cause` the signal's reason). A task that has not started never runs; one that
   * has runs to its end in its worker (which is not stopped) and its result is dropped.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool, AbortError } = require('worker-waker/pool');
   *
   * module.exports = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
   * if (isMainThread) {
   *   const pool = new Pool({ filename: __filename, threads: 1 });
   *   assert.rejects(pool.run(5000, { signal: AbortSignal.timeout(50) }), AbortError).finally(() => pool.destroy());
   * }
   * ```
   */
  signal?: AbortSignal | null | undefined;
  /**
   * Buffers (and ports) in the argument to move to the worker instead of copying, as with
   * `postMessage`: they are detached when `run()` returns.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = (bytes) => bytes.reduce((sum, b) => sum + b, 0);
   * if (isMainThread) {
   *   const pool = new Pool({ filename: __filename, threads: 1 });
   *   const bytes = new Uint8Array([1, 2, 3]);
   *   const sum = pool.run(bytes, { transferList: [bytes.buffer] });
   *   assert.strictEqual(bytes.byteLength, 0); // moved, not copied
   *   sum.then((result) => assert.strictEqual(result, 6)).finally(() => pool.close());
   * }
   * ```
   */
  transferList?: readonly Transferable[] | undefined;
}

/**
 * A summary of recent times, in milliseconds: {@link Pool.runTime} and {@link Pool.waitTime}.
 *
 * @example
 * ```js
 * const { isMainThread } = require('node:worker_threads');
 * const { Pool } = require('worker-waker/pool');
 *
 * module.exports = (n) => n;
 * if (isMainThread) {
 *   const pool = new Pool({ filename: __filename, threads: 1 });
 *   Promise.all([1, 2, 3].map((n) => pool.run(n)))
 *     .then(() => console.log(pool.runTime)) // { count: 3, min: …, max: …, mean: …, p50: …, p99: … }
 *     .finally(() => pool.close());
 * }
 * ```
 */
export interface TimeSummary {
  /**
   * Samples summarized: the most recent tasks, at most 8,192; 0 (and every other field 0) before
   * any task has finished.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = (n) => n;
   * if (isMainThread) {
   *   const pool = new Pool({ filename: __filename, threads: 1 });
   *   assert.strictEqual(pool.runTime.count, 0);
   *   Promise.all([1, 2, 3].map((n) => pool.run(n)))
   *     .then(() => assert.strictEqual(pool.runTime.count, 3))
   *     .finally(() => pool.close());
   * }
   * ```
   */
  readonly count: number;
  /**
   * The shortest time.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
   * if (isMainThread) {
   *   const pool = new Pool({ filename: __filename, threads: 1 });
   *   Promise.all([30, 300].map((ms) => pool.run(ms)))
   *     .then(() => assert.ok(pool.runTime.min >= 25 && pool.runTime.min < pool.runTime.max))
   *     .finally(() => pool.close());
   * }
   * ```
   */
  readonly min: number;
  /**
   * The longest time.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
   * if (isMainThread) {
   *   const pool = new Pool({ filename: __filename, threads: 1 });
   *   Promise.all([10, 60].map((ms) => pool.run(ms)))
   *     .then(() => assert.ok(pool.runTime.max >= 55))
   *     .finally(() => pool.close());
   * }
   * ```
   */
  readonly max: number;
  /**
   * The mean of the samples.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = (n) => n;
   * if (isMainThread) {
   *   const pool = new Pool({ filename: __filename, threads: 1 });
   *   Promise.all([1, 2, 3].map((n) => pool.run(n)))
   *     .then(() => {
   *       const { min, mean, max } = pool.waitTime; // from run() to the task's start
   *       assert.ok(min <= mean && mean <= max);
   *     })
   *     .finally(() => pool.close());
   * }
   * ```
   */
  readonly mean: number;
  /**
   * The median: half of the samples are at most this.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
   * if (isMainThread) {
   *   const pool = new Pool({ filename: __filename, threads: 1, concurrentTasksPerWorker: 3 });
   *   Promise.all([5, 50, 500].map((ms) => pool.run(ms)))
   *     .then(() => assert.ok(pool.runTime.p50 >= 45 && pool.runTime.p50 < 450)) // the middle one
   *     .finally(() => pool.close());
   * }
   * ```
   */
  readonly p50: number;
  /**
   * The 99th percentile: 99% of the samples are at most this.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = (n) => n;
   * if (isMainThread) {
   *   const pool = new Pool({ filename: __filename, threads: 2 });
   *   Promise.all(Array.from({ length: 200 }, (_, n) => pool.run(n)))
   *     .then(() => assert.ok(pool.waitTime.p50 <= pool.waitTime.p99 && pool.waitTime.p99 <= pool.waitTime.max))
   *     .finally(() => pool.close());
   * }
   * ```
   */
  readonly p99: number;
}

class Samples {
  readonly #values = new Float64Array(SAMPLES);
  #count = 0;

  add(value: number): void {
    this.#values[this.#count++ % SAMPLES] = value;
  }

  summary(): TimeSummary {
    const count = Math.min(this.#count, SAMPLES);
    if (count === 0) return { count: 0, min: 0, max: 0, mean: 0, p50: 0, p99: 0 };
    const sorted = this.#values.slice(0, count).sort();
    let sum = 0;
    for (const value of sorted) sum += value;
    const at = (q: number): number => sorted[Math.min(count - 1, Math.floor(q * count))]!;
    return { count, min: sorted[0]!, max: sorted[count - 1]!, mean: sum / count, p50: at(0.5), p99: at(0.99) };
  }
}

interface Task {
  readonly arg: unknown;
  readonly name: string | undefined;
  readonly submitted: number;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
  /** The argument moved into a port at run() (transferList), or at admission (too big for the record). */
  port: MessagePort | undefined;
  id: number; // -1 while waiting in the main-thread queue
  token: number;
  ring: number;
  position: number;
  /** Settled already (aborted while running): its result is dropped. */
  settled: boolean;
  unfollow: Disposable | undefined;
}

interface Slot {
  readonly worker: Worker;
  readonly exited: Promise<void>;
  ready: boolean;
  error: unknown;
  /** terminate() was called on it (from outside the pool too: `pool.threads` hands the workers out). */
  terminated: boolean;
}

function optionError(name: string, expected: string, value: unknown): TypeError {
  const error = new TypeError(`The "${name}" option must be ${expected}. Received ${describe(value)}`);
  return Object.assign(error, { code: 'ERR_INVALID_ARG_TYPE' });
}

function rangeError(name: string, expected: string, value: unknown): RangeError {
  const error = new RangeError(`The "${name}" option must be ${expected}. Received ${describe(value)}`);
  return Object.assign(error, { code: 'ERR_OUT_OF_RANGE' });
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `type string (${JSON.stringify(value.length > 28 ? `${value.slice(0, 25)}...` : value)})`;
  if (typeof value === 'object' && value !== null) return 'an object';
  return typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean' ? `${String(value)}` : `type ${typeof value}`;
}

function integerOption(options: PoolOptions, name: keyof PoolOptions, fallback: number, min: number, max: number): number {
  const value: unknown = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw optionError(name, 'of type number', value);
  if (!Number.isInteger(value) || value < min || value > max) throw rangeError(name, `an integer from ${min} to ${max}`, value);
  return value;
}

function taskFile(filename: unknown): string {
  if (filename instanceof URL || (typeof filename === 'string' && filename.startsWith('file:'))) {
    const url = new URL(String(filename));
    if (url.protocol !== 'file:') throw optionError('filename', 'an absolute path or a file: URL', filename);
    fileURLToPath(url); // throws ERR_INVALID_FILE_URL_PATH for a URL that names no local file
    return url.href;
  }
  if (typeof filename !== 'string' || !path.isAbsolute(filename)) {
    throw optionError('filename', 'an absolute path or a file: URL', filename);
  }
  return pathToFileURL(filename).href;
}

// The receiver check of every member: `#filename in asObject(this)`, JS's own brand check (see
// lib/waker.ts: `Object(x)` boxes a primitive receiver so that it gets our TypeError too).
const asObject = Object;

function closedError(): Error {
  return Object.assign(new Error('The pool is closed'), { code: 'ERR_POOL_CLOSED' });
}

/**
 * A pool of worker threads that runs the functions of one task module: piscina's API, with small
 * arguments and results in shared memory and workers woken through a {@link WorkerWaker}. The full
 * guide is docs/pool.md.
 *
 * Errors of the pool itself carry a `code`: `ERR_POOL_CLOSED` (`run()` after `close()` or
 * `destroy()`), `ERR_POOL_QUEUE_FULL` (past {@link PoolOptions.maxQueue}), `ERR_POOL_WORKER_DIED`
 * (the worker running the task died, or workers kept dying before they were ready), and
 * {@link AbortError} (`'ABORT_ERR'`).
 *
 * @example
 * ```js
 * const { isMainThread } = require('node:worker_threads');
 * const { Pool } = require('worker-waker/pool');
 *
 * module.exports = (n) => n * n; // the task: this same file, loaded by the workers
 * if (isMainThread) {
 *   const pool = new Pool({ filename: __filename });
 *   pool.run(12).then((result) => console.log(result)).finally(() => pool.close()); // 144
 * }
 * ```
 */
export class Pool {
  readonly #filename: string;
  readonly #minThreads: number;
  readonly #maxThreads: number;
  readonly #idleTimeout: number;
  readonly #maxQueue: number;
  readonly #concurrency: number;
  /** The result wait's options: its loop spin (spinMicroseconds). */
  readonly #resultWait: { spinMicroseconds: number };
  readonly #workerOptions: { resourceLimits?: ResourceLimits; env?: NodeJS.ProcessEnv | typeof SHARE_ENV };
  readonly #workerData: unknown;

  readonly #layout: L.Layout;
  readonly #view: L.View;
  readonly #recordBytes: Uint8Array;
  readonly #codec: PayloadCodec;
  readonly #taskWaker = new WorkerWaker();
  /** The task waker's state as 32-bit cells: its queued cell counts the workers waiting for a task. */
  readonly #taskCells = new Uint32Array(this.#taskWaker.buffer);
  readonly #taskWords = new SignalWords(this.#taskWaker);
  readonly #resultWaker = new WorkerWaker();
  readonly #resultWords = new SignalWords(this.#resultWaker);

  // Workers by slot (a slot's result ring and result bit); undefined when free.
  readonly #slots: (Slot | undefined)[] = [];
  #live = 0;
  #startupFailures = 0;

  // Admitted tasks (in shared memory): by id; ids are recycled through a stack.
  readonly #tasks: (Task | undefined)[];
  readonly #generations: Int32Array;
  readonly #freeIds: Int32Array;
  #freeTop: number;
  #admitted = 0;

  // Tasks waiting for an id or ring room, oldest first; entries aborted meanwhile are skipped.
  #waiting: (Task | undefined)[] = [];
  #waitingHead = 0;
  #waitingCount = 0;

  // Submission cursor.
  #ring = 0;
  #chunkCount = 0;
  readonly #tails: Int32Array;
  readonly #published: Int32Array;
  #flushScheduled = false;
  readonly #resultHeads: Int32Array;

  #collecting = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  #cancelled: Promise<void> | undefined;
  #idleWaiters: (() => void)[] = [];
  #idleTimer: NodeJS.Timeout | undefined;
  #stopping = 0; // stop requests issued whose worker has not exited yet (taken or not)

  // One abort listener per signal, whatever the number of its tasks: a signal shared by many
  // pending tasks would otherwise pass Node's listener limit (MaxListenersExceededWarning).
  readonly #followed = new WeakMap<AbortSignal, { readonly tasks: Set<Task>; readonly listener: Disposable }>();

  #completed = 0;
  readonly #createdAt = performance.now();
  #runTimeTotal = 0;
  readonly #runTimes = new Samples();
  readonly #waitTimes = new Samples();

  /**
   * Starts `minThreads` workers; they load the task module in the background. An idle pool does
   * not keep the process alive.
   *
   * @throws TypeError or RangeError naming the option that is wrong (`"maxThreads"`,
   *   `"resourceLimits.stackSizeMb"`...), with nothing started.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = () => 0;
   * if (isMainThread) {
   *   assert.throws(() => new Pool({ filename: __filename, maxThreads: 0 }), { name: 'RangeError', message: /"maxThreads"/ });
   *   assert.throws(() => new Pool({ filename: 'task.js' }), { name: 'TypeError', message: /"filename"/ }); // not absolute
   *   const pool = new Pool({ filename: __filename, threads: 2 });
   *   assert.strictEqual(pool.threads.length, 2);
   *   pool.close();
   * }
   * ```
   */
  constructor(options: PoolOptions) {
    if (typeof options !== 'object' || options === null) {
      throw Object.assign(new TypeError(`The "options" argument must be an object. Received ${describe(options)}`), { code: 'ERR_INVALID_ARG_TYPE' });
    }
    this.#filename = taskFile(options.filename);
    const cores = Math.min(os.availableParallelism(), L.MAX_THREADS);
    const threads = integerOption(options, 'threads', 0, 1, L.MAX_THREADS);
    if (threads !== 0 && (options.minThreads !== undefined || options.maxThreads !== undefined)) {
      throw optionError('threads', 'left out when minThreads or maxThreads is given', threads);
    }
    const minGiven = integerOption(options, 'minThreads', 0, 1, L.MAX_THREADS);
    this.#maxThreads = threads || integerOption(options, 'maxThreads', Math.max(cores, minGiven), 1, L.MAX_THREADS);
    this.#minThreads = threads || minGiven || this.#maxThreads;
    if (this.#minThreads > this.#maxThreads) {
      throw rangeError('minThreads', `at most maxThreads (${this.#maxThreads})`, this.#minThreads);
    }
    const idleTimeout: unknown = options.idleTimeout === undefined ? 0 : options.idleTimeout;
    if (typeof idleTimeout !== 'number') throw optionError('idleTimeout', 'of type number', idleTimeout);
    if (!(idleTimeout >= 0)) throw rangeError('idleTimeout', 'a number >= 0 (Infinity allowed)', idleTimeout);
    this.#idleTimeout = idleTimeout;
    const maxQueue: unknown = options.maxQueue === undefined ? Infinity : options.maxQueue;
    if (maxQueue === 'auto') this.#maxQueue = this.#maxThreads ** 2;
    else if (typeof maxQueue !== 'number') throw optionError('maxQueue', "a number or 'auto'", maxQueue);
    else if (!(maxQueue === Infinity || (Number.isInteger(maxQueue) && maxQueue >= 0))) {
      throw rangeError('maxQueue', "an integer >= 0, Infinity or 'auto'", maxQueue);
    } else this.#maxQueue = maxQueue;
    this.#concurrency = integerOption(options, 'concurrentTasksPerWorker', 1, 1, MAX_CONCURRENCY);
    this.#resultWait = { spinMicroseconds: integerOption(options, 'spinMicroseconds', DEFAULT_SPIN_MICROSECONDS, 0, MAX_SPIN_MICROSECONDS) };
    const { resourceLimits, env } = options;
    if (resourceLimits !== undefined && (typeof resourceLimits !== 'object' || resourceLimits === null)) {
      throw optionError('resourceLimits', 'an object', resourceLimits);
    }
    for (const limit of RESOURCE_LIMITS) {
      const value: unknown = resourceLimits?.[limit];
      // Node ignores a limit that is not a number, and one <= 0 kills every worker at start.
      if (value === undefined) continue;
      if (typeof value !== 'number') throw optionError(`resourceLimits.${limit}`, 'of type number', value);
      if (!(value > 0 && value < Infinity)) throw rangeError(`resourceLimits.${limit}`, 'a finite number > 0', value);
    }
    if (env !== undefined && env !== SHARE_ENV && (typeof env !== 'object' || env === null)) {
      throw optionError('env', 'an object or worker_threads.SHARE_ENV', env);
    }
    this.#workerOptions = { ...(resourceLimits && { resourceLimits }), ...(env && { env }) };
    // Cloned once here, before any Worker exists: new Worker() creates its handle before its
    // own clone of workerData fails.
    try {
      structuredClone(options.workerData);
    } catch (error) {
      if ((error as Error | null)?.name !== 'DataCloneError') throw error;
      const message = `The "workerData" option must be a value structured clone copies: ${(error as Error).message}`;
      throw Object.assign(new TypeError(message, { cause: error }), { code: 'ERR_INVALID_ARG_TYPE' });
    }
    this.#workerData = options.workerData;

    const words = Math.min(WORDS, this.#maxThreads);
    this.#layout = L.createLayout(words, QUEUES_PER_WORD, QUEUE_CAPACITY);
    this.#view = L.viewLayout(this.#layout);
    this.#recordBytes = new Uint8Array(this.#layout.records);
    this.#codec = new PayloadCodec(this.#layout.records);
    const { maxPending, queueCount } = this.#layout;
    this.#tasks = new Array<Task | undefined>(maxPending).fill(undefined);
    this.#generations = new Int32Array(maxPending);
    this.#freeIds = new Int32Array(maxPending);
    for (let i = 0; i < maxPending; i++) this.#freeIds[i] = maxPending - 1 - i;
    this.#freeTop = maxPending;
    this.#tails = new Int32Array(queueCount);
    this.#published = new Int32Array(queueCount);
    this.#resultHeads = new Int32Array(L.MAX_THREADS);

    for (let i = 0; i < this.#minThreads; i++) this.#spawn();
  }

  // ---- workers ------------------------------------------------------------------------------

  #spawn(): void {
    let slot = this.#slots.findIndex((s) => s === undefined);
    if (slot === -1) slot = this.#slots.length;
    // A fresh result ring and clean-exit flag for this slot (its last worker is gone).
    Atomics.store(this.#view.resultHeaders, slot * L.HEADER_INTS + L.HEAD, 0);
    Atomics.store(this.#view.resultHeaders, slot * L.HEADER_INTS + L.TAIL, 0);
    this.#resultHeads[slot] = 0;
    Atomics.store(this.#view.control, L.CLEAN_EXIT + slot, 0);
    const init: WorkerInit = {
      layout: this.#layout,
      slot,
      filename: this.#filename,
      concurrency: this.#concurrency,
      spinMicroseconds: this.#resultWait.spinMicroseconds,
      batch: BATCH,
      homeWord: slot % this.#layout.words,
      taskWaker: this.#taskWaker.buffer,
      taskWords: this.#taskWords.buffer,
      resultWaker: this.#resultWaker.buffer,
      resultWords: this.#resultWords.buffer,
      workerData: this.#workerData,
    };
    const worker = new Worker(WORKER_FILE, { workerData: { poolWorker: init }, ...this.#workerOptions });
    let exited!: () => void;
    const entry: Slot = { worker, exited: new Promise((resolve) => (exited = resolve)), ready: false, error: undefined, terminated: false };
    // A worker stopped by terminate() did not fail at start up: it must not count towards failing the
    // pool (its exit code, 1, is the same as a task module's process.exit(1)).
    const terminate = worker.terminate.bind(worker);
    worker.terminate = () => {
      entry.terminated = true;
      return terminate();
    };
    this.#slots[slot] = entry;
    this.#live++;
    worker.on('message', (message: ToPool) => this.#onMessage(worker, message));
    worker.on('error', (error) => {
      entry.error = error;
    });
    worker.once('exit', (code) => {
      this.#onExit(slot, entry, code);
      exited();
    });
    // An idle pool does not keep the process alive; pending tasks do (the collector's
    // acquireAsync). After the listeners: adding a 'message' listener refs the worker's port again.
    worker.unref();
  }

  #onMessage(worker: Worker, message: ToPool | null | undefined): void {
    // Task code may post on parentPort too: anything, undefined and null included.
    if (typeof message !== 'object' || message === null) return;
    // A message about a task whose id no longer holds the token it was sent with (its worker was
    // declared dead and the id reused meanwhile) is stale: it must not settle another task.
    if (message.type !== 'ready' && Atomics.load(this.#view.states, message.id) !== message.token) return;
    switch (message.type) {
      case 'ready': {
        const entry = this.#slots.find((s) => s?.worker === worker);
        if (entry !== undefined) entry.ready = true;
        this.#startupFailures = 0;
        return;
      }
      case 'need': {
        const task = this.#tasks[message.id];
        const port = task?.port;
        if (task === undefined || port === undefined) return; // cannot happen: the id is STARTED by this worker
        task.port = undefined;
        worker.postMessage({ type: 'payload', id: message.id, port }, [port]);
        return;
      }
      case 'result':
      case 'error': {
        const task = this.#tasks[message.id];
        if (task === undefined) return;
        this.#record(message.start, message.run, task);
        this.#release(message.id);
        this.#completed++;
        if (message.type === 'result') this.#resolve(task, message.value);
        else this.#rejectTask(task, rebuildThrown(message.thrown as ErrorDescription | ThrownValue));
        this.#afterSettle();
      }
    }
  }

  /**
   * A worker exited. On purpose (close, destroy, idleTimeout): forget it. Otherwise it crashed:
   * settle what it published, reject the tasks it had started, put back the ones it had claimed
   * and not started, repair the signal words it may have left half-written, and replace it.
   */
  #onExit(slot: number, entry: Slot, code: number): void {
    this.#slots[slot] = undefined;
    this.#live--;
    // The worker stored the flag before it exited; its exit orders that store before this event.
    const clean = Atomics.load(this.#view.control, L.CLEAN_EXIT + slot) === 1;
    if (this.#cancelled !== undefined) return; // destroy() settles everything once all have exited
    // Everything it published before dying is a real result.
    try {
      this.#drainResults(1n << BigInt(slot));
    } catch (error) {
      this.#failAll(error);
      return;
    }
    if (clean) {
      if (this.#stopping > 0) this.#stopping--;
      // Tasks admitted while workers were leaving on stop requests must not be left with none.
      if (this.#live < this.#minThreads && (!this.#closed || this.#admitted + this.#waitingCount > 0)) this.#spawn();
      return;
    }

    // isNativeError, not instanceof: Node creates the worker's error in its own realm (under Jest, another one).
    const reason = types.isNativeError(entry.error) ? `${entry.error.name}: ${entry.error.message}` : `exit code ${code}`;
    const { states } = this.#view;
    const mine = slot + 1;
    for (let id = 0; id < this.#layout.maxPending; id++) {
      const task = this.#tasks[id];
      if (task === undefined) continue;
      const state = Atomics.load(states, id);
      if (state === ((state & L.GEN_MASK) | L.DONE | mine)) {
        // Finished there, result written, not published: the record holds it.
        this.#settleFromRecord(id, task);
      } else if ((state & L.PHASE_MASK) === L.STARTED && (state & L.WORKER_MASK) === mine) {
        // Started there: it may have had effects, so it is not run again.
        this.#release(id);
        const error = new Error(`The worker running this task died (${reason})`, { cause: entry.error });
        this.#rejectTask(task, Object.assign(error, { code: 'ERR_POOL_WORKER_DIED' }));
      } else if (state === task.token && ((Atomics.load(this.#view.queueHeaders, task.ring * L.HEADER_INTS + L.HEAD) - task.position - 1) | 0) >= 0) {
        // Claimed from its ring (by the dead worker, or a live one that has not started it) and
        // not started: take it back. The CAS beats a live worker's start, or loses to it.
        if (Atomics.compareExchange(states, id, state, state & L.GEN_MASK) === state) {
          this.#tasks[id] = undefined;
          this.#freeId(id);
          task.id = -1;
          this.#waiting.splice(this.#waitingHead, 0, task); // first in line again
          this.#waitingCount++;
        }
      }
    }
    this.#repairSignals();
    // A worker that dies by itself before it is ready (an exception, out of memory or process.exit while
    // starting), again and again, would be replaced for ever: fail the pool instead.
    if (entry.ready) this.#startupFailures = 0;
    else if (!entry.terminated && ++this.#startupFailures >= MAX_STARTUP_FAILURES) {
      this.#failAll(Object.assign(new Error(`Pool workers keep dying before they are ready (${reason})`, { cause: entry.error }), { code: 'ERR_POOL_WORKER_DIED' }));
      return;
    }
    if (!this.#closed || this.#admitted + this.#waitingCount > 0) {
      if (this.#live < this.#minThreads || this.#admitted + this.#waitingCount > 0) this.#spawn();
    }
    this.#pump();
    this.#afterSettle();
  }

  /**
   * After a thread died inside `set()` or `take()`: a non-empty word with a clear summary bit,
   * or a ring with tasks whose bit was taken and never served. Re-mark both (a set bit and a
   * marked summary write nothing), and add a permit in case the dead worker took one.
   */
  #repairSignals(): void {
    for (let ring = 0; ring < this.#layout.queueCount; ring++) {
      if (L.ringLength(this.#view, ring) > 0) this.#taskWords.set(L.signalQueueOf(this.#layout, ring));
    }
    for (const [waker, words] of [
      [this.#taskWaker, this.#taskWords],
      [this.#resultWaker, this.#resultWords],
    ] as const) {
      for (let word = 0; word < 62; word++) if (Atomics.load(words.words, word) !== 0n) waker.markActive(word);
    }
    this.#taskWaker.release(1);
    this.#resultWaker.release(1);
  }

  // ---- submission ---------------------------------------------------------------------------

  /**
   * Runs the task (the module's default export, or its own export `options.name`) on `arg` in a
   * worker. Tasks may be sync or async. `arg` and the result may be anything structured clone
   * carries; small values travel in shared memory, the rest by `postMessage`.
   *
   * Resolves to the task's result. Rejects with what the task threw: a built-in error as the same
   * class in the caller's realm, any other class as an `Error` keeping its `name`, with the
   * message, the worker-side `stack`, `code`, `cause` and other clonable own properties kept. Also
   * rejects with `ERR_POOL_CLOSED`, `ERR_POOL_QUEUE_FULL`, `ERR_POOL_WORKER_DIED`, an
   * {@link AbortError}, or a `TypeError` naming a bad option.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = async ({ a, b }) => a + b;
   * module.exports.fail = () => {
   *   throw new RangeError('out of range');
   * };
   * if (isMainThread) {
   *   (async () => {
   *     const pool = new Pool({ filename: __filename, threads: 1 });
   *     assert.strictEqual(await pool.run({ a: 2, b: 3 }), 5);
   *     await assert.rejects(pool.run(null, { name: 'fail' }), RangeError); // the caller's RangeError
   *     await pool.close();
   *   })();
   * }
   * ```
   */
  run(arg: unknown, options: RunOptions = {}): Promise<unknown> {
    if (!(#filename in asObject(this))) throw invalidReceiver('Pool', 'run');
    if (typeof options !== 'object' || options === null) {
      return Promise.reject(Object.assign(new TypeError(`The "options" argument must be an object. Received ${describe(options)}`), { code: 'ERR_INVALID_ARG_TYPE' }));
    }
    const { name, signal, transferList } = options;
    if (name !== undefined && typeof name !== 'string') return Promise.reject(optionError('name', 'a string', name));
    if (signal !== undefined && signal !== null && !(signal instanceof AbortSignal)) return Promise.reject(optionError('signal', 'an AbortSignal', signal));
    if (transferList !== undefined && !Array.isArray(transferList)) return Promise.reject(optionError('transferList', 'an array', transferList));
    if (this.#closed) return Promise.reject(closedError());
    if (signal?.aborted) return Promise.reject(new AbortError('The task was aborted before it was queued', { cause: signal.reason }));
    if (this.#maxQueue !== Infinity && this.#admitted + this.#waitingCount >= this.#maxQueue + this.#maxThreads * this.#concurrency) {
      return Promise.reject(Object.assign(new Error(`The task queue is full (maxQueue ${this.#maxQueue})`), { code: 'ERR_POOL_QUEUE_FULL' }));
    }
    let resolve!: (value: unknown) => void;
    let reject!: (reason: unknown) => void;
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const task: Task = {
      arg,
      name,
      submitted: performance.timeOrigin + performance.now(),
      resolve,
      reject,
      port: undefined,
      id: -1,
      token: 0,
      ring: 0,
      position: 0,
      settled: false,
      unfollow: undefined,
    };
    if (transferList !== undefined && transferList.length > 0) {
      // Moved now, as postMessage would: the caller's buffers are detached when run() returns.
      try {
        task.port = this.#moveToPort(name, arg, transferList);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (signal) task.unfollow = this.#follow(signal, task);
    if (this.#waitingCount > 0 || !this.#admit(task)) this.#enqueue(task);
    this.#grow();
    if (!this.#collecting) this.#collect().catch((error: unknown) => this.#failAll(error));
    return promise;
  }

  /** Aborts `task` when `signal` aborts, through the signal's one listener of this pool. */
  #follow(signal: AbortSignal, task: Task): Disposable {
    let followers = this.#followed.get(signal);
    if (followers === undefined) {
      const tasks = new Set<Task>();
      const listener = addAbortListener(signal, () => {
        this.#followed.delete(signal);
        // Each abort settles its task, whose unfollow deletes it from the set (a visited entry).
        for (const pending of tasks) this.#abort(pending, signal.reason);
      });
      followers = { tasks, listener };
      this.#followed.set(signal, followers);
    }
    const { tasks, listener } = followers;
    tasks.add(task);
    return {
      [Symbol.dispose]: () => {
        if (!tasks.delete(task) || tasks.size > 0) return;
        if (this.#followed.get(signal)?.tasks === tasks) this.#followed.delete(signal);
        listener[Symbol.dispose]();
      },
    };
  }

  #moveToPort(name: string | undefined, arg: unknown, transferList: readonly Transferable[]): MessagePort {
    const { port1, port2 } = new MessageChannel();
    try {
      const payload: SlowPayload = { name, arg };
      port1.postMessage(payload, transferList as Transferable[]);
    } catch (error) {
      port2.close();
      throw error;
    } finally {
      port1.close();
    }
    return port2;
  }

  #enqueue(task: Task): void {
    this.#waiting.push(task);
    this.#waitingCount++;
  }

  /** Writes `task` into shared memory if an id and ring room are free; false otherwise. */
  #admit(task: Task): boolean {
    if (this.#freeTop === 0) return false;
    const { queueCapacity } = this.#layout;
    let ring = this.#ring;
    if (this.#occupied(ring) >= queueCapacity) {
      ring = this.#findRoom();
      if (ring === -1) return false;
    }
    const id = this.#freeIds[--this.#freeTop]!;
    const base = id * L.RECORD_BYTES;
    let end = -1;
    if (task.port === undefined) {
      end = this.#codec.encode(task.name, base + FAST_START, base + L.RECORD_BYTES);
      if (end >= 0) end = this.#codec.encode(task.arg, end, base + L.RECORD_BYTES);
      if (end < 0) {
        try {
          task.port = this.#moveToPort(task.name, task.arg, []);
        } catch (error) {
          // Not clonable (a function, a symbol...): fails like postMessage would.
          this.#freeIds[this.#freeTop++] = id;
          this.#rejectTask(task, error);
          return true;
        }
      }
    }
    this.#recordBytes[base + RECORD_KIND] = end >= 0 ? KIND_FAST : KIND_SLOW;
    const generation = (this.#generations[id]! + 1) & (L.GEN_MASK >>> L.GEN_SHIFT);
    this.#generations[id] = generation;
    const token = (generation << L.GEN_SHIFT) | L.QUEUED;
    // Before the entry is published (the tail store orders it), like the record writes above.
    Atomics.store(this.#view.states, id, token);
    task.id = id;
    task.token = token;
    task.ring = ring;
    task.position = this.#tails[ring]!;
    const at = ring * queueCapacity + (task.position & (queueCapacity - 1));
    this.#view.queueIds[at] = id;
    this.#view.queueTokens[at] = token;
    this.#tails[ring] = (task.position + 1) | 0;
    this.#tasks[id] = task;
    // Publish a full chunk at once, so that workers start while the caller keeps submitting;
    // the rest goes out at the end of this tick (one tail store and one set() for many tasks).
    if (++this.#chunkCount >= CHUNK) this.#advance();
    else if (this.#admitted === 0) {
      // Nothing in flight: the workers are idle, likely parked. Publish this task now, so that a
      // worker's wake-up (tens of µs when its CPU has halted) overlaps the submission of the rest
      // of this tick, which stays in this ring and goes out with the flush below.
      this.#publish(ring);
    }
    if (this.#chunkCount > 0 && !this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.#flush());
    }
    this.#admitted++;
    return true;
  }

  /** Entries of `ring` written and not yet claimed (a stale `head` only overstates it). */
  #occupied(ring: number): number {
    return (this.#tails[ring]! - Atomics.load(this.#view.queueHeaders, ring * L.HEADER_INTS + L.HEAD)) | 0;
  }

  #findRoom(): number {
    for (let tries = 0; tries < this.#layout.queueCount; tries++) {
      this.#advance();
      if (this.#occupied(this.#ring) < this.#layout.queueCapacity) return this.#ring;
    }
    return -1;
  }

  /** Publishes the current ring and moves to the next one. */
  #advance(): void {
    this.#publish(this.#ring);
    this.#ring = (this.#ring + 1) % this.#layout.queueCount;
    this.#chunkCount = 0;
  }

  #publish(ring: number): void {
    if (this.#published[ring] === this.#tails[ring]) return;
    this.#published[ring] = this.#tails[ring]!;
    // Tail first, then set(): the seq_cst store orders the slot, state and record writes before
    // it, and a worker that takes the bit and then loads the tail sees every entry. The other way
    // round, a worker could take the bit, find the old tail (nothing to do) and park, and the
    // tasks would wait for an unrelated set() of the same word.
    Atomics.store(this.#view.queueHeaders, ring * L.HEADER_INTS + L.TAIL, this.#tails[ring]!);
    this.#taskWords.set(L.signalQueueOf(this.#layout, ring));
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#chunkCount > 0) this.#advance();
  }

  /** Admits waiting tasks while there is room. */
  #pump(): void {
    while (this.#waitingCount > 0) {
      const task = this.#waiting[this.#waitingHead];
      if (task === undefined) {
        this.#waitingHead++; // aborted while waiting
        continue;
      }
      if (!this.#admit(task)) break;
      this.#waiting[this.#waitingHead++] = undefined;
      this.#waitingCount--;
    }
    if (this.#waitingCount === 0 || this.#waitingHead > 1024) {
      this.#waiting = this.#waiting.slice(this.#waitingHead);
      this.#waitingHead = 0;
    }
  }

  /** Starts another worker while tasks outnumber what the workers take at once. */
  #grow(): void {
    if (this.#idleTimer !== undefined) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
    }
    if (this.#live === this.#maxThreads) return;
    if (this.#live < this.#maxThreads && this.#admitted + this.#waitingCount > this.#live * this.#concurrency) {
      // Stop requests no worker has taken yet: cancel them before adding a worker.
      this.#stopping -= Atomics.exchange(this.#view.control, L.STOP_REQUESTS, 0);
      this.#spawn();
    }
  }

  // ---- results ------------------------------------------------------------------------------

  /** Waits for results and settles them while any task is admitted. */
  async #collect(): Promise<void> {
    this.#collecting = true;
    try {
      let lastYield = performance.now();
      while (this.#admitted > 0) {
        // Sleep only when the summary bit is clear: take() leaves it set when a worker refilled
        // the word meanwhile, and that refill may not have added a permit.
        if (this.#resultWaker.summaryBits() !== 0n) {
          const bits = this.#resultWords.take(0);
          if (bits !== 0n) this.#drainResults(bits);
          // Let the resolved promises' reactions run (they usually submit more tasks), and now
          // and then timers and I/O too.
          if (performance.now() - lastYield > YIELD_EVERY_MS) {
            await new Promise(setImmediate);
            lastYield = performance.now();
          } else {
            await null;
          }
          continue;
        }
        await this.#resultWaker.acquireAsync(this.#coreIsFree() ? this.#resultWait : NO_SPIN);
        lastYield = performance.now();
      }
    } finally {
      this.#collecting = false;
    }
  }

  /**
   * Whether the main thread's loop spin would run on a core of its own: the workers that are not
   * waiting for a task (running one, or about to) and this thread fit in the machine's cores. When
   * every core is busy with a worker, a spin only takes CPU time from the tasks whose results it
   * waits for (measured: a saturated HTTP server lost about a quarter of its requests per second).
   * The queued cell counts the workers parked on the task waker (blocked or in acquireAsync); a
   * relaxed-enough read: a stale count only makes this one wait spin or sleep when it need not.
   */
  #coreIsFree(): boolean {
    const waiting = Atomics.load(this.#taskCells, QUEUED);
    return this.#live - waiting + 1 <= CORES;
  }

  /** Reads the result rings of the slots named by `bits` (bit i = slot i). */
  #drainResults(bits: bigint): void {
    const { resultHeaders, resultIds } = this.#view;
    const capacity = this.#layout.resultCapacity;
    const mask = capacity - 1;
    let settled = 0;
    for (let half = 0; half < 2; half++) {
      let m = Number(half === 0 ? bits & 0xffffffffn : bits >> 32n);
      while (m !== 0) {
        const slot = half * 32 + (31 - Math.clz32(m & -m));
        m &= m - 1;
        let head = this.#resultHeads[slot]!;
        const tail = Atomics.load(resultHeaders, slot * L.HEADER_INTS + L.TAIL);
        const base = slot * capacity;
        while (head !== tail) {
          const id = resultIds[base + (head & mask)]!;
          head = (head + 1) | 0;
          const task = this.#tasks[id];
          // A pending id that its worker started: anything else is a corrupt ring; stop the pool
          // rather than resolve someone else's task.
          const state = Atomics.load(this.#view.states, id);
          if (task === undefined || (state & L.PHASE_MASK) !== L.DONE) {
            this.#resultHeads[slot] = head;
            throw new Error(`worker-waker/pool bug: a result arrived for task id ${id}, which is not finished`);
          }
          this.#settleFromRecord(id, task);
          settled++;
        }
        this.#resultHeads[slot] = head;
        // After the entries (and their records, whose ids are only now free for reuse) are read:
        // the seq_cst store tells the worker that these entries may be written again.
        Atomics.store(resultHeaders, slot * L.HEADER_INTS + L.HEAD, head);
      }
    }
    if (settled > 0) this.#afterSettle();
  }

  /** Resolves `task` (id `id`) with the fast-path result its worker wrote into its record. */
  #settleFromRecord(id: number, task: Task): void {
    const { records } = this.#view;
    const recordAt = id * L.RECORD_BYTES;
    this.#record(records[recordAt / 8 + L.RECORD_START / 8]!, records[recordAt / 8 + L.RECORD_RUN / 8]!, task);
    const value = task.settled ? undefined : this.#codec.decode(recordAt + L.RECORD_PAYLOAD);
    this.#release(id);
    this.#completed++;
    this.#resolve(task, value);
  }

  #record(start: number, run: number, task: Task): void {
    this.#runTimes.add(run);
    this.#runTimeTotal += run;
    this.#waitTimes.add(Math.max(0, start - task.submitted));
  }

  /** Frees the id of a settled (or taken back) task. */
  #release(id: number): void {
    const task = this.#tasks[id]!;
    this.#tasks[id] = undefined;
    task.id = -1;
    // FREE: no phase; a ring entry with the old token is now stale.
    Atomics.store(this.#view.states, id, this.#generations[id]! << L.GEN_SHIFT);
    this.#freeId(id);
  }

  #freeId(id: number): void {
    this.#freeIds[this.#freeTop++] = id;
    this.#admitted--;
  }

  #resolve(task: Task, value: unknown): void {
    if (task.settled) return;
    task.settled = true;
    task.unfollow?.[Symbol.dispose]();
    task.resolve(value);
  }

  #rejectTask(task: Task, reason: unknown): void {
    if (task.settled) return;
    task.settled = true;
    task.unfollow?.[Symbol.dispose]();
    task.reject(reason);
  }

  #afterSettle(): void {
    this.#pump();
    if (this.#admitted + this.#waitingCount > 0) return;
    // The collector may be waiting for a result permit while the last task settled some other
    // way (posted, aborted, its worker died): wake it so that it sees nothing is left.
    if (this.#collecting) this.#resultWaker.release(1);
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
    this.#scheduleScaleDown();
  }

  #scheduleScaleDown(): void {
    if (this.#closed || this.#live <= this.#minThreads || this.#idleTimer !== undefined || this.#idleTimeout === Infinity) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#closed || this.#admitted + this.#waitingCount > 0) return;
      // Workers that took a request and have not exited yet still count in #live.
      const extra = this.#live - this.#minThreads - this.#stopping;
      if (extra <= 0) return;
      this.#stopping += extra;
      // Cooperative: an idle worker that sees a request exits on its own (worker.ts). Any idle
      // worker may take one; the permits wake parked ones.
      Atomics.add(this.#view.control, L.STOP_REQUESTS, extra);
      this.#taskWaker.release(extra);
    }, this.#idleTimeout);
    this.#idleTimer.unref();
  }

  // ---- abort and shutdown -------------------------------------------------------------------

  #abort(task: Task, reason: unknown): void {
    if (task.settled) return;
    if (task.id === -1) {
      // Still waiting in the main thread.
      const at = this.#waiting.indexOf(task, this.#waitingHead);
      if (at !== -1) {
        this.#waiting[at] = undefined;
        this.#waitingCount--;
      }
      task.port?.close();
      this.#rejectTask(task, new AbortError('The task was aborted before it started', { cause: reason }));
      this.#afterSettle();
      return;
    }
    const id = task.id;
    // Queued in shared memory: the CAS beats the worker's start (the entry becomes stale), or
    // loses to it (the task runs; its result will be dropped).
    if (Atomics.compareExchange(this.#view.states, id, task.token, task.token & L.GEN_MASK) === task.token) {
      this.#tasks[id] = undefined;
      task.id = -1;
      this.#freeId(id);
      task.port?.close();
      this.#rejectTask(task, new AbortError('The task was aborted before it started', { cause: reason }));
      this.#afterSettle();
      return;
    }
    this.#rejectTask(task, new AbortError('The task was aborted while it ran; its result is dropped', { cause: reason }));
  }

  /**
   * Finishes every task already submitted, then stops the workers. New `run()` calls reject with
   * `ERR_POOL_CLOSED`. A worker still running 2 s after it was asked to stop (a task in an
   * endless loop) is terminated.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = (ms) => new Promise((resolve) => setTimeout(resolve, ms, ms));
   * if (isMainThread) {
   *   (async () => {
   *     const pool = new Pool({ filename: __filename, threads: 1 });
   *     const submitted = pool.run(50);
   *     await pool.close(); // waits for the task
   *     assert.strictEqual(await submitted, 50);
   *     await assert.rejects(pool.run(1), { code: 'ERR_POOL_CLOSED' });
   *   })();
   * }
   * ```
   */
  close(): Promise<void> {
    if (!(#filename in asObject(this))) throw invalidReceiver('Pool', 'close');
    if (this.#closing === undefined) {
      this.#closed = true;
      this.#closing = (async () => {
        this.#flush();
        if (this.#admitted + this.#waitingCount > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
        if (this.#cancelled !== undefined) return this.#cancelled;
        return this.#stop(L.STOPPING);
      })();
    }
    return this.#closing;
  }

  /**
   * Stops the workers after the task each has in hand; every task that has not finished rejects
   * with an {@link AbortError}, async tasks in flight included. A worker still running 200 ms
   * later is terminated. Also ends a `close()` in progress.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool, AbortError } = require('worker-waker/pool');
   *
   * module.exports = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
   * if (isMainThread) {
   *   (async () => {
   *     const pool = new Pool({ filename: __filename, threads: 1 });
   *     const tasks = [pool.run(10_000), pool.run(10_000)];
   *     await pool.destroy();
   *     for (const task of tasks) await assert.rejects(task, AbortError);
   *   })();
   * }
   * ```
   */
  destroy(): Promise<void> {
    if (!(#filename in asObject(this))) throw invalidReceiver('Pool', 'destroy');
    if (this.#cancelled === undefined) {
      this.#closed = true;
      this.#cancelled = (async () => {
        const reason = new AbortError('The pool was destroyed before the task ran');
        for (let i = this.#waitingHead; i < this.#waiting.length; i++) {
          const task = this.#waiting[i];
          if (task === undefined) continue;
          task.port?.close();
          this.#rejectTask(task, reason);
        }
        this.#waiting = [];
        this.#waitingHead = 0;
        this.#waitingCount = 0;
        await this.#stop(L.CANCELLING);
        // Every worker has exited: what they published is final. Settle it, reject the rest.
        try {
          this.#drainResults((1n << BigInt(Math.max(1, this.#slots.length))) - 1n);
        } catch {
          // A corrupt ring: reject what is left rather than leave it pending.
        }
        const stopped = new AbortError('The pool was destroyed while the task ran (its worker was stopped)');
        for (let id = 0; id < this.#layout.maxPending; id++) {
          const task = this.#tasks[id];
          if (task === undefined) continue;
          const started = (Atomics.load(this.#view.states, id) & L.PHASE_MASK) === L.STARTED;
          this.#release(id);
          this.#rejectTask(task, started ? stopped : reason);
        }
        this.#afterSettle();
      })();
      this.#closing ??= this.#cancelled;
    }
    return this.#cancelled;
  }

  #failAll(error: unknown): void {
    if (this.#cancelled !== undefined) return;
    // destroy() rejects with an AbortError; a failure should say what failed (waiting tasks first:
    // destroy() settles those at once).
    for (const task of this.#waiting) if (task !== undefined) this.#rejectTask(task, error);
    void this.destroy();
    for (const task of this.#tasks) if (task !== undefined) this.#rejectTask(task, error);
  }

  async #stop(state: number): Promise<void> {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    Atomics.store(this.#view.control, L.STATE, state);
    // One permit per worker: each waiting worker wakes, sees the state and exits.
    this.#taskWaker.release(Math.max(1, this.#live));
    const slots = this.#slots.filter((s): s is Slot => s !== undefined);
    for (const { worker } of slots) worker.ref(); // keep the process alive until joined
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(resolve, state === L.CANCELLING ? DESTROY_JOIN_MS : CLOSE_JOIN_MS, 'timeout');
    });
    const joined = await Promise.race([Promise.all(slots.map((s) => s.exited)), timedOut]);
    clearTimeout(timer);
    if (joined === 'timeout') await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  /**
   * `close()`, for `await using pool = new Pool(...)`.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = (n) => n + 1;
   * if (isMainThread) {
   *   (async () => {
   *     const pool = new Pool({ filename: __filename, threads: 1 });
   *     const result = pool.run(1);
   *     await pool[Symbol.asyncDispose](); // what `await using` calls at the end of its block
   *     assert.strictEqual(await result, 2);
   *     assert.strictEqual(pool.threads.length, 0);
   *   })();
   * }
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    if (!(#filename in asObject(this))) throw invalidReceiver('Pool', 'Symbol.asyncDispose');
    return this.close();
  }

  // ---- observability ------------------------------------------------------------------------

  /**
   * The live worker threads (the pool replaces one that dies).
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread, threadId } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = () => threadId;
   * if (isMainThread) {
   *   const pool = new Pool({ filename: __filename, threads: 2 });
   *   const ids = pool.threads.map((worker) => worker.threadId);
   *   pool.run(null).then((id) => assert.ok(ids.includes(id))).finally(() => pool.close());
   * }
   * ```
   */
  get threads(): Worker[] {
    if (!(#filename in asObject(this))) throw invalidReceiver('Pool', 'threads');
    return this.#slots.filter((s): s is Slot => s !== undefined).map((s) => s.worker);
  }

  /**
   * Tasks submitted and not started: waiting in the main thread, or queued in shared memory.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = (n) => n;
   * if (isMainThread) {
   *   const pool = new Pool({ filename: __filename, threads: 1 });
   *   const tasks = Array.from({ length: 10 }, (_, n) => pool.run(n));
   *   assert.strictEqual(pool.queueSize, 10); // none has started yet: this tick is still running
   *   Promise.all(tasks).then(() => assert.strictEqual(pool.queueSize, 0)).finally(() => pool.close());
   * }
   * ```
   */
  get queueSize(): number {
    if (!(#filename in asObject(this))) throw invalidReceiver('Pool', 'queueSize');
    let queued = this.#waitingCount;
    for (let ring = 0; ring < this.#layout.queueCount; ring++) queued += this.#occupied(ring);
    return Math.min(queued, this.#waitingCount + this.#admitted);
  }

  /**
   * Tasks that ran to an end (a result or a thrown error).
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = (n) => {
   *   if (n === 2) throw new Error('two');
   *   return n;
   * };
   * if (isMainThread) {
   *   const pool = new Pool({ filename: __filename, threads: 1 });
   *   Promise.allSettled([1, 2, 3].map((n) => pool.run(n)))
   *     .then(() => assert.strictEqual(pool.completed, 3)) // a thrown error counts too
   *     .finally(() => pool.close());
   * }
   * ```
   */
  get completed(): number {
    if (!(#filename in asObject(this))) throw invalidReceiver('Pool', 'completed');
    return this.#completed;
  }

  /**
   * Time the workers spent running tasks ÷ (time since the pool was created × maxThreads), 0 to 1.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = (ms) => {
   *   const end = Date.now() + ms;
   *   while (Date.now() < end); // busy: run time
   * };
   * if (isMainThread) {
   *   const pool = new Pool({ filename: __filename, threads: 1 });
   *   pool.run(200)
   *     .then(() => {
   *       assert.ok(pool.utilization > 0 && pool.utilization <= 1);
   *       console.log(pool.utilization); // 200 ms of work ÷ the pool's age so far
   *     })
   *     .finally(() => pool.close());
   * }
   * ```
   */
  get utilization(): number {
    if (!(#filename in asObject(this))) throw invalidReceiver('Pool', 'utilization');
    const elapsed = performance.now() - this.#createdAt;
    return elapsed > 0 ? Math.min(1, this.#runTimeTotal / (elapsed * this.#maxThreads)) : 0;
  }

  /**
   * Ms since the pool was created.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = () => 0;
   * if (isMainThread) {
   *   const pool = new Pool({ filename: __filename, threads: 1 });
   *   setTimeout(() => {
   *     assert.ok(pool.duration >= 45);
   *     pool.close();
   *   }, 50);
   * }
   * ```
   */
  get duration(): number {
    if (!(#filename in asObject(this))) throw invalidReceiver('Pool', 'duration');
    return performance.now() - this.#createdAt;
  }

  /**
   * How long recent tasks ran (from their start in the worker to their result), in ms.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
   * if (isMainThread) {
   *   const pool = new Pool({ filename: __filename, threads: 1 });
   *   pool.run(50)
   *     .then(() => assert.ok(pool.runTime.count === 1 && pool.runTime.p50 >= 45))
   *     .finally(() => pool.close());
   * }
   * ```
   */
  get runTime(): TimeSummary {
    if (!(#filename in asObject(this))) throw invalidReceiver('Pool', 'runTime');
    return this.#runTimes.summary();
  }

  /**
   * How long recent tasks waited from `run()` to their start in a worker, in ms.
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
   * if (isMainThread) {
   *   const pool = new Pool({ filename: __filename, threads: 1 });
   *   Promise.all([pool.run(100), pool.run(0)]) // the second waits for the first
   *     .then(() => assert.ok(pool.waitTime.count === 2 && pool.waitTime.max >= 95))
   *     .finally(() => pool.close());
   * }
   * ```
   */
  get waitTime(): TimeSummary {
    if (!(#filename in asObject(this))) throw invalidReceiver('Pool', 'waitTime');
    return this.#waitTimes.summary();
  }

  /**
   * The settings in force (defaults filled in).
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const os = require('node:os');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = () => 0;
   * if (isMainThread) {
   *   const pool = new Pool({ filename: __filename, maxQueue: 'auto' });
   *   const cores = Math.min(os.availableParallelism(), 64);
   *   assert.deepStrictEqual(pool.options, {
   *     minThreads: cores, maxThreads: cores, idleTimeout: 0, maxQueue: cores ** 2, concurrentTasksPerWorker: 1,
   *     spinMicroseconds: 100,
   *   });
   *   pool.close();
   * }
   * ```
   */
  get options(): {
    minThreads: number;
    maxThreads: number;
    idleTimeout: number;
    maxQueue: number;
    concurrentTasksPerWorker: number;
    spinMicroseconds: number;
  } {
    if (!(#filename in asObject(this))) throw invalidReceiver('Pool', 'options');
    return {
      minThreads: this.#minThreads,
      maxThreads: this.#maxThreads,
      idleTimeout: this.#idleTimeout,
      maxQueue: this.#maxQueue,
      concurrentTasksPerWorker: this.#concurrency,
      spinMicroseconds: this.#resultWait.spinMicroseconds,
    };
  }

  /**
   * Tasks started by workers so far, each counted once (for accounting after a crash: a started
   * task is never run again).
   *
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { isMainThread } = require('node:worker_threads');
   * const { Pool } = require('worker-waker/pool');
   *
   * module.exports = (n) => n;
   * if (isMainThread) {
   *   const pool = new Pool({ filename: __filename, threads: 2 });
   *   Promise.all(Array.from({ length: 50 }, (_, n) => pool.run(n)))
   *     .then(() => assert.strictEqual(pool.started, 50))
   *     .finally(() => pool.close());
   * }
   * ```
   */
  get started(): number {
    if (!(#filename in asObject(this))) throw invalidReceiver('Pool', 'started');
    let total = 0;
    for (let slot = 0; slot < L.MAX_THREADS; slot++) total += this.#view.stats[slot * L.STAT_STRIDE + L.STAT_TASKS]!;
    return total;
  }
}

