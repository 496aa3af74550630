'use strict';
// Generated from the API table (lib/surface.ts): the table names exactly the public members of each
// class; every argument refuses every wrong type (TypeError ERR_INVALID_ARG_TYPE naming it) and
// every value out of its range (RangeError ERR_OUT_OF_RANGE naming the range), leaving the state
// untouched; every member refuses a wrong receiver (ERR_INVALID_THIS); and a native export of the
// same name guards the same ranges. The pool's options the same way: each refused option throws
// (or, for run(), rejects) naming it, with no worker started and the pool untouched, and the edges
// of each range are accepted. docs-contract.test.js holds the table against docs/contract.md and
// docs/pool.md.
const path = require('node:path');
const { createHook } = require('node:async_hooks');
const { pathToFileURL } = require('node:url');
const { WorkerWaker, SignalWords } = require('..');
const { Pool } = require('../dist/pool');
const {
  SURFACE,
  isFixedLimit,
  validArgs,
  refusedCalls,
  refusedConstructorCalls,
  boundaryCalls,
  refusedOptions,
  acceptedOptions,
  withOption,
  refusedOptionsObjects,
} = require('./support/surface-cases');
const { within } = require('./support/pool');

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

/** A member's key on the prototype: a well-known symbol is named as its property of Symbol ('Symbol.asyncDispose'). */
const memberKey = (name) => (name.startsWith('Symbol.') ? Symbol[name.slice('Symbol.'.length)] : name);
const WELL_KNOWN = new Map(Object.getOwnPropertyNames(Symbol).filter((name) => typeof Symbol[name] === 'symbol').map((name) => [Symbol[name], `Symbol.${name}`]));

function expectTableNamesPrototype(className, Class) {
  // Other symbols (util.inspect.custom) are Node's hooks, not members a user calls.
  const ownNames = Reflect.ownKeys(Class.prototype)
    .filter((key) => typeof key === 'string' || WELL_KNOWN.has(key))
    .map((key) => (typeof key === 'string' ? key : WELL_KNOWN.get(key)))
    .sort();
  expect(SURFACE[className].map((member) => member.name).sort()).toEqual(ownNames);
  for (const member of SURFACE[className]) {
    const descriptor = Object.getOwnPropertyDescriptor(Class.prototype, memberKey(member.name));
    const kind = member.kind === 'getter' ? typeof descriptor.get : typeof descriptor.value;
    expect([member.name, kind]).toEqual([member.name, 'function']);
    if (member.kind === 'method') {
      // A default value (wordIndex = bitIndex) ends a function's length; `?` does not.
      const { length } = descriptor.value;
      expect([member.name, length >= member.args.filter((a) => !a.optional).length && length <= member.args.length]).toEqual([member.name, true]);
    }
  }
}

/** Calls `fn` as `receiver.fn(...args)` and returns what it threw (undefined when it did not). */
function thrownBy(fn, receiver, args) {
  try {
    fn.call(receiver, ...args);
  } catch (error) {
    return error;
  }
  return undefined;
}

/** Each wrong receiver makes `fn` throw ERR_INVALID_THIS naming `className.prototype.name`. */
function expectReceiversRefused(className, name, fn, args, receivers) {
  const message = new RegExp(`^${className}\\.prototype\\.${name.replace('.', '\\.')} was called on an object that is not a ${className}$`);
  receivers.forEach((receiver, i) => {
    const caught = thrownBy(fn, receiver, args);
    expect(caught).toBeInstanceOf(TypeError);
    expect([i, caught.code, caught.message]).toEqual([i, 'ERR_INVALID_THIS', expect.stringMatching(message)]);
  });
}

/** Receivers that are not instances of Class; primitives included: they get our error (with its code), not V8's own. */
const wrongReceivers = (Class, instance) => [{}, null, undefined, 1, 'x', 1n, Symbol('s'), true, () => {}, Object.create(Class.prototype), Class.prototype, new Uint8Array(8), new Proxy(instance, {})];

// The cases are generated once, with these arrays; each test runs on a fresh setUp().
const FIXTURES = setUp().fixtures;
const freshArrays = (args, fixtures) =>
  args.map((arg) => (arg === FIXTURES.words ? fixtures.words : arg === FIXTURES.leafWords ? fixtures.leafWords : arg));
const describeValue = (value) => {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value);
  return typeof value === 'object' && value ? value.constructor?.name ?? 'object' : String(value);
};

describe.each(Object.keys(CLASSES))('%s', (className) => {
  const Class = CLASSES[className];

  test('the table names every public member of the prototype, and only those', () => {
    expectTableNamesPrototype(className, Class);
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

  const members = SURFACE[className].filter((member) => member.kind !== 'constructor').map((member) => [member.name, member]);
  test.each(members)('%s refuses a wrong receiver with ERR_INVALID_THIS', (name, member) => {
    const descriptor = Object.getOwnPropertyDescriptor(Class.prototype, name);
    const fn = member.kind === 'getter' ? descriptor.get : descriptor.value;
    const args = member.args.map((arg) => validArgs(member, FIXTURES)[arg.name]);
    expectReceiversRefused(className, name, fn, args, wrongReceivers(Class, setUp().instances[className]));
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
  test.each(cases)('native %s', (_, { member, args, position, ErrorClass }) => {
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
    // The addon's message names the argument, and a fixed integer range as the table states it
    // (the addon generates those checks from the core's argument types: this holds the two
    // together). A range that depends on other arguments has a hand-written check of its own.
    const spec = SURFACE.WorkerWaker.find((m) => m.name === member).args[position];
    const fixedRange = spec.type !== 'integer' || (isFixedLimit(spec.min) && isFixedLimit(spec.max));
    if (fixedRange) expect(caught.message).toContain(`"${spec.name}"`);
    if (fixedRange && ErrorClass === RangeError && spec.type === 'integer') {
      expect(caught.message).toContain(`It must be an integer from ${spec.min} to ${spec.max}.`);
    }
    expect(snapshot()).toBe(before);
  });
});

describe('Pool', () => {
  const TASKS = path.join(__dirname, 'fixtures', 'pool-tasks.js');
  const constructorSpec = SURFACE.Pool.find((member) => member.kind === 'constructor');
  const runSpec = SURFACE.Pool.find((member) => member.name === 'run');
  const [poolOptionsArg] = constructorSpec.args;
  const runOptionsArg = runSpec.args.find((arg) => arg.name === 'options');

  const pools = new Set();
  afterEach(async () => {
    await Promise.all([...pools].map((pool) => pool.destroy()));
    pools.clear();
  });

  // Workers started by `construct()`, counted as Node creates them (an async resource 'WORKER'):
  // { pool, error, workers }.
  function construct(options) {
    let workers = 0;
    const hook = createHook({
      init(_, type) {
        if (type === 'WORKER') workers++;
      },
    }).enable();
    try {
      const pool = new Pool(options);
      pools.add(pool);
      return { pool, workers };
    } catch (error) {
      return { error, workers };
    } finally {
      hook.disable();
    }
  }

  // One worker for each option tested, but for the thread counts: each with the other count at
  // the edge that lets its whole range through (threads may not come with either).
  const COMPANIONS = { threads: {}, minThreads: { maxThreads: 64 }, maxThreads: { minThreads: 1 } };
  const baseFor = (optionPath) => ({ filename: TASKS, ...(COMPANIONS[optionPath[0]] ?? { threads: 1 }) });

  test('the table names every public member of the prototype, and only those', () => {
    expectTableNamesPrototype('Pool', Pool);
  });

  const refusedNew = refusedOptions(poolOptionsArg.fields).map((call) => [`options.${call.option} = ${describeValue(call.value)}: ${call.ErrorClass.name}`, call]);
  test.each(refusedNew)('new Pool with %s naming the option; no worker starts', (_, { path: optionPath, value, ErrorClass, code, message }) => {
    const { error, workers } = construct(withOption(baseFor(optionPath), optionPath, value));
    expect(error).toBeInstanceOf(ErrorClass);
    expect([error.code, error.message]).toEqual([code, expect.stringMatching(message)]);
    expect(workers).toBe(0);
  });

  test.each(refusedOptionsObjects(poolOptionsArg).map((call) => [describeValue(call.value), call]))('new Pool(%s) throws a TypeError naming "options"; no worker starts', (_, { value, message }) => {
    const { error, workers } = construct(value);
    expect(error).toBeInstanceOf(TypeError);
    expect([error.code, error.message]).toEqual(['ERR_INVALID_ARG_TYPE', expect.stringMatching(message)]);
    expect(workers).toBe(0);
  });

  test('Pool called without new throws a TypeError', () => {
    expect(() => Pool({ filename: TASKS, threads: 1 })).toThrow(TypeError);
  });

  const filenames = [TASKS, pathToFileURL(TASKS).href, pathToFileURL(TASKS)];
  const acceptedNew = acceptedOptions(poolOptionsArg.fields, { filename: filenames }).map((call) => [`options.${call.option} = ${describeValue(call.value)}`, call]);
  test.each(acceptedNew)('new Pool with %s is accepted, and the pool runs a task', async (_, { path: optionPath, value }) => {
    const { pool, error } = construct(withOption(baseFor(optionPath), optionPath, value));
    expect(error).toBeUndefined();
    expect(await within(20000, pool.run(5, { name: 'echo' }), 'a task')).toBe(5);
  });

  describe('run()', () => {
    let pool;
    beforeAll(() => {
      pool = new Pool({ filename: TASKS, threads: 1 });
    });
    afterAll(() => pool.destroy());

    const expectUntouched = async (before) => {
      expect([pool.queueSize, pool.started, pool.completed]).toEqual(before);
      expect(await within(10000, pool.run(3, { name: 'echo' }), 'a task after')).toBe(3);
    };
    const counts = () => [pool.queueSize, pool.started, pool.completed];

    const refusedRun = refusedOptions(runOptionsArg.fields).map((call) => [`options.${call.option} = ${describeValue(call.value)}`, call]);
    test.each(refusedRun)('run(arg, %s) rejects with a TypeError naming the option; the pool is untouched', async (_, { path: optionPath, value, ErrorClass, code, message }) => {
      const before = counts();
      const error = await pool.run(1, withOption({ name: 'echo' }, optionPath, value)).then(() => undefined, (e) => e);
      expect(error).toBeInstanceOf(ErrorClass);
      expect([error.code, error.message]).toEqual([code, expect.stringMatching(message)]);
      await expectUntouched(before);
    });

    test.each(refusedOptionsObjects(runOptionsArg).map((call) => [describeValue(call.value), call]))('run(arg, %s) rejects with a TypeError naming "options"; the pool is untouched', async (_, { value, message }) => {
      const before = counts();
      const error = await pool.run(1, value).then(() => undefined, (e) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect([error.code, error.message]).toEqual(['ERR_INVALID_ARG_TYPE', expect.stringMatching(message)]);
      await expectUntouched(before);
    });

    const acceptedRun = acceptedOptions(runOptionsArg.fields, { name: ['echo'] }).map((call) => [`options.${call.option} = ${describeValue(call.value)}`, call]);
    test.each(acceptedRun)('run(arg, %s) is accepted', async (_, { path: optionPath, value }) => {
      expect(await within(10000, pool.run(7, withOption({ name: 'echo' }, optionPath, value)), 'the task')).toBe(7);
    });

    const members = SURFACE.Pool.filter((member) => member.kind !== 'constructor').map((member) => [member.name, member]);
    test.each(members)('%s refuses a wrong receiver with ERR_INVALID_THIS, synchronously', (name, member) => {
      const descriptor = Object.getOwnPropertyDescriptor(Pool.prototype, memberKey(name));
      const fn = member.kind === 'getter' ? descriptor.get : descriptor.value;
      const args = member.args.map((arg) => (arg.name === 'options' ? { name: 'echo' } : 1));
      expectReceiversRefused('Pool', name, fn, args, wrongReceivers(Pool, pool));
    });
  });
});

