// The two 32-bit cells of the shared state (native/core/waker_core.h, StateCell), shared by the
// WorkerWaker methods and acquireAsync.
import { native } from './binding';

/** Index of the permit counter in a Uint32Array over the state. */
export const PERMITS = native.layout.permitsCell;
/** Index of the queued-waiter counter in a Uint32Array over the state. */
export const QUEUED = native.layout.queuedCell;

/**
 * Waker::TryAcquire in JS: a sequentially consistent compare-and-swap loop on the permit cell,
 * which orders this thread after the releaser of the permit it takes.
 */
export function takePermit(cells: Uint32Array): boolean {
  let current = Atomics.load(cells, PERMITS);
  while (current !== 0) {
    const seen = Atomics.compareExchange(cells, PERMITS, current, current - 1);
    if (seen === current) return true;
    current = seen;
  }
  return false;
}
