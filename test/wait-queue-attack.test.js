'use strict';
// Attacks on the wait queue (native/core/wait_queue.h, docs/design-wait-queue.md) beyond
// test/wait-queue.test.js: hostile memory with exact conservation, exits and terminations racing
// grants and cancels, two copies of the addon serving both kinds of waiter, garbage-collected
// wakers, and the whole process stopped. Each scenario runs in a child process
// (fixtures/wait-queue-attack-child.js) under a kill timer, so a crash or a hang fails fast.
const path = require('node:path');
const { execFile, spawn } = require('node:child_process');

const CHILD = path.join(__dirname, 'fixtures', 'wait-queue-attack-child.js');
const BATCH = require('../dist/binding').native.asyncBatch;

function runChild(args, timeoutMs, nodeFlags = []) {
  return new Promise((resolve) => {
    execFile(process.execPath, [...nodeFlags, CHILD, ...args], { timeout: timeoutMs }, (error, stdout, stderr) => {
      resolve({ code: error ? error.code : 0, signal: error ? error.signal : null, stdout, stderr });
    });
  });
}

async function report(args, timeoutMs = 30_000, nodeFlags = []) {
  const result = await runChild(args, timeoutMs, nodeFlags);
  expect({ code: result.code, signal: result.signal, stderr: result.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
  return JSON.parse(result.stdout);
}

test('header and queued cell scribbled (0, all ones, 2^31, random) under blocked and async waiters: P = taken + left, all settle', async () => {
  for (let i = 0; i < 3; i++) {
    const r = await report(['scribble-conservation']);
    expect({ settled: r.settled, taken: r.taken + r.left, otherErrors: r.otherErrors, pending: r.pending }).toEqual({
      settled: true,
      taken: r.P,
      otherErrors: 0,
      pending: 0,
    });
  }
}, 90_000);

test('process.exit() on the main thread while a producer releases into pending calls and a blocked worker: exits with its code', async () => {
  for (const delayMs of [0, 5, 20, 50]) {
    const result = await runChild(['exit-main-racing-grants', String(delayMs)], 15_000);
    expect({ code: result.code, signal: result.signal, stderr: result.stderr }).toEqual({ code: 7, signal: null, stderr: '' });
  }
}, 70_000);

test('process.exit() in a worker as grants reach its 2,000 pending calls: exit code kept, no grant lost', async () => {
  for (const round of await report(['exit-worker-racing-grants'])) {
    expect(round.code).toBe(3);
    expect(round.queued).toBe(0);
    expect(round.unaccounted).toBeGreaterThanOrEqual(0);
    expect(round.unaccounted).toBeLessThanOrEqual(BATCH);
  }
});

test('terminate() mid-storm of timeouts and aborts racing grants: every permit taken or left (at most one batch never continued)', async () => {
  for (const round of await report(['terminate-during-cancel-storm'], 60_000)) {
    expect(round.queued).toBe(0);
    expect(round.unaccounted).toBeGreaterThanOrEqual(0);
    expect(round.unaccounted).toBeLessThanOrEqual(BATCH);
  }
}, 70_000);

test('two copies of the addon: blocked waiters through each, async through one, releases through both: P = taken + left', async () => {
  const r = await report(['two-copies-both-kinds']);
  expect(r.taken + r.left).toBe(r.P);
  expect(r.left).toBe(0); // the waiters took every permit within the bounded drain
});

test('wakers garbage-collected with calls pending all resolve when another thread releases; a dropped buffer with an unref\'d call exits cleanly', async () => {
  const r = await report(['gc-pending'], 30_000, ['--expose-gc']);
  expect(r).toEqual({ N: 2000, resolved: 2000 });
});

test('SIGSTOP of the whole process for 1.5 s with blocked and async waiters and a producer: P = taken + left', async () => {
  const child = spawn(process.execPath, [CHILD, 'stop-continue'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (data) => (stderr += data));
  const ready = new Promise((resolve) => {
    child.stdout.on('data', (data) => {
      stdout += data;
      if (stdout.includes('"ready"')) resolve();
    });
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await ready;
  await new Promise((resolve) => setTimeout(resolve, 200));
  child.kill('SIGSTOP');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  child.kill('SIGCONT');
  const end = await exited;
  clearTimeout(killer);
  expect({ ...end, stderr }).toEqual({ code: 0, signal: null, stderr: '' });
  const r = JSON.parse(stdout.trim().split('\n').pop());
  expect(r.settled).toBe(true);
  expect(r.taken + r.left).toBe(r.P);
}, 40_000);

test('the .node refuses acquireAsync on state over a plain ArrayBuffer (its memory can be transferred away while the call waits)', async () => {
  const r = await report(['detached-state'], 30_000, ['--expose-gc']);
  expect(r).toEqual({ refused: 20, corrupted: 0, pending: 0, shared: 'number' });
});

test('two copies of the addon, async calls through both, releases only through the second: every call served (safety net), none left', async () => {
  const r = await report(['two-copies-async-both-ways']);
  expect({ settled: r.settled, taken: r.taken, left: r.left }).toEqual({ settled: true, taken: r.N, left: 0 });
  expect(r.ms).toBeLessThan(1000); // the poll's longest period is 256 ms
});

test('a scribbled permit cell: release() fails with a RangeError naming n; permits left in the cell reach the remaining waiters', async () => {
  const r = await report(['scribble-permits']);
  expect({ errors: r.errors, served: r.served, left: r.left }).toEqual({
    errors: ['RangeError:true', 'RangeError:true'],
    served: true,
    left: 0,
  });
  expect(r.ms).toBeLessThan(1000); // a slice (20 ms) for blocked waiters, a poll (<= 256 ms) for async ones
});

test('8 workers parked in turn on 100 wakers, 800 releases in shuffled order: all get through, no permit left', async () => {
  expect(await report(['many-wakers-blocked'])).toEqual({ finished: true, done: 8, left: 0 });
});

test('a worker whose loop ends on its own while grants reach its 5,000 unref\'d calls: every grant delivered or back, exactly', async () => {
  for (const round of await report(['natural-end-racing-grants'], 60_000)) {
    expect({ unaccounted: round.unaccounted, queued: round.queued }).toEqual({ unaccounted: 0, queued: 0 });
  }
}, 70_000);

test('the main thread ends naturally with 2,000 unref\'d calls pending while a worker releases into them: exit 0, no crash, no hang', async () => {
  for (const delayMs of [0, 1, 3, 10]) {
    const result = await runChild(['main-natural-end-racing-grants', String(delayMs)], 15_000);
    expect({ code: result.code, signal: result.signal, stderr: result.stderr, stdout: result.stdout }).toEqual({
      code: 0,
      signal: null,
      stderr: '',
      stdout: '"ending"\n',
    });
  }
}, 70_000);

test('8 workers parked, 4 terminated and release(8) at once: the dying pass their permits on, each survivor wakes with one, 4 left', async () => {
  const rounds = await report(['terminate-half-then-release']);
  expect(rounds).toEqual(Array(8).fill({ survived: true, got: 4, left: 4, queued: 0 }));
});

test('acquireAsync() at the stack\'s limit: a call that throws or rejects (stack overflow) after it was queued takes no permit', async () => {
  for (let round = 0; round < 2; round++) {
    // Not report(): V8 itself may print a stack overflow it hit in its promise hooks to stderr.
    const result = await runChild(['stack-overflow'], 60_000);
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null });
    const r = JSON.parse(result.stdout);
    expect(r.held).toBeGreaterThan(1000);
    // One permit per call the addon held: each went to a promise that resolved, or back to the cell.
    expect({ accounted: r.resolved + r.left, pending: r.pending, queued: r.queued }).toEqual({ accounted: r.held, pending: 0, queued: 0 });
  }
}, 90_000);
