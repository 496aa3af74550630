'use strict';
// Randomized differential test: thousands of random operation sequences run against the native
// waker and against the pure model (test/support/model.js); status, permits, sleepers, worker
// count and the partition bitmap must agree after every step.
const { WorkerWaker } = require('..');
const { WakerModel, MAX_PERMITS } = require('./support/model');
const { layout } = require('../dist/binding').native;
const { prng } = require('./support/prng');

function randomMask(rand) {
  let mask = 0n;
  const bits = Math.floor(rand() * 4);
  for (let i = 0; i < bits; i++) mask |= 1n << BigInt(Math.floor(rand() * 62));
  return mask;
}

// Each operation: [name, (rand, words, leaves) => args]. Index arguments lean towards a few
// values so that edges (set twice, clear twice) happen often.
const OPERATIONS = [
  ['markYield', () => []],
  ['tryUnmarkYield', () => []],
  ['markTasks', () => []],
  ['tryUnmarkTasks', () => []],
  ['markActive', (rand) => [Math.floor(rand() * 8) * 8 % 62]],
  ['markActiveMask', (rand) => [randomMask(rand)]],
  ['tryUnmarkIfEmpty', (rand, words) => [Math.floor(rand() * 8) * 8 % 62, words]],
  ['tryUnmark', (rand) => [Math.floor(rand() * 8) * 8 % 62]],
  ['summarySelect', (rand) => [Math.floor(rand() * 64)]],
  ['snapshotSummary', () => []],
  ['statusBits', () => []],
  ['tryAcquire', () => []],
  ['acquireTimeout', () => [0]],
  ['release', (rand) => [Math.floor(rand() * 3)]],
  ['registerSleeper', () => []],
  ['unregisterSleeper', () => []],
  ['registerWorker', () => []],
  ['unregisterWorker', () => []],
  ['syncPartitionSummary', (rand, words, leaves) => {
    const start = Math.floor(rand() * 16);
    return [start, start + Math.floor(rand() * 17), leaves];
  }],
  ['partitionLeafHasWork', (rand) => [Math.floor(rand() * 16)]],
  ['markPartitionLeafActive', (rand) => [Math.floor(rand() * 16)]],
  ['clearPartitionLeaf', (rand) => [Math.floor(rand() * 16)]],
  // Not waker methods: the environment changes under the waker.
  ['$toggleWord', (rand) => [Math.floor(rand() * 8) * 8 % 62]],
  ['$toggleLeaf', (rand) => [Math.floor(rand() * 32)]],
];

// The model has the same method names, so one observer serves both.
function observe(waker) {
  return {
    status: waker.status(),
    permits: waker.permits(),
    sleepers: waker.sleepers(),
    workers: waker.getWorkerCount(),
    partition: waker.partitionSummary(),
  };
}

const bigintAsString = (_key, value) => (typeof value === 'bigint' ? `${value}n` : value);

// What a call did: its result, or the class of the error it threw (a refused release).
function outcome(call) {
  try {
    return { result: call() };
  } catch (error) {
    return { threw: error.name };
  }
}

// `startPermits`: permits both sides hold before the first step. The waker's permit cell is set
// through the exported layout (a few releases could not get near the cap quickly).
function runSequence(seed, steps, startPermits = 0) {
  const rand = prng(seed);
  const waker = new WorkerWaker();
  const model = new WakerModel();
  Atomics.store(new Uint32Array(waker.buffer), layout.permitsCell, startPermits);
  model.permitCount = startPermits;
  const words = new BigUint64Array(62);
  const leaves = new BigUint64Array(32);
  const trace = [];
  for (let step = 0; step < steps; step++) {
    const [name, makeArgs] = OPERATIONS[Math.floor(rand() * OPERATIONS.length)];
    const args = makeArgs(rand, words, leaves);
    trace.push(`${name}(${args.map((a) => (ArrayBuffer.isView(a) ? '[array]' : String(a))).join(', ')})`);
    if (name === '$toggleWord') {
      words[args[0]] = words[args[0]] === 0n ? 1n : 0n;
      continue;
    }
    if (name === '$toggleLeaf') {
      leaves[args[0]] = leaves[args[0]] === 0n ? 1n : 0n;
      continue;
    }
    const actual = outcome(() => waker[name](...args));
    const expected = outcome(() => model[name](...args));
    const got = JSON.stringify({ ...actual, state: observe(waker) }, bigintAsString);
    const want = JSON.stringify({ ...expected, state: observe(model) }, bigintAsString);
    // Compare cheaply; on a mismatch let Jest print both sides with the replay context.
    if (got !== want) {
      const context = `seed ${seed}, step ${step}: ${trace.slice(-8).join(' ; ')}`;
      expect({ context, got }).toEqual({ context, got: want });
    }
  }
}

test('native waker matches the model on 3,000 random sequences of 60 steps', () => {
  for (let seed = 1; seed <= 3000; seed++) runSequence(seed, 60);
});

test('native waker matches the model on long sequences', () => {
  for (let seed = 100001; seed <= 100010; seed++) runSequence(seed, 3000);
});

test('native waker matches the model next to the permit cap: edges saturate, releases past it are refused', () => {
  for (let seed = 200001; seed <= 200400; seed++) runSequence(seed, 200, MAX_PERMITS - (seed % 8));
});
