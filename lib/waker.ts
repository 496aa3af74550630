import { types } from 'node:util';

import { acquireAsync, type AcquireAsyncOptions } from './acquire-async';
import { native, type StateView } from './binding';
import { checkBigUint64Array, checkInteger, invalidType, invalidReceiver, outOfRange } from './errors';

const { layout } = native;
const SUMMARY_LIMIT = 1n << 62n;
const SUMMARY_BITS = 62;

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
 */
export class WorkerWaker {
  readonly #state: StateView;

  /**
   * @param buffer state made by another `WorkerWaker` (`waker.buffer`), possibly in another
   *   thread. Omit it to create fresh state.
   * @throws TypeError when `buffer` is not a SharedArrayBuffer, is too small, or does not hold
   *   worker-waker state.
   */
  constructor(buffer?: SharedArrayBuffer) {
    if (buffer === undefined) {
      this.#state = new BigUint64Array(new SharedArrayBuffer(layout.stateBytes));
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
  }

  static #stateOf(self: unknown, method: string): StateView {
    if (typeof self === 'object' && self !== null && #state in self) return (self as WorkerWaker).#state;
    throw invalidReceiver('WorkerWaker', method);
  }

  /** The shared state; pass it to other threads and attach with `new WorkerWaker(buffer)`. */
  get buffer(): SharedArrayBuffer {
    return WorkerWaker.#stateOf(this, 'buffer').buffer as SharedArrayBuffer;
  }

  /** The raw 64-bit status word: summary bits 0–61, partition flag 62, yield flag 63. */
  status(): bigint {
    return native.status(WorkerWaker.#stateOf(this, 'status'));
  }

  /** The two control bits, yield first. */
  statusBits(): [isYield: boolean, isPartitionActive: boolean] {
    const status = native.status(WorkerWaker.#stateOf(this, 'statusBits'));
    return [(status >> 63n) === 1n, ((status >> 62n) & 1n) === 1n];
  }

  /** Sets the yield flag (bit 63); adds one permit if it was clear. */
  markYield(): void {
    native.markYield(WorkerWaker.#stateOf(this, 'markYield'));
  }

  /** Clears the yield flag; permits are unchanged. */
  tryUnmarkYield(): void {
    native.tryUnmarkYield(WorkerWaker.#stateOf(this, 'tryUnmarkYield'));
  }

  /** Sets the partition flag (bit 62); adds one permit if it was clear. */
  markTasks(): void {
    native.markTasks(WorkerWaker.#stateOf(this, 'markTasks'));
  }

  /**
   * Clears the partition flag if it is set, then sets it again (one permit) when
   * `partitionSummary()` is non-zero, so that no work is stranded.
   */
  tryUnmarkTasks(): void {
    native.tryUnmarkTasks(WorkerWaker.#stateOf(this, 'tryUnmarkTasks'));
  }

  /**
   * Marks signal word `index` (0–61) as having work; one permit on a 0→1 edge, no atomic
   * write at all when the bit is already set.
   * @throws RangeError when `index` is not an integer from 0 to 61.
   */
  markActive(index: number): void {
    const state = WorkerWaker.#stateOf(this, 'markActive');
    checkInteger(index, 'index', 0, SUMMARY_BITS - 1);
    native.markActive(state, index);
  }

  /**
   * Marks every word of `mask` (bit i = word i) with one atomic OR; one permit per newly
   * set bit.
   * @throws RangeError when `mask` is not in [0n, 2n ** 62n).
   */
  markActiveMask(mask: bigint): void {
    const state = WorkerWaker.#stateOf(this, 'markActiveMask');
    if (typeof mask !== 'bigint') throw invalidType('mask', 'of type bigint', mask);
    if (mask < 0n || mask >= SUMMARY_LIMIT) throw outOfRange('mask', '>= 0n and < 2n ** 62n', mask);
    native.markActiveMask(state, mask);
  }

  /**
   * Lazy cleanup after draining a word: if `words[wordIndex]` is 0, clears summary bit
   * `bitIndex`, then re-reads the word and re-marks it (one permit) if it filled meanwhile.
   */
  tryUnmarkIfEmpty(bitIndex: number, words: BigUint64Array, wordIndex: number = bitIndex): void {
    const state = WorkerWaker.#stateOf(this, 'tryUnmarkIfEmpty');
    checkInteger(bitIndex, 'bitIndex', 0, SUMMARY_BITS - 1);
    checkBigUint64Array(words, 'words');
    if (words.length === 0) throw outOfRange('words.length', 'at least 1', words.length);
    checkInteger(wordIndex, 'wordIndex', 0, words.length - 1);
    native.tryUnmarkIfEmpty(state, bitIndex, words, wordIndex);
  }

  /** Clears summary bit `bitIndex` (0–61) unconditionally; permits are unchanged. */
  tryUnmark(bitIndex: number): void {
    const state = WorkerWaker.#stateOf(this, 'tryUnmark');
    checkInteger(bitIndex, 'bitIndex', 0, SUMMARY_BITS - 1);
    native.tryUnmark(state, bitIndex);
  }

  /** Bits 0–61 of the status word: which signal words may have work. */
  snapshotSummary(): bigint {
    return native.summary(WorkerWaker.#stateOf(this, 'snapshotSummary'));
  }

  /** Same as `snapshotSummary()`. */
  summaryBits(): bigint {
    return native.summary(WorkerWaker.#stateOf(this, 'summaryBits'));
  }

  /**
   * The set summary bit nearest to `nearestToIndex` (0–63), ties to the lower index;
   * `undefined` when the summary is empty.
   */
  summarySelect(nearestToIndex: number): number | undefined {
    const state = WorkerWaker.#stateOf(this, 'summarySelect');
    checkInteger(nearestToIndex, 'nearestToIndex', 0, 63);
    return native.summarySelect(state, nearestToIndex);
  }

  /** Takes one permit if there is one; never blocks. */
  tryAcquire(): boolean {
    return native.tryAcquire(WorkerWaker.#stateOf(this, 'tryAcquire'));
  }

  /**
   * Blocks the calling thread until it takes a permit. In a worker that is terminated while
   * parked, returns without a permit as the worker stops (no JS runs after it).
   */
  acquire(): void {
    native.acquire(WorkerWaker.#stateOf(this, 'acquire'));
  }

  /**
   * Blocks until a permit is taken (true) or `timeoutMs` milliseconds pass (false, after one
   * last try). `Infinity` waits for ever.
   * @throws RangeError when `timeoutMs` is negative or NaN.
   */
  acquireTimeout(timeoutMs: number): boolean {
    const state = WorkerWaker.#stateOf(this, 'acquireTimeout');
    if (typeof timeoutMs !== 'number') throw invalidType('timeoutMs', 'of type number', timeoutMs);
    if (!(timeoutMs >= 0)) throw outOfRange('timeoutMs', '>= 0 (Infinity allowed)', timeoutMs);
    return native.acquireTimeout(state, timeoutMs);
  }

  /**
   * Waits for a permit without blocking the event loop, like `timers/promises`: resolves `true`
   * once a permit is taken, `false` when `options.timeout` ms pass first. A permit that is
   * there now is taken at once; otherwise a native thread of the addon's own waits (never a
   * libuv threadpool thread) and pending calls of one thread are served first-come
   * first-served. A timeout or abort that races a grant never loses the permit.
   *
   * A pending call keeps the event loop alive like a timer unless `ref: false`. When the
   * thread's environment goes away (worker exit or `terminate()`, end of the process), pending
   * calls stay pending for ever and permits taken for them go back to the waker.
   *
   * Option errors reject, as in `timers/promises`: `TypeError` (`ERR_INVALID_ARG_TYPE`) when
   * `options` is not an object, `timeout` not a number, `signal` not an AbortSignal or `ref`
   * not a boolean; `RangeError` (`ERR_OUT_OF_RANGE`) when `timeout` is negative or NaN. An
   * aborted signal rejects with an `AbortError` (`code` `'ABORT_ERR'`, `cause` the signal's
   * reason), at once when it is already aborted.
   * @throws TypeError (synchronously, like every method) when `this` is not a WorkerWaker.
   */
  acquireAsync(options?: AcquireAsyncOptions): Promise<boolean> {
    return acquireAsync(WorkerWaker.#stateOf(this, 'acquireAsync'), options);
  }

  /**
   * Adds `n` permits and wakes at most `min(n, sleepers)` parked threads; makes no system
   * call when nobody is parked. 0 is a no-op.
   * @throws RangeError when `n` is not a non-negative safe integer, or permits would pass
   *   `Number.MAX_SAFE_INTEGER`.
   */
  release(n: number): void {
    const state = WorkerWaker.#stateOf(this, 'release');
    checkInteger(n, 'n', 0, Number.MAX_SAFE_INTEGER);
    if (!native.release(state, n)) {
      throw outOfRange('n', `at most ${Number.MAX_SAFE_INTEGER - native.permits(state)} (permits would pass Number.MAX_SAFE_INTEGER)`, n);
    }
  }

  /** Permits available now. */
  permits(): number {
    return native.permits(WorkerWaker.#stateOf(this, 'permits'));
  }

  /** Threads parked in `acquire*` plus those registered with `registerSleeper()`. */
  sleepers(): number {
    return native.sleepers(WorkerWaker.#stateOf(this, 'sleepers'));
  }

  /** Counts the caller as a sleeper (call before the last check for work). */
  registerSleeper(): void {
    native.registerSleeper(WorkerWaker.#stateOf(this, 'registerSleeper'));
  }

  /** Undoes `registerSleeper()`; never goes below 0. */
  unregisterSleeper(): void {
    native.unregisterSleeper(WorkerWaker.#stateOf(this, 'unregisterSleeper'));
  }

  /** Counts one more worker; returns the new count. */
  registerWorker(): number {
    return native.registerWorker(WorkerWaker.#stateOf(this, 'registerWorker'));
  }

  /** Counts one worker less (never below 0); returns the new count. */
  unregisterWorker(): number {
    return native.unregisterWorker(WorkerWaker.#stateOf(this, 'unregisterWorker'));
  }

  /** The current worker count. */
  getWorkerCount(): number {
    return native.workerCount(WorkerWaker.#stateOf(this, 'getWorkerCount'));
  }

  /**
   * Rebuilds `partitionSummary()` from the non-empty leaves in [start, end) (bit i = leaf
   * start+i), replacing the whole word; afterwards the partition flag is set exactly when
   * some leaf has work (one permit only when it goes from clear to set).
   * @returns whether any leaf has work.
   * @throws RangeError unless `0 <= start <= end <= leafWords.length` and `end - start <= 64`.
   */
  syncPartitionSummary(start: number, end: number, leafWords: BigUint64Array): boolean {
    const state = WorkerWaker.#stateOf(this, 'syncPartitionSummary');
    checkBigUint64Array(leafWords, 'leafWords');
    checkInteger(start, 'start', 0, leafWords.length);
    checkInteger(end, 'end', start, Math.min(start + 64, leafWords.length));
    return native.syncPartitionSummary(state, start, end, leafWords);
  }

  /** The cached partition bitmap. */
  partitionSummary(): bigint {
    return native.partitionSummary(WorkerWaker.#stateOf(this, 'partitionSummary'));
  }

  /** Whether leaf `localLeafIdx` (0–63) is set in the partition bitmap. */
  partitionLeafHasWork(localLeafIdx: number): boolean {
    const state = WorkerWaker.#stateOf(this, 'partitionLeafHasWork');
    checkInteger(localLeafIdx, 'localLeafIdx', 0, 63);
    return native.partitionLeafHasWork(state, localLeafIdx);
  }

  /**
   * Sets leaf `localLeafIdx` (0–63); if the bitmap was empty before, calls `markTasks()` and
   * returns true.
   */
  markPartitionLeafActive(localLeafIdx: number): boolean {
    const state = WorkerWaker.#stateOf(this, 'markPartitionLeafActive');
    checkInteger(localLeafIdx, 'localLeafIdx', 0, 63);
    return native.markPartitionLeafActive(state, localLeafIdx);
  }

  /** Clears leaf `localLeafIdx` (0–63); if it was the last one set, calls `tryUnmarkTasks()`. */
  clearPartitionLeaf(localLeafIdx: number): void {
    const state = WorkerWaker.#stateOf(this, 'clearPartitionLeaf');
    checkInteger(localLeafIdx, 'localLeafIdx', 0, 63);
    native.clearPartitionLeaf(state, localLeafIdx);
  }
}
