'use strict';
// acquireAsync's loop spin (options.spinMicroseconds): the event loop of a thread with such calls
// pending polls for a grant before it sleeps. Conservation (permits in == permits out) and bounded
// waits; the test build's asyncSpinStats says what the spin did, never how fast.
const path = require('node:path');
const { execFile } = require('node:child_process');
const native = require('./support/test-addon'); // first: the lib then uses the test build
const { stats, prepares, freshBackoffEachTest } = require('./support/loop-spin');
const { WorkerWaker } = require('..');
const { workerTracker, nextMessage, exited, waitFor } = require('./support/threads');

const RELEASER = path.join(__dirname, 'fixtures', 'async-worker.js');
const SPINNER = path.join(__dirname, 'fixtures', 'async-spin-worker.js');
const CHILD = path.join(__dirname, 'fixtures', 'async-spin-child.js');
const releasers = workerTracker(RELEASER);
const spinners = workerTracker(SPINNER);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function within(promise, ms, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

function runChild(scenario, timeoutMs = 10_000) {
  return new Promise((resolve) => {
    execFile(process.execPath, [CHILD, scenario], { timeout: timeoutMs }, (error, stdout, stderr) => {
      resolve({ code: error ? error.code : 0, signal: error ? error.signal : null, stdout, stderr });
    });
  });
}

// Calls a test leaves pending when it fails midway: aborted afterwards, so that one failure does
// not fail the tests after it.
const controllers = new Set();
function abortable() {
  const controller = new AbortController();
  controllers.add(controller);
  return controller;
}

freshBackoffEachTest();

afterEach(async () => {
  for (const controller of controllers) controller.abort();
  controllers.clear();
  await sleep(1);
  await releasers.terminateAll();
  await spinners.terminateAll();
  // Every test leaves no call behind, so the loop spin is off again.
  expect(native.asyncPending()).toBe(0);
});

describe('options.spinMicroseconds', () => {
  test('bad values reject with TypeError/RangeError naming the option and its range, and change nothing', async () => {
    const waker = new WorkerWaker();
    waker.release(1);
    const before = stats();
    const cases = [
      ['100', TypeError, 'ERR_INVALID_ARG_TYPE', /"options.spinMicroseconds".*of type number.*Received type string/],
      [null, TypeError, 'ERR_INVALID_ARG_TYPE', /"options.spinMicroseconds".*Received null/],
      [10n, TypeError, 'ERR_INVALID_ARG_TYPE', /"options.spinMicroseconds".*Received 10n/],
      [-1, RangeError, 'ERR_OUT_OF_RANGE', /"options.spinMicroseconds".*an integer from 0 to 1000.*Received -1/],
      [1001, RangeError, 'ERR_OUT_OF_RANGE', /"options.spinMicroseconds".*from 0 to 1000.*Received 1001/],
      [1.5, RangeError, 'ERR_OUT_OF_RANGE', /Received 1.5/],
      [NaN, RangeError, 'ERR_OUT_OF_RANGE', /Received NaN/],
      [Infinity, RangeError, 'ERR_OUT_OF_RANGE', /Received Infinity/],
    ];
    for (const [spinMicroseconds, type, code, message] of cases) {
      const call = waker.acquireAsync({ spinMicroseconds, timeout: 1000 });
      await expect(call).rejects.toThrow(type);
      await expect(call).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
    }
    expect(waker.permits()).toBe(1);
    expect(waker.sleepers()).toBe(0);
    await sleep(20);
    expect(stats().spins).toBe(before.spins);
  });

  test('0 and 1000 are accepted; a permit that is there is taken at once either way', async () => {
    const waker = new WorkerWaker();
    waker.release(2);
    await expect(waker.acquireAsync({ spinMicroseconds: 0 })).resolves.toBe(true);
    await expect(waker.acquireAsync({ spinMicroseconds: 1000 })).resolves.toBe(true);
    await expect(waker.acquireAsync({ spinMicroseconds: 1000, timeout: 0 })).resolves.toBe(false);
    expect(waker.permits()).toBe(0);
  });

  test('the addon refuses a spin out of range or for an unknown dispatcher', () => {
    const waker = new WorkerWaker();
    waker.acquireAsync({ timeout: 0 }); // registers this layer's dispatcher on the thread
    for (const [dispatcher, micros] of [[0, 1001], [0, -1], [0, 0.5], [0, '1'], [1e9, 10], [-1, 10]]) {
      let caught;
      try {
        native.asyncSpin(dispatcher, micros);
      } catch (error) {
        caught = error;
      }
      expect(caught && caught.name).toBe('RangeError');
    }
  });
});

describe('the spin', () => {
  test('many grants while the loop spins: every permit is taken once, and grants end spins', async () => {
    // Whether a grant lands during a spin depends on the scheduler (on a busy machine the spinning
    // thread can keep the releaser off the CPU, and the spin then backs off): up to 5 rounds, until
    // one has seen it. Conservation is checked in every round.
    const waker = new WorkerWaker();
    const total = 600;
    const before = stats();
    for (let round = 0; round < 5 && stats().found === before.found; round++) {
      const releaser = releasers.startWorker({ role: 'release', buffer: waker.buffer, total, seed: 7 + round, cap: 1 });
      let acquired = 0;
      const run = (async () => {
        while (acquired < total) {
          if (await waker.acquireAsync({ spinMicroseconds: 1000, timeout: 5000 })) acquired++;
          else throw new Error(`no permit within 5 s after ${acquired}`);
        }
      })();
      await expect(nextMessage(releaser)).resolves.toEqual({ released: total });
      await within(run, 20_000, 'the calls');
      expect(acquired).toBe(total);
      expect(waker.permits()).toBe(0);
      expect(waker.sleepers()).toBe(0);
    }
    const after = stats();
    expect(after.spins).toBeGreaterThan(before.spins);
    expect(after.found).toBeGreaterThan(before.found); // a grant arrived while the loop spun, and ended the spin
  });

  test('calls that did not ask for it never spin the loop', async () => {
    const waker = new WorkerWaker();
    const total = 500;
    for (let i = 0; i < 5; i++) await sleep(1); // the spins of earlier calls are over
    const before = stats();
    const releaser = releasers.startWorker({ role: 'release', buffer: waker.buffer, total, seed: 8, cap: 1 });
    const report = nextMessage(releaser); // listening before its message can come
    let acquired = 0;
    while (acquired < total) {
      if (!(await within(waker.acquireAsync({ timeout: 5000 }), 10_000, 'a call'))) {
        const state = { acquired, permits: waker.permits(), sleepers: waker.sleepers(), pending: native.asyncPending(), stats: stats() };
        throw new Error(`no permit within 5 s: ${JSON.stringify(state)}`);
      }
      acquired++;
    }
    await expect(within(report, 10_000, 'the releaser')).resolves.toEqual({ released: total });
    expect(acquired).toBe(total);
    expect(waker.permits()).toBe(0);
    expect(stats()).toEqual(before); // the prepare handle never ran
  });

  test('timeouts and aborts of spinning calls lose no permit, and the spin stops with the last call', async () => {
    const waker = new WorkerWaker();
    const timedOut = waker.acquireAsync({ spinMicroseconds: 1000, timeout: 30 });
    const controller = abortable();
    const aborted = waker.acquireAsync({ spinMicroseconds: 500, signal: controller.signal });
    const start = prepares();
    await sleep(10);
    expect(prepares()).toBeGreaterThan(start);
    controller.abort('enough');
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError', cause: 'enough' });
    await expect(within(timedOut, 5000, 'the timeout')).resolves.toBe(false);
    expect(waker.sleepers()).toBe(0);
    const after = prepares();
    for (let i = 0; i < 10; i++) await sleep(1); // a loop that sleeps 10 times: the prepare handle is stopped
    expect(prepares()).toBe(after);
    waker.release(2);
    expect(waker.permits()).toBe(2);
    await expect(waker.acquireAsync({ spinMicroseconds: 1000 })).resolves.toBe(true);
    expect(waker.tryAcquire()).toBe(true);
  });

  test('with several calls the loop spins for the largest request', async () => {
    // In a fresh thread: this one's spin may be backing off after the tests above.
    const waker = new WorkerWaker();
    const worker = spinners.startWorker({ buffer: waker.buffer, timers: 20, spinRequests: [10, 400, 0] });
    const report = await within(nextMessage(worker), 10_000, '20 chained 1 ms timers');
    expect(report.spins).toBeGreaterThan(0);
    expect(report.maxSpinMicros).toBeGreaterThan(10); // spins of 400 µs (each cut short by a timer at most)
    expect(report.maxSpinMicros).toBeLessThan(1000 * 20);
    await within(exited(worker), 5000, 'the worker to end');
  });

  test('the spin stops when the last spinning call ends, also when calls without a spin stay', async () => {
    const waker = new WorkerWaker();
    const plain = abortable();
    const still = waker.acquireAsync({ signal: plain.signal });
    const spinning = waker.acquireAsync({ spinMicroseconds: 300, timeout: 20 });
    await expect(within(spinning, 5000, 'the spinning call')).resolves.toBe(false);
    const after = prepares();
    for (let i = 0; i < 10; i++) await sleep(1);
    expect(prepares()).toBe(after);
    plain.abort();
    await expect(still).rejects.toMatchObject({ name: 'AbortError' });
    expect(waker.sleepers()).toBe(0);
  });

  test('no spin while a setImmediate is pending: the loop is not going to sleep', async () => {
    const waker = new WorkerWaker();
    const controller = abortable();
    const call = waker.acquireAsync({ spinMicroseconds: 1000, signal: controller.signal });
    const before = stats();
    let turns = 0;
    await new Promise((resolve) => {
      const turn = () => (++turns < 500 ? setImmediate(turn) : resolve());
      setImmediate(turn);
    });
    const after = stats();
    expect(after.spins).toBe(before.spins);
    expect(after.backingOff).toBe(before.backingOff); // not even asked whether to spin
    expect(after.notSleeping - before.notSleeping).toBeGreaterThanOrEqual(490);
    controller.abort();
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
  });

  test('timers due during a spin still fire: the spin never outlasts the loop\'s own timeout', async () => {
    // In a fresh thread: this one's spin may be backing off after the tests above.
    const waker = new WorkerWaker();
    const worker = spinners.startWorker({ buffer: waker.buffer, timers: 30 });
    const report = await within(nextMessage(worker), 10_000, '30 chained 1 ms timers');
    expect(report.fired).toBe(30);
    expect(report.spins).toBeGreaterThan(0); // the loop did spin between the timers
    await within(exited(worker), 5000, 'the worker to end');
    expect(waker.sleepers()).toBe(0);
  });
  test('I/O that arrives during a spin ends it: a call never granted does not hold up an echo', async () => {
    // In a fresh thread, whose spin has not backed off: each line goes through a child process
    // and back while that thread's loop spins for a call that asked for 1000 µs and never gets a
    // permit. A spin the answer arrives in ends there (endedByIo), not at the end of its budget.
    const waker = new WorkerWaker();
    const worker = spinners.startWorker({ buffer: waker.buffer, echo: 200 });
    const report = await within(nextMessage(worker), 20_000, '200 echoes');
    expect(report.echoed).toBe(200);
    expect(report.spins).toBeGreaterThan(0);
    expect(report.found).toBe(0); // nothing was granted
    expect(report.endedByIo).toBeGreaterThan(0);
    expect(report.endedByIo).toBeLessThanOrEqual(report.spins);
    await within(exited(worker), 5000, 'the worker to end');
    expect(waker.sleepers()).toBe(0);
    waker.release(1);
    expect(waker.permits()).toBe(1); // the aborted call took nothing
  });
});

describe('threads and teardown', () => {
  test('terminate() of a worker whose loop spins with calls pending: quick, its calls leave the queue, no permit lost', async () => {
    const waker = new WorkerWaker();
    const worker = spinners.startWorker({ buffer: waker.buffer, calls: 8 });
    await expect(within(nextMessage(worker), 10_000, 'the worker to spin')).resolves.toBe('spinning');
    expect(waker.sleepers()).toBe(8);
    const done = worker.terminate();
    waker.release(5); // races the teardown: granted or not, each permit ends up back in the waker
    await within(done, 5000, 'terminate()');
    await within(exited(worker), 5000, 'the exit');
    expect(waker.sleepers()).toBe(0);
    // No JS runs in the worker once terminate() was called, so every permit granted to its calls
    // came back.
    expect(waker.permits()).toBe(5);
  });

  test('a worker that calls process.exit() while its loop spins exits with its code; its calls leave the queue', async () => {
    const waker = new WorkerWaker();
    const worker = spinners.startWorker({ buffer: waker.buffer, calls: 4, exitCode: 3 });
    const code = await within(new Promise((resolve) => worker.once('exit', resolve)), 10_000, 'the worker to exit');
    expect(code).toBe(3);
    expect(waker.sleepers()).toBe(0);
    waker.release(4);
    expect(waker.permits()).toBe(4);
  });

  test('process.exit() in a process whose loop spins with ref\'d calls pending exits with its code', async () => {
    const result = await runChild('process-exit');
    expect(result).toMatchObject({ code: 7, signal: null, stdout: 'exiting\n', stderr: '' });
  });

  test('the spin never keeps a loop alive: unref\'d spinning calls let the process end', async () => {
    const result = await runChild('natural-end');
    expect(result).toMatchObject({ code: 0, signal: null, stdout: 'ended with 4 queued\n', stderr: '' });
  });
});
