'use strict';
// The wait queue (native/core/wait_queue.h, docs/design-wait-queue.md) against the ways a thread can
// die, stall or scribble while it waits: each scenario runs in a child process
// (fixtures/wait-queue-child.js) with a kill timer, so a hang fails fast, and checks exact
// permit conservation.
const path = require('node:path');
const { execFile } = require('node:child_process');

const CHILD = path.join(__dirname, 'fixtures', 'wait-queue-child.js');

function runChild(scenario, rounds = 1, timeoutMs = 30_000) {
  return new Promise((resolve) => {
    execFile(process.execPath, [CHILD, scenario, String(rounds)], { timeout: timeoutMs }, (error, stdout, stderr) => {
      resolve({ code: error ? error.code : 0, signal: error ? error.signal : null, stdout, stderr });
    });
  });
}

async function report(scenario, rounds, timeoutMs) {
  const result = await runChild(scenario, rounds, timeoutMs);
  expect({ code: result.code, signal: result.signal, stderr: result.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
  return JSON.parse(result.stdout);
}

// Grants handed to JS per dispatch (kBatch in native/node/async_binding.cc): a thread terminated
// mid-hand-out may have resolved at most this many promises whose continuations never ran.
const BATCH = require('../dist/binding').native.asyncBatch;

describe('a thread that goes away takes nothing', () => {
  test('terminate() during the hand-out of 100,000 grants: every grant not handed to a promise comes back', async () => {
    const rounds = await report('terminate-handout', 3, 60_000);
    for (const { M, taken, left, queued } of rounds) {
      const unaccounted = M - taken - left;
      expect(unaccounted).toBeGreaterThanOrEqual(0); // never a grant both used and given back
      expect(unaccounted).toBeLessThanOrEqual(BATCH);
      expect(taken).toBeLessThan(M); // the termination did land during the hand-out
      expect(queued).toBe(0);
    }
  }, 70_000);

  test('terminate() then release(64) to a worker with 64 calls pending: all 64 permits stay', async () => {
    expect(await report('terminate-then-release', 10)).toEqual(Array(10).fill(64));
  });

  test('a worker parked in acquire() is terminated, then release(1): the permit stays; terminate < 100 ms', async () => {
    const { left, terminateMs } = await report('terminate-parked', 20);
    expect(left).toEqual(Array(20).fill(1));
    for (const ms of terminateMs) expect(ms).toBeLessThan(100);
  });

  test('A and B parked, A terminated: release(1) or markActive(3) x 11 wakes B with that one permit', async () => {
    const rounds = await report('terminate-one-of-two', 8);
    expect(rounds).toHaveLength(16);
    for (const round of rounds) expect(round).toEqual({ how: round.how, woke: true, a: 0, b: 1, left: 0 });
  });
});

test('a JS thread stalled 1.5 s right after acquireAsync() is still served, during and after the stall', async () => {
  expect(await report('stall')).toEqual({ first: true, second: true, permits: 0 });
});

test('a scribbled header: timeouts and aborts settle, nothing throws, no permit the library holds is stranded', async () => {
  expect(await report('scribble')).toEqual({
    timeout: false,
    abort: 'AbortError',
    grantInFlight: { acquired: expect.any(Boolean), conserved: 1 },
    grantAfterScribble: true,
    cellAfter: 0,
    release: 'no error', // the permit is added; the safety net hands it over
    afterRelease: true,
    newCall: 'TypeError', // a new call on a scribbled state fails with a clear error
  });
});

test('a queued cell scribbled to 0: blocked and async waiters still get a permit released afterwards', async () => {
  const { async, asyncMs, blocked, blockedMs } = await report('queued-cell-zeroed');
  expect({ async, blocked }).toEqual({ async: true, blocked: 1 });
  expect(asyncMs).toBeLessThan(1000); // the async poll backs off to 256 ms
  expect(blockedMs).toBeLessThan(500); // a parked thread re-checks every 20 ms slice
});

test('two copies of the addon in one process: a release through the second reaches waiters of the first', async () => {
  const { distinct, async, blocked, permits } = await report('two-copies');
  expect({ distinct, async, blocked, permits }).toEqual({ distinct: true, async: true, blocked: 1, permits: 0 });
});

test('10,000 wakers with one pending acquireAsync each: no extra thread, idle CPU < 2 %, set-up < 1 s, all resolve', async () => {
  const result = await report('ten-thousand', 1, 60_000);
  expect(result.threadsDuring).toBe(result.threadsBefore);
  expect(result.setupMs).toBeLessThan(1000);
  expect(result.idleCpuShare).toBeLessThan(0.02);
  expect(result.resolved).toBe(10_000);
  expect(result.permits).toBe(0);
}, 70_000);

test('FIFO across blocked and async waiters; a tryAcquire after a release never overtakes a queued waiter', async () => {
  expect(await report('fifo')).toEqual({ order: ['A1', 'B', 'A2'], overtaken: [false, false, false], permits: 0, queued: 0 });
});
