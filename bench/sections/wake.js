'use strict';
// The wake of a pending call alone: the main thread awaits (acquireAsync, or Atomics.waitAsync
// on a word), a worker that stays awake (busy-polling a flag, bench/workers/wake.js) answers a
// fixed delay after the call is pending, and the row is the time from the worker's timestamp
// just before it answers to main's timestamp once its await resumes (both process.hrtime.bigint()).
//   wakeSoon   answered 2 us after the call is pending: the event loop is usually still on its way
//              to sleep, so this times the hand-over itself
//   wakeLate   answered 60 us after: the loop is asleep in the kernel, and waking a halted vCPU
//              dominates both mechanisms (parity is the floor there)
// Each round measures both mechanisms back to back (CALLS calls each, median per round); the
// target is judged on the median of the per-round ratios, with their spread beside it. The two
// threads are pinned to two CPUs (see util.js).
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const { ROOT, median, row, skippedRow, pin } = require('../util');

const WAKER = path.join(__dirname, '..', 'workers', 'wake.js');
const PENDING = 0;
const STOP = 1;
const FLAG = 2;
const IMPLS = ['worker-waker', 'waitAsync'];

async function measure(impl, delayUs, calls, place) {
  const { WorkerWaker } = require(ROOT);
  const waker = new WorkerWaker();
  const control = new Int32Array(new SharedArrayBuffer(12));
  const stamp = new BigInt64Array(new SharedArrayBuffer(8));
  const worker = new Worker(WAKER, { workerData: { impl, buffer: waker.buffer, control, stamp, delayUs } });
  const failed = new Promise((_, reject) => worker.once('error', reject));
  const { tid } = await Promise.race([new Promise((resolve) => worker.once('message', resolve)), failed]);
  if (place.cpus !== undefined && tid !== null) {
    pin(process.pid, place.cpus[0]);
    pin(tid, place.cpus[1]);
  }
  const samples = [];
  try {
    for (let i = 0; i < calls + calls / 10; i++) {
      let pending;
      if (impl === 'worker-waker') {
        pending = waker.acquireAsync();
      } else {
        Atomics.store(control, FLAG, 0);
        pending = Atomics.waitAsync(control, FLAG, 0).value;
      }
      Atomics.store(control, PENDING, 1);
      await pending;
      const resumed = process.hrtime.bigint();
      if (i >= calls / 10) samples.push(Number(resumed - Atomics.load(stamp, 0)) / 1000); // after a warm-up
    }
  } finally {
    Atomics.store(control, STOP, 1);
    if (place.cpus !== undefined) pin(process.pid, place.mainCpuList);
    await worker.terminate();
  }
  if (waker.permits() !== 0) throw new Error(`wake ${impl}: ${waker.permits()} permits left`);
  return median(samples);
}

async function wakeRows(section, delayUs, config, place) {
  const calls = config.wakeCalls;
  const perRound = { 'worker-waker': [], waitAsync: [] };
  const ratios = [];
  for (let round = 0; round < config.rounds; round++) {
    // Alternate which one goes first, so that drift in the machine's load does not favour one.
    const order = round % 2 === 0 ? IMPLS : [...IMPLS].reverse();
    const got = {};
    for (const impl of order) got[impl] = await measure(impl, delayUs, calls, place);
    for (const impl of IMPLS) perRound[impl].push(got[impl]);
    ratios.push(got['worker-waker'] / got.waitAsync);
  }
  const what = `answered ${delayUs} us after the call is pending, the answering worker awake`;
  const rows = [
    row(section, 'worker-waker', `acquireAsync wake, ${what}`, 'us', perRound['worker-waker'], {
      ratio: median(ratios),
      ratioRounds: ratios,
      spread: [Math.min(...ratios), Math.max(...ratios)],
      baseline: 'waitAsync',
    }),
    row(section, 'waitAsync', `Atomics.waitAsync wake, ${what}`, 'us', perRound.waitAsync),
  ];
  if (place.cpus === undefined) for (const r of rows) r.note = `not pinned: ${place.note}`;
  return rows;
}

async function wake(config, place) {
  if (typeof Atomics.waitAsync !== 'function') {
    return [skippedRow('wakeSoon', 'worker-waker', 'acquireAsync wake', 'us', 'Atomics.waitAsync is missing')];
  }
  return [...(await wakeRows('wakeSoon', 2, config, place)), ...(await wakeRows('wakeLate', 60, config, place))];
}

module.exports = { wake };
