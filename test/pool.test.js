'use strict';
// The example pool (examples/pool): every task runs exactly once with the right result, full
// queues push back on the submitter, task errors reject only their own promise, and shutdown
// (drain or cancel, or a process that never closes its pool) ends cleanly and quickly.
const path = require('node:path');
const { execFile } = require('node:child_process');
const { Worker } = require('node:worker_threads');
const { Pool } = require('../examples/pool/pool');
const L = require('../examples/pool/layout');
const mix = require('../examples/pool/tasks');
const fixtureTask = require('./fixtures/signal-pool-task');

const TASK = path.join(__dirname, 'fixtures', 'signal-pool-task.js');
const CHILD = path.join(__dirname, 'fixtures', 'signal-pool-child.js');
const CLAIMER = path.join(__dirname, 'fixtures', 'signal-ring-claimer.js');
const PRODUCER = path.join(__dirname, 'fixtures', 'signal-ring-producer.js');
const SLOW = (microseconds) => 1e6 + microseconds; // the fixture spins that long, returns its input

// A small pool, so that queues fill and rings wrap many times.
const SMALL = { filename: TASK, threads: 2, words: 2, queuesPerWord: 2, queueCapacity: 16, chunk: 4, batch: 8 };

const pools = new Set();
function makePool(options) {
  const pool = new Pool(options);
  pools.add(pool);
  return pool;
}

afterEach(async () => {
  await Promise.all([...pools].map((pool) => pool.destroy()));
  pools.clear();
});

// Rejects after `ms` so that a hang fails the test instead of timing out the suite.
function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Each call of the returned function resolves to the worker's next message (or rejects with its
// error), so that no message is missed between two awaits.
function messages(worker) {
  const queue = [];
  const waiting = [];
  worker.on('message', (m) => (waiting.length > 0 ? waiting.shift().resolve(m) : queue.push(m)));
  worker.on('error', (e) => waiting.splice(0).forEach((w) => w.reject(e)));
  return () => (queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((resolve, reject) => waiting.push({ resolve, reject })));
}

// Every id of `counts` (an Int32Array of claim counts) exactly once, or the first one that is not.
function onceEach(counts) {
  const wrong = counts.findIndex((n) => n !== 1);
  return wrong === -1 ? 'every id once' : `id ${wrong} claimed ${counts[wrong]} times`;
}

test('every task runs exactly once with its own result, through full queues, then close() joins the workers', async () => {
  const pool = makePool(SMALL);
  expect(pool.capacity).toBe(64);
  const N = 20000;
  const results = await within(15000, Promise.all(Array.from({ length: N }, (_, x) => pool.run(x))), 'the run');
  const wrong = results.filter((r, x) => r !== mix(x)).length;
  expect(wrong).toBe(0);
  expect(pool.pending).toBe(0);

  expect(await within(6000, pool.close(), 'close()')).toBe(0); // no worker had to be terminated
  const stats = pool.stats();
  // Conservation: tasks in == tasks run == results out. A task run twice would show here, and one
  // lost would never have resolved.
  expect(stats).toMatchObject({ submitted: N, completed: N, tasksRun: N, failed: 0, cancelled: 0 });
  expect(stats.batches).toBeLessThanOrEqual(N);
  expect(() => pool.trySubmit(1)).toThrow(expect.objectContaining({ code: 'ERR_POOL_CLOSED' }));
  await expect(pool.run(1)).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED' });
});

test('workers racing to claim from one ring get every task exactly once', async () => {
  // The pool rarely has two workers on one ring (take() hands a word to one worker), so race the
  // claim itself: three workers drain one pre-filled ring, one to three tasks per claim.
  const N = 1 << 18;
  const layout = L.createLayout({ threads: 1, words: 1, queuesPerWord: 1, queueCapacity: N });
  const view = L.viewLayout(layout);
  for (let id = 0; id < N; id++) {
    view.queueIds[id] = id;
    view.queueArgs[id] = id * 2;
  }
  Atomics.store(view.queueHeaders, L.TAIL, N);
  const counts = new SharedArrayBuffer(N * 4);
  const gate = new SharedArrayBuffer(4);
  const claimers = [1, 2, 3].map((batch) => new Worker(CLAIMER, { workerData: { layout, counts, gate, batch } }));
  const next = claimers.map(messages);
  try {
    await within(10000, Promise.all(next.map((n) => n())), 'the claimers to start');
    Atomics.store(new Int32Array(gate), 0, 1);
    Atomics.notify(new Int32Array(gate), 0);
    const totals = next.map((n) => n());
    const claimed = await within(10000, Promise.all(totals), 'the claimers');
    expect(claimed.reduce((a, b) => a + b, 0)).toBe(N);
    expect(onceEach(new Int32Array(counts))).toBe('every id once');
    expect(Atomics.load(view.queueHeaders, L.HEAD)).toBe(N);
  } finally {
    await Promise.all(claimers.map((worker) => worker.terminate()));
  }
});

test('a producer wrapping a small ring while three workers drain it: every id is claimed exactly once', async () => {
  // Capacity 8: the producer reuses each slot thousands of times, so a claimer that copied a slot
  // after the producer could overwrite it (or a claim that skipped the CAS) would show up here as
  // a wrong argument, a duplicate or a missing id.
  const N = 60000;
  const layout = L.createLayout({ threads: 1, words: 1, queuesPerWord: 1, queueCapacity: 8 });
  const view = L.viewLayout(layout);
  const counts = new SharedArrayBuffer(N * 4);
  const gate = new SharedArrayBuffer(4);
  const done = new SharedArrayBuffer(4);
  const threads = [
    new Worker(PRODUCER, { workerData: { layout, gate, done, total: N } }),
    ...[1, 2, 3].map((batch) => new Worker(CLAIMER, { workerData: { layout, counts, gate, batch, done } })),
  ];
  const next = threads.map(messages);
  try {
    await within(10000, Promise.all(next.map((n) => n())), 'the threads to start');
    Atomics.store(new Int32Array(gate), 0, 1);
    Atomics.notify(new Int32Array(gate), 0);
    const [produced, ...claimed] = await within(30000, Promise.all(next.map((n) => n())), 'the producer and claimers');
    expect(produced).toBe(N);
    expect(claimed.reduce((a, b) => a + b, 0)).toBe(N);
    expect(onceEach(new Int32Array(counts))).toBe('every id once');
    expect(Atomics.load(view.queueHeaders, L.HEAD)).toBe(N);
    expect(Atomics.load(view.queueHeaders, L.TAIL)).toBe(N);
  } finally {
    await Promise.all(threads.map((worker) => worker.terminate()));
  }
}, 45000);

test('the main thread stores a ring\'s tail before it sets the ring\'s signal bit', async () => {
  // The seam pauses between the two steps until the worker has acted on what it can see: the bit
  // is not set (or the worker has taken it) and the worker is parked again. Tail first, the pause
  // changes nothing. set() first, the worker takes the bit, finds the old tail, parks, and the
  // task is stranded (nothing else sets that word again).
  let pauses = 0;
  const afterTailStore = ({ queue, taskWaker, taskWords }) => {
    pauses++;
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline && (taskWords.isSet(queue) || taskWaker.sleepers() < 1));
  };
  const pool = makePool({ filename: TASK, threads: 1, words: 1, queuesPerWord: 1, queueCapacity: 16, chunk: 1, testHooks: { afterTailStore } });
  await within(5000, pool.ready(), 'ready()');
  for (let x = 0; x < 5; x++) {
    expect(await within(4000, pool.run(x), `task ${x} (stranded: was its signal bit set before its tail was stored?)`)).toBe(mix(x));
  }
  expect(pauses).toBe(5);
});

test('a full pool pushes back: trySubmit returns null and run() waits for room', async () => {
  const pool = makePool(SMALL);
  await within(5000, pool.ready(), 'ready()');
  const admitted = [];
  for (let x = 0; x < pool.capacity; x++) admitted.push(pool.trySubmit(x));
  expect(admitted.every((p) => p instanceof Promise)).toBe(true);
  // Nothing can have been collected yet (collection runs on later turns of the event loop).
  expect(pool.trySubmit(999)).toBeNull();
  const late = pool.run(12345);
  expect(pool.pending).toBe(pool.capacity); // run() did not admit past the bound
  expect(await within(5000, late, 'the waiting run()')).toBe(mix(12345));
  expect(await Promise.all(admitted)).toEqual(Array.from({ length: pool.capacity }, (_, x) => mix(x)));
  expect(pool.stats().submitted).toBe(pool.capacity + 1);
});

test('a task that throws rejects only its own promise, with an error of its class and message', async () => {
  const pool = makePool(SMALL);
  const inputs = Array.from({ length: 500 }, (_, i) => (i % 7 === 3 ? -i : i));
  const outcomes = await within(
    10000,
    Promise.all(inputs.map((x) => pool.run(x).then((value) => ({ value }), (error) => ({ error })))),
    'the run',
  );
  inputs.forEach((x, i) => {
    if (x < 0) {
      // Rebuilt in the main thread from the result ring (the name picks the built-in class).
      expect(outcomes[i].error).toBeInstanceOf(RangeError);
      expect(outcomes[i].error).toMatchObject({ name: 'RangeError', message: `negative input ${x}` });
    } else {
      expect(outcomes[i]).toEqual({ value: mix(x) });
    }
  });
  expect(await within(6000, pool.close(), 'close()')).toBe(0);
  const failures = inputs.filter((x) => x < 0).length;
  expect(pool.stats()).toMatchObject({ failed: failures, completed: inputs.length - failures, tasksRun: inputs.length });
});

test('task errors travel through shared memory: long messages are cut at a character boundary, odd throws are described', async () => {
  const pool = makePool(SMALL);
  const settle = (x) => pool.run(x).then((value) => ({ value }), (error) => ({ error }));
  const [long, notAnError, custom, fine] = await within(
    10000,
    Promise.all([fixtureTask.LONG_MESSAGE, fixtureTask.NOT_AN_ERROR, fixtureTask.CUSTOM_NAME, 5].map(settle)),
    'the run',
  );
  // The record holds 256 bytes of "Error\0message"; the message is cut there and marked. A
  // postMessage would have carried the whole message; a byte cut could split a character (the
  // text mixes 1-, 2-, 3- and 4-byte characters, so some cut must land inside one).
  const { message } = long.error;
  expect(long.error).toBeInstanceOf(Error);
  expect(message.endsWith('…')).toBe(true);
  expect(fixtureTask.LONG_TEXT.startsWith(message.slice(0, -1))).toBe(true);
  expect(Buffer.byteLength(`Error\0${message}`)).toBeLessThanOrEqual(L.ERROR_TEXT_BYTES);
  expect(Buffer.byteLength(`Error\0${message}`)).toBeGreaterThan(L.ERROR_TEXT_BYTES - 8);
  expect(message).not.toMatch(/\uFFFD/);
  expect(notAnError.error).toBeInstanceOf(Error);
  expect(notAnError.error.message).toBe('task threw a non-error value: not an error object');
  expect(custom.error).toMatchObject({ name: 'PoolTestError', message: 'custom' });
  expect(fine).toEqual({ value: mix(5) });
  expect(await within(6000, pool.close(), 'close()')).toBe(0);
  expect(pool.stats()).toMatchObject({ failed: 3, completed: 1, tasksRun: 4 });
});

test('a result for a task id that is not pending stops the pool with a clear error', async () => {
  // batch 1: the forging task runs alone, and the worker exits (cancelled) before the second.
  const pool = makePool({ filename: TASK, threads: 1, words: 1, queuesPerWord: 1, queueCapacity: 16, batch: 1 });
  const forging = pool.run(fixtureTask.FORGE_RESULT).catch(() => {});
  const second = pool.run(5);
  await expect(within(8000, second, 'the second task')).rejects.toThrow('pool bug: a result arrived for task id 15, which is not pending');
  await forging;
  expect(() => pool.trySubmit(1)).toThrow(expect.objectContaining({ code: 'ERR_POOL_CLOSED' }));
});

test('close() waits for every task already submitted', async () => {
  const pool = makePool(SMALL);
  const tasks = Array.from({ length: 40 }, () => pool.run(SLOW(500)));
  const closed = pool.close();
  expect(await within(10000, Promise.all(tasks), 'the tasks')).toEqual(tasks.map(() => SLOW(500)));
  expect(await within(6000, closed, 'close()')).toBe(0);
  expect(pool.stats()).toMatchObject({ completed: 40, tasksRun: 40, cancelled: 0 });
});

test('destroy() cancels: tasks that never ran reject with AbortError, the others ran exactly once', async () => {
  const pool = makePool(SMALL);
  await within(5000, pool.ready(), 'ready()');
  const outcomes = Array.from({ length: 64 }, () =>
    pool.trySubmit(SLOW(2000)).then(
      () => 'ran',
      (error) => error,
    ),
  );
  await new Promise((resolve) => setTimeout(resolve, 10));
  expect(await within(6000, pool.destroy(), 'destroy()')).toBe(0);
  const settled = await within(1000, Promise.all(outcomes), 'the cancelled tasks');
  const ran = settled.filter((o) => o === 'ran').length;
  const aborted = settled.filter((o) => o !== 'ran');
  for (const error of aborted) expect(error).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
  // 64 tasks of 2 ms on 2 workers take 64 ms; workers stop after the batch in hand (8 tasks).
  expect(aborted.length).toBeGreaterThan(0);
  expect(pool.stats()).toMatchObject({ completed: ran, cancelled: aborted.length, tasksRun: ran });
  expect(pool.pending).toBe(0);
});

describe('shutdown while run() waits for room', () => {
  // A full pool of 5 ms tasks, and one more run() that must wait. The waiting run() must fail as
  // soon as the pool shuts down, not when a result happens to free room: `completedThen` is how
  // many tasks had completed when it settled (none can have, 5 ms in).
  async function fullPool() {
    const pool = makePool(SMALL);
    await within(5000, pool.ready(), 'ready()');
    const admitted = [];
    for (let i = 0; i < pool.capacity; i++) admitted.push(pool.trySubmit(SLOW(5000)).then(() => 'ran', (error) => error));
    expect(pool.trySubmit(1)).toBeNull();
    const waiting = pool.run(1).then(
      () => ({ outcome: 'admitted', completedThen: pool.completed }),
      (error) => ({ outcome: error, completedThen: pool.completed }),
    );
    return { pool, admitted, waiting };
  }

  test('close(): the waiting run() rejects with ERR_POOL_CLOSED, the admitted tasks complete', async () => {
    const { pool, admitted, waiting } = await fullPool();
    const closed = pool.close();
    expect(await within(2000, waiting, 'the waiting run()')).toMatchObject({
      outcome: { code: 'ERR_POOL_CLOSED', message: 'The pool is closed' },
      completedThen: 0,
    });
    expect(await within(10000, Promise.all(admitted), 'the admitted tasks')).toEqual(admitted.map(() => 'ran'));
    expect(await within(6000, closed, 'close()')).toBe(0);
    expect(pool.stats()).toMatchObject({ submitted: pool.capacity, completed: pool.capacity, cancelled: 0 });
  });

  test('destroy(): the waiting run() rejects with ERR_POOL_CLOSED, the rest ran or were cancelled', async () => {
    const { pool, admitted, waiting } = await fullPool();
    const destroyed = pool.destroy();
    expect(await within(2000, waiting, 'the waiting run()')).toMatchObject({ outcome: { code: 'ERR_POOL_CLOSED' }, completedThen: 0 });
    expect(await within(6000, destroyed, 'destroy()')).toBe(0);
    const outcomes = await within(1000, Promise.all(admitted), 'the admitted tasks');
    const ran = outcomes.filter((o) => o === 'ran').length;
    for (const o of outcomes.filter((o) => o !== 'ran')) expect(o).toMatchObject({ name: 'AbortError' });
    expect(pool.stats()).toMatchObject({ submitted: pool.capacity, completed: ran, cancelled: pool.capacity - ran, tasksRun: ran });
  });
});

test('close() then destroy(): destroy cancels what close was waiting for, both resolve, nothing runs twice', async () => {
  const pool = makePool(SMALL);
  await within(5000, pool.ready(), 'ready()');
  const outcomes = Array.from({ length: 64 }, () => pool.trySubmit(SLOW(2000)).then(() => 'ran', (error) => error));
  const closed = pool.close();
  await new Promise((resolve) => setTimeout(resolve, 10));
  const destroyed = pool.destroy();
  expect(await within(6000, destroyed, 'destroy()')).toBe(0);
  expect(await within(6000, closed, 'close()')).toBe(0);
  const settled = await within(1000, Promise.all(outcomes), 'the tasks');
  const ran = settled.filter((o) => o === 'ran').length;
  const aborted = settled.filter((o) => o !== 'ran');
  for (const error of aborted) expect(error).toMatchObject({ name: 'AbortError' });
  // 64 tasks of 2 ms on 2 workers take 64 ms; destroy() came after about 10 ms.
  expect(aborted.length).toBeGreaterThan(0);
  expect(pool.stats()).toMatchObject({ completed: ran, cancelled: aborted.length, tasksRun: ran });
  expect(pool.pending).toBe(0);
});

test('bad options are refused', () => {
  expect(() => new Pool({ filename: 'relative.js' })).toThrow(TypeError);
  expect(() => new Pool({ filename: TASK, threads: 0 })).toThrow(/"threads" option must be an integer from 1 to 64\. Received 0/);
  expect(() => new Pool({ filename: TASK, queueCapacity: 24 })).toThrow(/power of two/);
  expect(() => new Pool({ filename: TASK, words: 63 })).toThrow(RangeError);
  expect(() => new Pool({ filename: TASK, threads: '2' })).toThrow(/"threads" option must be of type number/);
  expect(() => new Pool({ filename: TASK, words: 62, queuesPerWord: 64, queueCapacity: 1 << 20 })).toThrow(/at most 4194304/);
});

test('the demo, shortened, checks every result, prints its settings, medians and target lines, and exits 0', async () => {
  // Structure only: speed is the demo's own business (and the README's), never a unit test's.
  const demo = path.join(__dirname, '..', 'examples', 'pool', 'demo.js');
  const env = { ...process.env, DEMO_SECONDS: '0.2', DEMO_ROUNDS: '1', DEMO_WINDOW: '64' };
  const { code, stdout, stderr } = await new Promise((resolve) => {
    execFile(process.execPath, [demo], { env, timeout: 30000 }, (error, out, err) => resolve({ code: error ? error.code : 0, stdout: out, stderr: err }));
  });
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  expect(stdout).toMatch(/^machine: .+ core\(s\) available, .+, Node v\d+/m);
  expect(stdout).toMatch(/concurrentTasksPerWorker 32 \(window ÷ threads\)/);
  expect(stdout).toMatch(/^throughput: [\d.,]+× piscina's \(target ≥ 5×\): (met|MISSED by [\d.]+×)$/m);
  expect(stdout).toMatch(/^p50 latency, 64 in flight: [\d.]+× piscina's \(target ≤ 0\.5×\): (met|MISSED by [\d.]+×)$/m);
  expect(stdout).toMatch(/^p50 latency at 10,000 tasks\/s offered: [\d.]+× piscina's \(target ≤ 0\.5×\): (met|MISSED by [\d.]+×)$/m);
  expect(stdout).toMatch(/^ {2}waits per task [\d.]+: workers [\d.]+/m);
  expect(stdout).not.toMatch(/\r/); // not a terminal: no progress line at all
}, 40000);

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
    ['close', /^ok terminated=0$/],
    ['destroy-busy', /^ok terminated=0 aborted=true$/],
    ['exit-while-pending', /^ok$/],
  ])('%s', async (mode, expected) => {
    const child = await runChild(mode);
    expect({ code: child.code, signal: child.signal, stderr: child.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(child.stdout.trim()).toMatch(expected);
    expect(child.ms).toBeLessThan(10000);
  });
});
