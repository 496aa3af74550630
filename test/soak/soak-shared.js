'use strict';
// What soak.js and soak-worker.js share: the tally slots and the control phases.

/** Tallies each thread keeps (one Float64Array row per worker). */
const Counter = {
  ops: 0,
  itemsSet: 1, // queue bits newly set by set()
  itemsTaken: 2, // queue bits removed by take() or clear()
  poolReleased: 3,
  poolAcquired: 4,
  signalReleased: 5, // release() on the signal waker
  signalAcquired: 6,
  yieldMarks: 7, // markYield() calls: at most one permit each
  // Calls that may re-mark a word refilled meanwhile (take, clear, tryUnmarkIfEmpty): at most
  // one permit each, with no new queue bit behind it.
  remarks: 8,
};
const COUNTERS = 9;

// control[0]: the phase; control[1]: workers that have checked in since the last go.
const RUN = 0;
const PAUSE = 1;
const STOP = 2;

module.exports = { Counter, COUNTERS, RUN, PAUSE, STOP };
