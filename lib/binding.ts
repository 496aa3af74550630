// The one place that loads the compiled addon. `NativeBinding` declares exactly what
// native/binding.cc exports; everything else in lib/ goes through this typed view.
import path = require('node:path');

/** A BigUint64Array over a SharedArrayBuffer formatted as worker-waker state. */
export type StateView = BigUint64Array;

export interface NativeLayout {
  readonly stateWords: number;
  readonly stateBytes: number;
  readonly headerWord: number;
  readonly statusWord: number;
  /** Index of the permit counter in a Uint32Array over the state (a 32-bit cell). */
  readonly permitsCell: number;
  /** Index of the parked-thread counter in a Uint32Array over the state (a 32-bit cell). */
  readonly parkedCell: number;
  readonly sleepersWord: number;
  readonly partitionWord: number;
  readonly workersWord: number;
  /** The permit cap, 2^31 - 1. */
  readonly maxPermits: number;
  readonly header: bigint;
}

export interface NativeBinding {
  readonly layout: NativeLayout;
  format(state: StateView): void;
  isState(state: unknown): boolean;
  status(state: StateView): bigint;
  summary(state: StateView): bigint;
  markYield(state: StateView): void;
  tryUnmarkYield(state: StateView): void;
  markTasks(state: StateView): void;
  tryUnmarkTasks(state: StateView): void;
  markActive(state: StateView, index: number): void;
  markActiveMask(state: StateView, mask: bigint): void;
  tryUnmarkIfEmpty(state: StateView, bitIndex: number, words: BigUint64Array, wordIndex: number): void;
  tryUnmark(state: StateView, bitIndex: number): void;
  summarySelect(state: StateView, nearestToIndex: number): number | undefined;
  tryAcquire(state: StateView): boolean;
  acquire(state: StateView): void;
  acquireTimeout(state: StateView, timeoutMs: number): boolean;
  /** False, with nothing changed, when permits would pass `layout.maxPermits` (2^31 - 1). */
  release(state: StateView, n: number): boolean;
  /** Wakes at most min(n, parked) parked threads (for permits added from JS). */
  wakeParked(state: StateView, n: number): void;
  /** Turns spinning before parking on or off for the whole process; returns the old setting. */
  setSpinEnabled(enabled: boolean): boolean;
  permits(state: StateView): number;
  sleepers(state: StateView): number;
  /** Threads parked inside acquire/acquireTimeout right now. */
  parked(state: StateView): number;
  /** Parked threads notified by releases so far (each one a system call); a statistic. */
  notifies(state: StateView): number;
  registerSleeper(state: StateView): void;
  unregisterSleeper(state: StateView): void;
  registerWorker(state: StateView): number;
  unregisterWorker(state: StateView): number;
  workerCount(state: StateView): number;
  syncPartitionSummary(state: StateView, start: number, end: number, leafWords: BigUint64Array): boolean;
  partitionSummary(state: StateView): bigint;
  partitionLeafHasWork(state: StateView, localLeafIdx: number): boolean;
  markPartitionLeafActive(state: StateView, localLeafIdx: number): boolean;
  clearPartitionLeaf(state: StateView, localLeafIdx: number): void;
  /** Parking spots alive in this process (a spot lives only while threads park or wake). */
  parkingSpots(): number;
  /**
   * acquireAsync, native half (native/async_binding.cc). Returns 0 when a permit was taken at
   * once (only when this thread has no pending call on `state`), -1 when none was and `wait` is
   * false, else the id of the waiter that now counts one more pending call; it later calls
   * `dispatch(id, n)` on this thread with n grants for the n oldest pending calls, and gives back
   * to the waker the number of grants `dispatch` returns (those that found no call).
   */
  asyncAcquire(state: StateView, dispatch: (id: number, n: number) => number, wait: boolean): number;
  /** One pending call of waiter `id` gave up; a grant already taken for it moves on or goes back. */
  asyncCancel(state: StateView, id: number): void;
  /** Whether waiter `id` keeps the event loop alive. */
  asyncRef(state: StateView, id: number, ref: boolean): void;
  /** acquireAsync waiter threads running for `state` in this process (they exit after 1 s idle). */
  asyncWaiterThreads(state: StateView): number;
  /**
   * Cancels on `state` whose grant was already taken and went back to the waker, counted while
   * `state` has waiter threads running (a statistic for the race tests).
   */
  asyncCancelsGivingBackGrant(state: StateView): number;
}

type Loader = (dir: string) => unknown;
const loadAddon = require('node-gyp-build') as Loader;

export const native = load(path.join(__dirname, '..')) as NativeBinding;

/** node-gyp-build picks build/Release, else the prebuild for this system; else one clear error. */
function load(root: string): unknown {
  try {
    return loadAddon(root);
  } catch (cause) {
    const lines = [
      `worker-waker: no usable native binary for ${describeSystem()}.`,
      'To build one from source, install Python 3 and a C++17 compiler ' +
        '(https://github.com/nodejs/node-gyp#installation), then run `npx worker-waker-build` ' +
        'in your project (installing never compiles).',
    ];
    if (process.env['PREBUILDS_ONLY']) lines.push('PREBUILDS_ONLY is set, so binaries built from source were skipped.');
    lines.push(`Cause: ${String(cause instanceof Error ? cause.message : cause).split('\n')[0]}`);
    throw Object.assign(new Error(lines.join('\n'), { cause }), { code: 'ERR_WORKER_WAKER_NO_BINARY' });
  }
}

/** "linux-x64 (glibc 2.36), Node v20.20.2 (Node-API 9)": what a prebuild must match. */
function describeSystem(): string {
  let libc = '';
  if (process.platform === 'linux') {
    // The report header names the glibc the process runs on; it is absent on musl.
    const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
    const glibc = report.header?.glibcVersionRuntime;
    libc = glibc ? ` (glibc ${glibc})` : ' (musl)';
  }
  return `${process.platform}-${process.arch}${libc}, Node ${process.version} (Node-API ${process.versions.napi})`;
}
