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

// Resolves once `worker` has exited, also when it already has: a worker that posts a message and
// exits at once delivers both in one callback, so a listener added after awaiting the message
// would miss 'exit' (Node sets threadId to -1 once the worker is gone).
const exited = (worker) =>
  worker.threadId === -1 ? Promise.resolve() : new Promise((resolve) => worker.once('exit', resolve));

// Polls `condition` every few ms; rejects after `timeoutMs`.
async function waitFor(condition, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

module.exports = { workerTracker, nextMessage, exited, waitFor };
