'use strict';
// `npm run demo`: worker-waker/pool (the shipped pool) against piscina, same tasks, same run, on
// this machine's cores.
//
// Five scenarios, each run by both pools in turn, round after round (the order alternates, so that
// neither always runs first on a warm or a cold machine). Each round gives one ratio per measure
// (pool ÷ piscina); the verdicts use the median of those paired ratios.
//   - tiny: WINDOW tasks in flight, each completion submits the next (a closed loop); a number
//     in, a number out, tens of ns of work. Throughput.
//   - small object: the same loop with an object of 10 fields in and out. Throughput.
//   - async: the same loop with a task that awaits one setImmediate turn. Throughput.
//   - one in flight: the bare round trip (p50).
//   - open loop: RATE tasks per second offered whatever the pool does (p50 latency).
// Latency is measured the same way for both: from the call that submits a task to the moment its
// promise's reaction runs.
//
// Environment: DEMO_SECONDS (each closed loop per round, default 0.7), DEMO_ROUNDS (default 3),
// DEMO_THREADS (default: available cores), DEMO_WINDOW (default 256), DEMO_RATE (open loop,
// tasks per second, default 10000), DEMO_SPIN (worker-waker/pool's spinMicroseconds, an integer
// from 0 to 1000; default: the pool's own default; 0 turns its spin off).

const os = require('node:os');
const path = require('node:path');
const { Piscina } = require('piscina');
const { Pool } = require('worker-waker/pool');
const tasks = require('./tasks');

/** A positive number from the environment (an integer ≥ 1 when `integer`), or `fallback`. */
function envNumber(name, fallback, integer = false) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  const ok = integer ? Number.isInteger(value) && value >= 1 : Number.isFinite(value) && value > 0;
  if (!ok) throw new RangeError(`${name} must be ${integer ? 'an integer ≥ 1' : 'a number > 0'}. Received ${raw}`);
  return value;
}

const TASK_FILE = path.join(__dirname, 'tasks.js');
const THREADS = envNumber('DEMO_THREADS', os.availableParallelism(), true);
const SECONDS = envNumber('DEMO_SECONDS', 0.7);
const ROUNDS = envNumber('DEMO_ROUNDS', 3, true);
const WINDOW = envNumber('DEMO_WINDOW', 256, true);
const RATE = envNumber('DEMO_RATE', 10000);
// 0 is allowed here (it turns the pool's spin off), so not envNumber; the pool checks the range.
const SPIN = process.env.DEMO_SPIN === undefined || process.env.DEMO_SPIN === '' ? undefined : Number(process.env.DEMO_SPIN);
const WARMUP_MS = 300;
const OPEN_MS = 500;
const ROUND_TRIP_MS = 300;
// Both pools keep the whole window in their workers: with concurrentTasksPerWorker 1, all but
// THREADS async tasks would wait in piscina's main-thread queue.
const SETTINGS = { minThreads: THREADS, maxThreads: THREADS, concurrentTasksPerWorker: Math.ceil(WINDOW / THREADS) };

const SCENARIOS = [
  { key: 'tiny', label: 'tiny task', window: WINDOW, target: { measure: 'throughput', ratio: 10 } },
  { key: 'object', label: 'small object (10 fields in and out)', window: WINDOW, target: { measure: 'throughput', ratio: 3 } },
  { key: 'async', label: 'async task (one setImmediate)', window: WINDOW, target: { measure: 'throughput', ratio: 2 } },
  { key: 'one', label: 'one task in flight', window: 1, ms: ROUND_TRIP_MS, target: { measure: 'p50', ratio: 0.4 } },
  { key: 'open', label: `open loop, ${RATE.toLocaleString('en-US')} tasks/s offered`, rate: RATE, ms: OPEN_MS, target: { measure: 'p50', ratio: 0.5 } },
];

// How each scenario submits task x to a pool, and checks its result (cheaply: the check runs
// on the main thread for both pools alike).
const expected = (x) => tasks.mix(x);
const SUBMIT = {
  tiny: (pool, x) => pool.run(x).then((r) => r === expected(x)),
  one: (pool, x) => pool.run(x).then((r) => r === expected(x)),
  open: (pool, x) => pool.run(x).then((r) => r === expected(x)),
  object: (pool, x) => pool.run(tasks.makeObject(x), { name: 'object' }).then((r) => r.hash === expected(x) && r.count === (x % 100) + 1),
  async: (pool, x) => pool.run(x, { name: 'later' }).then((r) => r === expected(x)),
};

const live = process.stdout.isTTY;
let progressShown = false;

function progress(text) {
  if (!live) return;
  process.stdout.write(`\r${text.slice(0, 78).padEnd(78)}`); // one terminal line, or \r cannot redraw it
  progressShown = true;
}

function endProgress() {
  if (!progressShown) return;
  process.stdout.write(`\r${' '.repeat(78)}\r`);
  progressShown = false;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');

/**
 * Runs tasks through `submit` for `durationMs` and returns throughput and latency percentiles
 * (µs). Closed loop (`window`): each completion submits the next. Open loop (`rate`): a 1 ms
 * timer submits whatever is due at `rate` tasks per second.
 */
function runPhase(label, submit, { durationMs, window, rate }) {
  return new Promise((resolve, reject) => {
    let latencies = new Float64Array(1 << 16);
    let done = 0;
    let wrong = 0;
    let next = 1;
    let submitted = 0;
    let inFlight = 0;
    let stopped = false;
    let ended = false;
    const start = performance.now();
    const deadline = start + durationMs;
    const showProgress = setInterval(() => {
      const seconds = (performance.now() - start) / 1000;
      progress(`  ${label}: ${seconds.toFixed(1)} s, ${fmt(done)} tasks, ${fmt(done / seconds)}/s`);
    }, 200);
    let offer;

    function finish() {
      if (ended) return;
      ended = true;
      clearInterval(showProgress);
      clearInterval(offer);
      const elapsed = performance.now() - start;
      const sorted = latencies.subarray(0, done).sort();
      resolve({ done, wrong, perSecond: (done / elapsed) * 1000, p50: percentile(sorted, 0.5) * 1000, p99: percentile(sorted, 0.99) * 1000 });
    }

    function launch() {
      const x = next++;
      const t0 = performance.now();
      inFlight++;
      submitted++;
      submit(x).then(
        (right) => {
          const t1 = performance.now();
          inFlight--;
          if (!right) wrong++;
          if (done === latencies.length) {
            const grown = new Float64Array(latencies.length * 2);
            grown.set(latencies);
            latencies = grown;
          }
          latencies[done++] = t1 - t0;
          if (window !== undefined && t1 < deadline) launch();
          else if (t1 >= deadline) stopped = true;
          if (stopped && inFlight === 0) finish();
        },
        (error) => {
          if (ended) return;
          ended = true;
          clearInterval(showProgress);
          clearInterval(offer);
          reject(error);
        },
      );
    }

    if (window !== undefined) {
      for (let i = 0; i < window; i++) launch();
      return;
    }
    offer = setInterval(() => {
      const now = performance.now();
      if (now >= deadline) {
        clearInterval(offer);
        stopped = true;
        if (inFlight === 0) finish();
        return;
      }
      if (stopped) return;
      const due = Math.floor(((now - start) / 1000) * rate) - submitted;
      for (let i = 0; i < due; i++) launch();
    }, 1);
  });
}

function verdict(ratio, target, atLeast) {
  const met = atLeast ? ratio >= target : ratio <= target;
  if (met) return 'met';
  return `MISSED by ${fmt(atLeast ? target / ratio : ratio / target, 2)}×`;
}

async function main() {
  const cpus = os.cpus();
  console.log('worker-waker/pool demo: the shipped pool and piscina, the same tasks, the same run');
  console.log(
    `machine: ${cpus.length > 0 ? cpus[0].model.trim() : 'unknown CPU'}, ${os.availableParallelism()} core(s) available, ` +
      `${os.platform()}-${os.arch()}, Node ${process.version}, load average ${os.loadavg()[0].toFixed(2)} at start`,
  );
  const pool = new Pool({ filename: TASK_FILE, ...SETTINGS, ...(SPIN !== undefined && { spinMicroseconds: SPIN }) });
  const piscina = new Piscina({ filename: TASK_FILE, ...SETTINGS, idleTimeout: 60000 });
  const s = pool.options;
  console.log(
    `worker-waker/pool: minThreads = maxThreads = ${s.maxThreads}, concurrentTasksPerWorker ${s.concurrentTasksPerWorker} ` +
      `(window ÷ threads), maxQueue ${s.maxQueue}, spinMicroseconds ${s.spinMicroseconds}`,
  );
  const p = piscina.options;
  console.log(
    `piscina ${Piscina.version}: minThreads = maxThreads = ${p.maxThreads}, concurrentTasksPerWorker ${p.concurrentTasksPerWorker} ` +
      `(window ÷ threads), atomics '${p.atomics}', maxQueue ${p.maxQueue}, no spinMicroseconds equivalent (its main thread ` +
      'sleeps until a result arrives)',
  );
  console.log(
    `each round, for each pool in turn: ${WINDOW} in flight for ${SECONDS} s (tiny, small object, async); 1 in flight for ` +
      `${ROUND_TRIP_MS / 1000} s; ${fmt(RATE)} tasks/s offered for ${OPEN_MS / 1000} s. ${ROUNDS} rounds.`,
  );
  console.log();

  const contenders = [
    { label: 'worker-waker/pool', pool, results: {} },
    { label: `piscina ${Piscina.version}`, pool: piscina, results: {} },
  ];
  for (const who of contenders) {
    for (const scenario of SCENARIOS.filter((sc) => sc.window === WINDOW)) {
      await runPhase(`${who.label} · warm-up · ${scenario.key}`, (x) => SUBMIT[scenario.key](who.pool, x), { durationMs: WARMUP_MS / 3, window: WINDOW });
    }
  }
  let wrong = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 === 1 ? contenders : [...contenders].reverse();
    for (const who of order) {
      const line = [];
      for (const scenario of SCENARIOS) {
        const label = `round ${round}/${ROUNDS} · ${who.label} · ${scenario.key}`;
        const result = await runPhase(label, (x) => SUBMIT[scenario.key](who.pool, x), {
          durationMs: scenario.ms ?? SECONDS * 1000,
          window: scenario.window,
          rate: scenario.rate,
        });
        wrong += result.wrong;
        (who.results[scenario.key] ??= []).push(result);
        line.push(scenario.target.measure === 'throughput' ? `${scenario.key} ${fmt(result.perSecond)}/s` : `${scenario.key} p50 ${fmt(result.p50, 1)} µs`);
      }
      endProgress();
      console.log(`  round ${round} · ${who.label.padEnd(18)} ${line.join(', ')}`);
    }
  }
  endProgress();
  await pool.close();
  await piscina.destroy();

  const [ours, theirs] = contenders;
  console.log();
  console.log(`medians of ${ROUNDS} rounds; ratio = median of the per-round ratios (pool ÷ piscina)`);
  const rows = [['scenario', 'measure', 'pool', 'piscina', 'ratio', 'target', 'verdict']];
  for (const scenario of SCENARIOS) {
    const { measure, ratio: target } = scenario.target;
    const field = measure === 'throughput' ? 'perSecond' : 'p50';
    const a = ours.results[scenario.key].map((r) => r[field]);
    const b = theirs.results[scenario.key].map((r) => r[field]);
    const ratio = median(a.map((value, i) => value / b[i]));
    const atLeast = measure === 'throughput';
    const unit = atLeast ? ' tasks/s' : ' µs';
    rows.push([
      scenario.label,
      atLeast ? 'throughput' : 'p50 latency',
      `${fmt(median(a), atLeast ? 0 : 1)}${unit}`,
      `${fmt(median(b), atLeast ? 0 : 1)}${unit}`,
      `${fmt(ratio, 2)}×`,
      `${atLeast ? '≥' : '≤'} ${target}×`,
      verdict(ratio, target, atLeast),
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  for (const row of rows) console.log(row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
  const openRates = contenders.map((who) => median(who.results.open.map((r) => r.perSecond)));
  if (Math.min(...openRates) < 0.95 * RATE) console.log(`note: a pool did not keep up with the open loop (${openRates.map((r) => fmt(r)).join(' and ')} tasks/s): lower DEMO_RATE`);
  console.log(
    s.spinMicroseconds === 0
      ? 'spinMicroseconds 0: the one-in-flight and open-loop latencies are bound by waking a parked thread in each direction (see docs/pool.md)'
      : `the pool's threads stayed awake up to ${s.spinMicroseconds} µs (main thread) and 20 µs (idle workers) before sleeping (spinMicroseconds; see docs/pool.md)`,
  );
  if (wrong !== 0) {
    console.error(`wrong results: ${wrong}`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  endProgress();
  console.error(error);
  process.exitCode = 1;
});
