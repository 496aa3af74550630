'use strict';
// Teardown, the classic-level way: a child process (test/fixtures/teardown-stages.js) is brought
// to one lifecycle stage and ended there. Whatever the stage (fresh, workers parked in the native
// acquire(), acquireAsync calls pending, a release storm in full swing) and however it ends (on
// its own, process.exit(), worker.terminate()), it must exit with code 0, without a signal, with
// nothing on stderr, and quickly.
//
// "Quickly" is timed from the fixture's "exiting <ms>" line (the moment the stage starts to end)
// to the child's close, so that Node's start-up, which a loaded machine stretches to ~1 s, does
// not hide a slow teardown. TEARDOWN_MS sits between what the design allows and what a bug would
// take: a parked thread notices termination within one 20 ms park slice, and a teardown measures
// 10-50 ms here (up to ~300 ms on the 2-core VM under load); anything that waited on a 1 s timer
// (a park slice grown to a second, say) would need >= 1000 ms.
// The whole child's life is also bounded (LIFE_MS, the "under two seconds") as a guard.
const path = require('node:path');
const { spawn } = require('node:child_process');

const { scaled } = require('./support/time-scale');

const FIXTURE = path.join(__dirname, 'fixtures', 'teardown-stages.js');
const TEARDOWN_MS = scaled(500);
const LIFE_MS = scaled(2000);
const HANG_MS = scaled(10000); // a child still running then has hung: kill it and fail

function runStage(stage) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [FIXTURE, stage]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const hang = setTimeout(() => child.kill('SIGKILL'), HANG_MS);
    child.on('close', (code, signal) => {
      const closed = Date.now(); // the same wall clock as the child's Date.now()
      clearTimeout(hang);
      const exiting = /^exiting (\d+)$/m.exec(stdout);
      const teardownMs = exiting ? closed - Number(exiting[1]) : undefined;
      resolve({ code, signal, stdout, stderr, lifeMs: closed - started, teardownMs });
    });
  });
}

const STAGES = [
  ['fresh', 'used and left idle; ends on its own'],
  ['parked', 'a worker parked in acquire(), unref()d; ends on its own'],
  ['exit-parked', 'process.exit() while two workers are parked in acquire()'],
  ['terminate-parked', 'worker.terminate() of two parked workers, then ends on its own'],
  ['async-unref', 'acquireAsync pending with ref: false; ends on its own'],
  ['async-exit', 'process.exit() with ref\'d acquireAsync pending here and in a worker'],
  ['async-terminate', 'worker.terminate() of a worker with acquireAsync pending'],
  ['storm-exit', 'process.exit() in the middle of a release storm'],
  ['storm-terminate', 'worker.terminate() of storming workers, then ends on its own'],
  ['storm-unref', 'storming workers unref()d; ends on its own'],
];

test.each(STAGES)(`%s (%s): exit code 0, no signal, torn down within ${TEARDOWN_MS} ms`, async (stage) => {
  const { code, signal, stdout, stderr, lifeMs, teardownMs } = await runStage(stage);
  // The fixture prints "exiting <ms>" when its stage starts to end, "wrong: ..." when a check
  // inside it failed.
  expect({ code, signal, stdout, stderr }).toEqual({
    code: 0,
    signal: null,
    stdout: expect.stringMatching(/^exiting \d+\n$/),
    stderr: '',
  });
  expect(teardownMs).toBeGreaterThanOrEqual(0);
  expect(teardownMs).toBeLessThan(TEARDOWN_MS);
  expect(lifeMs).toBeLessThan(LIFE_MS);
});
