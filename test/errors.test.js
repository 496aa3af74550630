'use strict';
// Bad input: every argument of every method is checked, with a TypeError or RangeError whose
// message names the argument, the allowed range and the value, and a rejected call leaves the
// state untouched. The addon guards its arguments too, since it can be loaded directly.
const path = require('node:path');
const { WorkerWaker } = require('..');

function snapshot(waker) {
  return [waker.status(), waker.permits(), waker.sleepers(), waker.getWorkerCount(), waker.partitionSummary()];
}

// A waker with some state, so that "unchanged" means something.
function busyWaker() {
  const waker = new WorkerWaker();
  waker.markActiveMask(0b1011n);
  waker.markPartitionLeafActive(2);
  waker.registerWorker();
  waker.registerSleeper();
  return waker;
}

const words = new BigUint64Array(62);
const leaves = new BigUint64Array(64);

// The ranges, the codes and the untouched state of every argument are generated from the API table
// (surface.test.js). These cases hold what the table does not say: how the value received reads in
// the message, and the permit cap of release. [method, args, error class, message pattern]
const CASES = [
  ['markActive', ['1'], TypeError, /"index" argument must be of type number\. Received type string \("1"\)$/],
  ['markActive', [undefined], TypeError, /"index" argument must be of type number\. Received undefined$/],
  ['markActive', [1n], TypeError, /"index".*Received 1n$/],
  ['markActive', [62], RangeError, /"index" is out of range\. It must be an integer from 0 to 61\. Received 62$/],
  ['markActive', [-1], RangeError, /from 0 to 61\. Received -1$/],
  ['markActive', [1.5], RangeError, /Received 1\.5$/],
  ['markActive', [NaN], RangeError, /Received NaN$/],
  ['markActiveMask', [3], TypeError, /"mask" argument must be of type bigint\. Received 3$/],
  ['markActiveMask', [1n << 62n], RangeError, /"mask" is out of range\. It must be >= 0n and < 2n \*\* 62n\. Received 4611686018427387904n$/],
  ['markActiveMask', [-1n], RangeError, /Received -1n$/],
  ['tryUnmark', [null], TypeError, /"bitIndex".*Received null$/],
  ['tryUnmarkIfEmpty', [0, [0n]], TypeError, /"words" argument must be an instance of BigUint64Array\. Received an instance of Array$/],
  ['tryUnmarkIfEmpty', [0, new BigInt64Array(62)], TypeError, /Received an instance of BigInt64Array$/],
  ['tryUnmarkIfEmpty', [0, new BigUint64Array(0)], RangeError, /"words\.length".*Received 0$/],
  ['summarySelect', [], TypeError, /"nearestToIndex".*Received undefined$/],
  ['acquireTimeout', ['5'], RangeError, /"timeoutMs".*Received type string \("5"\)$/],
  ['acquireTimeout', [5n], RangeError, /"timeoutMs".*Received 5n$/],
  ['release', [2 ** 53], RangeError, /Received 9007199254740992$/],
  ['release', [Symbol('s')], TypeError, /Received type symbol \(Symbol\(s\)\)$/],
  ['release', [function named() {}], TypeError, /Received function named$/],
  // A safe integer, but permits would pass their cap (busyWaker holds 4: three bits, the partition flag).
  ['release', [2 ** 31 - 4], RangeError, /"n" is out of range\. It must be at most 2147483643 \(permits are capped at 2 \*\* 31 - 1 = 2147483647; 4 are there\)\. Received 2147483644/],
  ['syncPartitionSummary', [0, 1, new Proxy([], {})], TypeError, /"leafWords".*Received an instance of Proxy$/],
  ['markPartitionLeafActive', [{}], TypeError, /"localLeafIdx".*Received an instance of Object$/],
  ['markPartitionLeafActive', [Object.create(null)], TypeError, /"localLeafIdx".*Received an instance of Object$/],
];

describe.each(CASES)('%s(%p)', (method, args, ErrorClass, message) => {
  test(`throws ${ErrorClass.name} and leaves the state untouched`, () => {
    const waker = busyWaker();
    const before = snapshot(waker);
    let caught;
    try {
      waker[method](...args);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ErrorClass);
    expect(caught.message).toMatch(message);
    expect(caught.code).toBe(ErrorClass === TypeError ? 'ERR_INVALID_ARG_TYPE' : 'ERR_OUT_OF_RANGE');
    expect(snapshot(waker)).toEqual(before);
  });
});

test('the constructor names the buffer argument', () => {
  expect(() => new WorkerWaker(new ArrayBuffer(1024))).toThrow(/"buffer" argument must be a SharedArrayBuffer/);
  expect(() => new WorkerWaker(new SharedArrayBuffer(8))).toThrow(/"buffer" argument must be at least \d+ bytes/);
  expect(() => new WorkerWaker('x')).toThrow(TypeError);
});

test('a method on state whose header was overwritten throws a TypeError that says so, naming no argument', () => {
  const waker = new WorkerWaker();
  const words = new BigUint64Array(waker.buffer);
  Atomics.store(words, 0, 0x1234n); // something scribbles over the header
  const calls = { acquire: () => waker.acquire(), acquireTimeout: () => waker.acquireTimeout(0), markYield: () => waker.markYield(), registerWorker: () => waker.registerWorker() };
  for (const [name, call] of Object.entries(calls)) {
    let caught;
    try {
      call();
    } catch (error) {
      caught = error;
    }
    // Made by the addon: another realm's TypeError under Jest, so its name is compared.
    expect([name, caught && caught.name, caught && caught.message]).toEqual([
      name,
      'TypeError',
      "The waker's shared state is no longer valid worker-waker state: its header (word 0) was overwritten",
    ]);
  }
});

describe('the addon guards its arguments when loaded directly', () => {
  // Errors made by the addon belong to the outer realm under Jest: compare .name, not classes.
  // The same .node the package loads (build/Release, or a prebuild under PREBUILDS_ONLY=1).
  const binding = require('node-gyp-build')(path.join(__dirname, '..'));
  const waker = new WorkerWaker();
  const state = new BigUint64Array(waker.buffer);
  const hostile = [undefined, null, 1, 'x', {}, [], new BigUint64Array(4), new BigUint64Array(96), new Float64Array(96), state.subarray(1)];

  // format() accepts unformatted state by design; it is checked on its own below. The async
  // exports but asyncAcquire take no state: they act on this thread's pending calls (by id, or on
  // its loop spin), so that a scribbled state cannot make a timeout or an abort throw.
  const noState = ['waitQueues', 'isState', 'format', 'asyncInit', 'asyncCancel', 'asyncRef', 'asyncPoll', 'asyncSpin', 'asyncPending', 'asyncCancelsGivingBackGrant', 'asyncSpinStats', 'asyncSpinReset'];
  const functions = Object.keys(binding).filter((key) => typeof binding[key] === 'function' && !noState.includes(key));

  test('format refuses non-state arrays and state that is already formatted', () => {
    for (const value of [undefined, 1, {}, new BigUint64Array(4), new Float64Array(96), state]) {
      let caught;
      try {
        binding.format(value);
      } catch (error) {
        caught = error;
      }
      expect(caught && caught.name).toBe('TypeError');
    }
    expect(binding.isState(state)).toBe(true);
  });

  test.each(functions)('%s rejects anything but formatted state as its first argument', (name) => {
    for (const value of hostile) {
      let caught;
      try {
        binding[name](value, 1, 1, 1);
      } catch (error) {
        caught = error;
      }
      expect(caught && caught.name).toBe('TypeError');
    }
  });
});
