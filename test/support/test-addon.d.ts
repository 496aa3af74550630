// The test build's exports (binding.gyp, target worker_waker_test): the release exports that
// lib/binding.ts declares, plus these. test/binding-shape.test.js holds both builds to these two
// declarations.
import type { NativeBinding, StateView } from '../../lib/binding';

export interface NativeTestExports {
  status(state: StateView): bigint;
  summary(state: StateView): bigint;
  tryAcquire(state: StateView): boolean;
  /**
   * Hands n permits to the oldest queued waiters, the rest to the cell. False, with nothing
   * changed, when the cell would pass `layout.maxPermits` (2^31 - 1).
   */
  release(state: StateView, n: number): boolean;
  /** Turns spinning before parking on or off for the whole process; returns the old setting. */
  setSpinEnabled(enabled: boolean): boolean;
  permits(state: StateView): number;
  sleepers(state: StateView): number;
  /** Waiters (blocked and async, every copy of the addon) queued on `state` right now. */
  queued(state: StateView): number;
  /** Blocked waiters woken by a grant so far (each one a system call); a statistic. */
  notifies(state: StateView): number;
  workerCount(state: StateView): number;
  partitionSummary(state: StateView): bigint;
  partitionLeafHasWork(state: StateView, localLeafIdx: number): boolean;
  /** Wait queues alive in this copy of the addon (a queue lives only while someone waits). */
  waitQueues(): number;
  /** Calls of this thread neither delivered nor cancelled. */
  asyncPending(): number;
  /** Cancels on this thread that found their grant already made and gave it back (a statistic). */
  asyncCancelsGivingBackGrant(): number;
  /**
   * What this thread's loop spin (acquireAsync's `spinMicroseconds`) did so far: spins made, spins
   * ended by a grant's signal, prepares skipped because the loop was not going to sleep (a
   * setImmediate pending) or by the back-off, and the time spun (total and longest, µs).
   */
  /** Resets this thread's loop-spin back-off (tests start from a thread that never spun). */
  asyncSpinReset(): void;
  asyncSpinStats(): { spins: number; found: number; endedByIo: number; notSleeping: number; backingOff: number; spunMicros: number; maxSpinMicros: number };
}

declare const testAddon: NativeBinding & NativeTestExports;
export = testAddon;
