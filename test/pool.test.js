'use strict';
// worker-waker/pool: results, payload kinds, errors in the caller's realm, abort, shutdown,
// backpressure, observability, idle workers that keep their event loop, many pools and a pool in
// a worker, bad options. Crashes: test/pool-crash.test.js; the fast path against structuredClone:
// test/pool-payload.test.js.
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { execFile } = require('node:child_process');
const { getEventListeners } = require('node:events');
const { Pool, AbortError } = require('worker-waker/pool');
const { AbortError: RootAbortError } = require('worker-waker');
const mix = require('../examples/pool/tasks');
const { within } = require('./support/pool');

const TASKS = path.join(__dirname, 'fixtures', 'pool-tasks.js');
const ESM_TASKS = path.join(__dirname, 'fixtures', 'pool-esm-task.mjs');
const CHILD = path.join(__dirname, 'fixtures', 'pool-child.js');

const pools = new Set();
function makePool(options) {
  const pool = new Pool({ filename: TASKS, threads: 2, ...options });
  pools.add(pool);
  return pool;
}
afterEach(async () => {
  await Promise.all([...pools].map((pool) => pool.destroy()));
  pools.clear();
});

const settle = (promise) => promise.then((value) => ({ value }), (error) => ({ error }));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 5 ms until it returns true or `ms` pass; returns its last answer. */
async function eventually(ms, check) {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await sleep(5);
  return check();
}

test('every task runs once with its own result; close() then refuses new tasks', async () => {
  const pool = makePool();
  const N = 20000;
  const results = await within(15000, Promise.all(Array.from({ length: N }, (_, x) => pool.run(x))), 'the run');
  expect(results.filter((r, x) => r !== mix(x)).length).toBe(0);
  await within(5000, pool.close(), 'close()');
  expect(pool.completed).toBe(N);
  expect(pool.started).toBe(N); // a task started twice would show here
  await expect(pool.run(1)).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED', message: 'The pool is closed' });
});

test('an idle pool publishes a task within run(): a worker starts it while the caller\'s tick goes on', async () => {
  const runs = new Int32Array(new SharedArrayBuffer(8));
  const pool = makePool({ threads: 1, workerData: { runs: runs.buffer } });
  await pool.run({ x: 1 }, { name: 'count' }); // the worker is loaded; nothing is in flight
  const result = pool.run({ x: 0 }, { name: 'count' });
  // Still in run()'s tick: a task published only at the end of the tick could not start here.
  const deadline = Date.now() + 10000;
  while (Atomics.load(runs, 0) === 0 && Date.now() < deadline);
  expect(Atomics.load(runs, 0)).toBe(1);
  await expect(result).resolves.toBe(0);
  expect(Array.from(runs)).toEqual([1, 1]);
});

test('a task module may be CommonJS or ESM, named by path or file: URL; run({ name }) calls a named export', async () => {
  const esm = makePool({ filename: pathToFileURL(ESM_TASKS), threads: 1 });
  expect(await within(5000, esm.run(21), 'default export')).toBe(42);
  expect(await within(5000, esm.run(5, { name: 'negate' }), 'named export')).toBe(-5);
  const byUrlString = makePool({ filename: pathToFileURL(TASKS).href, threads: 1 });
  expect(await within(5000, byUrlString.run(3), 'module.exports')).toBe(mix(3));
  await expect(within(5000, esm.run(1, { name: 'missing' }), 'missing export')).rejects.toThrow(
    /has no export named "missing" that is a function/,
  );
});

test('a task reads workerData from node:worker_threads', async () => {
  const data = { region: 'eu', limits: [1, 2, 3], when: new Date(0) };
  const pool = makePool({ workerData: data, threads: 1 });
  expect(await within(5000, pool.run(null, { name: 'readWorkerData' }), 'the task')).toEqual(data);
});

test('async tasks: results, rejections, and many in flight per worker with concurrentTasksPerWorker', async () => {
  const pool = makePool({ concurrentTasksPerWorker: 50 });
  const started = performance.now();
  // 100 tasks of 100 ms on 2 workers × 50 at once: about 100 ms, not 5 s.
  const results = await within(4000, Promise.all(Array.from({ length: 100 }, () => pool.run(100, { name: 'later' }))), 'the async tasks');
  expect(results).toEqual(new Array(100).fill(100));
  expect(performance.now() - started).toBeLessThan(3000);
  expect(await pool.run(7, { name: 'immediate' })).toBe(mix(7));
  const rejected = await settle(pool.run('async failure', { name: 'rejectAsync' }));
  expect(rejected.error).toBeInstanceOf(TypeError);
  expect(rejected.error.message).toBe('async failure');
});

test('payload kinds round-trip exactly, small (shared memory) and large (postMessage)', async () => {
  const pool = makePool({ threads: 1 });
  const values = [
    0, -0, NaN, Infinity, 2 ** 53, 'short', 'x'.repeat(10000), '\ud800 lone surrogate', true, null, undefined,
    { a: 1, b: 'two', c: [1, 2, { d: null }] }, 123n, new Date(1234), new Map([[1, { a: 2 }]]), new Set(['a', 1]),
    new Uint8Array([1, 2, 3]), new Float64Array([1.5, -0]), /re/gi, [1, , 3], { u: undefined }, new Array(1000).fill(7),
    new RangeError('as a value'),
  ];
  for (const value of values) {
    const back = await within(5000, pool.run(value, { name: 'echo' }), 'echo');
    expect(back).toEqual(structuredClone(value));
    if (typeof value === 'number') expect(Object.is(back, value)).toBe(true);
  }
  // A value structured clone refuses rejects like postMessage does.
  await expect(pool.run(() => 1, { name: 'echo' })).rejects.toMatchObject({ name: 'DataCloneError' });
  await expect(pool.run({ f: Symbol('s') }, { name: 'echo' })).rejects.toMatchObject({ name: 'DataCloneError' });
  const unclonableResult = await settle(pool.run(null, { name: 'returnFunction' }));
  expect(unclonableResult.error.message).toMatch(/cannot be cloned to the caller/);
});

test('transferList moves buffers: the caller\'s buffer is detached, the worker gets the bytes', async () => {
  const pool = makePool({ threads: 1 });
  const buffer = new ArrayBuffer(1 << 20);
  const promise = pool.run(buffer, { name: 'byteLength', transferList: [buffer] });
  expect(buffer.byteLength).toBe(0); // detached at run(), as postMessage does
  expect(await within(5000, promise, 'the task')).toBe(1 << 20);
  const view = new Uint8Array(64);
  const typed = pool.run({ view }, { name: 'echo', transferList: [view.buffer] });
  expect(view.byteLength).toBe(0);
  expect((await typed).view).toEqual(new Uint8Array(64));
});

describe('errors', () => {
  test.each(['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError'])(
    'a thrown %s rejects with the same class in this realm, with message, worker stack, code, cause and own properties',
    async (type) => {
      const pool = makePool({ threads: 1 });
      const { error } = await within(5000, settle(pool.run({ type, message: `bad ${type}`, code: 'E_TEST' }, { name: 'throwBuiltIn' })), 'the task');
      expect(error).toBeInstanceOf(globalThis[type]); // Jest's realm: the error was rebuilt here
      expect(error.constructor).toBe(globalThis[type]);
      expect(error).toMatchObject({ name: type, message: `bad ${type}`, code: 'E_TEST', extra: { n: 1, list: [1, 2] } });
      expect(error.stack).toContain('pool-tasks.js'); // the worker's stack
      expect(error.cause).toBeInstanceOf(RangeError);
      expect(error.cause.message).toBe('the cause');
      expect('notClonable' in error).toBe(false);
    },
  );

  test('another class becomes an Error that keeps its name and own properties', async () => {
    const pool = makePool({ threads: 1 });
    const { error } = await settle(pool.run(null, { name: 'throwCustom' }));
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'ParseFailure', message: 'line 12 is wrong', line: 12 });
    expect(String(error)).toBe('ParseFailure: line 12 is wrong');
  });

  test('a thrown non-error value rejects as structured clone gives it', async () => {
    const pool = makePool({ threads: 1 });
    for (const value of ['a string', 42, null, undefined, { reason: 'object', list: [1] }]) {
      const { error } = await settle(pool.run(value, { name: 'throwValue' }));
      expect(error).toEqual(value);
    }
    const { error } = await settle(pool.run(null, { name: 'throwUnclonable' }));
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(/^The task threw an object that cannot be cloned to the caller/);
  });
});

describe('abort', () => {
  test('a queued task rejects at once with the package\'s AbortError; it never runs', async () => {
    const pool = makePool({ threads: 1, workerData: { runs: new SharedArrayBuffer(16) } });
    const busy = pool.run(300_000, { name: 'spin' }); // 300 ms: the next tasks stay queued
    await sleep(30);
    const controller = new AbortController();
    const queued = settle(pool.run({ x: 1 }, { name: 'count', signal: controller.signal }));
    const before = performance.now();
    controller.abort('changed my mind');
    const { error } = await queued;
    expect(performance.now() - before).toBeLessThan(100); // at once, not after the busy task
    expect(error).toBeInstanceOf(AbortError);
    expect(AbortError).toBe(RootAbortError);
    expect(error).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: 'changed my mind' });
    await busy;
    await within(5000, pool.close(), 'close()');
    expect(pool.started).toBe(1); // only the busy task: the aborted one was skipped
  });

  test('an already aborted signal rejects without queueing', async () => {
    const pool = makePool({ threads: 1 });
    const { error } = await settle(pool.run(1, { signal: AbortSignal.abort('early') }));
    expect(error).toBeInstanceOf(AbortError);
    expect(error.cause).toBe('early');
  });

  test('a running task rejects at once; its result is dropped and the worker carries on', async () => {
    const pool = makePool({ threads: 1 });
    const controller = new AbortController();
    const running = settle(pool.run(300_000, { name: 'spin', signal: controller.signal }));
    await eventually(2000, () => pool.started === 1);
    const before = performance.now();
    controller.abort();
    const { error } = await running;
    expect(performance.now() - before).toBeLessThan(100);
    expect(error).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    expect(await within(5000, pool.run(3), 'the next task')).toBe(mix(3));
  });

  test('one signal shared by many tasks: one listener (no MaxListenersExceededWarning), removed once they settle; aborting it rejects them all', async () => {
    const pool = makePool({ threads: 1 });
    const kept = new AbortController();
    const done = Promise.all(Array.from({ length: 50 }, (_, x) => pool.run(x, { signal: kept.signal })));
    const listenersWhilePending = getEventListeners(kept.signal, 'abort').length;
    expect(await within(5000, done, 'the tasks')).toEqual(Array.from({ length: 50 }, (_, x) => mix(x)));
    expect(listenersWhilePending).toBe(1); // not 50: Node warns past 10
    expect(getEventListeners(kept.signal, 'abort')).toHaveLength(0);

    const shared = new AbortController();
    const busy = settle(pool.run(300_000, { name: 'spin', signal: shared.signal })); // 300 ms: the rest stay queued
    await eventually(2000, () => pool.started === 51);
    const queued = Array.from({ length: 30 }, (_, x) => settle(pool.run(x, { signal: shared.signal })));
    const other = pool.run(7); // another task, no signal: unaffected
    const sharedListeners = getEventListeners(shared.signal, 'abort').length;
    shared.abort('stop them');
    for (const { error } of await Promise.all([busy, ...queued])) {
      expect(error).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: 'stop them' });
    }
    expect(sharedListeners).toBe(1);
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
    expect(await within(5000, other, 'the task without a signal')).toBe(mix(7));
    expect(pool.started).toBe(52); // the busy task and `other`: none of the aborted queued ones ran
  });

  test('aborting many queued tasks under load: each settles once, the rest complete', async () => {
    const pool = makePool({ workerData: { runs: new SharedArrayBuffer(4 * 4000) } });
    const controllers = [];
    const outcomes = [];
    for (let x = 0; x < 4000; x++) {
      const controller = new AbortController();
      controllers.push(controller);
      outcomes.push(settle(pool.run({ x, spinUs: 20 }, { name: 'count', signal: controller.signal })));
    }
    for (let x = 0; x < 4000; x += 3) controllers[x].abort();
    const settled = await within(15000, Promise.all(outcomes), 'the tasks');
    const runs = new Int32Array(pool.options && (await pool.run(null, { name: 'readWorkerData' })).runs);
    let aborted = 0;
    settled.forEach((outcome, x) => {
      if (outcome.error) {
        aborted++;
        expect(x % 3).toBe(0);
        expect(outcome.error.name).toBe('AbortError');
        // Aborted while queued: never ran. Aborted while running: ran once, result dropped.
        expect(runs[x]).toBeLessThanOrEqual(1);
      } else {
        expect(outcome.value).toBe(x);
        expect(runs[x]).toBe(1);
      }
    });
    expect(aborted).toBeGreaterThan(1000);
  });
});

describe('shutdown', () => {
  test('close() finishes every admitted task, then stops the workers', async () => {
    const pool = makePool();
    const tasks = Array.from({ length: 40 }, () => pool.run(2000, { name: 'spin' }));
    const closed = pool.close();
    await expect(pool.run(1)).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED' });
    expect(await within(10000, Promise.all(tasks), 'the tasks')).toEqual(new Array(40).fill(2000));
    await within(5000, closed, 'close()');
    expect(pool.threads).toEqual([]);
  });

  test('destroy() rejects what has not run with AbortError; what ran resolves; nothing runs twice', async () => {
    const pool = makePool({ workerData: { runs: new SharedArrayBuffer(4 * 200) } });
    const runs = new Int32Array((await pool.run(null, { name: 'readWorkerData' })).runs);
    const outcomes = Array.from({ length: 200 }, (_, x) => settle(pool.run({ x, spinUs: 2000 }, { name: 'count' })));
    await sleep(20);
    await within(5000, pool.destroy(), 'destroy()');
    const settled = await within(1000, Promise.all(outcomes), 'the tasks');
    const ran = settled.filter((o) => 'value' in o).length;
    const aborted = settled.filter((o) => o.error && o.error.name === 'AbortError').length;
    expect(ran + aborted).toBe(200);
    expect(aborted).toBeGreaterThan(0);
    settled.forEach((o, x) => expect(runs[x]).toBe('value' in o ? 1 : runs[x] <= 1 ? runs[x] : -1));
    expect(pool.threads).toEqual([]);
  });

  test('destroy() with async tasks in flight returns quickly and rejects them with AbortError', async () => {
    const pool = makePool({ concurrentTasksPerWorker: 10 });
    const tasks = Array.from({ length: 20 }, () => settle(pool.run(5000, { name: 'later' })));
    await eventually(2000, () => pool.started === 20);
    const before = performance.now();
    await within(3000, pool.destroy(), 'destroy()');
    expect(performance.now() - before).toBeLessThan(1500); // not the 5 s the tasks would take
    for (const { error } of await Promise.all(tasks)) expect(error).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
  });

  test('Symbol.asyncDispose closes the pool', async () => {
    const pool = makePool({ threads: 1 });
    const task = pool.run(5);
    await within(5000, pool[Symbol.asyncDispose](), 'dispose');
    expect(await task).toBe(mix(5));
    await expect(pool.run(1)).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED' });
  });

  describe('a process using the pool exits 0, quickly, without a signal', () => {
    const runChild = (mode) =>
      new Promise((resolve) => {
        const started = Date.now();
        execFile(process.execPath, [CHILD, mode], { timeout: 15000 }, (error, stdout, stderr) => {
          resolve({ code: error ? error.code : 0, signal: error ? error.signal : null, stdout, stderr, ms: Date.now() - started });
        });
      });
    test.each([
      ['forget', /^ok$/], // never closed: an idle pool does not keep the process alive
      ['forget-with-interval', /^ok$/], // nor does a worker whose task left an interval running
      ['pending', /^ok 42$/], // a pending task keeps it alive until it settles
      ['close', /^ok$/],
      ['destroy-busy', /^ok aborted=true$/],
      ['exit-while-pending', /^ok$/],
    ])('%s', async (mode, expected) => {
      const child = await runChild(mode);
      expect({ code: child.code, signal: child.signal, stderr: child.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
      expect(child.stdout.trim()).toMatch(expected);
      expect(child.ms).toBeLessThan(10000);
    });
  });
});

test('maxQueue: past it run() rejects with ERR_POOL_QUEUE_FULL; room comes back as tasks start', async () => {
  const pool = makePool({ threads: 1, maxQueue: 10 });
  const running = pool.run(200_000, { name: 'spin' });
  await eventually(2000, () => pool.started === 1);
  const queued = Array.from({ length: 10 }, () => pool.run(1));
  expect(pool.queueSize).toBe(10);
  await expect(pool.run(1)).rejects.toMatchObject({ code: 'ERR_POOL_QUEUE_FULL', message: 'The task queue is full (maxQueue 10)' });
  await running;
  expect(await within(5000, Promise.all(queued), 'the queued tasks')).toEqual(new Array(10).fill(mix(1)));
  expect(pool.queueSize).toBe(0);
  expect(await pool.run(2)).toBe(mix(2));
  expect(new Pool({ filename: TASKS, threads: 3, maxQueue: 'auto' }).options.maxQueue).toBe(9);
});

test('observability: threads, queueSize, completed, utilization, runTime and waitTime summaries', async () => {
  const pool = makePool();
  expect(pool.threads).toHaveLength(2);
  expect(pool.runTime).toEqual({ count: 0, min: 0, max: 0, mean: 0, p50: 0, p99: 0 });
  await within(10000, Promise.all(Array.from({ length: 40 }, () => pool.run(5000, { name: 'spin' }))), 'the tasks');
  expect(pool.completed).toBe(40);
  expect(pool.queueSize).toBe(0);
  const { runTime, waitTime } = pool;
  expect(runTime.count).toBe(40);
  expect(runTime.p50).toBeGreaterThanOrEqual(5);
  expect(runTime.p50).toBeLessThan(100);
  expect(runTime.p99).toBeGreaterThanOrEqual(runTime.p50);
  expect(runTime.max).toBeGreaterThanOrEqual(runTime.p99);
  // 40 tasks of 5 ms on 2 workers: the last ones waited about 95 ms for a worker.
  expect(waitTime.max).toBeGreaterThan(50);
  expect(pool.utilization).toBeGreaterThan(0);
  expect(pool.utilization).toBeLessThanOrEqual(1);
});

describe('idle workers keep their event loop', () => {
  test('a timer and a file read started by a task complete while the pool has no work', async () => {
    const pool = makePool({ threads: 1 });
    const cells = new SharedArrayBuffer(4);
    expect(await pool.run({ cells, ms: 50, value: 99 }, { name: 'timerWrite' })).toBe('started');
    expect(await eventually(3000, () => Atomics.load(new Int32Array(cells), 0) === 99)).toBe(true);
    const read = new SharedArrayBuffer(4);
    await pool.run({ cells: read, file: __filename }, { name: 'readLater' });
    expect(await eventually(3000, () => Atomics.load(new Int32Array(read), 0) === fs.statSync(__filename).size)).toBe(true);
  });

  test('a setInterval started by a task keeps firing while the pool is idle, and tasks still run', async () => {
    const pool = makePool({ threads: 1 });
    const cells = new SharedArrayBuffer(4);
    await pool.run({ cells, ms: 10 }, { name: 'startInterval' });
    const counter = new Int32Array(cells);
    const first = Atomics.load(counter, 0);
    await sleep(300);
    expect(Atomics.load(counter, 0) - first).toBeGreaterThan(5); // ~30 ticks expected; none if the worker were parked
    expect(await within(3000, pool.run(11), 'a task meanwhile')).toBe(mix(11));
    const second = Atomics.load(counter, 0);
    await sleep(200);
    expect(Atomics.load(counter, 0) - second).toBeGreaterThan(5);
  });

  test('an unref\'d setInterval started by a task fires while the pool is idle (the idle wait turns the loop every 64 ms at most)', async () => {
    const pool = makePool({ threads: 1 });
    const cells = new SharedArrayBuffer(4);
    await pool.run({ cells, ms: 10 }, { name: 'startUnrefInterval' });
    const counter = new Int32Array(cells);
    await sleep(100); // the first slice has begun
    const first = Atomics.load(counter, 0);
    await sleep(640);
    // About one tick per 64 ms slice (10 in 640 ms; 5 leaves room for a loaded machine); none if
    // the worker blocked for good.
    expect(Atomics.load(counter, 0) - first).toBeGreaterThanOrEqual(5);
  });
});

test('idleTimeout stops workers above minThreads cooperatively; load brings them back', async () => {
  const pool = makePool({ threads: undefined, minThreads: 1, maxThreads: 3, idleTimeout: 50, concurrentTasksPerWorker: 1 });
  expect(pool.threads).toHaveLength(1);
  await within(5000, Promise.all(Array.from({ length: 30 }, () => pool.run(3000, { name: 'spin' }))), 'the tasks');
  expect(pool.threads.length).toBeGreaterThan(1);
  expect(await eventually(3000, () => pool.threads.length === 1)).toBe(true);
  expect(await pool.run(4)).toBe(mix(4)); // the remaining worker still serves
});

test('many pools in one process, each with its own results', async () => {
  const many = Array.from({ length: 4 }, () => makePool({ threads: 1 }));
  const results = await within(
    10000,
    Promise.all(many.map((pool, p) => Promise.all(Array.from({ length: 500 }, (_, x) => pool.run(x * 4 + p))))),
    'the pools',
  );
  results.forEach((list, p) => list.forEach((r, x) => expect(r).toBe(mix(x * 4 + p))));
});

test('a pool created inside a worker (a task of another pool)', async () => {
  const pool = makePool({ threads: 1 });
  expect(await within(10000, pool.run(9, { name: 'nestedPool' }), 'the nested pool')).toBe(mix(9));
});

// Each option alone, run()'s options and wrong receivers: generated from lib/surface.ts in
// test/surface.test.js. What the table cannot say is how options constrain each other.
test('options that constrain each other: threads excludes minThreads and maxThreads; minThreads is at most maxThreads', () => {
  const bad = (options) => () => new Pool({ filename: TASKS, ...options });
  expect(bad({ minThreads: 3, maxThreads: 2 })).toThrow(/^The "minThreads" option must be at most maxThreads \(2\)\. Received 3$/);
  expect(bad({ minThreads: 3, maxThreads: 2 })).toThrow(expect.objectContaining({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }));
  for (const other of [{ maxThreads: 2 }, { minThreads: 2 }, { minThreads: 1, maxThreads: 2 }]) {
    expect(bad({ threads: 2, ...other })).toThrow(/^The "threads" option must be left out when minThreads or maxThreads is given\. Received 2$/);
    expect(bad({ threads: 2, ...other })).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }));
  }
  // minThreads alone raises the default maxThreads; maxThreads alone is also the default minThreads.
  const grown = makePool({ threads: undefined, minThreads: 64 });
  expect([grown.options.minThreads, grown.options.maxThreads]).toEqual([64, 64]);
  const capped = makePool({ threads: undefined, maxThreads: 1 });
  expect([capped.options.minThreads, capped.options.maxThreads]).toEqual([1, 1]);
});

test('the demo, shortened, prints its settings, every scenario with a verdict, and exits 0', async () => {
  // Structure only: speed is the demo's own business (and docs/pool.md's), never a unit test's.
  const demo = path.join(__dirname, '..', 'examples', 'pool', 'demo.js');
  const env = { ...process.env, DEMO_SECONDS: '0.1', DEMO_ROUNDS: '1', DEMO_WINDOW: '64' };
  const { code, stdout, stderr } = await new Promise((resolve) => {
    execFile(process.execPath, [demo], { env, timeout: 30000 }, (error, out, err) => resolve({ code: error ? error.code : 0, stdout: out, stderr: err }));
  });
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  expect(stdout).toMatch(/^machine: .+ core\(s\) available, .+, Node v\d+/m);
  expect(stdout).toMatch(/^worker-waker\/pool: .*concurrentTasksPerWorker (\d+) /m);
  const ours = /^worker-waker\/pool: .*concurrentTasksPerWorker (\d+) /m.exec(stdout)[1];
  expect(stdout).toMatch(new RegExp(`^piscina .*concurrentTasksPerWorker ${ours} `, 'm'));
  for (const [label, target] of [
    ['tiny task', '≥ 10×'],
    ['small object \\(10 fields in and out\\)', '≥ 3×'],
    ['async task \\(one setImmediate\\)', '≥ 2×'],
    ['one task in flight', '≤ 0.4×'],
    ['open loop, 10,000 tasks/s offered', '≤ 0.5×'],
  ]) {
    expect(stdout).toMatch(new RegExp(`^${label} .* [\\d.]+×\\s+${target}\\s+(met|MISSED by [\\d.]+×)$`, 'm'));
  }
  expect(stdout).not.toMatch(/\r/); // not a terminal: no progress line at all
}, 40000);
