'use strict';
// `npm run example:http`: the same node:http server (server.js) on worker-waker/pool and on
// piscina, each request running a 50 µs task, driven by autocannon with 32 connections. Rounds
// alternate which server goes first; the verdicts use medians of the per-round ratios.
// Environment: HTTP_SECONDS (per server per round, default 3), HTTP_ROUNDS (default 3).
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const autocannon = require('autocannon');

const SECONDS = Number(process.env.HTTP_SECONDS || 3);
const ROUNDS = Number(process.env.HTTP_ROUNDS || 3);
const CONNECTIONS = 32;
const SERVERS = ['worker-waker', 'piscina'];
if (!(SECONDS > 0) || !Number.isInteger(ROUNDS) || ROUNDS < 1) throw new RangeError('HTTP_SECONDS must be > 0 and HTTP_ROUNDS an integer ≥ 1');

/** Starts server.js with the given pool; resolves to { port, child } once it listens. */
function startServer(kind) {
  const child = spawn(process.execPath, [path.join(__dirname, 'server.js'), kind], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind} server did not start within 10 s`)), 10_000);
    child.once('error', reject);
    child.stdout.on('data', (chunk) => {
      const match = /listening (\d+)/.exec(String(chunk));
      if (match) {
        clearTimeout(timer);
        resolve({ port: Number(match[1]), child });
      }
    });
  });
}

function stopServer(child) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function measure(kind, round) {
  const { port, child } = await startServer(kind);
  try {
    const url = `http://127.0.0.1:${port}/`;
    await autocannon({ url, connections: CONNECTIONS, duration: 0.5 }); // warm-up
    const result = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS });
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${kind}: ${result.non2xx} non-2xx responses, ${result.errors} errors`);
    const row = { rps: result.requests.average, p99: result.latency.p99 };
    console.log(`  round ${round}/${ROUNDS} · ${kind.padEnd(12)} ${Math.round(row.rps).toLocaleString('en-US')} req/s, p99 ${row.p99} ms`);
    return row;
  } finally {
    await stopServer(child);
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

async function main() {
  const cpus = os.cpus();
  console.log('HTTP server on two pools: node:http, a 50 µs task per request, autocannon with 32 connections');
  console.log(`machine: ${cpus.length > 0 ? cpus[0].model.trim() : 'unknown CPU'}, ${os.availableParallelism()} core(s), ${os.platform()}-${os.arch()}, Node ${process.version}`);
  console.log(
    `each pool with its defaults (worker-waker/pool: threads = cores; piscina: minThreads = cores ÷ 2, maxThreads = cores × 1.5; ` +
      `both concurrentTasksPerWorker 1); ${SECONDS} s per server per round, ${ROUNDS} rounds`,
  );
  const results = { 'worker-waker': [], piscina: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 === 1 ? SERVERS : [...SERVERS].reverse();
    for (const kind of order) results[kind].push(await measure(kind, round));
  }
  const rpsRatio = median(results['worker-waker'].map((r, i) => r.rps / results.piscina[i].rps));
  const p99Ratio = median(results['worker-waker'].map((r, i) => r.p99 / results.piscina[i].p99));
  const summary = (kind) => `${Math.round(median(results[kind].map((r) => r.rps))).toLocaleString('en-US')} req/s, p99 ${median(results[kind].map((r) => r.p99))} ms`;
  console.log();
  console.log(`worker-waker/pool: ${summary('worker-waker')}`);
  console.log(`piscina:           ${summary('piscina')}`);
  console.log(`req/s: ${rpsRatio.toFixed(2)}× piscina's (target ≥ 1.5×): ${rpsRatio >= 1.5 ? 'met' : `MISSED by ${(1.5 / rpsRatio).toFixed(2)}×`}`);
  console.log(`p99 latency: ${p99Ratio.toFixed(2)}× piscina's (target ≤ 1×, no worse): ${p99Ratio <= 1 ? 'met' : `MISSED by ${p99Ratio.toFixed(2)}×`}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
