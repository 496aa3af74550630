'use strict';
// Shared-memory layout of the example pool, used by the main thread (pool.js) and by every
// worker (worker.js). Everything lives in SharedArrayBuffers handed to workers once, through
// workerData; after that no message crosses threads on the hot path.
//
// Task queues: `queueCount` bounded rings, one producer (the main thread) and any number of
// consumers (workers claim batches with a compare-and-swap on `head`). Queue r is signal queue
// `word * 64 + bit` with word = r % words and bit = floor(r / words), so consecutive queues land
// in different signal words and different workers can take them.
//
// Result rings: one per worker, one producer (that worker) and one consumer (the main thread).
//
// Indices are free-running int32 counters (wrapping at 2^32, compared with `(a - b) | 0`); a slot
// is `index & (capacity - 1)`. Head and tail sit 64 bytes apart so that producer and consumers
// do not write the same cache line.

const HEADER_INTS = 32; // 128 bytes per ring header: head at +0, tail at +16
const HEAD = 0;
const TAIL = 16;

// Pool state word (control[STATE]).
const RUNNING = 0;
const STOPPING = 1; // exit once no work is visible (close(): every task has completed already)
const CANCELLING = 2; // exit after the current batch (destroy())
const STATE = 0;

// Per-worker counters, written by the worker (stats[worker * STAT_STRIDE + field]).
const STAT_STRIDE = 16; // 128 bytes per worker: no false sharing between workers
const STAT_TASKS = 0; // tasks run
const STAT_BATCHES = 1; // batches claimed from a queue
const STAT_TAKES = 2; // words taken that held work
const STAT_PERMITS = 3; // permits taken
const STAT_WASTED = 4; // permits after which no work was found
const STAT_PARKS = 5; // times the worker blocked in acquire() (each one is a wake-up later)

function nextPowerOfTwo(n) {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Creates the shared buffers for a pool; `options` already validated by the caller. */
function createLayout({ threads, words, queuesPerWord, queueCapacity }) {
  const queueCount = words * queuesPerWord;
  // A result ring never fills: the main thread admits at most `queueCount * queueCapacity` tasks
  // that it has not collected yet, and every result in a ring is one of them.
  const maxPending = queueCount * queueCapacity;
  const resultCapacity = nextPowerOfTwo(maxPending);
  return {
    threads,
    words,
    queuesPerWord,
    queueCount,
    queueCapacity,
    maxPending,
    resultCapacity,
    control: new SharedArrayBuffer(64),
    stats: new SharedArrayBuffer(threads * STAT_STRIDE * 8),
    queueHeaders: new SharedArrayBuffer(queueCount * HEADER_INTS * 4),
    queueIds: new SharedArrayBuffer(queueCount * queueCapacity * 4),
    queueArgs: new SharedArrayBuffer(queueCount * queueCapacity * 8),
    resultHeaders: new SharedArrayBuffer(threads * HEADER_INTS * 4),
    resultIds: new SharedArrayBuffer(threads * resultCapacity * 4),
    resultValues: new SharedArrayBuffer(threads * resultCapacity * 8),
  };
}

/** Typed views over a layout (in any thread). */
function viewLayout(layout) {
  return {
    control: new Int32Array(layout.control),
    stats: new Float64Array(layout.stats),
    queueHeaders: new Int32Array(layout.queueHeaders),
    queueIds: new Int32Array(layout.queueIds),
    queueArgs: new Float64Array(layout.queueArgs),
    resultHeaders: new Int32Array(layout.resultHeaders),
    resultIds: new Int32Array(layout.resultIds),
    resultValues: new Float64Array(layout.resultValues),
  };
}

/** Signal queue number (word * 64 + bit) of ring `ring`. */
function signalQueueOf(layout, ring) {
  return (ring % layout.words) * 64 + Math.floor(ring / layout.words);
}

/** Ring index of bit `bit` of signal word `word`. */
function ringOf(layout, word, bit) {
  return bit * layout.words + word;
}

/**
 * Claims up to `max` tasks of ring `ring` for the calling worker: copies their ids and arguments
 * into `ids`/`args` and returns how many (0 when the ring is empty). Any number of workers may
 * claim from one ring at once; each task goes to exactly one of them.
 */
function claimTasks(layout, view, ring, max, ids, args) {
  const { queueHeaders, queueIds, queueArgs } = view;
  const headAt = ring * HEADER_INTS + HEAD;
  const tailAt = ring * HEADER_INTS + TAIL;
  const base = ring * layout.queueCapacity;
  const mask = layout.queueCapacity - 1;
  for (;;) {
    const head = Atomics.load(queueHeaders, headAt);
    // The main thread wrote the slots before its seq_cst store of `tail`, so this load makes
    // them visible.
    let count = (Atomics.load(queueHeaders, tailAt) - head) | 0;
    if (count <= 0) return 0;
    if (count > max) count = max;
    for (let i = 0; i < count; i++) {
      const slot = base + ((head + i) & mask);
      ids[i] = queueIds[slot];
      args[i] = queueArgs[slot];
    }
    // Copy, then claim. If the CAS succeeds, `head` had not moved, so the producer (which reuses a
    // slot only after `head` has passed it) had not overwritten what we copied. If it fails,
    // another worker claimed these tasks: discard the copies and retry. (A plain store would let
    // two workers that loaded the same `head` both run the same tasks.)
    if (Atomics.compareExchange(queueHeaders, headAt, head, (head + count) | 0) === head) return count;
  }
}

module.exports = {
  HEADER_INTS,
  HEAD,
  TAIL,
  RUNNING,
  STOPPING,
  CANCELLING,
  STATE,
  STAT_STRIDE,
  STAT_TASKS,
  STAT_BATCHES,
  STAT_TAKES,
  STAT_PERMITS,
  STAT_WASTED,
  STAT_PARKS,
  nextPowerOfTwo,
  createLayout,
  viewLayout,
  signalQueueOf,
  ringOf,
  claimTasks,
};
