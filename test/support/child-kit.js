'use strict';
// Helpers of the child-process scenarios (fixtures/wait-queue-child.js,
// fixtures/wait-queue-attack-child.js): every wait is bounded, so a lost wakeup ends as a report
// or an error, never as a hang.
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const say = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(1);
  }
}

// Settles with the promise's value, or with `fallback` after `ms`.
const within = (promise, ms, fallback) =>
  Promise.race([promise, new Promise((resolve) => setTimeout(resolve, ms, fallback).unref())]);

// Worker code run with eval: attaches `waker` to workerData.buffer, then runs `body` (its own script).
function startWorker(body, workerData) {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { WorkerWaker } = require(${JSON.stringify(path.join(__dirname, '..', '..'))});
    const waker = new WorkerWaker(workerData.buffer);
    ${body}`;
  return new Worker(code, { eval: true, workerData });
}

// Resolves once `worker` has exited, also when it already has (Node sets threadId to -1 then).
const exited = (worker) =>
  worker.threadId === -1 ? Promise.resolve() : new Promise((resolve) => worker.once('exit', resolve));

module.exports = { say, sleep, waitFor, within, startWorker, exited };
