'use strict';
// Generated from the API table (lib/surface.ts): the table names exactly the public members of each
// class; every argument refuses every wrong type (TypeError ERR_INVALID_ARG_TYPE naming it) and
// every value out of its range (RangeError ERR_OUT_OF_RANGE naming the range), leaving the state
// untouched; every member refuses a wrong receiver (ERR_INVALID_THIS); and a native export of the
// same name guards the same ranges. docs-contract.test.js holds the table against docs/contract.md.
const path = require('node:path');
const { WorkerWaker, SignalWords } = require('..');
const { SURFACE, validArgs, refusedCalls, refusedConstructorCalls, boundaryCalls } = require('./support/surface-cases');

const CLASSES = { WorkerWaker, SignalWords };

// A waker and words with some state, so that "unchanged" means something; the arrays passed as
// arguments are part of what must not change.
function setUp() {
  const waker = new WorkerWaker();
  waker.markActiveMask(0b1011n);
  waker.markPartitionLeafActive(2);
  waker.registerWorker();
  waker.registerSleeper();
  waker.release(1); // a permit for a valid acquire(), so that it returns at once
  const signals = new SignalWords(waker);
  signals.set(200);
  const words = new BigUint64Array(new SharedArrayBuffer(62 * 8));
  words[5] = 1n;
  const leafWords = new BigUint64Array(100);
  leafWords[3] = 8n;
  const instances = { WorkerWaker: waker, SignalWords: signals };
  const snapshot = () =>
    [waker.buffer, signals.buffer, words.buffer, leafWords.buffer].map((buffer) => new BigUint64Array(buffer).join()).join(' | ');
  return { instances, fixtures: { words, leafWords }, snapshot };
}

// The cases are generated once, with these arrays; each test runs on a fresh setUp().
const FIXTURES = setUp().fixtures;
const freshArrays = (args, fixtures) =>
  args.map((arg) => (arg === FIXTURES.words ? fixtures.words : arg === FIXTURES.leafWords ? fixtures.leafWords : arg));
const describeValue = (value) => (typeof value === 'bigint' ? `${value}n` : typeof value === 'object' && value ? value.constructor?.name ?? 'object' : String(value));

describe.each(Object.keys(CLASSES))('%s', (className) => {
  const Class = CLASSES[className];

  test('the table names every public member of the prototype, and only those', () => {
    const ownNames = Object.getOwnPropertyNames(Class.prototype).sort();
    expect(SURFACE[className].map((member) => member.name).sort()).toEqual(ownNames);
    for (const member of SURFACE[className]) {
      const descriptor = Object.getOwnPropertyDescriptor(Class.prototype, member.name);
      const kind = member.kind === 'getter' ? typeof descriptor.get : typeof descriptor.value;
      expect([member.name, kind]).toEqual([member.name, 'function']);
      if (member.kind === 'method') {
        // A default value (wordIndex = bitIndex) ends a function's length; `?` does not.
        const { length } = descriptor.value;
        expect([member.name, length >= member.args.filter((a) => !a.optional).length && length <= member.args.length]).toEqual([member.name, true]);
      }
    }
  });

  const refused = refusedCalls(className, FIXTURES).map((call) => [
    `${call.member} argument ${call.position} = ${describeValue(call.value)}: ${call.ErrorClass.name}`,
    call,
  ]);
  test.each(refused)('%s, state unchanged', (_, { member, args, ErrorClass, code, message }) => {
    const { instances, fixtures, snapshot } = setUp();
    const callArgs = freshArrays(args, fixtures);
    const before = snapshot();
    let caught;
    try {
      instances[className][member](...callArgs);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ErrorClass);
    expect(caught.code).toBe(code);
    expect(caught.message).toMatch(message);
    expect(snapshot()).toBe(before);
  });

  const boundaries = boundaryCalls(className, FIXTURES)
    // The highest n passes the permit cap: refused by the cap (tested in errors.test.js), not the range.
    .filter((call) => !(call.member === 'release' && call.value === Number.MAX_SAFE_INTEGER))
    .map((call) => [`${call.member} argument ${call.position} = ${call.value}`, call]);
  test.each(boundaries)('%s is accepted', (_, { member, args }) => {
    const { instances, fixtures } = setUp();
    const callArgs = freshArrays(args, fixtures);
    expect(() => instances[className][member](...callArgs)).not.toThrow();
  });

  // Primitives included: they get our error (with its code), not V8's own.
  const receivers = () => [{}, null, undefined, 1, 'x', 1n, Symbol('s'), true, () => {}, Object.create(Class.prototype), Class.prototype, new Uint8Array(8), new Proxy(setUp().instances[className], {})];
  const members = SURFACE[className].filter((member) => member.kind !== 'constructor').map((member) => [member.name, member]);
  test.each(members)('%s refuses a wrong receiver with ERR_INVALID_THIS', (name, member) => {
    const descriptor = Object.getOwnPropertyDescriptor(Class.prototype, name);
    const fn = member.kind === 'getter' ? descriptor.get : descriptor.value;
    const args = member.args.map((arg) => validArgs(member, FIXTURES)[arg.name]);
    const message = new RegExp(`^${className}\\.prototype\\.${name} was called on an object that is not a ${className}$`);
    receivers().forEach((receiver, i) => {
      let caught;
      try {
        fn.call(receiver, ...args);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(TypeError);
      expect([i, caught.code, caught.message]).toEqual([i, 'ERR_INVALID_THIS', expect.stringMatching(message)]);
    });
  });

  test('the constructor refuses a wrong type for each argument, naming it, and a call without new', () => {
    const { instances } = setUp();
    const valid = { waker: instances.WorkerWaker, buffer: undefined };
    const refusedByArg = refusedConstructorCalls(className, valid);
    expect(refusedByArg.length).toBeGreaterThan(0);
    for (const { args, message } of refusedByArg) {
      let caught;
      try {
        new Class(...args);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(TypeError);
      expect(caught.code).toBe('ERR_INVALID_ARG_TYPE');
      expect(caught.message).toMatch(message);
    }
    expect(() => Class(valid.waker)).toThrow(TypeError);
  });
});

describe('the addon guards the same ranges when loaded directly', () => {
  // An export named like a method takes the method's arguments after the state. Errors made by the
  // addon belong to the outer realm under Jest: compare .name, not classes.
  // The release build (the same .node the package loads: build/Release, or a prebuild under
  // PREBUILDS_ONLY=1) for its exports; the test build for the C++ core's own operations, which only it has.
  const released = require('node-gyp-build')(path.join(__dirname, '..'));
  const testBuild = require('./support/test-addon');
  const addonFor = (member) => (member in released ? released : testBuild);
  const cases = refusedCalls('WorkerWaker', FIXTURES)
    .filter((call) => SURFACE.WorkerWaker.find((member) => member.name === call.member).native === call.member)
    .map((call) => [`${call.member} argument ${call.position} = ${describeValue(call.value)}: ${call.ErrorClass.name}`, call]);
  test.each(cases)('native %s', (_, { member, args, ErrorClass }) => {
    const { instances, fixtures, snapshot } = setUp();
    const state = new BigUint64Array(instances.WorkerWaker.buffer);
    const callArgs = freshArrays(args, fixtures);
    const before = snapshot();
    let caught;
    try {
      addonFor(member)[member](state, ...callArgs);
    } catch (error) {
      caught = error;
    }
    expect(caught && caught.name).toBe(ErrorClass.name);
    expect(snapshot()).toBe(before);
  });
});
