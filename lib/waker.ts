import { types } from 'node:util';

import { acquireAsync, type AcquireAsyncOptions } from './acquire-async';
import { native, type StateView } from './binding';
import { checkBigUint64Array, checkInteger, invalidType, invalidReceiver, outOfRange } from './errors';

const { layout } = native;
const SUMMARY_LIMIT = 1n << 62n;
const SUMMARY_MASK = SUMMARY_LIMIT - 1n;
const SUMMARY_BITS = 62;
const PARTITION_FLAG = 1n << 62n;
const YIELD_FLAG = 1n << 63n;
const BIT = Array.from({ length: 64 }, (_, i) => 1n << BigInt(i));
const MAX_PERMITS = BigInt(layout.maxPermits);
// Word indices of the shared state (native/waker_core.h, StateWord). A binary from another
// version could lay the words out differently: refuse it rather than read the wrong words.
for (const key of ['statusWord', 'permitsWord', 'parkedWord', 'sleepersWord', 'workersWord', 'partitionWord', 'maxPermits'] as const) {
  if (typeof layout[key] !== 'number') {
    throw new Error(`worker-waker: the native binary does not match this version of the package (layout.${key})`);
  }
}
const STATUS = layout.statusWord;
const PERMITS = layout.permitsWord;
const PARKED = layout.parkedWord;
const SLEEPERS = layout.sleepersWord;
const WORKERS = layout.workersWord;
const PARTITION = layout.partitionWord;

// Fast paths. A Node-API call costs ~30 ns plus its argument checks, several times a JS
// `Atomics` operation, so the hottest calls touch the shared words straight from JS: pure reads,
// the no-write case of markActive, and the permit counter (tryAcquire, release). The C++ core
// (native/waker_core.cc) stays the definition of the semantics: each fast path below mirrors
// one core function step by step, and JS `Atomics` operations are sequentially consistent, the
// same ordering the core uses on the same words, so the handshakes described there hold across
// the two languages. Everything that parks, wakes or rechecks goes through the core.

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
 */
export class WorkerWaker {
  readonly #state: StateView;

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
    // Reading a private field is JS's own brand check: it throws a TypeError for any receiver
    // that is not a WorkerWaker, which we replace with one that names the method.
    try {
      return (self as WorkerWaker).#state;
    } catch {
      throw invalidReceiver('WorkerWaker', method);
    }
  }

  /** The shared state; pass it to other threads and attach with `new WorkerWaker(buffer)`. */
  get buffer(): SharedArrayBuffer {
    return WorkerWaker.#stateOf(this, 'buffer').buffer as SharedArrayBuffer;
  }

  /** The raw 64-bit status word: summary bits 0–61, partition flag 62, yield flag 63. */
  status(): bigint {
    return Atomics.load(WorkerWaker.#stateOf(this, 'status'), STATUS);
  }

  /** The two control bits, yield first. */
  statusBits(): [isYield: boolean, isPartitionActive: boolean] {
    const status = Atomics.load(WorkerWaker.#stateOf(this, 'statusBits'), STATUS);
    return [(status & YIELD_FLAG) !== 0n, (status & PARTITION_FLAG) !== 0n];
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
    // The core's fast path (Waker::MarkActive): a bit already set needs no write. The load is
    // sequentially consistent, as the core's, for TryUnmarkIfEmpty's clear-then-recheck.
    if ((Atomics.load(state, STATUS) & BIT[index]!) !== 0n) return;
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
    return Atomics.load(WorkerWaker.#stateOf(this, 'snapshotSummary'), STATUS) & SUMMARY_MASK;
  }

  /** Same as `snapshotSummary()`. */
  summaryBits(): bigint {
    return Atomics.load(WorkerWaker.#stateOf(this, 'summaryBits'), STATUS) & SUMMARY_MASK;
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
    const state = WorkerWaker.#stateOf(this, 'tryAcquire');
    // Waker::TryAcquire in JS: a sequentially consistent compare-and-swap loop on the permit
    // word, which orders this thread after the releaser of the permit it takes.
    let current = Atomics.load(state, PERMITS);
    while (current !== 0n) {
      const seen = Atomics.compareExchange(state, PERMITS, current, current - 1n);
      if (seen === current) return true;
      current = seen;
    }
    return false;
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
    if (n === 0) return;
    // Waker::Release in JS: add the permits with a sequentially consistent compare-and-swap
    // (refusing to pass the limit), then read the parked count, also sequentially consistent:
    // a parker counts itself before its last look at the permits, so one of the two sees the
    // other (see Waker::WakeParked). Only when a thread is parked does the core wake it.
    const add = BigInt(n);
    let current = Atomics.load(state, PERMITS);
    for (;;) {
      if (current > MAX_PERMITS || add > MAX_PERMITS - current) {
        const room = current > MAX_PERMITS ? 0n : MAX_PERMITS - current;
        throw outOfRange('n', `at most ${room} (permits would pass Number.MAX_SAFE_INTEGER)`, n);
      }
      const seen = Atomics.compareExchange(state, PERMITS, current, current + add);
      if (seen === current) break;
      current = seen;
    }
    if (Atomics.load(state, PARKED) !== 0n) native.wakeParked(state, n);
  }

  /** Permits available now. */
  permits(): number {
    return Number(Atomics.load(WorkerWaker.#stateOf(this, 'permits'), PERMITS));
  }

  /** Threads parked in `acquire*` plus those registered with `registerSleeper()`. */
  sleepers(): number {
    const state = WorkerWaker.#stateOf(this, 'sleepers');
    return Number(Atomics.load(state, SLEEPERS) + Atomics.load(state, PARKED));
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
    return Number(Atomics.load(WorkerWaker.#stateOf(this, 'getWorkerCount'), WORKERS));
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
    return Atomics.load(WorkerWaker.#stateOf(this, 'partitionSummary'), PARTITION);
  }

  /** Whether leaf `localLeafIdx` (0–63) is set in the partition bitmap. */
  partitionLeafHasWork(localLeafIdx: number): boolean {
    const state = WorkerWaker.#stateOf(this, 'partitionLeafHasWork');
    checkInteger(localLeafIdx, 'localLeafIdx', 0, 63);
    return (Atomics.load(state, PARTITION) & BIT[localLeafIdx]!) !== 0n;
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
