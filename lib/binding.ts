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
  readonly permitsWord: number;
  readonly parkedWord: number;
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
  /** False, with nothing changed, when permits would pass Number.MAX_SAFE_INTEGER. */
  release(state: StateView, n: number): boolean;
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
}

type Loader = (dir: string) => unknown;
const loadAddon = require('node-gyp-build') as Loader;

export const native = loadAddon(path.join(__dirname, '..')) as NativeBinding;
