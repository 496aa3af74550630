import { inspect, types, type InspectOptionsStylized } from 'node:util';

import { acquireAsync, type AcquireAsyncOptions } from './acquire-async';
import { native, type StateView } from './binding';
import { takePermit } from './cells';
import { checkBigUint64Array, checkInteger, invalidType, invalidReceiver, outOfRange } from './errors';

const { layout } = native;
// Word indices of the shared state (native/core/waker_core.h, StateWord), the indices of its two
// 32-bit cells (StateCell), the status word's bits and the permit cap, all as the addon states
// them. A binary from another version could lay the state out differently: refuse it rather than
// read the wrong words.
for (const key of ['statusWord', 'permitsCell', 'queuedCell', 'sleepersWord', 'workersWord', 'partitionWord', 'maxPermits', 'summaryBits', 'partitionBit', 'yieldBit', 'summaryIndexMax', 'leafIndexMax', 'nearestIndexMax'] as const) {
  if (typeof layout[key] !== 'number') {
    throw new Error(`worker-waker: the native binary does not match this version of the package (layout.${key})`);
  }
}
const SUMMARY_BITS = layout.summaryBits;
const SUMMARY_LIMIT = 1n << BigInt(SUMMARY_BITS);
const SUMMARY_MASK = SUMMARY_LIMIT - 1n;
const PARTITION_FLAG = 1n << BigInt(layout.partitionBit);
const YIELD_FLAG = 1n << BigInt(layout.yieldBit);
const BIT = Array.from({ length: 64 }, (_, i) => 1n << BigInt(i));
const STATUS = layout.statusWord;
// The permit and queued counters are 32-bit cells, read and written through a Uint32Array (never
// as 64-bit words, by JS or C++), so their fast paths compute on plain Numbers, not BigInts.
const PERMITS = layout.permitsCell;
const QUEUED = layout.queuedCell;
const MAX_PERMITS = layout.maxPermits;
const SLEEPERS = layout.sleepersWord;
const WORKERS = layout.workersWord;
const PARTITION = layout.partitionWord;
// The ranges of the index arguments (native/core/waker_core.h: SummaryIndex, LeafIndex, NearestIndex).
const SUMMARY_INDEX_MAX = layout.summaryIndexMax;
const LEAF_INDEX_MAX = layout.leafIndexMax;
const NEAREST_INDEX_MAX = layout.nearestIndexMax;

// Fast paths. A Node-API call costs ~30 ns plus its argument checks, several times a JS
// `Atomics` operation, so the hottest calls touch the shared words straight from JS: pure reads,
// the no-write case of markActive, and the permit counter (tryAcquire, release). The C++ core
// (native/core/waker_core.cc) stays the definition of the semantics: each fast path below mirrors
// one core function step by step, and JS `Atomics` operations are sequentially consistent, the
// same ordering the core uses on the same words, so the handshakes described there hold across
// the two languages. Everything that parks, wakes or rechecks goes through the core.

// The receiver check of every method is `#state in asObject(this)`: JS's own brand check, false
// for any object that is not a WorkerWaker. `Object(x)` boxes a primitive receiver (and makes
// {} of null and undefined), so those get our TypeError too instead of V8's "Cannot use 'in'
// operator"; V8 folds it away for object receivers (measured: no cost per call). Captured
// once, so that replacing globalThis.Object cannot change what the check does.
const asObject = Object;

/** release(n) would take permits past their cap: a RangeError naming n, the room left and the cap. */
function capExceeded(n: number, current: number): RangeError {
  const room = Math.max(0, MAX_PERMITS - current);
  return outOfRange('n', `at most ${room} (permits are capped at 2 ** 31 - 1 = ${MAX_PERMITS}; ${current} are there)`, n);
}

/** True when `value` is a WorkerWaker (internal; set by the class's static block). */
export let isWorkerWaker: (value: unknown) => value is WorkerWaker;

/**
 * A cross-thread wake-up primitive: a 64-bit status word (62 summary bits, a partition flag
 * and a yield flag) plus a counting semaphore, in a `SharedArrayBuffer` that every thread of
 * the process can attach to.
 *
 * Every 0→1 edge of a status bit adds one permit; consumers take permits
 * (`tryAcquire`/`acquire`/`acquireTimeout`) and then read the summary to find work. A permit
 * released before anyone waits is remembered.
 *
 * Memory ordering: everything a thread wrote before `release()` (or a mark that added a
 * permit) is visible to the thread whose acquire takes that permit.
 * @example
 * ```js
 * const { WorkerWaker } = require('worker-waker');
 *
 * const waker = new WorkerWaker();
 * waker.markActive(3); // word 3 has work: one permit
 * if (waker.tryAcquire()) console.log(`work in word ${waker.summarySelect(0)}`);
 * ```
 */
export class WorkerWaker {
  readonly #state: StateView;
  /** The same buffer as 32-bit cells, for the permit and queued counters. */
  readonly #cells: Uint32Array;

  static {
    // A brand check that runs no user code (no getters, no Proxy traps), for lib/ internals.
    isWorkerWaker = (value: unknown): value is WorkerWaker =>
      typeof value === 'object' && value !== null && #state in value;
  }

  /**
   * @param buffer state made by another `WorkerWaker` (`waker.buffer`), possibly in another
   *   thread. Omit it to create fresh state.
   * @throws TypeError when `buffer` is not a SharedArrayBuffer, is too small, or does not hold
   *   worker-waker state.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * const sameState = new WorkerWaker(waker.buffer); // what a worker does with the buffer it is sent
   * waker.release(1);
   * assert.strictEqual(sameState.permits(), 1);
   * ```
   */
  constructor(buffer?: SharedArrayBuffer) {
    if (buffer === undefined) {
      this.#state = new BigUint64Array(new SharedArrayBuffer(layout.stateBytes));
      this.#cells = new Uint32Array(this.#state.buffer, 0, layout.stateBytes / 4);
      native.format(this.#state);
      return;
    }
    if (!types.isSharedArrayBuffer(buffer)) {
      throw invalidType('buffer', 'a SharedArrayBuffer holding worker-waker state', buffer);
    }
    if (buffer.byteLength < layout.stateBytes) {
      throw invalidType('buffer', `at least ${layout.stateBytes} bytes of worker-waker state`, buffer);
    }
    const state = new BigUint64Array(buffer, 0, layout.stateWords);
    if (!native.isState(state)) {
      throw invalidType('buffer', 'a SharedArrayBuffer holding worker-waker state (bad header)', buffer);
    }
    this.#state = state;
    this.#cells = new Uint32Array(buffer, 0, layout.stateBytes / 4);
  }

  /**
   * The shared state; pass it to other threads and attach with `new WorkerWaker(buffer)`.
   * @example
   * ```js
   * const { Worker } = require('node:worker_threads');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * const code = "new (require('worker-waker').WorkerWaker)(require('node:worker_threads').workerData).markActive(1)";
   * const worker = new Worker(code, { eval: true, workerData: waker.buffer });
   * worker.on('exit', () => console.log(waker.snapshotSummary())); // 2n: the worker marked word 1
   * ```
   */
  get buffer(): SharedArrayBuffer {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'buffer');
    return this.#state.buffer as SharedArrayBuffer;
  }

  /**
   * The raw 64-bit status word: summary bits 0–61, partition flag 62, yield flag 63.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * waker.markActive(1);
   * waker.markYield();
   * assert.strictEqual(waker.status(), (1n << 63n) | (1n << 1n));
   * ```
   */
  status(): bigint {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'status');
    return Atomics.load(this.#state, STATUS);
  }

  /**
   * The two control bits, yield first.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * waker.markYield();
   * const [isYield, isPartitionActive] = waker.statusBits();
   * assert.deepStrictEqual([isYield, isPartitionActive], [true, false]);
   * ```
   */
  statusBits(): [isYield: boolean, isPartitionActive: boolean] {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'statusBits');
    const status = Atomics.load(this.#state, STATUS);
    return [(status & YIELD_FLAG) !== 0n, (status & PARTITION_FLAG) !== 0n];
  }

  /**
   * Sets the yield flag (bit 63); adds one permit if it was clear.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * waker.markYield();
   * waker.markYield(); // already set: no second permit
   * assert.strictEqual(waker.permits(), 1);
   * ```
   */
  markYield(): void {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'markYield');
    native.markYield(this.#state);
  }

  /**
   * Clears the yield flag; permits are unchanged.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * waker.markYield();
   * waker.tryUnmarkYield();
   * assert.strictEqual(waker.statusBits()[0], false);
   * assert.strictEqual(waker.permits(), 1); // the permit stays
   * ```
   */
  tryUnmarkYield(): void {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'tryUnmarkYield');
    native.tryUnmarkYield(this.#state);
  }

  /**
   * Sets the partition flag (bit 62); adds one permit if it was clear.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * waker.markTasks();
   * assert.strictEqual(waker.statusBits()[1], true);
   * assert.strictEqual(waker.permits(), 1);
   * ```
   */
  markTasks(): void {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'markTasks');
    native.markTasks(this.#state);
  }

  /**
   * Clears the partition flag if it is set, then sets it again (one permit) when
   * `partitionSummary()` is non-zero, so that no work is stranded.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * waker.markTasks();
   * waker.tryUnmarkTasks(); // no leaf has work: the flag clears
   * assert.strictEqual(waker.statusBits()[1], false);
   * waker.markPartitionLeafActive(4); // a leaf has work: sets the flag
   * waker.tryUnmarkTasks(); // the leaf still has work: the flag stays set
   * assert.strictEqual(waker.statusBits()[1], true);
   * ```
   */
  tryUnmarkTasks(): void {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'tryUnmarkTasks');
    native.tryUnmarkTasks(this.#state);
  }

  /**
   * Marks signal word `index` (0–61) as having work; one permit on a 0→1 edge, no atomic
   * write at all when the bit is already set.
   * @throws RangeError when `index` is not an integer from 0 to 61.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * waker.markActive(7);
   * waker.markActive(7); // already set: no write, no permit
   * assert.strictEqual(waker.permits(), 1);
   * assert.throws(() => waker.markActive(62), RangeError); // bits 62 and 63 are the flags
   * ```
   */
  markActive(index: number): void {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'markActive');
    const state = this.#state;
    checkInteger(index, 'index', 0, SUMMARY_INDEX_MAX);
    // The core's fast path (Waker::MarkActive): a bit already set needs no write. The load is
    // sequentially consistent, as the core's, for TryUnmarkIfEmpty's clear-then-recheck.
    if ((Atomics.load(state, STATUS) & BIT[index]!) !== 0n) return;
    native.markActive(state, index);
  }

  /**
   * Marks every word of `mask` (bit i = word i) with one atomic OR; one permit per newly
   * set bit.
   * @throws RangeError when `mask` is not in [0n, 2n ** 62n).
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * waker.markActive(1);
   * waker.markActiveMask(0b111n); // bits 0 and 2 are new: two more permits
   * assert.strictEqual(waker.snapshotSummary(), 0b111n);
   * assert.strictEqual(waker.permits(), 3);
   * ```
   */
  markActiveMask(mask: bigint): void {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'markActiveMask');
    const state = this.#state;
    if (typeof mask !== 'bigint') throw invalidType('mask', 'of type bigint', mask);
    if (mask < 0n || mask >= SUMMARY_LIMIT) throw outOfRange('mask', `>= 0n and < 2n ** ${SUMMARY_BITS}n`, mask);
    native.markActiveMask(state, mask);
  }

  /**
   * Lazy cleanup after draining a word: if `words[wordIndex]` is 0, clears summary bit
   * `bitIndex`, then re-reads the word and re-marks it (one permit) if it filled meanwhile.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * const words = new BigUint64Array(new SharedArrayBuffer(8 * 62)); // your signal words
   * Atomics.or(words, 4, 1n); // a producer writes word 4...
   * waker.markActive(4); // ...then marks it
   * Atomics.store(words, 4, 0n); // a consumer drains the word...
   * waker.tryUnmarkIfEmpty(4, words); // ...and clears its summary bit, since it is still empty
   * assert.strictEqual(waker.snapshotSummary(), 0n);
   * ```
   */
  tryUnmarkIfEmpty(bitIndex: number, words: BigUint64Array, wordIndex: number = bitIndex): void {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'tryUnmarkIfEmpty');
    const state = this.#state;
    checkInteger(bitIndex, 'bitIndex', 0, SUMMARY_INDEX_MAX);
    checkBigUint64Array(words, 'words');
    if (words.length === 0) throw outOfRange('words.length', 'at least 1', words.length);
    checkInteger(wordIndex, 'wordIndex', 0, words.length - 1);
    native.tryUnmarkIfEmpty(state, bitIndex, words, wordIndex);
  }

  /**
   * Clears summary bit `bitIndex` (0–61) unconditionally; permits are unchanged.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * waker.markActive(9);
   * waker.tryUnmark(9);
   * assert.strictEqual(waker.snapshotSummary(), 0n);
   * assert.strictEqual(waker.permits(), 1); // the permit stays
   * ```
   */
  tryUnmark(bitIndex: number): void {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'tryUnmark');
    const state = this.#state;
    checkInteger(bitIndex, 'bitIndex', 0, SUMMARY_INDEX_MAX);
    native.tryUnmark(state, bitIndex);
  }

  /**
   * Bits 0–61 of the status word: which signal words may have work.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * waker.markActive(0);
   * waker.markActive(61);
   * waker.markYield(); // a flag: not part of the summary
   * assert.strictEqual(waker.snapshotSummary(), (1n << 61n) | 1n);
   * ```
   */
  snapshotSummary(): bigint {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'snapshotSummary');
    return Atomics.load(this.#state, STATUS) & SUMMARY_MASK;
  }

  /**
   * Same as `snapshotSummary()`.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * waker.markActive(5);
   * assert.strictEqual(waker.summaryBits(), 1n << 5n);
   * ```
   */
  summaryBits(): bigint {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'summaryBits');
    return Atomics.load(this.#state, STATUS) & SUMMARY_MASK;
  }

  /**
   * The set summary bit nearest to `nearestToIndex` (0–63), ties to the lower index;
   * `undefined` when the summary is empty.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * assert.strictEqual(waker.summarySelect(0), undefined); // nothing marked
   * waker.markActive(10);
   * waker.markActive(20);
   * assert.strictEqual(waker.summarySelect(14), 10); // 4 away, against 6
   * assert.strictEqual(waker.summarySelect(15), 10); // a tie goes to the lower index
   * ```
   */
  summarySelect(nearestToIndex: number): number | undefined {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'summarySelect');
    const state = this.#state;
    checkInteger(nearestToIndex, 'nearestToIndex', 0, NEAREST_INDEX_MAX);
    return native.summarySelect(state, nearestToIndex);
  }

  /**
   * Takes one permit if there is one; never blocks.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * assert.strictEqual(waker.tryAcquire(), false);
   * waker.release(1);
   * assert.strictEqual(waker.tryAcquire(), true);
   * ```
   */
  tryAcquire(): boolean {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'tryAcquire');
    return takePermit(this.#cells);
  }

  /**
   * Blocks the calling thread until it takes a permit. In a worker that is terminated while
   * parked, returns without a permit as the worker stops (no JS runs after it), and a permit
   * released to it meanwhile goes to the next waiter.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * waker.release(1); // a permit released before anyone waits is remembered
   * waker.acquire(); // takes it at once; without one, this thread would park until a release
   * assert.strictEqual(waker.permits(), 0);
   * ```
   */
  acquire(): void {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'acquire');
    // A permit that is there is taken without entering the addon; else the core spins, then
    // queues and parks.
    if (!takePermit(this.#cells)) native.acquire(this.#state);
  }

  /**
   * Blocks until a permit is taken (true) or `timeoutMs` milliseconds pass (false, after one
   * last try). `Infinity` waits for ever.
   * @throws RangeError when `timeoutMs` is not a number >= 0 (negative, NaN, or not a number).
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * assert.strictEqual(waker.acquireTimeout(10), false); // no permit within 10 ms
   * waker.markActive(2);
   * assert.strictEqual(waker.acquireTimeout(10), true);
   * ```
   */
  acquireTimeout(timeoutMs: number): boolean {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'acquireTimeout');
    const state = this.#state;
    // The contract: anything but a number >= 0 is out of range, a non-number included.
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0)) {
      throw outOfRange('timeoutMs', 'a number >= 0 (Infinity allowed)', timeoutMs);
    }
    return native.acquireTimeout(state, timeoutMs);
  }

  /**
   * Waits for a permit without blocking the event loop, like `timers/promises`: resolves `true`
   * once a permit is taken, `false` when `options.timeout` ms pass first. A permit that is
   * there now (with nobody queued before the call) is taken at once; otherwise the call joins
   * the waker's FIFO wait queue, beside blocked `acquire()` callers, and the thread that
   * releases hands the permit over and signals this event loop (no extra thread, never the
   * libuv threadpool). A timeout or abort that races a grant never loses the permit.
   *
   * A pending call keeps the event loop alive like a timer unless `ref: false`. When the
   * thread's environment goes away (worker exit or `terminate()`, end of the process), pending
   * calls stay pending for ever and permits taken for them go back to the waker.
   * `spinMicroseconds: n` (0-1000, default 0) has this thread's event loop poll for up to n µs
   * for the permit each time it would otherwise sleep while the call is pending, which saves the
   * wake-up of a sleeping thread when the permit comes soon (see
   * {@link AcquireAsyncOptions.spinMicroseconds}).
   *
   * Option errors reject, as in `timers/promises`: `TypeError` (`ERR_INVALID_ARG_TYPE`) when
   * `options` is not an object, `signal` not an AbortSignal, `ref` not a boolean or
   * `spinMicroseconds` not a number; `RangeError` (`ERR_OUT_OF_RANGE`) when `timeout` is
   * negative, NaN or not a number, or `spinMicroseconds` not an integer from 0 to 1000. An
   * aborted signal rejects with an `AbortError` (`code` `'ABORT_ERR'`, `cause` the signal's
   * reason), at once when it is already aborted.
   * @throws TypeError (synchronously, like every method) when `this` is not a WorkerWaker.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * async function main() {
   *   assert.strictEqual(await waker.acquireAsync({ timeout: 10 }), false);
   *   setTimeout(() => waker.release(1), 10); // the event loop keeps running while the call waits
   *   assert.strictEqual(await waker.acquireAsync(), true);
   * }
   * main();
   * ```
   */
  acquireAsync(options?: AcquireAsyncOptions): Promise<boolean> {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'acquireAsync');
    return acquireAsync(this.#state, this.#cells, options);
  }

  /**
   * Adds `n` permits: the oldest queued waiters (blocked `acquire*` callers and pending
   * `acquireAsync` calls, first come first served) get them directly, the rest stay for later
   * takers. No lock and no system call when nobody is queued. 0 is a no-op.
   * @throws RangeError when `n` is not a non-negative safe integer, or permits would pass
   *   their cap of 2^31 - 1 (then nothing changes).
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * waker.release(3);
   * assert.strictEqual(waker.permits(), 3);
   * assert.throws(() => waker.release(-1), { code: 'ERR_OUT_OF_RANGE' });
   * assert.strictEqual(waker.permits(), 3); // a refused call changes nothing
   * ```
   */
  release(n: number): void {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'release');
    const cells = this.#cells;
    checkInteger(n, 'n', 0, Number.MAX_SAFE_INTEGER);
    if (n === 0) return;
    // Waker::AddToCell in JS: add the permits with a sequentially consistent compare-and-swap
    // (refusing to pass the cap), then read the queued count, also sequentially consistent: a
    // waiter counts itself before its last look at the permits, so one of the two sees the other
    // (native/core/wait_queue.h). Only when a waiter is queued does the core take over, handing the
    // permits from the cell to the oldest waiters before this call returns.
    let current = Atomics.load(cells, PERMITS);
    for (;;) {
      // MAX_PERMITS - current is negative only in forged state (a cell above the cap): refused.
      if (n > MAX_PERMITS - current) throw capExceeded(n, current);
      const seen = Atomics.compareExchange(cells, PERMITS, current, current + n);
      if (seen === current) break;
      current = seen;
    }
    if (Atomics.load(cells, QUEUED) === 0) return;
    try {
      native.dispatch(this.#state);
    } catch {
      // The header was scribbled over (the addon refuses the state): the permits are in the
      // cell already, and the waiters' safety net takes them from there (native/core/wait_queue.h).
    }
  }

  /**
   * Permits available now.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * waker.markActive(1);
   * waker.release(2);
   * assert.strictEqual(waker.permits(), 3);
   * ```
   */
  permits(): number {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'permits');
    return Atomics.load(this.#cells, PERMITS);
  }

  /**
   * Waiters queued for a permit (threads blocked in `acquire*`, pending `acquireAsync` calls) plus
   * those registered with `registerSleeper()`.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * waker.registerSleeper();
   * assert.strictEqual(waker.sleepers(), 1);
   * ```
   */
  sleepers(): number {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'sleepers');
    return Number(Atomics.load(this.#state, SLEEPERS)) + Atomics.load(this.#cells, QUEUED);
  }

  /**
   * Counts the caller as a sleeper (call before the last check for work).
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * waker.registerSleeper(); // producers can now see that a consumer is about to sleep
   * if (waker.snapshotSummary() === 0n) waker.acquireTimeout(10); // the last look, then the wait
   * waker.unregisterSleeper();
   * assert.strictEqual(waker.sleepers(), 0);
   * ```
   */
  registerSleeper(): void {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'registerSleeper');
    native.registerSleeper(this.#state);
  }

  /**
   * Undoes `registerSleeper()`; never goes below 0.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * waker.unregisterSleeper(); // never below 0
   * assert.strictEqual(waker.sleepers(), 0);
   * ```
   */
  unregisterSleeper(): void {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'unregisterSleeper');
    native.unregisterSleeper(this.#state);
  }

  /**
   * Counts one more worker; returns the new count.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * assert.strictEqual(waker.registerWorker(), 1);
   * assert.strictEqual(waker.registerWorker(), 2);
   * ```
   */
  registerWorker(): number {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'registerWorker');
    return native.registerWorker(this.#state);
  }

  /**
   * Counts one worker less (never below 0); returns the new count.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * waker.registerWorker();
   * assert.strictEqual(waker.unregisterWorker(), 0);
   * assert.strictEqual(waker.unregisterWorker(), 0); // never below 0
   * ```
   */
  unregisterWorker(): number {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'unregisterWorker');
    return native.unregisterWorker(this.#state);
  }

  /**
   * The current worker count.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * waker.registerWorker();
   * assert.strictEqual(waker.getWorkerCount(), 1);
   * ```
   */
  getWorkerCount(): number {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'getWorkerCount');
    return Number(Atomics.load(this.#state, WORKERS));
  }

  /**
   * Rebuilds `partitionSummary()` from the non-empty leaves in [start, end) (bit i = leaf
   * start+i), replacing the whole word; afterwards the partition flag is set exactly when
   * some leaf has work (one permit only when it goes from clear to set).
   * @returns whether any leaf has work.
   * @throws RangeError unless `0 <= start <= end <= leafWords.length` and `end - start <= 64`.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * const leaves = new BigUint64Array(new SharedArrayBuffer(8 * 8)); // this partition's leaf words
   * Atomics.store(leaves, 2, 1n);
   * Atomics.store(leaves, 5, 4n);
   * assert.strictEqual(waker.syncPartitionSummary(0, 8, leaves), true);
   * assert.strictEqual(waker.partitionSummary(), 0b100100n); // leaves 2 and 5
   * assert.strictEqual(waker.statusBits()[1], true); // the partition flag
   * ```
   */
  syncPartitionSummary(start: number, end: number, leafWords: BigUint64Array): boolean {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'syncPartitionSummary');
    const state = this.#state;
    checkBigUint64Array(leafWords, 'leafWords');
    checkInteger(start, 'start', 0, leafWords.length);
    checkInteger(end, 'end', start, Math.min(start + 64, leafWords.length));
    return native.syncPartitionSummary(state, start, end, leafWords);
  }

  /**
   * The cached partition bitmap.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * waker.markPartitionLeafActive(0);
   * waker.markPartitionLeafActive(3);
   * assert.strictEqual(waker.partitionSummary(), 0b1001n);
   * ```
   */
  partitionSummary(): bigint {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'partitionSummary');
    return Atomics.load(this.#state, PARTITION);
  }

  /**
   * Whether leaf `localLeafIdx` (0–63) is set in the partition bitmap.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * waker.markPartitionLeafActive(3);
   * assert.strictEqual(waker.partitionLeafHasWork(3), true);
   * assert.strictEqual(waker.partitionLeafHasWork(4), false);
   * ```
   */
  partitionLeafHasWork(localLeafIdx: number): boolean {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'partitionLeafHasWork');
    const state = this.#state;
    checkInteger(localLeafIdx, 'localLeafIdx', 0, LEAF_INDEX_MAX);
    return (Atomics.load(state, PARTITION) & BIT[localLeafIdx]!) !== 0n;
  }

  /**
   * Sets leaf `localLeafIdx` (0–63); if the bitmap was empty before, calls `markTasks()` and
   * returns true.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * assert.strictEqual(waker.markPartitionLeafActive(3), true); // the first leaf: sets the partition flag
   * assert.strictEqual(waker.markPartitionLeafActive(8), false);
   * assert.strictEqual(waker.permits(), 1);
   * ```
   */
  markPartitionLeafActive(localLeafIdx: number): boolean {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'markPartitionLeafActive');
    const state = this.#state;
    checkInteger(localLeafIdx, 'localLeafIdx', 0, LEAF_INDEX_MAX);
    return native.markPartitionLeafActive(state, localLeafIdx);
  }

  /**
   * Clears leaf `localLeafIdx` (0–63); if it was the last one set, calls `tryUnmarkTasks()`.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * waker.markPartitionLeafActive(3);
   * waker.clearPartitionLeaf(3); // the last leaf: clears the partition flag
   * assert.strictEqual(waker.statusBits()[1], false);
   * ```
   */
  clearPartitionLeaf(localLeafIdx: number): void {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'clearPartitionLeaf');
    const state = this.#state;
    checkInteger(localLeafIdx, 'localLeafIdx', 0, LEAF_INDEX_MAX);
    native.clearPartitionLeaf(state, localLeafIdx);
  }

  /**
   * What `util.inspect(waker)` and `console.log(waker)` show: the state as it is now (each field
   * read on its own, so a busy waker can show a mix of moments).
   * @param depth how many more levels `util.inspect` descends; below 0 it shows `[WorkerWaker]`.
   * @param options `util.inspect`'s options; its `stylize` colours the values.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { inspect } = require('node:util');
   * const { WorkerWaker } = require('worker-waker');
   * const waker = new WorkerWaker();
   * waker.markActive(2);
   * waker.markActive(5);
   * console.log(waker); // WorkerWaker { summary: 0x24 [2, 5], yield: false, partition: false, permits: 2, ... }
   * assert.match(inspect(waker), /summary: 0x24 \[2, 5\]/);
   * ```
   */
  [inspect.custom](depth: number, options: InspectOptionsStylized): string {
    if (!(#state in asObject(this))) return 'WorkerWaker {}'; // the prototype itself
    if (depth < 0) return options.stylize('[WorkerWaker]', 'special');
    const status = Atomics.load(this.#state, STATUS);
    const summary = status & SUMMARY_MASK;
    const setBits: number[] = [];
    for (let i = 0; i < SUMMARY_BITS; i++) if ((summary & BIT[i]!) !== 0n) setBits.push(i);
    const number = (value: number | string): string => options.stylize(String(value), 'number');
    const flag = (value: boolean): string => options.stylize(String(value), 'boolean');
    const fields = [
      `summary: ${number(`0x${summary.toString(16)}`)} [${setBits.map(number).join(', ')}]`,
      `yield: ${flag((status & YIELD_FLAG) !== 0n)}`,
      `partition: ${flag((status & PARTITION_FLAG) !== 0n)}`,
      `permits: ${number(Atomics.load(this.#cells, PERMITS))}`,
      `sleepers: ${number(this.sleepers())}`,
      `workers: ${number(this.getWorkerCount())}`,
      `partitionSummary: ${number(`0x${Atomics.load(this.#state, PARTITION).toString(16)}`)}`,
    ];
    return `WorkerWaker { ${fields.join(', ')} }`;
  }
}
