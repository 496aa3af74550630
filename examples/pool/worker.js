'use strict';
// One pool worker. It parks on the task waker, picks a signal word near the one it served last
// (`summarySelect`), takes the whole word with one `take`, drains every queue the word names,
// runs the tasks and publishes their results in batches to its own result ring, then marks its
// bit in the result signal words (which wakes the main thread only when that word was empty).
//
// Everything after start-up goes through worker-waker and shared memory: results and task errors
// alike (an error is a result slot with RESULT_ERROR and its text in the task's error record).
// The one message this worker posts is 'ready', once, after its task module has loaded: the main
// thread's ready() and unref() wait for it, it never lies on a task's path, and a module that
// fails to load is reported by the Worker's own 'error' event.

const { workerData, parentPort } = require('node:worker_threads');
const { WorkerWaker, SignalWords } = require('../..');
const L = require('./layout');

const { layout, index, filename, batch, homeWord } = workerData;
const view = L.viewLayout(layout);
const taskWaker = new WorkerWaker(workerData.taskWaker);
const taskWords = new SignalWords(taskWaker, workerData.taskWords);
const resultWords = new SignalWords(new WorkerWaker(workerData.resultWaker), workerData.resultWords);

function loadTask(file) {
  const exported = require(file);
  const fn = typeof exported === 'function' ? exported : exported && exported.default;
  if (typeof fn !== 'function') throw new TypeError(`${file} must export a function (task) => number`);
  return fn;
}
const task = loadTask(filename);

const { control, stats, resultHeaders, resultIds, resultValues, resultStatus } = view;
const resultMask = layout.resultCapacity - 1;
const resultBase = index * layout.resultCapacity;
const resultHeadAt = index * L.HEADER_INTS + L.HEAD;
const resultTailAt = index * L.HEADER_INTS + L.TAIL;
let resultTail = Atomics.load(resultHeaders, resultTailAt);
const claimedIds = new Int32Array(batch);
const claimedArgs = new Float64Array(batch);
const statsBase = index * L.STAT_STRIDE;

let tasksRun = 0;
let batches = 0;
let takes = 0;
let permits = 0;
let wasted = 0;
let waits = 0;

function publishStats() {
  // Plain stores: the main thread may read them at any time (a stale value is fine there) and
  // reads the final values once this worker has exited.
  stats[statsBase + L.STAT_TASKS] = tasksRun;
  stats[statsBase + L.STAT_BATCHES] = batches;
  stats[statsBase + L.STAT_TAKES] = takes;
  stats[statsBase + L.STAT_PERMITS] = permits;
  stats[statsBase + L.STAT_WASTED] = wasted;
  stats[statsBase + L.STAT_WAITS] = waits;
}

/**
 * Drains ring `ring`: claims up to `batch` tasks at a time, runs them and publishes their results.
 * Returns false when the pool is being cancelled (the claimed batch has still been completed).
 */
function drainRing(ring) {
  for (;;) {
    const count = L.claimTasks(layout, view, ring, batch, claimedIds, claimedArgs);
    if (count === 0) return true;
    batches++;
    // Never full: see createLayout. A bug here must stop the pool rather than drop results.
    // The main thread stores `head` (seq_cst) only after it has read the slots below it, so every
    // slot this load counts as free is free; a stale head only makes the ring look fuller.
    if (((resultTail - Atomics.load(resultHeaders, resultHeadAt)) | 0) > layout.resultCapacity - count) {
      throw new Error('result ring overflow');
    }
    for (let i = 0; i < count; i++) {
      const id = claimedIds[i];
      let value;
      let status = L.RESULT_OK;
      try {
        value = task(claimedArgs[i]);
      } catch (error) {
        // The text goes into this task's own error record; the slot carries its length.
        value = L.writeError(view, id, error);
        status = L.RESULT_ERROR;
      }
      const slot = resultBase + (resultTail & resultMask);
      resultIds[slot] = id;
      resultValues[slot] = value;
      resultStatus[slot] = status;
      resultTail = (resultTail + 1) | 0;
      tasksRun++;
    }
    // Publish the batch: the seq_cst store of `tail` orders the slot writes (ids, values, status,
    // error texts) before it, and the set() after it, so the main thread, which takes the bit and
    // then loads `tail`, sees them.
    Atomics.store(resultHeaders, resultTailAt, resultTail);
    resultWords.set(index);
    if (Atomics.load(control, L.STATE) === L.CANCELLING) return false;
  }
}

/** Runs every queue named by `bits` (taken from signal word `word`). False when cancelled. */
function runWord(word, bits) {
  // Split into two int32 halves: bit loops on numbers are much cheaper than on bigints.
  for (let half = 0; half < 2; half++) {
    let mask = Number(half === 0 ? bits & 0xffffffffn : bits >> 32n);
    while (mask !== 0) {
      const bit = 31 - Math.clz32(mask & -mask);
      mask &= mask - 1;
      const queueBit = half * 32 + bit;
      if (queueBit < layout.queuesPerWord && !drainRing(L.ringOf(layout, word, queueBit))) return false;
    }
  }
  return true;
}

function run() {
  let last = homeWord;
  let foundSincePermit = true;
  for (;;) {
    const state = Atomics.load(control, L.STATE);
    if (state === L.CANCELLING) return;
    const word = taskWaker.summarySelect(last);
    if (word !== undefined) {
      const bits = taskWords.take(word);
      if (bits !== 0n) {
        takes++;
        foundSincePermit = true;
        last = word;
        if (!runWord(word, bits)) return;
      }
      continue; // a stale summary bit: take() has cleaned it
    }
    // The summary is empty, so sleeping is safe: any later set() of an empty word marks its
    // summary bit, which adds a permit, which this acquire takes (a permit is never lost).
    if (state === L.STOPPING) return;
    if (!foundSincePermit) wasted++;
    foundSincePermit = false;
    if (!taskWaker.tryAcquire()) {
      waits++;
      // Before waiting: a parked worker's counters are then current (Pool.settledStats()).
      publishStats();
      taskWaker.acquire();
    }
    permits++;
  }
}

parentPort.postMessage({ type: 'ready' });
try {
  run();
} finally {
  publishStats();
}
