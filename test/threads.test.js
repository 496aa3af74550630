'use strict';
// One state, many threads: marks and permits cross threads, parked threads wake exactly as many
// as released, no wakeup is lost, and teardown never hangs on a parked worker.
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { execFile } = require('node:child_process');
const native = require('./support/test-addon'); // first: setSpinEnabled acts on the lib's copy
const { WorkerWaker } = require('..');

// Notifications issued by releases on this waker so far: each one is a system call.
const notifies = (waker) => native.notifies(new BigUint64Array(waker.buffer));

const WORKER = path.join(__dirname, 'fixtures', 'waker-worker.js');
const { workerTracker, nextMessage, exited, waitFor } = require('./support/threads');
const { scaled } = require('./support/time-scale');
const { workers, startWorker, terminateAll } = workerTracker(WORKER);
// How fast a parked thread must let its worker or process go (stretched under emulation).
const TERMINATE_MS = scaled(100);

afterEach(async () => {
  await terminateAll();
});

test('a handle in a worker sees the main thread\'s marks and permits', async () => {
  const waker = new WorkerWaker();
  waker.markActive(12);
  waker.markYield();
  const worker = startWorker({ role: 'observe', buffer: waker.buffer });
  const seen = await nextMessage(worker);
  expect(seen).toEqual({ status: (1n << 63n) | (1n << 12n), summary: 1n << 12n, permits: 2 });
});

test('release(2) with four workers parked wakes exactly two', async () => {
  const waker = new WorkerWaker();
  const parked = [0, 1, 2, 3].map(() => startWorker({ role: 'acquire-once', buffer: waker.buffer }));
  let acquired = 0;
  for (const worker of parked) worker.on('message', (message) => { if (message === 'acquired') acquired++; });
  await waitFor(() => waker.sleepers() === 4, 5000, 'four parked workers');

  waker.release(2);
  expect(notifies(waker)).toBe(2); // one wake per permit handed to a queued thread, not four
  await waitFor(() => acquired === 2, 5000, 'two wakes');
  // Give a wrongly woken third thread time to show up before checking that it did not.
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(acquired).toBe(2);
  expect(waker.sleepers()).toBe(2);
  expect(waker.permits()).toBe(0);

  waker.release(2); // conservation: the other two take the rest
  await waitFor(() => acquired === 4, 5000, 'the last two wakes');
  expect(waker.permits()).toBe(0);
  expect(waker.sleepers()).toBe(0);
});

// Timeouts above about 31.7 years wait for ever. From 9.2e12 ms a conversion to the clock's int64
// nanoseconds would overflow (undefined behaviour: test/native/core_unit.cc checks the conversion
// under UBSan); 5e12 never did. Each must park until a release, then return true.
test.each([5e12, 9.3e12, 1e13, 1.5e13])('acquireTimeout(%d) parks until a release and then returns true', async (timeoutMs) => {
  const waker = new WorkerWaker();
  const code = `const { parentPort, workerData } = require('node:worker_threads');
const { WorkerWaker } = require(workerData.pkg);
parentPort.postMessage(new WorkerWaker(workerData.buffer).acquireTimeout(workerData.timeoutMs));`;
  const worker = new Worker(code, { eval: true, workerData: { pkg: path.join(__dirname, '..'), buffer: waker.buffer, timeoutMs } });
  workers.add(worker);
  worker.once('exit', () => workers.delete(worker));
  let result;
  const answered = nextMessage(worker).then((value) => {
    result = value;
  });
  await waitFor(() => waker.sleepers() === 1 || result !== undefined, 5000, 'the worker to park');
  // A deadline in the past is noticed within a park slice (20 ms): still parked well after that.
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(result).toBeUndefined(); // it did not return before a release
  expect(waker.sleepers()).toBe(1);
  waker.release(1);
  await answered;
  expect(result).toBe(true);
  expect(waker.permits()).toBe(0);
});

// With spinning off every hand-over parks and is notified: the lost-wakeup window between a
// sleeper's last check and its wait is crossed 100,000 times. With spinning on (the default),
// most hand-overs are caught by the spin and the rest park.
test.each([
  ['off', false],
  ['on', true],
])('a ping-pong of 100,000 rounds (spinning %s) never times out and ends with zero permits', async (_label, spin) => {
  const wasOn = native.setSpinEnabled(spin);
  try {
    const ping = new WorkerWaker();
    const pong = new WorkerWaker();
    const rounds = 100000;
    const common = { role: 'ping-pong', buffer: ping.buffer, rounds, timeoutMs: 5000 };
    const a = startWorker({ ...common, mine: ping.buffer, theirs: pong.buffer, starts: true });
    const b = startWorker({ ...common, mine: pong.buffer, theirs: ping.buffer, starts: false });
    const [resultA, resultB] = await Promise.all([nextMessage(a), nextMessage(b)]);
    expect(resultA).toEqual({ timeouts: 0 });
    expect(resultB).toEqual({ timeouts: 0 });
    expect(ping.permits()).toBe(0);
    expect(pong.permits()).toBe(0);
    expect(ping.sleepers() + pong.sleepers()).toBe(0);
    // Spinning off: the hand-overs really went through parked threads and notifications.
    if (!spin) expect(notifies(ping) + notifies(pong)).toBeGreaterThan(0);
  } finally {
    native.setSpinEnabled(wasOn);
  }
}, 120000);

test(`worker.terminate() of a worker parked in acquire() completes within ${TERMINATE_MS} ms`, async () => {
  const waker = new WorkerWaker();
  const worker = startWorker({ role: 'park-forever', buffer: waker.buffer });
  await nextMessage(worker);
  await waitFor(() => waker.sleepers() === 1, 5000, 'the worker to park');
  const started = process.hrtime.bigint();
  await worker.terminate();
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  expect(elapsedMs).toBeLessThan(TERMINATE_MS);
  // The terminated waiter took no permit and left no trace.
  expect(waker.sleepers()).toBe(0);
  waker.release(1);
  expect(waker.permits()).toBe(1);
});

test(`process.exit() while a worker is parked exits within ${TERMINATE_MS} ms`, async () => {
  const script = path.join(__dirname, 'fixtures', 'exit-while-parked.js');
  const { stdout, exitedAt, code, signal } = await new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [script], { timeout: 10000 }, (error, out) => {
      if (error && error.killed) reject(new Error('child hung'));
    });
    let out = '';
    child.stdout.on('data', (chunk) => { out += chunk; });
    child.on('exit', (exitCode, exitSignal) =>
      resolve({ stdout: out, exitedAt: Date.now(), code: exitCode, signal: exitSignal }));
  });
  expect({ code, signal }).toEqual({ code: 0, signal: null });
  const match = /exiting (\d+)/.exec(stdout);
  expect(match).not.toBeNull();
  expect(exitedAt - Number(match[1])).toBeLessThan(TERMINATE_MS);
});

test('a waker created in a worker stays usable after that worker exits', async () => {
  const source = `
    const { parentPort } = require('node:worker_threads');
    const { WorkerWaker } = require(${JSON.stringify(require.resolve('..'))});
    const waker = new WorkerWaker();
    waker.markActive(20);
    parentPort.postMessage(waker.buffer);`;
  const worker = new Worker(source, { eval: true });
  const workerGone = exited(worker);
  const buffer = await nextMessage(worker);
  await workerGone;
  const waker = new WorkerWaker(buffer);
  expect(waker.snapshotSummary()).toBe(1n << 20n);
  expect(waker.tryAcquire()).toBe(true);
  // Blocking works too, with a release from another worker.
  const releaser = new Worker(
    `const { workerData } = require('node:worker_threads');
     const { WorkerWaker } = require(${JSON.stringify(require.resolve('..'))});
     setTimeout(() => new WorkerWaker(workerData).release(1), 20);`,
    { eval: true, workerData: buffer },
  );
  workers.add(releaser);
  const releaserGone = exited(releaser);
  expect(waker.acquireTimeout(5000)).toBe(true);
  await releaserGone;
});

test('the addon works when only workers ever load it', async () => {
  const script = path.join(__dirname, 'fixtures', 'only-workers.js');
  const stdout = await new Promise((resolve, reject) => {
    execFile(process.execPath, [script], { timeout: 15000 }, (error, out) => (error ? reject(error) : resolve(out)));
  });
  expect(stdout.trim()).toBe('ok');
});

describe('spinning before parking', () => {
  const runChild = (script, env) =>
    new Promise((resolve, reject) => {
      execFile(process.execPath, ['-e', script], { timeout: 15000, env: { ...process.env, ...env }, cwd: __dirname },
        (error, out) => (error ? reject(error) : resolve(out)));
    });
  const probe = "process.stdout.write(String(require('./support/test-addon').setSpinEnabled(true)))";

  test('is on by default and off with WORKER_WAKER_SPIN=0', async () => {
    expect(await runChild(probe, { WORKER_WAKER_SPIN: '' })).toBe('true');
    expect(await runChild(probe, { WORKER_WAKER_SPIN: '1' })).toBe('true');
    expect(await runChild(probe, { WORKER_WAKER_SPIN: '0' })).toBe('false');
  });

  test('a parked thread does not burn a core while idle', async () => {
    const script = path.join(__dirname, 'fixtures', 'idle-cpu.js');
    const stdout = await new Promise((resolve, reject) => {
      execFile(process.execPath, [script], { timeout: 15000 }, (error, out) => (error ? reject(error) : resolve(out)));
    });
    const { cpuMicros, idleMs } = JSON.parse(stdout);
    // A busy-waiting thread would use about idleMs of CPU; parked in 20 ms slices it uses a
    // few ms. A quarter leaves room for a noisy machine.
    expect(cpuMicros / 1000).toBeLessThan(idleMs / 4);
  });
});
