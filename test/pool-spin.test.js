'use strict';
// The pool's spinMicroseconds: while tasks are in flight, the main thread's event loop spins for
// results before it sleeps (acquireAsync's loop spin), and an idle worker looks for the next task
// before it blocks. Counted, never timed: the test build's asyncSpinStats (this thread's loop spin).
const path = require('node:path');
const native = require('./support/test-addon'); // first: the pool then uses the test build
const { stats, prepares, freshBackoffEachTest } = require('./support/loop-spin');
const { Pool } = require('worker-waker/pool');
const { within } = require('./support/pool');

freshBackoffEachTest();

const TASKS = path.join(__dirname, 'fixtures', 'pool-tasks.js');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `count` tasks one at a time (one in flight), each checked; returns the worker thread of each. */
async function oneAtATime(pool, count) {
  const threads = [];
  for (let i = 0; i < count; i++) {
    const { x, threadId } = await pool.run({ x: i }, { name: 'whereAmI' });
    expect(x).toBe(i);
    threads.push(threadId);
  }
  return threads;
}

test('the option: default 100, 0 to 1000 accepted, anything else refused with the option named', async () => {
  const pool = new Pool({ filename: TASKS, threads: 1 });
  expect(pool.options.spinMicroseconds).toBe(100);
  await pool.close();
  for (const value of [0, 1000]) {
    const accepted = new Pool({ filename: TASKS, threads: 1, spinMicroseconds: value });
    expect(accepted.options.spinMicroseconds).toBe(value);
    await accepted.close();
  }
  for (const [value, name, pattern] of [
    ['5', 'TypeError', /"spinMicroseconds".*of type number/],
    [-1, 'RangeError', /"spinMicroseconds".*an integer from 0 to 1000/],
    [1001, 'RangeError', /"spinMicroseconds".*an integer from 0 to 1000/],
    [2.5, 'RangeError', /"spinMicroseconds"/],
  ]) {
    expect(() => new Pool({ filename: TASKS, spinMicroseconds: value })).toThrow(expect.objectContaining({ name, message: expect.stringMatching(pattern) }));
  }
});

test('with tasks in flight and a core free, the main thread\'s loop spins for results; with none in flight it does not', async () => {
  // One worker: with two cores or more, one is always free for the main thread while the worker
  // runs a task or looks for the next (with two workers on two cores, one looking and one running
  // leave none, and whether the main thread spins would depend on timing).
  const cores = require('node:os').availableParallelism();
  const pool = new Pool({ filename: TASKS, threads: 1, spinMicroseconds: 200 });
  try {
    await within(10_000, pool.run({ x: 0 }, { name: 'whereAmI' }), 'the first task'); // workers up
    // Counted: each time the loop was about to sleep with a task in flight, the spin ran, was
    // skipped for pending idle work, or was skipped by its back-off (which may deepen during the
    // run, so how many of them spun is not asserted here: see test/async-spin.test.js). With one
    // core, none is ever free for it, and the prepare handle never runs.
    const before = prepares();
    await within(30_000, oneAtATime(pool, 300), '300 tasks');
    if (cores >= 2) expect(prepares()).toBeGreaterThan(before);
    else expect(prepares()).toBe(before);
    // Idle pool: no call pending, the prepare handle is stopped.
    await sleep(5);
    const idle = prepares();
    for (let i = 0; i < 10; i++) await sleep(1);
    expect(prepares()).toBe(idle);
  } finally {
    await pool.close();
  }
  expect(native.asyncPending()).toBe(0);
});

test('spinMicroseconds 0: the main thread\'s loop never spins', async () => {
  const pool = new Pool({ filename: TASKS, threads: 2, spinMicroseconds: 0 });
  try {
    await within(10_000, pool.run({ x: 0 }, { name: 'whereAmI' }), 'the first task');
    const before = stats();
    await within(30_000, oneAtATime(pool, 100), '100 tasks');
    expect(stats()).toEqual(before);
  } finally {
    await pool.close();
  }
});

test('while every core runs a worker, the main thread\'s loop does not spin for results (it would take CPU from the tasks)', async () => {
  const cores = require('node:os').availableParallelism();
  const pool = new Pool({ filename: TASKS, threads: cores, spinMicroseconds: 1000 });
  try {
    await within(10_000, Promise.all(Array.from({ length: cores }, (_, x) => pool.run({ x }, { name: 'whereAmI' }))), 'the workers');
    // Three 15 ms tasks a worker: from the first result to the (2 × cores)-th, every worker has a
    // task to run, so none waits for one and no core is free for the main thread to spin on.
    const snapshots = [];
    const results = Array.from({ length: 3 * cores }, () => pool.run(15_000, { name: 'spin' }));
    let settled = 0;
    for (const result of results) {
      result.then(() => {
        settled++;
        if (settled === 1 || settled === 2 * cores) snapshots.push(stats());
      });
    }
    await within(60_000, Promise.all(results), 'the tasks');
    expect(snapshots).toHaveLength(2);
    expect(snapshots[1]).toEqual(snapshots[0]); // the prepare handle did not run in between
  } finally {
    await pool.close();
  }
  expect(native.asyncPending()).toBe(0);
});
