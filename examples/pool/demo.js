'use strict';
// `npm run demo`: the example pool (worker-waker + shared memory) against piscina on the same
// tiny task, in the same run, on this machine's cores.
//
// Each pool runs a closed loop: WINDOW tasks are kept in flight, each completion submits the
// next, for SECONDS (after a short warm-up). Latency is measured the same way for both: from the
// call that submits a task to the moment its promise's reaction runs. A second, shorter phase keeps
// one task in flight to show the bare round trip.
//
// Environment: DEMO_SECONDS (default 2.5 per pool), DEMO_THREADS (default: available cores),
// DEMO_WINDOW (default 256).

const os = require('node:os');
const path = require('node:path');
const { Piscina } = require('piscina');
const { Pool } = require('./pool');
const task = require('./tasks');

const TASK_FILE = path.join(__dirname, 'tasks.js');
const THREADS = Number(process.env.DEMO_THREADS || os.availableParallelism());
const SECONDS = Number(process.env.DEMO_SECONDS || 2.5);
const WINDOW = Number(process.env.DEMO_WINDOW || 256);
const WARMUP_MS = 300;
const ROUND_TRIP_MS = 700;
const TARGET_SPEEDUP = 5;
const TARGET_LATENCY = 0.5;

const live = process.stdout.isTTY;

function progress(text) {
  if (live) process.stdout.write(`\r${text.padEnd(78)}`);
}

function endProgress() {
  if (live) process.stdout.write(`\r${' '.repeat(78)}\r`);
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/**
 * Keeps `window` tasks in flight through `submit` for `durationMs`, checks every result, and
 * returns throughput and latency percentiles (µs).
 */
function closedLoop(label, submit, { durationMs, window, showProgress }) {
  return new Promise((resolve, reject) => {
    let latencies = new Float64Array(1 << 16);
    let done = 0;
    let wrong = 0;
    let next = 1;
    let inFlight = 0;
    const start = performance.now();
    const deadline = start + durationMs;
    let lastLine = start;
    const timer = setInterval(() => {
      const now = performance.now();
      const rate = Math.round(done / ((now - start) / 1000));
      const text = `  ${label}: ${((now - start) / 1000).toFixed(1)} s, ${done.toLocaleString('en-US')} tasks, ${rate.toLocaleString('en-US')} tasks/s`;
      if (!showProgress) return;
      if (live) progress(text);
      else if (now - lastLine >= 1000) {
        console.log(text);
        lastLine = now;
      }
    }, 200);

    function finish() {
      clearInterval(timer);
      endProgress();
      const elapsed = performance.now() - start;
      const sorted = latencies.subarray(0, done).sort();
      resolve({ done, wrong, elapsed, perSecond: (done / elapsed) * 1000, p50: percentile(sorted, 0.5) * 1000, p99: percentile(sorted, 0.99) * 1000 });
    }

    function launch() {
      const x = next++;
      const t0 = performance.now();
      inFlight++;
      submit(x).then((result) => {
        const t1 = performance.now();
        inFlight--;
        if (result !== task(x)) wrong++;
        if (done === latencies.length) {
          const grown = new Float64Array(latencies.length * 2);
          grown.set(latencies);
          latencies = grown;
        }
        latencies[done++] = t1 - t0;
        if (t1 < deadline) launch();
        else if (inFlight === 0) finish();
      }, (error) => {
        clearInterval(timer);
        reject(error);
      });
    }
    for (let i = 0; i < window; i++) launch();
  });
}

async function measure(label, submit) {
  await closedLoop(label, submit, { durationMs: WARMUP_MS, window: WINDOW, showProgress: false });
  const loaded = await closedLoop(label, submit, { durationMs: SECONDS * 1000, window: WINDOW, showProgress: true });
  const roundTrip = await closedLoop(label, submit, { durationMs: ROUND_TRIP_MS, window: 1, showProgress: false });
  return { loaded, roundTrip };
}

const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');

async function main() {
  console.log(`worker-waker pool demo: ${THREADS} worker thread(s) on ${os.availableParallelism()} core(s), tiny task (32-bit hash), ${WINDOW} tasks in flight, ${SECONDS} s per pool`);

  const pool = new Pool({ filename: TASK_FILE, threads: THREADS });
  await pool.ready();
  if (WINDOW > pool.capacity) throw new RangeError(`DEMO_WINDOW must be at most ${pool.capacity}`);
  const ours = await measure('worker-waker pool', (x) => pool.run(x));
  await pool.close();
  const stats = pool.stats();

  const piscina = new Piscina({ filename: TASK_FILE, minThreads: THREADS, maxThreads: THREADS, idleTimeout: 60000 });
  const theirs = await measure(`piscina ${Piscina.version}`, (x) => piscina.run(x));
  await piscina.destroy();

  const tasks = stats.tasksRun;
  const wakes = stats.workerParks + stats.mainWaits;
  const permits = stats.workerPermits + stats.mainPermits;
  const wasted = stats.workerWasted + stats.mainWasted;
  const rows = [
    ['', 'tasks/s', 'p50 µs', 'p99 µs', '1-in-flight p50 µs', 'wakes/task', 'permits wasted'],
    ['worker-waker pool', fmt(ours.loaded.perSecond), fmt(ours.loaded.p50, 1), fmt(ours.loaded.p99, 1), fmt(ours.roundTrip.p50, 1), fmt(wakes / tasks, 4), `${fmt(wasted)} of ${fmt(permits)}`],
    [`piscina ${Piscina.version}`, fmt(theirs.loaded.perSecond), fmt(theirs.loaded.p50, 1), fmt(theirs.loaded.p99, 1), fmt(theirs.roundTrip.p50, 1), 'n/a', 'n/a'],
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  console.log();
  for (const row of rows) console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));

  const speedup = ours.loaded.perSecond / theirs.loaded.perSecond;
  const latency = ours.loaded.p50 / theirs.loaded.p50;
  const roundTrip = ours.roundTrip.p50 / theirs.roundTrip.p50;
  console.log();
  console.log(`throughput: ${fmt(speedup, 1)}× piscina (target ≥ ${TARGET_SPEEDUP}×): ${speedup >= TARGET_SPEEDUP ? 'met' : `MISSED by ${fmt(TARGET_SPEEDUP / speedup, 2)}×`}`);
  console.log(`p50 latency under load: ${fmt(latency, 2)}× piscina's (target ≤ ${TARGET_LATENCY}×): ${latency <= TARGET_LATENCY ? 'met' : `MISSED by ${fmt(latency / TARGET_LATENCY, 2)}×`}`);
  if (speedup < TARGET_SPEEDUP || latency > TARGET_LATENCY) {
    console.log('  why: with tiny tasks both pools are bound by the main thread, which submits and settles every task;');
    console.log('  when other processes hold the cores, its workers and main thread wait for CPU: rerun on an idle machine');
  }
  console.log(`p50 round trip with one task in flight: ${fmt(roundTrip, 2)}× piscina's (not a target: each way is a wake-up of a parked`);
  console.log('  thread, and results reach the main thread through acquireAsync\'s waiter thread, one hop more than a MessagePort)');
  console.log(`tasks run ${fmt(tasks)}, batches ${fmt(stats.batches)} (${fmt(tasks / stats.batches, 1)} tasks each), words taken ${fmt(stats.takes)}, worker parks ${fmt(stats.workerParks)}, main-thread waits ${fmt(stats.mainWaits)}`);
  const wrong = ours.loaded.wrong + ours.roundTrip.wrong + theirs.loaded.wrong + theirs.roundTrip.wrong;
  if (wrong !== 0 || stats.tasksRun !== stats.completed) {
    console.error(`wrong results: ${wrong}; tasks run ${stats.tasksRun} vs completed ${stats.completed}`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  endProgress();
  console.error(error);
  process.exitCode = 1;
});
