'use strict';
// worker-waker/pool when a worker dies: process.exit in a task, an exception thrown outside any
// task, resourceLimits exceeded, or terminate() from outside at any moment. The dead worker is
// replaced; the tasks it had started reject with ERR_POOL_WORKER_DIED; the tasks it had claimed
// and not started run elsewhere; every other task completes; no task runs twice (each `count`
// task adds 1 to its own shared counter, so runs[x] is exactly how often task x ran).
const path = require('node:path');
const { Pool } = require('worker-waker/pool');
const mix = require('../examples/pool/tasks');
const { within } = require('./support/pool');

const TASKS = path.join(__dirname, 'fixtures', 'pool-tasks.js');
const settle = (promise) => promise.then((value) => ({ value }), (error) => ({ error }));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const pools = new Set();
function makePool(n, options = {}) {
  const runs = new SharedArrayBuffer(4 * n);
  const pool = new Pool({ filename: TASKS, threads: 2, workerData: { runs }, ...options });
  pools.add(pool);
  return { pool, runs: new Int32Array(runs) };
}
afterEach(async () => {
  await Promise.all([...pools].map((pool) => pool.destroy()));
  pools.clear();
});

/**
 * Every task x settled once: resolved with x after exactly one run, or rejected as died after a
 * number of runs in `diedRuns` (one, unless a worker can be stopped from outside: one terminated
 * between marking a task started and the task's first line never ran it, and the pool cannot know,
 * so it must call it died and never run it again).
 */
function account(settled, runs, diedRuns = [1]) {
  const died = [];
  settled.forEach((outcome, x) => {
    if ('value' in outcome) {
      expect(outcome.value).toBe(x);
    } else {
      expect(outcome.error).toMatchObject({ code: 'ERR_POOL_WORKER_DIED' });
      expect(outcome.error.message).toMatch(/^The worker running this task died \(/);
      died.push(x);
    }
    const allowed = 'value' in outcome ? [1] : diedRuns;
    if (!allowed.includes(runs[x])) throw new Error(`task ${x} ran ${runs[x]} times`);
  });
  return died;
}

test('a task that calls process.exit: that task rejects, the worker is replaced, every other task runs once', async () => {
  const N = 3000;
  const EXITS = new Set([500, 1500, 2500]);
  // 32 per worker: workers claim batches of 32, so each exit leaves claimed tasks not started.
  const { pool, runs } = makePool(N, { concurrentTasksPerWorker: 32 });
  const outcomes = Array.from({ length: N }, (_, x) => settle(pool.run({ x, spinUs: 20, exit: EXITS.has(x) }, { name: 'count' })));
  const settled = await within(20000, Promise.all(outcomes), 'the tasks');
  const died = account(settled, runs);
  expect(died).toEqual([...EXITS]); // sync tasks: a worker holds one started task at a time
  expect(settled[500].error.message).toContain('exit code 7');
  expect(pool.started).toBe(N);
  expect(pool.threads).toHaveLength(2);
  expect(await within(5000, pool.run(3), 'a task after')).toBe(mix(3));
});

test('async tasks in flight on a worker that exits all reject; the queued ones run elsewhere', async () => {
  const N = 400;
  const { pool, runs } = makePool(N, { concurrentTasksPerWorker: 20 });
  const outcomes = Array.from({ length: N }, (_, x) =>
    settle(x === 100 ? pool.run({ x, exit: true }, { name: 'count' }) : pool.run({ x, ms: 5 }, { name: 'countAsync' })),
  );
  const settled = await within(20000, Promise.all(outcomes), 'the tasks');
  const died = account(settled, runs);
  expect(died).toContain(100);
  expect(died.length).toBeLessThanOrEqual(20); // at most what that worker had started
  expect(pool.started).toBe(N);
});

test('an exception thrown outside any task kills the worker; it is replaced and later tasks run', async () => {
  const { pool } = makePool(1, { threads: 1 });
  expect(await pool.run(20, { name: 'throwOutside' })).toBe('scheduled');
  const during = settle(pool.run(200_000, { name: 'spin' })); // started, or queued when the timer fires
  const outcome = await within(5000, during, 'the task during the crash');
  if ('error' in outcome) expect(outcome.error).toMatchObject({ code: 'ERR_POOL_WORKER_DIED', cause: { message: 'thrown by a timer, outside any task' } });
  else expect(outcome.value).toBe(200_000);
  expect(await within(5000, pool.run(5), 'a task after')).toBe(mix(5));
  expect(pool.threads).toHaveLength(1);
});

test('resourceLimits exceeded: the task rejects with the worker\'s out-of-memory error as cause; the pool carries on', async () => {
  const { pool } = makePool(1, { threads: 1, resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 } });
  const { error } = await within(15000, settle(pool.run(null, { name: 'allocate' })), 'the task');
  expect(error).toMatchObject({ code: 'ERR_POOL_WORKER_DIED', cause: { code: 'ERR_WORKER_OUT_OF_MEMORY' } });
  expect(await within(5000, pool.run(6), 'a task after')).toBe(mix(6));
}, 30000);

test('workers terminated at random moments under load: every task settles once, none runs twice, none is lost', async () => {
  // terminate() stops a worker wherever it is: between claiming a batch and starting it, inside
  // set() or take() of the signal words, while publishing results. The pool must repair what it
  // left half-done (a word with no summary bit, a taken ring bit, a permit it took) or tasks
  // would strand and this test would time out.
  const N = 6000;
  const { pool, runs } = makePool(N, { concurrentTasksPerWorker: 16 });
  const outcomes = Array.from({ length: N }, (_, x) => settle(pool.run({ x, spinUs: x % 7 === 0 ? 50 : 0 }, { name: 'count' })));
  let kills = 0;
  const killer = (async () => {
    for (let i = 0; i < 12; i++) {
      await sleep(3 + (i % 4));
      const threads = pool.threads;
      if (threads.length > 0) {
        await threads[i % threads.length].terminate();
        kills++;
      }
    }
  })();
  const settled = await within(30000, Promise.all(outcomes), 'the tasks');
  await killer;
  const died = account(settled, runs, [0, 1]);
  expect(kills).toBe(12);
  expect(died.length).toBeLessThanOrEqual(kills); // sync tasks: at most the one each had started
  expect(pool.started).toBe(N);
  expect(pool.threads).toHaveLength(2);
}, 40000);
