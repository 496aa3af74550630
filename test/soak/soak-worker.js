'use strict';
// A soak worker (see soak.js): random marks, clears, takes, unmarks, releases and acquires on
// the shared waker and signal words, and on the permit pool, until told to pause or stop.
const { workerData } = require('node:worker_threads');
const { WorkerWaker, SignalWords } = require('../..');
const { Counter, COUNTERS, PAUSE, STOP } = require('./soak-shared');

const signalWaker = new WorkerWaker(workerData.signalWaker);
const signals = new SignalWords(signalWaker, workerData.words);
const pool = new WorkerWaker(workerData.pool);
const control = new Int32Array(workerData.control);
const published = new Float64Array(workerData.counters, workerData.index * COUNTERS * 8, COUNTERS);
const count = new Float64Array(COUNTERS);

const random = (n) => Math.floor(Math.random() * n);
// Three in four queue operations go to 4 hot words (queues 0-255), so that setters and
// consumers of one word collide often; the rest spread over all 62.
const queue = () => (random(4) === 0 ? random(3968) : random(256));
// Mostly 0 ms (through the parking lot and out), sometimes a 1 ms park.
const shortWait = () => (random(3) === 0 ? 1 : 0);

// One random step; each keeps its own tally so that the main thread can check conservation.
function step() {
  const roll = random(100);
  if (roll < 30) {
    if (signals.set(queue())) count[Counter.itemsSet]++;
  } else if (roll < 50) {
    // A consumer: a permit (or a short wait for one), then the nearest marked word.
    if (signalWaker.tryAcquire() || signalWaker.acquireTimeout(shortWait())) count[Counter.signalAcquired]++;
    const word = signalWaker.summarySelect(random(64));
    if (word !== undefined) {
      count[Counter.itemsTaken] += popcount(signals.take(word));
      count[Counter.remarks]++;
    }
  } else if (roll < 60) {
    if (signals.clear(queue())) count[Counter.itemsTaken]++;
    count[Counter.remarks]++;
  } else if (roll < 65) {
    signalWaker.tryUnmarkIfEmpty(random(4) === 0 ? random(62) : random(4), signals.words);
    count[Counter.remarks]++;
  } else if (roll < 70) {
    // Fewer releases than acquires: the pool runs near empty, so async waits really wait.
    const n = 1 + random(3);
    pool.release(n);
    count[Counter.poolReleased] += n;
  } else if (roll < 90) {
    if (pool.tryAcquire() || pool.acquireTimeout(shortWait())) count[Counter.poolAcquired]++;
  } else if (roll < 93) {
    signalWaker.release(1);
    count[Counter.signalReleased]++;
  } else if (roll < 96) {
    signalWaker.markYield();
    count[Counter.yieldMarks]++;
  } else {
    signalWaker.tryUnmarkYield();
  }
  count[Counter.ops]++;
}

function popcount(bits) {
  let n = 0;
  for (let b = bits; b !== 0n; b &= b - 1n) n++;
  return n;
}

for (;;) {
  const phase = Atomics.load(control, 0);
  if (phase !== 0) {
    // Quiet: publish the tallies, check in, and wait for the main thread's go (or stop).
    published.set(count);
    Atomics.add(control, 1, 1);
    if (phase === STOP) break;
    Atomics.wait(control, 0, PAUSE);
    continue;
  }
  for (let i = 0; i < 64; i++) step();
}
