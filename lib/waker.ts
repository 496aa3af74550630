import { types } from 'node:util';

import { acquireAsync, type AcquireAsyncOptions } from './acquire-async';
import { native, type StateView } from './binding';
import { takePermit } from './cells';
import { checkBigUint64Array, checkInteger, invalidType, invalidReceiver, outOfRange } from './errors';

const { layout } = native;
const SUMMARY_LIMIT = 1n << 62n;
const SUMMARY_MASK = SUMMARY_LIMIT - 1n;
const SUMMARY_BITS = 62;
const PARTITION_FLAG = 1n << 62n;
const YIELD_FLAG = 1n << 63n;
const BIT = Array.from({ length: 64 }, (_, i) => 1n << BigInt(i));
// Word indices of the shared state (native/waker_core.h, StateWord) and the indices of its two
// 32-bit cells (StateCell). A binary from another version could lay the state out differently:
// refuse it rather than read the wrong words.
for (const key of ['statusWord', 'permitsCell', 'queuedCell', 'sleepersWord', 'workersWord', 'partitionWord', 'maxPermits'] as const) {
  if (typeof layout[key] !== 'number') {
    throw new Error(`worker-waker: the native binary does not match this version of the package (layout.${key})`);
  }
}
const STATUS = layout.statusWord;
// The permit and queued counters are 32-bit cells, read and written through a Uint32Array (never
// as 64-bit words, by JS or C++), so their fast paths compute on plain Numbers, not BigInts.
const PERMITS = layout.permitsCell;
const QUEUED = layout.queuedCell;
const MAX_PERMITS = layout.maxPermits;
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

  /** The shared state; pass it to other threads and attach with `new WorkerWaker(buffer)`. */
  get buffer(): SharedArrayBuffer {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'buffer');
    return this.#state.buffer as SharedArrayBuffer;
  }

  /** The raw 64-bit status word: summary bits 0–61, partition flag 62, yield flag 63. */
  status(): bigint {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'status');
    return Atomics.load(this.#state, STATUS);
  }

  /** The two control bits, yield first. */
  statusBits(): [isYield: boolean, isPartitionActive: boolean] {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'statusBits');
    const status = Atomics.load(this.#state, STATUS);
    return [(status & YIELD_FLAG) !== 0n, (status & PARTITION_FLAG) !== 0n];
  }

  /** Sets the yield flag (bit 63); adds one permit if it was clear. */
  markYield(): void {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'markYield');
    native.markYield(this.#state);
  }

  /** Clears the yield flag; permits are unchanged. */
  tryUnmarkYield(): void {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'tryUnmarkYield');
    native.tryUnmarkYield(this.#state);
  }

  /** Sets the partition flag (bit 62); adds one permit if it was clear. */
  markTasks(): void {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'markTasks');
    native.markTasks(this.#state);
  }

  /**
   * Clears the partition flag if it is set, then sets it again (one permit) when
   * `partitionSummary()` is non-zero, so that no work is stranded.
   */
  tryUnmarkTasks(): void {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'tryUnmarkTasks');
    native.tryUnmarkTasks(this.#state);
  }

  /**
   * Marks signal word `index` (0–61) as having work; one permit on a 0→1 edge, no atomic
   * write at all when the bit is already set.
   * @throws RangeError when `index` is not an integer from 0 to 61.
   */
  markActive(index: number): void {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'markActive');
    const state = this.#state;
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
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'markActiveMask');
    const state = this.#state;
    if (typeof mask !== 'bigint') throw invalidType('mask', 'of type bigint', mask);
    if (mask < 0n || mask >= SUMMARY_LIMIT) throw outOfRange('mask', '>= 0n and < 2n ** 62n', mask);
    native.markActiveMask(state, mask);
  }

  /**
   * Lazy cleanup after draining a word: if `words[wordIndex]` is 0, clears summary bit
   * `bitIndex`, then re-reads the word and re-marks it (one permit) if it filled meanwhile.
   */
  tryUnmarkIfEmpty(bitIndex: number, words: BigUint64Array, wordIndex: number = bitIndex): void {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'tryUnmarkIfEmpty');
    const state = this.#state;
    checkInteger(bitIndex, 'bitIndex', 0, SUMMARY_BITS - 1);
    checkBigUint64Array(words, 'words');
    if (words.length === 0) throw outOfRange('words.length', 'at least 1', words.length);
    checkInteger(wordIndex, 'wordIndex', 0, words.length - 1);
    native.tryUnmarkIfEmpty(state, bitIndex, words, wordIndex);
  }

  /** Clears summary bit `bitIndex` (0–61) unconditionally; permits are unchanged. */
  tryUnmark(bitIndex: number): void {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'tryUnmark');
    const state = this.#state;
    checkInteger(bitIndex, 'bitIndex', 0, SUMMARY_BITS - 1);
    native.tryUnmark(state, bitIndex);
  }

  /** Bits 0–61 of the status word: which signal words may have work. */
  snapshotSummary(): bigint {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'snapshotSummary');
    return Atomics.load(this.#state, STATUS) & SUMMARY_MASK;
  }

  /** Same as `snapshotSummary()`. */
  summaryBits(): bigint {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'summaryBits');
    return Atomics.load(this.#state, STATUS) & SUMMARY_MASK;
  }

  /**
   * The set summary bit nearest to `nearestToIndex` (0–63), ties to the lower index;
   * `undefined` when the summary is empty.
   */
  summarySelect(nearestToIndex: number): number | undefined {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'summarySelect');
    const state = this.#state;
    checkInteger(nearestToIndex, 'nearestToIndex', 0, 63);
    return native.summarySelect(state, nearestToIndex);
  }

  /** Takes one permit if there is one; never blocks. */
  tryAcquire(): boolean {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'tryAcquire');
    return takePermit(this.#cells);
  }

  /**
   * Blocks the calling thread until it takes a permit. In a worker that is terminated while
   * parked, returns without a permit as the worker stops (no JS runs after it), and a permit
   * released to it meanwhile goes to the next waiter.
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
   *
   * Option errors reject, as in `timers/promises`: `TypeError` (`ERR_INVALID_ARG_TYPE`) when
   * `options` is not an object, `timeout` not a number, `signal` not an AbortSignal or `ref`
   * not a boolean; `RangeError` (`ERR_OUT_OF_RANGE`) when `timeout` is negative or NaN. An
   * aborted signal rejects with an `AbortError` (`code` `'ABORT_ERR'`, `cause` the signal's
   * reason), at once when it is already aborted.
   * @throws TypeError (synchronously, like every method) when `this` is not a WorkerWaker.
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
   */
  release(n: number): void {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'release');
    const cells = this.#cells;
    checkInteger(n, 'n', 0, Number.MAX_SAFE_INTEGER);
    if (n === 0) return;
    // Waker::AddToCell in JS: add the permits with a sequentially consistent compare-and-swap
    // (refusing to pass the cap), then read the queued count, also sequentially consistent: a
    // waiter counts itself before its last look at the permits, so one of the two sees the other
    // (native/wait_queue.h). Only when a waiter is queued does the core take over, handing the
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
      // cell already, and the waiters' safety net takes them from there (native/wait_queue.h).
    }
  }

  /** Permits available now. */
  permits(): number {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'permits');
    return Atomics.load(this.#cells, PERMITS);
  }

  /**
   * Waiters queued for a permit (threads parked in `acquire*`, pending `acquireAsync` calls) plus
   * those registered with `registerSleeper()`.
   */
  sleepers(): number {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'sleepers');
    return Number(Atomics.load(this.#state, SLEEPERS)) + Atomics.load(this.#cells, QUEUED);
  }

  /** Counts the caller as a sleeper (call before the last check for work). */
  registerSleeper(): void {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'registerSleeper');
    native.registerSleeper(this.#state);
  }

  /** Undoes `registerSleeper()`; never goes below 0. */
  unregisterSleeper(): void {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'unregisterSleeper');
    native.unregisterSleeper(this.#state);
  }

  /** Counts one more worker; returns the new count. */
  registerWorker(): number {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'registerWorker');
    return native.registerWorker(this.#state);
  }

  /** Counts one worker less (never below 0); returns the new count. */
  unregisterWorker(): number {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'unregisterWorker');
    return native.unregisterWorker(this.#state);
  }

  /** The current worker count. */
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
   */
  syncPartitionSummary(start: number, end: number, leafWords: BigUint64Array): boolean {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'syncPartitionSummary');
    const state = this.#state;
    checkBigUint64Array(leafWords, 'leafWords');
    checkInteger(start, 'start', 0, leafWords.length);
    checkInteger(end, 'end', start, Math.min(start + 64, leafWords.length));
    return native.syncPartitionSummary(state, start, end, leafWords);
  }

  /** The cached partition bitmap. */
  partitionSummary(): bigint {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'partitionSummary');
    return Atomics.load(this.#state, PARTITION);
  }

  /** Whether leaf `localLeafIdx` (0–63) is set in the partition bitmap. */
  partitionLeafHasWork(localLeafIdx: number): boolean {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'partitionLeafHasWork');
    const state = this.#state;
    checkInteger(localLeafIdx, 'localLeafIdx', 0, 63);
    return (Atomics.load(state, PARTITION) & BIT[localLeafIdx]!) !== 0n;
  }

  /**
   * Sets leaf `localLeafIdx` (0–63); if the bitmap was empty before, calls `markTasks()` and
   * returns true.
   */
  markPartitionLeafActive(localLeafIdx: number): boolean {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'markPartitionLeafActive');
    const state = this.#state;
    checkInteger(localLeafIdx, 'localLeafIdx', 0, 63);
    return native.markPartitionLeafActive(state, localLeafIdx);
  }

  /** Clears leaf `localLeafIdx` (0–63); if it was the last one set, calls `tryUnmarkTasks()`. */
  clearPartitionLeaf(localLeafIdx: number): void {
    if (!(#state in asObject(this))) throw invalidReceiver('WorkerWaker', 'clearPartitionLeaf');
    const state = this.#state;
    checkInteger(localLeafIdx, 'localLeafIdx', 0, 63);
    native.clearPartitionLeaf(state, localLeafIdx);
  }
}
