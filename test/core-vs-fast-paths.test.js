'use strict';
// Differential test of the two implementations inside the product: the C++ core, driven only
// through the addon's exports, and the public WorkerWaker, whose tryAcquire, release, acquire
// with a permit there, markActive of a set bit and every read run in JS on the same words. Random
// operation sequences (fast-check) run on two states, one per side; the results and every word of
// the two states (status, permits, queued, sleepers, workers, partition, statistics) must be equal
// after every step. The contract model (differential.test.js) checks both against the spec; this
// test catches a fast path that drifts from the core where the model is silent.
const fc = require('fast-check');
const native = require('./support/test-addon'); // the C++ core's own operations (the test build)
const { WorkerWaker } = require('..');

const MAX_PERMITS = native.layout.maxPermits;

/** One side: a state and the signal words and leaves its operations read. */
function side() {
  return {
    words: new BigUint64Array(new SharedArrayBuffer(62 * 8)),
    leaves: new BigUint64Array(new SharedArrayBuffer(80 * 8)),
  };
}

// What a refused call leaves: the error's name (the core says no with `false` where the public
// release throws a RangeError, so release is compared as "applied or refused").
function outcome(fn) {
  try {
    return { value: fn() };
  } catch (error) {
    return { error: error.name };
  }
}

const bit = fc.integer({ min: 0, max: 61 });
const leaf = fc.integer({ min: 0, max: 63 });
// Counts near the cap as well as small ones: the cap check is one of the fast paths.
const count = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: MAX_PERMITS - 4, max: MAX_PERMITS }), fc.integer({ min: 2 ** 30, max: 2 ** 31 }));

// [name, arbitrary of arguments, core(state, side, ...args), public(waker, side, ...args)].
const OPERATIONS = [
  ['markActive', fc.tuple(bit), (s, _, i) => native.markActive(s, i), (w, _, i) => w.markActive(i)],
  ['markActiveMask', fc.tuple(fc.bigInt({ min: 0n, max: (1n << 62n) - 1n })), (s, _, m) => native.markActiveMask(s, m), (w, _, m) => w.markActiveMask(m)],
  ['tryUnmark', fc.tuple(bit), (s, _, i) => native.tryUnmark(s, i), (w, _, i) => w.tryUnmark(i)],
  ['tryUnmarkIfEmpty', fc.tuple(bit, bit), (s, d, i, j) => native.tryUnmarkIfEmpty(s, i, d.words, j), (w, d, i, j) => w.tryUnmarkIfEmpty(i, d.words, j)],
  ['markYield', fc.tuple(), (s) => native.markYield(s), (w) => w.markYield()],
  ['tryUnmarkYield', fc.tuple(), (s) => native.tryUnmarkYield(s), (w) => w.tryUnmarkYield()],
  ['markTasks', fc.tuple(), (s) => native.markTasks(s), (w) => w.markTasks()],
  ['tryUnmarkTasks', fc.tuple(), (s) => native.tryUnmarkTasks(s), (w) => w.tryUnmarkTasks()],
  ['tryAcquire', fc.tuple(), (s) => native.tryAcquire(s), (w) => w.tryAcquire()],
  // Only with a permit there (both sides have the same count, checked every step): it returns at once.
  ['acquire', fc.tuple(), (s) => (native.permits(s) > 0 ? native.acquire(s) : 'none'), (w) => (w.permits() > 0 ? w.acquire() : 'none')],
  ['acquireTimeout(0)', fc.tuple(), (s) => native.acquireTimeout(s, 0), (w) => w.acquireTimeout(0)],
  ['release', fc.tuple(count), (s, _, n) => (native.release(s, n) ? 'applied' : 'refused'), (w, _, n) => (outcome(() => w.release(n)).error === 'RangeError' ? 'refused' : 'applied')],
  ['registerSleeper', fc.tuple(), (s) => native.registerSleeper(s), (w) => w.registerSleeper()],
  ['unregisterSleeper', fc.tuple(), (s) => native.unregisterSleeper(s), (w) => w.unregisterSleeper()],
  ['registerWorker', fc.tuple(), (s) => native.registerWorker(s), (w) => w.registerWorker()],
  ['unregisterWorker', fc.tuple(), (s) => native.unregisterWorker(s), (w) => w.unregisterWorker()],
  ['syncPartitionSummary', fc.tuple(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 64 })), (s, d, a, n) => native.syncPartitionSummary(s, a, a + n, d.leaves), (w, d, a, n) => w.syncPartitionSummary(a, a + n, d.leaves)],
  ['markPartitionLeafActive', fc.tuple(leaf), (s, _, i) => native.markPartitionLeafActive(s, i), (w, _, i) => w.markPartitionLeafActive(i)],
  ['clearPartitionLeaf', fc.tuple(leaf), (s, _, i) => native.clearPartitionLeaf(s, i), (w, _, i) => w.clearPartitionLeaf(i)],
  ['partitionLeafHasWork', fc.tuple(leaf), (s, _, i) => native.partitionLeafHasWork(s, i), (w, _, i) => w.partitionLeafHasWork(i)],
  ['summarySelect', fc.tuple(fc.integer({ min: 0, max: 63 })), (s, _, i) => native.summarySelect(s, i), (w, _, i) => w.summarySelect(i)],
  // What producers and consumers do to the words and leaves between calls, the same on both sides.
  ['store word', fc.tuple(bit, fc.constantFrom(0n, 1n, 1n << 63n)), (s, d, i, v) => Atomics.store(d.words, i, v), (w, d, i, v) => Atomics.store(d.words, i, v)],
  ['store leaf', fc.tuple(fc.integer({ min: 0, max: 79 }), fc.constantFrom(0n, 4n)), (s, d, i, v) => Atomics.store(d.leaves, i, v), (w, d, i, v) => Atomics.store(d.leaves, i, v)],
];

// Every read, on each side through its own path.
function reads(state, waker) {
  return {
    core: {
      status: native.status(state),
      summary: native.summary(state),
      permits: native.permits(state),
      sleepers: native.sleepers(state),
      workers: native.workerCount(state),
      partition: native.partitionSummary(state),
    },
    public: {
      status: waker.status(),
      summary: waker.snapshotSummary(),
      permits: waker.permits(),
      sleepers: waker.sleepers(),
      workers: waker.getWorkerCount(),
      partition: waker.partitionSummary(),
    },
  };
}

const step = fc.oneof(...OPERATIONS.map(([name, args]) => args.map((values) => ({ name, values }))));

test('the C++ core and the JS fast paths agree on every result and every word of the state', () => {
  fc.assert(
    fc.property(fc.array(step, { minLength: 1, maxLength: 80 }), (steps) => {
      const coreSide = side();
      const publicSide = side();
      const waker = new WorkerWaker();
      const publicState = new BigUint64Array(waker.buffer);
      const coreState = new BigUint64Array(new SharedArrayBuffer(native.layout.stateBytes));
      native.format(coreState);
      const trace = [];
      for (const { name, values } of steps) {
        const [, , core, viaPublic] = OPERATIONS.find(([candidate]) => candidate === name);
        trace.push(`${name}(${values.join(', ')})`);
        const coreResult = outcome(() => core(coreState, coreSide, ...values));
        const publicResult = outcome(() => viaPublic(waker, publicSide, ...values));
        expect({ trace, result: publicResult }).toEqual({ trace, result: coreResult });
        expect({ trace, words: publicState.join() }).toEqual({ trace, words: coreState.join() });
        const { core: coreReads, public: publicReads } = reads(coreState, waker);
        expect({ trace, reads: publicReads }).toEqual({ trace, reads: coreReads });
      }
    }),
    { numRuns: 400 },
  );
});

test('the core and the fast paths refuse the same releases at the cap', () => {
  // A deterministic walk to the cap, so that the edge cases run every time, not only when drawn.
  const waker = new WorkerWaker();
  const coreState = new BigUint64Array(new SharedArrayBuffer(native.layout.stateBytes));
  native.format(coreState);
  const publicState = new BigUint64Array(waker.buffer);
  for (const n of [MAX_PERMITS - 1, 2, 1, 1, 0, MAX_PERMITS]) {
    const core = native.release(coreState, n);
    const viaPublic = outcome(() => waker.release(n)).error === undefined;
    expect([n, viaPublic]).toEqual([n, core]);
    expect(publicState.join()).toBe(coreState.join());
  }
  expect(waker.permits()).toBe(MAX_PERMITS);
  // A mark at the cap saturates on both sides.
  native.markActive(coreState, 3);
  waker.markActive(3);
  expect(publicState.join()).toBe(coreState.join());
  expect(waker.permits()).toBe(MAX_PERMITS);
});
