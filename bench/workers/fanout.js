'use strict';
// A fan-out consumer: takes permits until it sees STOP, counting each one in TAKEN, and posts
// 'reached' when its count makes TAKEN equal TARGET. It first posts its kernel thread id so
// that the producer (the main thread) can read this thread's context switches from /proc
// while it is parked. workerData: { impl, buffer, control }.
const { parentPort, workerData } = require('node:worker_threads');
const path = require('node:path');

const { threadId } = require('../util');

const TAKEN = 0;
const STOP = 1;
const TARGET = 2;
const { impl, buffer, control } = workerData;

const Kind = impl === 'worker-waker'
  ? require(path.join(__dirname, '..', '..')).WorkerWaker
  : require('../peers/atomics-waker').AtomicsWaker;
const waker = new Kind(buffer);

parentPort.postMessage({ tid: threadId() }); // null where there is no /proc (not Linux)

let taken = 0;
for (;;) {
  waker.acquire();
  if (Atomics.load(control, STOP) === 1) break;
  taken++;
  if (Atomics.add(control, TAKEN, 1) + 1 === Atomics.load(control, TARGET)) parentPort.postMessage('reached');
}
parentPort.postMessage({ taken });
