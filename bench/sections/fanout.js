'use strict';
// Fan-out: the main thread produces, N consumer workers (N = 1 .. cores, and 1, 2, 4) block in acquire().
// Each round has two phases:
//   wakes per release  With all N consumers parked, release(1) and wait until the permit is
//                      taken and all N are parked again, K times. The consumers' voluntary
//                      context switches over the phase (read from /proc for each consumer
//                      thread) divided by K: 1.0 is one thread woken once, N a thundering
//                      herd. A parked worker-waker consumer also wakes once per 20 ms park
//                      slice to check for termination; those few switches are included. The
//                      producer busy-polls here (only one consumer runs at a time): V8's
//                      Atomics.wait/notify share one process-wide lock with the peer's
//                      consumers, and the producer must not disturb what it measures.
//   permits per second release(1) P times as fast as possible; the consumer that takes the
//                      last one posts a message, and the producer waits for it in its event
//                      loop (not spinning: that would take a CPU from the consumers).
// Conservation is checked at the end: every permit released was taken exactly once.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const { ROOT, row, skippedRow, spinUntil } = require('../util');
const { AtomicsWaker } = require('../peers/atomics-waker');

const CONSUMER = path.join(__dirname, '..', 'workers', 'fanout.js');
const TAKEN = 0;
const STOP = 1;
const TARGET = 2;
const IMPLS = [
  { impl: 'worker-waker', label: 'WorkerWaker' },
  { impl: 'atomics-peer', label: 'Atomics.wait peer' },
];

// Whether every thread of `tids` is asleep in the kernel ('S' in /proc/.../stat). A consumer
// counted as parked may still be on its way into the kernel; a release that caught it there
// would wake it without a context switch and flatter the count.
function allAsleep(tids) {
  for (const tid of tids) {
    const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    if (stat[stat.lastIndexOf(')') + 2] !== 'S') return false;
  }
  return true;
}

function voluntarySwitches(tids) {
  let total = 0;
  for (const tid of tids) {
    const status = fs.readFileSync(`/proc/self/task/${tid}/status`, 'utf8');
    total += Number(/^voluntary_ctxt_switches:\s*(\d+)/m.exec(status)[1]);
  }
  return total;
}

// Starts N consumers; `ready` resolves with their thread ids once each has posted it.
function startConsumers(impl, buffer, control, n) {
  const consumers = { workers: [], exits: [], taken: [], ready: null, onReached: () => {} };
  const ready = [];
  for (let i = 0; i < n; i++) {
    const worker = new Worker(CONSUMER, { workerData: { impl, buffer, control } });
    consumers.workers.push(worker);
    ready.push(new Promise((resolve, reject) => {
      worker.once('message', ({ tid }) => resolve(tid));
      worker.once('error', reject);
    }));
    consumers.exits.push(new Promise((resolve, reject) => {
      worker.on('message', (message) => {
        if (message === 'reached') consumers.onReached();
        else if (message.taken !== undefined) consumers.taken.push(message.taken);
      });
      worker.once('error', reject);
      worker.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`consumer exited with ${code}`))));
    }));
  }
  consumers.ready = Promise.all(ready);
  return consumers;
}

function bounded(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function fanoutRun(impl, n, config) {
  const Kind = impl === 'worker-waker' ? require(ROOT).WorkerWaker : AtomicsWaker;
  const waker = new Kind();
  const control = new Int32Array(new SharedArrayBuffer(12));
  const consumers = startConsumers(impl, waker.buffer, control, n);
  const stopAll = () => Promise.all(consumers.workers.map((w) => w.terminate()));
  const deadline = 10000 + n * 2000;
  try {
    const tids = await consumers.ready;
    const canCount = tids.every((tid) => tid !== null);
    const wakes = [];
    const rates = [];
    let released = 0;
    const allParked = () => waker.sleepers() === n && (!canCount || allAsleep(tids));
    for (let round = 0; round <= config.rounds; round++) {
      spinUntil(allParked, deadline, `fan-out ${impl} x${n}: consumers parking`);
      const before = canCount ? voluntarySwitches(tids) : 0;
      for (let k = 0; k < config.fanoutReleases; k++) {
        waker.release(1);
        released++;
        spinUntil(() => Atomics.load(control, TAKEN) === released && allParked(), deadline,
          `fan-out ${impl} x${n}: permit ${released} taken`);
      }
      const after = canCount ? voluntarySwitches(tids) : 0;

      const target = released + config.fanoutPermits;
      Atomics.store(control, TARGET, target);
      const allTaken = new Promise((resolve) => {
        consumers.onReached = resolve;
      });
      const start = performance.now();
      for (let p = 0; p < config.fanoutPermits; p++) waker.release(1);
      released = target;
      await bounded(allTaken, deadline, `fan-out ${impl} x${n}: burst taken`);
      const seconds = (performance.now() - start) / 1000;
      if (round > 0) {
        wakes.push((after - before) / config.fanoutReleases);
        rates.push(config.fanoutPermits / seconds);
      }
    }
    spinUntil(allParked, deadline, `fan-out ${impl} x${n}: consumers parking at the end`);
    Atomics.store(control, STOP, 1); // published to each consumer by the release that wakes it
    waker.release(n); // one stop permit per consumer; each leaves after taking one
    await Promise.all(consumers.exits);
    const takenByConsumers = consumers.taken.reduce((a, b) => a + b, 0);
    if (takenByConsumers !== released || Atomics.load(control, TAKEN) !== released || waker.permits() !== 0) {
      throw new Error(`fan-out ${impl} x${n}: released ${released} + ${n} stop permits, consumers took ` +
        `${takenByConsumers} (+ stops), ${waker.permits()} left`);
    }
    return { wakes: canCount ? wakes : null, rates };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function fanout(config) {
  const section = 'fanout';
  const rows = [];
  // 1 .. cores, and always 1, 2 and 4 (the targets' consumer counts; 4 oversubscribes 2 cores).
  const cores = os.cpus().length;
  const counts = [...new Set([...Array.from({ length: cores }, (_, i) => i + 1), 1, 2, 4])].sort((a, b) => a - b);
  for (const n of counts) {
    const group = [];
    for (const { impl, label } of IMPLS) {
      const result = await fanoutRun(impl, n, config);
      const wakesLabel = `${label}: consumer wake-ups per release(1), ${n} parked`;
      group.push(result.wakes === null
        ? skippedRow(section, `${n}/${impl}/wakes-per-release`, wakesLabel, 'wakes/release',
          'needs /proc/<pid>/task/<tid>/status (Linux) to count a thread\'s context switches')
        : row(section, `${n}/${impl}/wakes-per-release`, wakesLabel, 'wakes/release', result.wakes,
          { consumers: n, impl, metric: 'wakes-per-release' }));
      group.push(row(section, `${n}/${impl}/permits-per-sec`, `${label}: permits/s, ${n} consumers`, 'permits/s',
        result.rates, { consumers: n, impl, metric: 'permits-per-sec' }));
    }
    for (const r of group) {
      if (r.skipped) continue;
      const peer = group.find((p) => p.metric === r.metric && p.impl === 'atomics-peer' && !p.skipped);
      if (peer === undefined) continue;
      r.baseline = peer.id;
      r.ratio = r.median / peer.median;
    }
    rows.push(...group);
  }
  return rows;
}

module.exports = { fanout };
