'use strict';
// Round trips: one token passed back and forth, reported in microseconds per round trip.
//   blocking         two workers, each blocked in acquire() while waiting for the other, on
//                    two CPUs (the ratios of the targets)
//   blockingSameCpu  the same, both threads pinned to one CPU (where spinning cannot pay)
//   Both also run a probe (workers/pingpong.js): the addon as it is, with an adaptive
//   spin on tryAcquire() in JS before acquire(), to measure what the proposed spin would give.
//   async            the main thread waits without blocking (acquireAsync / waitAsync / a
//                    message) while a worker blocks, on two CPUs. The worker answers as fast
//                    as it can, so with worker-waker almost every acquireAsync() finds the
//                    permit already there and resolves at once: this row measures the
//                    immediate grant, not an asynchronous wake-up.
//   asyncWaiting     the same, but the worker answers only once the main thread's call is
//                    pending (it waits for a flag that main sets right after the call
//                    returned its promise; postMessage: after the message was posted): every
//                    call really waits and is woken, for every mechanism alike. Two CPUs.
//   asyncSameCpu     the same as async on one CPU, where each thread hop costs a context switch
// See util.js for why threads are pinned.
const path = require('node:path');
const { MessageChannel, Worker } = require('node:worker_threads');

const { ROOT, row, skippedRow, addRatios, runWorkers, pin } = require('../util');
const { AtomicsWaker } = require('../peers/atomics-waker');
const { nativeFloorRows } = require('./native-floor');

const PINGPONG = path.join(__dirname, '..', 'workers', 'pingpong.js');
const STOP = 0;
const GO = 1;
const PENDING = 2; // asyncWaiting: main sets it once its call is pending; the worker clears it

function kindOf(mechanism) {
  return mechanism === 'worker-waker' || mechanism === 'spin-probe' ? require(ROOT).WorkerWaker : AtomicsWaker;
}

function deadlineMs(config) {
  return (config.rounds + 1) * config.roundMs * 20 + 20000;
}

function newControl() {
  return new Int32Array(new SharedArrayBuffer(12));
}

function go(control) {
  Atomics.store(control, GO, 1);
  Atomics.notify(control, GO);
}

// cpus: [pingCpu, pongCpu], or null to leave placement to the scheduler.
async function blockingPair(mechanism, config, cpus) {
  const control = newControl();
  const common = { mechanism, control, roundMs: config.roundMs, rounds: config.rounds };
  let ping;
  let pong;
  if (mechanism === 'postMessage') {
    const { port1, port2 } = new MessageChannel();
    ping = { ...common, role: 'ping', port: port1, transfer: [port1] };
    pong = { ...common, role: 'pong', port: port2, transfer: [port2] };
  } else {
    const Kind = kindOf(mechanism);
    const buffers = { ping: new Kind().buffer, pong: new Kind().buffer };
    ping = { ...common, ...buffers, role: 'ping' };
    pong = { ...common, ...buffers, role: 'pong' };
  }
  const spec = ({ transfer, ...workerData }) => ({ file: PINGPONG, workerData, transferList: transfer });
  const tids = [];
  let started = 0;
  const onMessage = (i, message) => {
    if (message.tid === undefined) return;
    tids[i] = message.tid;
    if (++started < 2) return;
    if (cpus !== null) tids.forEach((tid, side) => pin(tid, cpus[side]));
    go(control);
  };
  const [result] = await runWorkers([spec(ping), spec(pong)], deadlineMs(config), `blocking ${mechanism}`, onMessage);
  return result.roundTripUs;
}

async function blockingRows(section, config, cpus) {
  const rows = [
    row(section, 'worker-waker', 'WorkerWaker acquire/release, worker <-> worker', 'us',
      await blockingPair('worker-waker', config, cpus)),
    row(section, 'atomics-wait', 'Atomics.wait/notify semaphore (JS peer), worker <-> worker', 'us',
      await blockingPair('atomics', config, cpus)),
    row(section, 'postMessage', 'postMessage over a MessageChannel, worker <-> worker', 'us',
      await blockingPair('postMessage', config, cpus)),
    ...nativeFloorRows(section, config, cpus),
    row(section, 'probe-adaptive-spin', 'probe: WorkerWaker + a JS adaptive spin before acquire()', 'us',
      await blockingPair('spin-probe', config, cpus)),
  ];
  addRatios(rows, 'atomics-wait');
  return rows;
}

async function blocking(config, place) {
  return blockingRows('blocking', config, place.cpus ?? null);
}

async function blockingSameCpu(config, place) {
  if (place.cpus === undefined) {
    return ['worker-waker', 'atomics-wait', 'postMessage', 'native-condvar', 'native-futex', 'native-spin',
      'probe-adaptive-spin'].map((id) =>
      skippedRow('blockingSameCpu', id, `${id}, both threads on one CPU`, 'us', `cannot pin threads: ${place.note}`));
  }
  const [cpu] = place.cpus;
  return blockingRows('blockingSameCpu', config, [cpu, cpu]);
}

// Timed rounds on the main thread around `trip`, an async function making one round trip.
async function timedRounds(config, trip) {
  const roundTripUs = [];
  for (let round = 0; round <= config.rounds; round++) {
    const start = performance.now();
    const limit = start + (round === 0 ? config.roundMs / 2 : config.roundMs);
    let trips = 0;
    let now;
    do {
      for (let i = 0; i < 16; i++) await trip();
      trips += 16;
      now = performance.now();
    } while (now < limit);
    if (round > 0) roundTripUs.push(((now - start) * 1000) / trips);
  }
  return roundTripUs;
}

// Races `work` against a deadline: a lost permit must fail the run, not hang it.
async function bounded(work, ms, what, onTimeout) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } catch (error) {
    await onTimeout();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

// Starts the echo worker of an async row, pins it (and the main thread) and lets it go.
// Resolves with { worker, exited } once the worker runs.
function startEcho(workerData, cpus) {
  const control = workerData.control;
  const worker = new Worker(PINGPONG, { workerData });
  const exited = new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`echo worker exited with ${code}`))));
  });
  const started = new Promise((resolve, reject) => {
    worker.once('message', ({ tid }) => {
      try {
        if (cpus !== null) {
          pin(process.pid, cpus[0]); // the main thread's tid is the pid
          pin(tid, cpus[1]);
        }
        go(control);
        resolve({ worker, exited });
      } catch (error) {
        reject(error);
      }
    });
    exited.catch(reject);
  });
  return started;
}

// The main thread waits for the worker's release with `acquireAsync()`, the worker blocks.
// `waiting`: the worker answers only after the call is pending (see asyncWaiting above).
async function asyncSemaphore(mechanism, config, cpus, waiting = false) {
  const Kind = kindOf(mechanism);
  const ping = new Kind();
  const pong = new Kind();
  const control = newControl();
  const { worker, exited } = await startEcho(
    { mechanism, role: 'pong', ping: ping.buffer, pong: pong.buffer, control, roundMs: config.roundMs, rounds: config.rounds, waiting },
    cpus);
  const trip = waiting
    ? async () => {
      ping.release(1);
      const granted = pong.acquireAsync();
      Atomics.store(control, PENDING, 1); // the call is pending: the worker may answer now
      await granted;
    }
    : async () => {
      ping.release(1);
      await pong.acquireAsync();
    };
  const run = async () => {
    const result = await timedRounds(config, trip);
    Atomics.store(control, STOP, 1); // published to the worker by the release that follows
    ping.release(1);
    await exited;
    return result;
  };
  return bounded(run(), deadlineMs(config), `async ${mechanism}`, () => worker.terminate());
}

// The main thread posts to a worker that echoes through parentPort; the main thread's
// 'message' handler sends the next one (no promise per trip: the cheapest way to use it).
// `waiting`: the worker answers only after main has posted and flagged it (see asyncWaiting).
async function asyncMessages(config, cpus, waiting = false) {
  const control = newControl();
  const { worker, exited } = await startEcho(
    { mechanism: 'postMessage', role: 'pong', control, roundMs: config.roundMs, rounds: config.rounds, waiting }, cpus);
  const send = () => {
    worker.postMessage(0);
    if (waiting) Atomics.store(control, PENDING, 1);
  };
  const run = new Promise((resolve) => {
    const roundTripUs = [];
    let round = 0;
    let trips = 0;
    let start = performance.now();
    let limit = start + config.roundMs / 2;
    worker.on('message', (message) => {
      if (typeof message === 'object') return; // { done } on the way out
      trips++;
      if ((trips & 15) === 0) {
        const now = performance.now();
        if (now >= limit) {
          if (round > 0) roundTripUs.push(((now - start) * 1000) / trips);
          if (++round > config.rounds) {
            worker.postMessage('stop');
            resolve(roundTripUs);
            return;
          }
          trips = 0;
          start = now;
          limit = start + config.roundMs;
        }
      }
      send();
    });
    send();
  });
  const work = Promise.all([run, exited]).then(([roundTripUs]) => roundTripUs);
  return bounded(work, deadlineMs(config), 'async postMessage', () => worker.terminate());
}

async function asyncPiscina(config, cpus) {
  const { Piscina } = require('piscina');
  const pool = new Piscina({
    filename: path.join(__dirname, '..', 'workers', 'piscina-task.js'),
    minThreads: 1,
    maxThreads: 1,
  });
  try {
    const measure = async () => {
      const tid = await pool.run('tid');
      if (cpus !== null) {
        pin(process.pid, cpus[0]);
        pin(tid, cpus[1]);
      }
      return timedRounds(config, () => pool.run(0));
    };
    return await bounded(measure(), deadlineMs(config), 'async piscina', () => {}); // destroyed below
  } finally {
    await pool.destroy();
  }
}

function hasPiscina() {
  try {
    require.resolve('piscina');
    return true;
  } catch {
    return false;
  }
}

async function asyncRows(section, config, place, cpus) {
  const rows = [];
  try {
    const wakerLabel = 'main acquireAsync() <-> worker acquire/release';
    if (typeof require(ROOT).WorkerWaker.prototype.acquireAsync === 'function') {
      rows.push(row(section, 'worker-waker', wakerLabel, 'us', await asyncSemaphore('worker-waker', config, cpus)));
    } else {
      rows.push(skippedRow(section, 'worker-waker', wakerLabel, 'us',
        'WorkerWaker#acquireAsync is not in this build yet; the row runs once it exists'));
    }
    rows.push(row(section, 'atomics-waitAsync', 'main Atomics.waitAsync (JS peer acquireAsync) <-> worker', 'us',
      await asyncSemaphore('atomics', config, cpus)));
    rows.push(row(section, 'postMessage', 'main postMessage <-> worker parentPort', 'us', await asyncMessages(config, cpus)));
    const piscinaLabel = 'piscina run() of an echo task, 1 thread';
    if (hasPiscina()) {
      rows.push(row(section, 'piscina', piscinaLabel, 'us', await asyncPiscina(config, cpus)));
    } else {
      rows.push(skippedRow(section, 'piscina', piscinaLabel, 'us', 'piscina is not installed (it is a devDependency)'));
    }
  } finally {
    if (cpus !== null) pin(process.pid, place.mainCpuList); // give the main thread its CPUs back
  }
  addRatios(rows, 'atomics-waitAsync');
  return rows;
}

async function async(config, place) {
  return asyncRows('async', config, place, place.cpus ?? null);
}

// Every call pending when the answer comes; piscina is left out (its run() always waits, and
// its row in `async` already measures that).
async function asyncWaiting(config, place) {
  const section = 'asyncWaiting';
  const cpus = place.cpus ?? null;
  const rows = [];
  try {
    rows.push(row(section, 'worker-waker', 'main acquireAsync() <-> worker, answered once the call is pending', 'us',
      await asyncSemaphore('worker-waker', config, cpus, true)));
    rows.push(row(section, 'atomics-waitAsync', 'main Atomics.waitAsync (JS peer) <-> worker, answered once pending', 'us',
      await asyncSemaphore('atomics', config, cpus, true)));
    rows.push(row(section, 'postMessage', 'main postMessage <-> worker parentPort, answered once posted', 'us',
      await asyncMessages(config, cpus, true)));
  } finally {
    if (cpus !== null) pin(process.pid, place.mainCpuList);
  }
  addRatios(rows, 'atomics-waitAsync');
  return rows;
}

async function asyncSameCpu(config, place) {
  if (place.cpus === undefined) {
    return ['worker-waker', 'atomics-waitAsync', 'postMessage', 'piscina'].map((id) =>
      skippedRow('asyncSameCpu', id, `${id}, main and worker on one CPU`, 'us', `cannot pin threads: ${place.note}`));
  }
  const [cpu] = place.cpus;
  return asyncRows('asyncSameCpu', config, place, [cpu, cpu]);
}

module.exports = { blocking, blockingSameCpu, async, asyncWaiting, asyncSameCpu };
