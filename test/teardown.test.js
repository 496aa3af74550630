'use strict';
// Teardown, the classic-level way: a child process (test/fixtures/teardown-stages.js) is brought
// to one lifecycle stage and ended there. Whatever the stage (fresh, workers parked in the native
// acquire(), acquireAsync calls pending, a release storm in full swing) and however it ends (on
// its own, process.exit(), worker.terminate()), it must exit with code 0, without a signal, with
// nothing on stderr, and well under two seconds after it started.
const path = require('node:path');
const { spawn } = require('node:child_process');

const FIXTURE = path.join(__dirname, 'fixtures', 'teardown-stages.js');
const LIMIT_MS = 2000;
const HANG_MS = 10000; // a child still running then has hung: kill it and fail

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
      clearTimeout(hang);
      resolve({ code, signal, stdout, stderr, elapsedMs: Date.now() - started });
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

test.each(STAGES)('%s (%s): exit code 0, no signal, under 2 s', async (stage) => {
  const { code, signal, stdout, stderr, elapsedMs } = await runStage(stage);
  // The fixture prints "exiting <ms>" when it reaches the end of its stage, "wrong: ..." when a
  // check inside it failed.
  expect({ code, signal, stdout, stderr }).toEqual({
    code: 0,
    signal: null,
    stdout: expect.stringMatching(/^exiting \d+\n$/),
    stderr: '',
  });
  expect(elapsedMs).toBeLessThan(LIMIT_MS);
});
