'use strict';
// A soak worker (see soak.js). RUN: batches of random steps (marks, clears, takes, unmarks,
// releases, short blocking acquires) on the shared waker, its signal words and the permit pool,
// and now and then a batch of acquireAsync calls that are granted, time out or get aborted;
// between batches it yields to its event loop, where those calls settle. HOT: its role on the hot
// word, tightly. PAUSE/STOP: abort what is pending, wait until it settled, publish the tallies and
// check in.
const { workerData } = require('node:worker_threads');
const { WorkerWaker, SignalWords } = require('../..');
const { Counter, COUNTERS, PAUSE, STOP, HOT, HOT_WORD, RANDOM_QUEUES, HOT_ROLES, heapAfterGc } = require('./soak-shared');

const signalWaker = new WorkerWaker(workerData.signalWaker);
const signals = new SignalWords(signalWaker, workerData.words);
const pool = new WorkerWaker(workerData.pool);
const control = new Int32Array(workerData.control);
const published = new Float64Array(workerData.counters, workerData.index * COUNTERS * 8, COUNTERS);
const count = new Float64Array(COUNTERS);
const hotRole = HOT_ROLES[workerData.index % HOT_ROLES.length];
const HOT_BIT = 1n << BigInt(HOT_WORD);
const nap = new Int32Array(new SharedArrayBuffer(4)); // Atomics.wait on it only times out

const random = (n) => Math.floor(Math.random() * n);
// Three in four queue operations go to 4 busy words (queues 0-255), so that setters and
// consumers of one word collide often; the rest spread over the 61 words outside the hot one.
const queue = () => (random(4) === 0 ? random(RANDOM_QUEUES) : random(256));
// Mostly 0 ms (through the wait queue and out), sometimes a 1 ms park.
const shortWait = () => (random(3) === 0 ? 1 : 0);

function popcount(bits) {
  let n = 0;
  for (let b = bits; b !== 0n; b &= b - 1n) n++;
  return n;
}

function lowestQueue(word, bits) {
  let bit = 0;
  while (((bits >> BigInt(bit)) & 1n) === 0n) bit++;
  return word * 64 + bit;
}

// One random step; each keeps its own tally so that the main thread can check conservation.
function step() {
  const roll = random(100);
  if (roll < 30) {
    if (signals.set(queue())) count[Counter.itemsSet]++;
  } else if (roll < 50) {
    // A consumer: a permit (or a short wait for one), then the nearest marked word.
    if (signalWaker.tryAcquire() || signalWaker.acquireTimeout(shortWait())) count[Counter.signalAcquired]++;
    takeNearest();
  } else if (roll < 60) {
    if (signals.clear(queue())) count[Counter.itemsTaken]++;
    count[Counter.remarks]++;
  } else if (roll < 65) {
    signalWaker.tryUnmarkIfEmpty(random(4) === 0 ? random(HOT_WORD) : random(4), signals.words);
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

function takeNearest() {
  const word = signalWaker.summarySelect(random(64));
  if (word === undefined) return;
  count[Counter.itemsTaken] += popcount(signals.take(word));
  count[Counter.remarks]++;
}

// One step of this worker's hot-word role. Takers find the word through its summary bit only, so
// a word stranded with the bit clear is never emptied behind the checker's back.
function hotStep() {
  if (hotRole === 'set') {
    if (signals.set(HOT_WORD * 64 + random(64))) count[Counter.itemsSet]++;
  } else if (hotRole === 'take') {
    if ((signalWaker.snapshotSummary() & HOT_BIT) !== 0n) {
      count[Counter.itemsTaken] += popcount(signals.take(HOT_WORD));
      count[Counter.remarks]++;
    }
  } else {
    // 'tidy': clears one queue bit of the word (through its summary bit, like the takers) or
    // unmarks it, between short naps: a fourth thread spinning here would take a core from the
    // setter and the takers (two cores), whose collisions are what makes the race happen.
    const bits = Atomics.load(signals.words, HOT_WORD);
    if (random(2) === 0 && bits !== 0n && (signalWaker.snapshotSummary() & HOT_BIT) !== 0n) {
      if (signals.clear(lowestQueue(HOT_WORD, bits))) count[Counter.itemsTaken]++;
    } else {
      signalWaker.tryUnmarkIfEmpty(HOT_WORD, signals.words);
    }
    count[Counter.remarks]++;
    Atomics.wait(nap, 0, 0, 0.05);
  }
  count[Counter.hotOps]++;
  count[Counter.ops]++;
}

// ---- acquireAsync from this worker's event loop ---------------------------------------------
const inFlight = new Map(); // AbortController -> the call's settled promise

function launchAsync() {
  const onPool = random(4) !== 0;
  const waker = onPool ? pool : signalWaker;
  const controller = new AbortController();
  const timeout = [0, 1, 2, 3, Infinity][random(5)];
  if (timeout === Infinity || random(3) === 0) {
    setTimeout(() => controller.abort(new Error('soak abort')), random(4));
  }
  const settled = waker.acquireAsync({ timeout, signal: controller.signal }).then(
    (granted) => {
      if (!granted) {
        count[Counter.asyncTimedOut]++;
        return;
      }
      count[Counter.asyncGranted]++;
      if (onPool) {
        count[Counter.poolAcquired]++;
      } else {
        count[Counter.signalAcquired]++;
        takeNearest();
      }
    },
    (error) => {
      if (error.name !== 'AbortError') process.nextTick(() => { throw error; }); // fails the soak
      count[Counter.asyncAborted]++;
    },
  );
  inFlight.set(controller, settled);
  settled.finally(() => inFlight.delete(controller));
}

const yieldToLoop = () => new Promise((resolve) => setImmediate(resolve));

async function run() {
  for (;;) {
    const phase = Atomics.load(control, 0);
    if (phase === PAUSE || phase === STOP) {
      // Quiet: nothing pending, tallies published, checked in; then wait for the main thread's
      // go. Blocking is fine once every call has settled (nothing is handed to this loop
      // then), and it must block: a pending Atomics.waitAsync does not keep a worker's
      // loop alive, so with no timer left the worker would simply exit.
      for (const controller of inFlight.keys()) controller.abort(new Error('quiet point'));
      await Promise.all(inFlight.values());
      count[Counter.heapAfterGc] = heapAfterGc();
      published.set(count);
      Atomics.add(control, 1, 1);
      if (phase === STOP) return;
      Atomics.wait(control, 0, PAUSE);
      continue;
    }
    if (phase === HOT) {
      // Calls left pending would stay queued on the signal waker, and every edge the setter
      // makes would then go through the queue's mutex: end them (they settle meanwhile).
      for (const controller of inFlight.keys()) controller.abort(new Error('hot phase'));
      for (let i = 0; i < 256; i++) hotStep();
    } else {
      for (let i = 0; i < 64; i++) step();
      if (inFlight.size < 8 && random(2) === 0) for (let n = 1 + random(4); n > 0; n--) launchAsync();
    }
    await yieldToLoop();
  }
}

run();
