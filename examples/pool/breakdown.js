'use strict';
// Where the time of one open-loop task goes, for worker-waker/pool and piscina, in the demo's
// open-loop shape (RATE tasks per second offered by a 1 ms timer, each task a tens-of-ns hash).
// `node examples/pool/breakdown.js`; BREAKDOWN_RATE (default 10000), BREAKDOWN_MS (default 2000).
//
// Each task returns the times (ms since the epoch, µs resolution: performance.timeOrigin +
// performance.now(), the clock the pool's own wait times use) at which its code started and ended.
// With the submit time and the time the caller's reaction ran, one task splits into:
//   submit → publish   to the end of the tick, where the pool publishes the tick's tasks (set());
//                      at once for a task submitted while none is in flight
//   publish → wake     the wake-up of a worker, from the first publish of its burst (pool only:
//                      when its acquire/acquireTimeout/acquireAsync returned;
//                      n/a when the worker was awake and found the task without waiting)
//   wake → start       the worker's claim of the task, after the tasks before it in the burst
//                      (also split: wake → the burst's first start, one start → the next)
//   start → end        the task's code
//   end → main wake    publishing the result, the wake-up of the main thread (pool only: the time
//                      its result wait, acquireAsync, resolved; piscina has one message hop)
//   main wake → caller decoding and settling the results, the caller's promise reaction
const os = require('node:os');
const { isMainThread } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');

const now = () => performance.timeOrigin + performance.now();

function mix(x) {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

// In a pool worker: when its last wait for a task returned (the pool's worker and this module
// share the package's one copy, so patching the prototype reaches its waker).
let lastWake = 0;
if (!isMainThread) {
  const { WorkerWaker } = require('worker-waker');
  const { acquire, acquireTimeout, acquireAsync } = WorkerWaker.prototype;
  WorkerWaker.prototype.acquire = function () {
    acquire.call(this);
    lastWake = now();
  };
  WorkerWaker.prototype.acquireTimeout = function (...args) {
    const granted = acquireTimeout.apply(this, args);
    if (granted) lastWake = now();
    return granted;
  };
  WorkerWaker.prototype.acquireAsync = function (...args) {
    return acquireAsync.apply(this, args).then((granted) => {
      if (granted) lastWake = now();
      return granted;
    });
  };
}

module.exports = (x) => {
  const start = now();
  const hash = mix(x);
  return [start, now(), hash, lastWake];
};

if (isMainThread) main();

function main() {
  const { Piscina } = require('piscina');
  const { WorkerWaker } = require('worker-waker');
  const { Pool } = require('worker-waker/pool');
  const RATE = Number(process.env.BREAKDOWN_RATE ?? 10000);
  const MS = Number(process.env.BREAKDOWN_MS ?? 2000);
  const threads = os.availableParallelism();

  // When the pool published tasks (the main thread's only set() calls are on its task words).
  const { SignalWords } = require('worker-waker');
  const publishes = [];
  const set = SignalWords.prototype.set;
  SignalWords.prototype.set = function (queue) {
    publishes.push(now());
    return set.call(this, queue);
  };
  // The main thread's wake-ups: when each acquireAsync of the pool's result waker resolved.
  let lastMainWake = 0;
  const acquireAsync = WorkerWaker.prototype.acquireAsync;
  WorkerWaker.prototype.acquireAsync = function (...args) {
    return acquireAsync.apply(this, args).then((granted) => {
      lastMainWake = now();
      return granted;
    });
  };

  function phase(pool, ms) {
    return new Promise((resolve) => {
      const rows = [];
      let submitted = 0;
      let inFlight = 0;
      let stopped = false;
      const begin = performance.now();
      const launch = () => {
        const x = submitted++;
        inFlight++;
        const t0 = now();
        const publishAt = publishes.length;
        pool.run(x).then(([start, end, hash, wake]) => {
          const t1 = now();
          if (hash !== mix(x)) throw new Error('wrong result');
          const published = publishes[publishAt] ?? NaN;
          // A wake-up before this task's submission belongs to an earlier tick: the worker was
          // awake. (One after it may precede this task's own publish: the tick's first task,
          // published at once when the pool is idle, woke the worker.)
          rows.push([t0, start, end, lastMainWake > end ? lastMainWake : NaN, t1, published, wake > t0 ? wake : NaN]);
          if (--inFlight === 0 && stopped) resolve(rows);
        });
      };
      const offer = setInterval(() => {
        const elapsed = performance.now() - begin;
        if (elapsed >= ms) {
          clearInterval(offer);
          stopped = true;
          if (inFlight === 0) resolve(rows);
          return;
        }
        const due = Math.floor((elapsed / 1000) * RATE) - submitted;
        for (let i = 0; i < due; i++) launch();
      }, 1);
    });
  }

  const p50 = (values) => {
    const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
    return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)];
  };
  const us = (ms) => (Number.isFinite(ms) ? `${(ms * 1000).toFixed(1)} µs` : 'n/a');

  function report(label, rows) {
    const total = p50(rows.map(([t0, , , , t1]) => t1 - t0));
    const woken = rows.filter((row) => Number.isFinite(row[6]));
    const cells = [
      ['submit → start', p50(rows.map(([t0, start]) => start - t0))],
      ['submit → publish', p50(rows.map(([t0, , , , , published]) => published - t0))],
      ['publish → start', p50(rows.map(([, start, , , , published]) => start - published))],
      [`wake → start (${woken.length})`, p50(woken.map(([, start, , , , , wake]) => start - wake))],
      ['start → end', p50(rows.map(([, start, end]) => end - start))],
      ['end → main wake', p50(rows.map(([, , end, wake]) => wake - end))],
      ['main wake → caller', p50(rows.map(([, , , wake, t1]) => t1 - wake))],
      ['end → caller', p50(rows.map(([, , end, , t1]) => t1 - end))],
    ];
    // The tasks one wake-up started (same wake time), in start order: the first one's claim, and
    // the gap from one task's start to the next one's (the per-task cost in a worker's batch).
    const bursts = new Map();
    for (const row of woken) bursts.set(row[6], [...(bursts.get(row[6]) ?? []), row]);
    const firsts = [];
    const gaps = [];
    const wakeUps = []; // from the burst's first publish (the one that woke the worker)
    for (const [wake, burst] of bursts) {
      wakeUps.push(wake - Math.min(...burst.map((row) => row[5])));
      burst.sort((a, b) => a[1] - b[1]);
      firsts.push(burst[0][1] - wake);
      for (let i = 1; i < burst.length; i++) gaps.push(burst[i][1] - burst[i - 1][1]);
    }
    if (woken.length > 0) {
      cells.splice(3, 0, [`first publish → wake (${bursts.size})`, p50(wakeUps)]);
      cells.push([`wake → first start (${bursts.size})`, p50(firsts)], ['start → next start', p50(gaps)]);
    }
    console.log(`${label}: ${rows.length} tasks, p50 submit → caller ${us(total)}`);
    for (const [name, value] of cells) console.log(`  p50 ${name.padEnd(28)} ${us(value)}`);
  }

  (async () => {
    console.log(`open-loop breakdown: ${RATE} tasks/s for ${MS} ms, ${threads} threads; ${os.cpus()[0]?.model.trim()}, load average ${os.loadavg()[0].toFixed(2)}`);
    // The demo's settings for both (its window of 256 spread over the threads).
    const concurrentTasksPerWorker = Math.ceil(256 / threads);
    const pool = new Pool({ filename: __filename, threads, concurrentTasksPerWorker });
    const piscina = new Piscina({ filename: __filename, minThreads: threads, maxThreads: threads, concurrentTasksPerWorker, idleTimeout: 60000 });
    await Promise.all([pool.run(0), piscina.run(0)]); // workers loaded
    for (let round = 1; round <= 2; round++) {
      report(`round ${round} worker-waker/pool`, await phase(pool, MS));
      report(`round ${round} piscina`, await phase(piscina, MS));
    }
    await Promise.all([pool.close(), piscina.destroy()]);
  })();
}
