'use strict';
// What soak.js and soak-worker.js share: the tally slots, the control phases and the hot word.

/** Tallies each thread keeps (one Float64Array row per thread). */
const Counter = {
  ops: 0,
  itemsSet: 1, // queue bits newly set by set()
  itemsTaken: 2, // queue bits removed by take() or clear()
  poolReleased: 3,
  poolAcquired: 4, // blocking and async together
  signalReleased: 5, // release() on the signal waker
  signalAcquired: 6,
  yieldMarks: 7, // markYield() calls: at most one permit each
  // Calls that may re-mark a word refilled meanwhile (take, clear, tryUnmarkIfEmpty): at most
  // one permit each, with no new queue bit behind it.
  remarks: 8,
  asyncGranted: 9, // acquireAsync outcomes
  asyncTimedOut: 10,
  asyncAborted: 11,
  hotOps: 12, // steps of the hot-word phase
  heapAfterGc: 13, // not a tally: this thread's V8 heap in use after a full GC at the last quiet point
};
const COUNTERS = 14;

// control[0]: the phase; control[1]: workers that have checked in since the last go.
const RUN = 0; // random steps and acquireAsync batches
const PAUSE = 1; // quiet point: settle, publish, check in, wait
const STOP = 2;
const HOT = 3; // every worker plays its role on the hot word

// The hot word: only the hot phase sets its queues (random steps use the other 61 words), so a
// hot word stranded with its summary bit clear stays stranded until the next quiet point sees it.
const HOT_WORD = 61;
const RANDOM_QUEUES = HOT_WORD * 64; // queues 0..3903: words 0..60
// Roles by worker index. Setters keep refilling the word while takers empty it through the
// summary, as consumers do: every take() clears the summary bit once the word is empty, and a
// setter that refilled it meanwhile relies on that clear's recheck. Two takers per setter make
// that race often (measured on the 2-core VM: a core without the recheck strands the word within
// ~0.5 s of hot phase). A fourth worker tidies (clears queue bits, unmarks) at a gentler pace.
const HOT_ROLES = ['set', 'take', 'take', 'tidy'];

/**
 * This thread's V8 heap in use right after a full garbage collection (bytes). A soak allocates
 * fast, so the heap before a collection says little; after one it is what is really kept.
 * `--expose-gc` set at run time reaches `gc` through a fresh context, so the soak needs no flag.
 */
function heapAfterGc() {
  const v8 = require('node:v8');
  const vm = require('node:vm');
  v8.setFlagsFromString('--expose-gc');
  vm.runInNewContext('gc')();
  return v8.getHeapStatistics().used_heap_size;
}

module.exports = { Counter, COUNTERS, RUN, PAUSE, STOP, HOT, HOT_WORD, RANDOM_QUEUES, HOT_ROLES, heapAfterGc };
