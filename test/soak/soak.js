'use strict';
// Soak: worker threads and the main thread's event loop hammer one waker with its 62 signal
// words, and a second waker used as a plain permit pool, at random, for --seconds. Each second
// has two halves:
//   - random: workers set, clear and take queue bits, unmark, mark the yield flag, release and
//     acquire (parking briefly), and keep acquireAsync calls in flight from their own event loops
//     (granted, timed out or aborted; they yield to the loop between batches); the main thread
//     does the same with acquireAsync, and releases and sets queue bits from a timer;
//   - hot: the workers crowd one signal word (HOT_WORD in soak-shared.js): a setter refills it
//     while two takers empty it through its summary bit and a fourth worker clears and unmarks
//     it, the race that tryUnmarkIfEmpty's clear-then-recheck exists for. The main thread ends
//     its pending calls and stays idle, leaving the two cores to that race.
// Then everything goes quiet (pending async calls are aborted and settle, workers collect their
// garbage and check in) and the invariants are checked:
//   - no false negative: every non-empty signal word has its summary bit set;
//   - queue bits: newly set == taken + still set;
//   - pool permits: released == acquired + left (exact: async grants, timeouts, aborts included);
//   - signal-waker permits: released <= acquired + left <= released + edges, where each set()
//     of a new bit, each markYield() and each call that may re-mark a refilled word (take,
//     clear, tryUnmarkIfEmpty) makes at most one edge;
//   - bounded resources: no OS thread beyond those at the first check (acquireAsync adds none);
//     the V8 heaps after a full collection, and RSS once settled, within a bound of what they
//     were after warm-up (see HEAP_GROWTH_MB below);
// and at the end: nobody queued, no wait queue left. Exits 0 and prints "ok ..." when all held.
//
//   node test/soak/soak.js [--seconds N] [--workers W]      (npm run soak -- --seconds N)
const fs = require('node:fs');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const native = require('../support/test-addon'); // first: waitQueues counts in the lib's copy
const { WorkerWaker, SignalWords } = require('../..');
const { Counter, COUNTERS, RUN, PAUSE, STOP, HOT, RANDOM_QUEUES, heapAfterGc } = require('./soak-shared');

const HOT_SHARE = 0.5; // of each interval
// Memory. The V8 heaps of all threads together, measured after a full collection at each quiet
// point, may grow at most HEAP_GROWTH_MB past their size at the first quiet point after
// WARM_UP_MS (measured: 22 MB for five threads, flat over a minute; an acquireAsync that kept
// each settled call's entry went past the bound within 6 s). RSS says little in a short
// run: it climbs for ~30 s while the five heaps grow to their working size (120 -> 250 MB
// measured, then flat), so it is bounded only once settled, by RSS_GROWTH_MB past its size at the
// first quiet point after RSS_SETTLE_MS. Native memory of the addon (wait queues) is
// checked by count instead.
const WARM_UP_MS = 1500;
const HEAP_GROWTH_MB = 16;
const RSS_SETTLE_MS = 30000;
const RSS_GROWTH_MB = 64;

function parseArgs(argv) {
  const options = { seconds: 10, workers: 4 };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '');
    const value = Number(argv[i + 1]);
    if (!(name in options) || !(value > 0)) {
      throw new Error(`usage: soak.js [--seconds N] [--workers W] (got ${argv.slice(i, i + 2).join(' ')})`);
    }
    options[name] = value;
  }
  return options;
}

const random = (n) => Math.floor(Math.random() * n);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every ms; throws after `ms` naming `what` (a string, or a function for one). */
async function until(condition, ms, what) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'function' ? what() : what}`);
    }
    await sleep(1);
  }
}

function popcount(bits) {
  let n = 0;
  for (let b = bits; b !== 0n; b &= b - 1n) n++;
  return n;
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const mb = (bytes) => Math.round(bytes / 2 ** 20);
const osThreads = () => fs.readdirSync('/proc/self/task').length;

async function main() {
  const { seconds, workers: workerCount } = parseArgs(process.argv.slice(2));
  const signalWaker = new WorkerWaker();
  const signals = new SignalWords(signalWaker);
  const pool = new WorkerWaker();
  const control = new Int32Array(new SharedArrayBuffer(8));
  const tallies = new Float64Array(new SharedArrayBuffer((workerCount + 1) * COUNTERS * 8));
  const mine = tallies.subarray(workerCount * COUNTERS); // the main thread's row
  let failure;
  const fail = (error) => {
    failure ??= error;
  };

  let exitedCount = 0;
  for (let index = 0; index < workerCount; index++) {
    const worker = new Worker(path.join(__dirname, 'soak-worker.js'), {
      workerData: {
        signalWaker: signalWaker.buffer,
        words: signals.buffer,
        pool: pool.buffer,
        control: control.buffer,
        counters: tallies.buffer,
        index,
      },
    });
    worker.on('error', fail);
    worker.once('exit', () => exitedCount++);
  }

  // ---- the main thread's share: async waits with timeouts and aborts, a release timer ----
  const inFlight = new Set(); // AbortControllers of pending calls
  let running = true;
  function launchPool() {
    const controller = new AbortController();
    inFlight.add(controller);
    const timeout = random(4) === 0 ? Infinity : random(5);
    if (random(3) === 0) setTimeout(() => controller.abort(new Error('soak abort')), random(5));
    pool
      .acquireAsync({ timeout, signal: controller.signal })
      .then(
        (granted) => {
          if (granted) {
            mine[Counter.poolAcquired]++;
            mine[Counter.asyncGranted]++;
          } else {
            mine[Counter.asyncTimedOut]++;
          }
        },
        (error) => {
          if (error.name === 'AbortError') mine[Counter.asyncAborted]++;
          else fail(error);
        },
      )
      .finally(() => {
        inFlight.delete(controller);
        schedulePump();
      });
  }
  function launchSignal() {
    const controller = new AbortController();
    inFlight.add(controller);
    signalWaker
      .acquireAsync({ timeout: random(5), signal: controller.signal })
      .then(
        (granted) => {
          if (!granted) {
            mine[Counter.asyncTimedOut]++;
            return;
          }
          mine[Counter.asyncGranted]++;
          mine[Counter.signalAcquired]++;
          const word = signalWaker.summarySelect(random(64));
          if (word === undefined) return;
          mine[Counter.itemsTaken] += popcount(signals.take(word));
          mine[Counter.remarks]++;
        },
        (error) => {
          if (error.name === 'AbortError') mine[Counter.asyncAborted]++;
          else fail(error);
        },
      )
      .finally(() => {
        inFlight.delete(controller);
        schedulePump();
      });
  }
  // One refill at a time, in a later turn: refilling from each settled call, or at once, lets
  // calls that settle at once (a permit was there) crowd out the timers.
  let pumpScheduled = false;
  function schedulePump() {
    if (pumpScheduled) return;
    pumpScheduled = true;
    setImmediate(() => {
      pumpScheduled = false;
      pump();
    });
  }
  function pump() {
    while (running && inFlight.size < 5) {
      if (inFlight.size === 0) launchSignal();
      else launchPool();
    }
  }
  function storm() {
    const n = 1 + random(4);
    pool.release(n);
    mine[Counter.poolReleased] += n;
    for (let i = 0; i < 4; i++) if (signals.set(random(RANDOM_QUEUES))) mine[Counter.itemsSet]++;
    mine[Counter.ops] += 5;
  }
  let stormTimer;
  // For the hot phase and quiet points: pending calls ended, no timer.
  const pauseMainShare = (why) => {
    running = false;
    clearInterval(stormTimer);
    for (const controller of inFlight) controller.abort(new Error(why));
  };
  const resume = () => {
    running = true;
    stormTimer = setInterval(storm, 1);
    pump();
  };

  // ---- quiet points --------------------------------------------------------------------
  const totals = () => {
    const sum = new Float64Array(COUNTERS);
    for (let row = 0; row <= workerCount; row++) {
      for (let c = 0; c < COUNTERS; c++) sum[c] += tallies[row * COUNTERS + c];
    }
    return sum;
  };

  async function check(label) {
    const t = totals();
    const summary = signalWaker.snapshotSummary();
    let left = 0;
    for (let word = 0; word < 62; word++) {
      const bits = Atomics.load(signals.words, word);
      if (bits !== 0n && ((summary >> BigInt(word)) & 1n) === 0n) {
        throw new Error(`${label}: false negative: word ${word} = 0x${bits.toString(16)}, summary bit clear`);
      }
      left += popcount(bits);
    }
    if (t[Counter.itemsSet] !== t[Counter.itemsTaken] + left) {
      throw new Error(`${label}: queue bits set ${t[Counter.itemsSet]} != taken ${t[Counter.itemsTaken]} + left ${left}`);
    }
    // A grant a retiring async waiter took just as its call gave up goes back within moments.
    const poolBalanced = () => t[Counter.poolReleased] === t[Counter.poolAcquired] + pool.permits();
    const edges = t[Counter.itemsSet] + t[Counter.yieldMarks] + t[Counter.remarks];
    const signalBounded = () => {
      const out = t[Counter.signalAcquired] + signalWaker.permits();
      return t[Counter.signalReleased] <= out && out <= t[Counter.signalReleased] + edges;
    };
    // acquireAsync adds no thread: the process keeps the threads it had at the first check.
    const threads = osThreads();
    if (threadBaseline === undefined) threadBaseline = threads;
    else if (threads > threadBaseline) throw new Error(`${label}: ${threads} OS threads, more than the ${threadBaseline} at the first check`);
    mine[Counter.heapAfterGc] = heapAfterGc();
    const heap = workerRows(Counter.heapAfterGc) + mine[Counter.heapAfterGc];
    const rss = process.memoryUsage().rss;
    const elapsed = Date.now() - started;
    if (heapBaseline === undefined) {
      if (elapsed >= WARM_UP_MS) heapBaseline = heap;
    } else if (heap > heapBaseline + HEAP_GROWTH_MB * 2 ** 20) {
      throw new Error(`${label}: V8 heaps ${mb(heap)} MB after GC, more than ${HEAP_GROWTH_MB} MB above ${mb(heapBaseline)} MB after warm-up`);
    }
    if (rssBaseline === undefined) {
      if (elapsed >= RSS_SETTLE_MS) rssBaseline = rss;
    } else if (rss > rssBaseline + RSS_GROWTH_MB * 2 ** 20) {
      throw new Error(`${label}: rss ${mb(rss)} MB, more than ${RSS_GROWTH_MB} MB above ${mb(rssBaseline)} MB once settled`);
    }
    lastHeap = heap;
    try {
      await until(() => poolBalanced() && signalBounded(), 500, 'permits to balance');
    } catch {
      throw new Error(
        `${label}: permits do not balance: pool released ${t[Counter.poolReleased]}, acquired ` +
          `${t[Counter.poolAcquired]}, left ${pool.permits()}; signal waker released ` +
          `${t[Counter.signalReleased]}, acquired ${t[Counter.signalAcquired]}, left ${signalWaker.permits()}, ` +
          `edges at most ${edges}`,
      );
    }
    return t;
  }

  async function quiet(phase) {
    pauseMainShare('quiet point');
    await until(() => inFlight.size === 0, 2000, 'async calls to settle');
    Atomics.store(control, 0, phase);
    await until(() => Atomics.load(control, 1) === workerCount || failure !== undefined, 5000, 'workers to check in');
    if (failure !== undefined) throw failure;
  }

  const started = Date.now();
  let heapBaseline; // set at the first quiet point after WARM_UP_MS
  let threadBaseline; // OS threads at the first quiet point
  let rssBaseline; // ... after RSS_SETTLE_MS
  let lastHeap = 0;
  const workerRows = (c) => {
    let sum = 0;
    for (let row = 0; row < workerCount; row++) sum += tallies[row * COUNTERS + c];
    return sum;
  };
  const asyncLine = (get) =>
    `${fmt(get(Counter.asyncGranted))} / ${fmt(get(Counter.asyncTimedOut))} / ${fmt(get(Counter.asyncAborted))}`;
  const progress = (t, checks) => {
    const elapsed = (Date.now() - started) / 1000;
    process.stdout.write(
      `[${elapsed.toFixed(1)}s] ${fmt(t[Counter.ops])} ops (${fmt(t[Counter.ops] / elapsed)}/s), ` +
        `${fmt(t[Counter.hotOps])} on the hot word | queue bits ${fmt(t[Counter.itemsSet])} set | ` +
        `pool ${fmt(t[Counter.poolReleased])} permits | async granted / timed out / aborted: ` +
        `main ${asyncLine((c) => mine[c])}, workers ${asyncLine(workerRows)} | ` +
        `${checks} checks ok | heaps after GC ${mb(lastHeap)} MB, rss ${mb(process.memoryUsage().rss)} MB\n`,
    );
  };

  const interval = Math.min(1000, (seconds * 1000) / 3);
  let checks = 0;
  resume();
  while (Date.now() - started < seconds * 1000) {
    const span = Math.min(interval, seconds * 1000 - (Date.now() - started));
    await sleep(span * (1 - HOT_SHARE));
    pauseMainShare('hot phase');
    Atomics.store(control, 0, HOT); // workers switch at their next batch
    await sleep(span * HOT_SHARE);
    if (failure !== undefined) throw failure;
    await quiet(PAUSE);
    const t = await check(`check ${++checks}`);
    progress(t, checks);
    Atomics.store(control, 1, 0);
    Atomics.store(control, 0, RUN);
    Atomics.notify(control, 0);
    resume();
  }

  await quiet(STOP);
  await until(() => exitedCount === workerCount, 5000, 'workers to exit');
  const t = await check('final check');
  // Queued waiters and wait queues must all be gone.
  await until(
    () => signalWaker.sleepers() === 0 && pool.sleepers() === 0 && native.waitQueues() === 0,
    3000,
    () => `nobody queued (sleepers ${signalWaker.sleepers()} + ${pool.sleepers()}, queues ${native.waitQueues()})`,
  );
  progress(t, checks + 1);
  process.stdout.write(`ok ${fmt(t[Counter.ops])} ops in ${((Date.now() - started) / 1000).toFixed(1)} s, all invariants held\n`);
}

main().catch((error) => {
  process.stdout.write(`FAIL ${error.message}\n`);
  process.exit(1); // workers may be stuck mid-step: do not wait for them
});
