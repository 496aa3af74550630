'use strict';
// Worker helpers shared by the suites: every wait is bounded, and every worker started through a
// tracker is terminated after each test, so a bug fails fast instead of hanging Jest.
const { Worker } = require('node:worker_threads');

// Starts workers running `file` and remembers them until they exit.
function workerTracker(file) {
  const workers = new Set();
  return {
    workers,
    startWorker(workerData, options = {}) {
      const worker = new Worker(file, { ...options, workerData });
      workers.add(worker);
      worker.once('exit', () => workers.delete(worker));
      return worker;
    },
    terminateAll: () => Promise.all([...workers].map((worker) => worker.terminate())),
  };
}

const nextMessage = (worker) =>
  new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });

const exited = (worker) => new Promise((resolve) => worker.once('exit', resolve));

// Polls `condition` every few ms; rejects after `timeoutMs`.
async function waitFor(condition, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

module.exports = { workerTracker, nextMessage, exited, waitFor };
