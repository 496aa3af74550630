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

// [method, args, error class, message pattern]
const CASES = [
  ['markActive', ['1'], TypeError, /"index" argument must be of type number\. Received type string/],
  ['markActive', [undefined], TypeError, /"index" argument must be of type number\. Received undefined/],
  ['markActive', [1n], TypeError, /"index".*Received 1n/],
  ['markActive', [62], RangeError, /"index" is out of range\. It must be an integer from 0 to 61\. Received 62/],
  ['markActive', [-1], RangeError, /from 0 to 61\. Received -1/],
  ['markActive', [1.5], RangeError, /Received 1\.5/],
  ['markActive', [NaN], RangeError, /Received NaN/],
  ['markActiveMask', [3], TypeError, /"mask" argument must be of type bigint\. Received 3/],
  ['markActiveMask', [1n << 62n], RangeError, /"mask" is out of range\. It must be >= 0n and < 2n \*\* 62n\. Received 4611686018427387904n/],
  ['markActiveMask', [-1n], RangeError, /Received -1n/],
  ['tryUnmark', [62], RangeError, /"bitIndex".*0 to 61.*Received 62/],
  ['tryUnmark', [null], TypeError, /"bitIndex".*Received null/],
  ['tryUnmarkIfEmpty', [0, [0n]], TypeError, /"words" argument must be an instance of BigUint64Array\. Received an instance of Array/],
  ['tryUnmarkIfEmpty', [0, new BigInt64Array(62)], TypeError, /"words"/],
  ['tryUnmarkIfEmpty', [0, new BigUint64Array(0)], RangeError, /"words\.length"/],
  ['tryUnmarkIfEmpty', [62, words], RangeError, /"bitIndex"/],
  ['tryUnmarkIfEmpty', [1, words, 62], RangeError, /"wordIndex" is out of range\. It must be an integer from 0 to 61\. Received 62/],
  ['tryUnmarkIfEmpty', [1, words, '1'], TypeError, /"wordIndex"/],
  ['summarySelect', [64], RangeError, /"nearestToIndex".*0 to 63.*Received 64/],
  ['summarySelect', [], TypeError, /"nearestToIndex".*Received undefined/],
  ['acquireTimeout', [-1], RangeError, /"timeoutMs" is out of range\. It must be a number >= 0 \(Infinity allowed\)\. Received -1/],
  ['acquireTimeout', [NaN], RangeError, /"timeoutMs".*Received NaN/],
  // The contract: anything but a number >= 0 is a RangeError, a non-number too.
  ['acquireTimeout', [undefined], RangeError, /"timeoutMs" is out of range\. It must be a number >= 0 \(Infinity allowed\)\. Received undefined/],
  ['acquireTimeout', ['5'], RangeError, /"timeoutMs".*Received type string \("5"\)/],
  ['acquireTimeout', [5n], RangeError, /"timeoutMs".*Received 5n/],
  ['release', [-1], RangeError, /"n" is out of range\. It must be an integer from 0 to 9007199254740991\. Received -1/],
  ['release', [2 ** 53], RangeError, /Received 9007199254740992/],
  ['release', [0.5], RangeError, /"n"/],
  ['release', ['1'], TypeError, /"n" argument must be of type number/],
  ['release', [1n], TypeError, /"n"/],
  // A safe integer, but permits would pass their cap (busyWaker holds 4: three bits, the partition flag).
  ['release', [2 ** 31 - 4], RangeError, /"n" is out of range\. It must be at most 2147483643 \(permits are capped at 2 \*\* 31 - 1 = 2147483647; 4 are there\)\. Received 2147483644/],
  ['syncPartitionSummary', [0, 1, [0n]], TypeError, /"leafWords" argument must be an instance of BigUint64Array/],
  ['syncPartitionSummary', [65, 65, leaves], RangeError, /"start" is out of range\. It must be an integer from 0 to 64\. Received 65/],
  ['syncPartitionSummary', [2, 1, leaves], RangeError, /"end" is out of range\. It must be an integer from 2 to 64\. Received 1/],
  ['syncPartitionSummary', [0, 65, new BigUint64Array(100)], RangeError, /"end".*from 0 to 64\. Received 65/],
  ['syncPartitionSummary', ['0', 1, leaves], TypeError, /"start"/],
  ['partitionLeafHasWork', [64], RangeError, /"localLeafIdx".*0 to 63.*Received 64/],
  ['markPartitionLeafActive', [-1], RangeError, /"localLeafIdx"/],
  ['markPartitionLeafActive', [{}], TypeError, /"localLeafIdx".*Received an instance of Object/],
  ['clearPartitionLeaf', [64], RangeError, /"localLeafIdx"/],
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

const METHODS = Object.getOwnPropertyNames(WorkerWaker.prototype).filter((name) => name !== 'constructor');

test.each(METHODS)('%s with a wrong receiver throws TypeError', (name) => {
  const descriptor = Object.getOwnPropertyDescriptor(WorkerWaker.prototype, name);
  const fn = descriptor.get ?? descriptor.value;
  const message = new RegExp(`^WorkerWaker\\.prototype\\.${name} was called on an object that is not a WorkerWaker$`);
  // Primitives included: they get our error (with its code), not V8's own.
  const receivers = [{}, null, undefined, 1, 'x', 1n, Symbol('s'), true, () => {}, Object.create(WorkerWaker.prototype), new Uint8Array(8)];
  receivers.forEach((receiver, i) => {
    let caught;
    try {
      fn.call(receiver, 1);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TypeError);
    expect([i, caught.code, caught.message]).toEqual([i, 'ERR_INVALID_THIS', expect.stringMatching(message)]);
  });
});

test('the constructor names the buffer argument', () => {
  expect(() => new WorkerWaker(new ArrayBuffer(1024))).toThrow(/"buffer" argument must be a SharedArrayBuffer/);
  expect(() => new WorkerWaker(new SharedArrayBuffer(8))).toThrow(/"buffer" argument must be at least \d+ bytes/);
  expect(() => new WorkerWaker('x')).toThrow(TypeError);
});

describe('the addon guards its arguments when loaded directly', () => {
  // Errors made by the addon belong to the outer realm under Jest: compare .name, not classes.
  // The same .node the package loads (build/Release, or a prebuild under PREBUILDS_ONLY=1).
  const binding = require('node-gyp-build')(path.join(__dirname, '..'));
  const waker = new WorkerWaker();
  const state = new BigUint64Array(waker.buffer);
  const hostile = [undefined, null, 1, 'x', {}, [], new BigUint64Array(4), new BigUint64Array(96), new Float64Array(96), state.subarray(1)];

  // format() accepts unformatted state by design; it is checked on its own below. The async
  // exports but asyncAcquire take no state: they act on this thread's pending calls, by id, so
  // that a scribbled state cannot make a timeout or an abort throw.
  const noState = ['waitQueues', 'isState', 'format', 'asyncInit', 'asyncCancel', 'asyncRef', 'asyncPoll', 'asyncPending', 'asyncCancelsGivingBackGrant'];
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

  test('index, count, mask and array arguments are range-checked natively', () => {
    const cases = [
      ['markActive', [62]], ['markActive', [-1]], ['markActive', [0.5]], ['tryUnmark', [99]],
      ['markActiveMask', [1n << 62n]], ['markActiveMask', [-1n]], ['summarySelect', [64]],
      ['acquireTimeout', [-1]], ['acquireTimeout', [NaN]], ['acquireTimeout', ['5']], ['acquireTimeout', [undefined]],
      ['release', [-1]], ['release', [2 ** 53]],
      ['partitionLeafHasWork', [64]], ['markPartitionLeafActive', [64]], ['clearPartitionLeaf', [-1]],
      ['syncPartitionSummary', [0, 65, new BigUint64Array(100)]], ['syncPartitionSummary', [3, 2, new BigUint64Array(8)]],
      ['syncPartitionSummary', [0, 9, new BigUint64Array(8)]], ['tryUnmarkIfEmpty', [5, new BigUint64Array(2)]],
      ['tryUnmarkIfEmpty', [1, new BigUint64Array(0)]], ['tryUnmarkIfEmpty', [1, new BigUint64Array(4), 4]],
    ];
    const before = binding.status(state);
    for (const [name, args] of cases) {
      let caught;
      try {
        binding[name](state, ...args);
      } catch (error) {
        caught = error;
      }
      expect([name, caught && caught.name]).toEqual([name, 'RangeError']);
    }
    for (const [name, args] of [['markActive', ['1']], ['markActiveMask', [1]], ['tryUnmarkIfEmpty', [1, [0n]]], ['release', [1n]]]) {
      let caught;
      try {
        binding[name](state, ...args);
      } catch (error) {
        caught = error;
      }
      expect([name, caught && caught.name]).toEqual([name, 'TypeError']);
    }
    expect(binding.status(state)).toBe(before);
    expect(binding.permits(state)).toBe(0);
  });
});
