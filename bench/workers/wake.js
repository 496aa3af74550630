'use strict';
// The answering side of the wake benchmark (bench/sections/wake.js): stays awake, busy-polling
// a flag, so that only the main thread's wake-up is timed. For each call it waits until the main
// thread flags its call as pending, waits `delayUs` more (busy), stamps the clock
// (process.hrtime.bigint(), the clock main reads when its await resumes) and answers:
// worker-waker release(1), or Atomics.notify for the waitAsync peer. workerData:
//   impl       'worker-waker' | 'waitAsync'
//   buffer     the waker's SharedArrayBuffer (worker-waker)
//   control    Int32Array: [PENDING] set by main when its call is pending, [STOP], [FLAG] the
//              waitAsync peer's word
//   stamp      BigInt64Array: [0] the answer's timestamp
//   delayUs    how long after the call is pending to answer
const { parentPort, workerData } = require('node:worker_threads');

const { threadId } = require('../util');

const PENDING = 0;
const STOP = 1;
const FLAG = 2;
const { impl, control, stamp, delayUs } = workerData;
const waker = impl === 'worker-waker' ? new (require('../..').WorkerWaker)(workerData.buffer) : null;
const delayNs = BigInt(Math.round(delayUs * 1000));

parentPort.postMessage({ tid: threadId() });
const limit = performance.now() + 600_000;
for (let i = 1; ; i++) {
  if (Atomics.load(control, STOP) !== 0) break;
  if (Atomics.load(control, PENDING) === 0) {
    if ((i & 4095) === 0 && performance.now() > limit) throw new Error('wake: the main thread stopped flagging calls');
    continue;
  }
  Atomics.store(control, PENDING, 0);
  const answerAt = process.hrtime.bigint() + delayNs;
  while (process.hrtime.bigint() < answerAt);
  Atomics.store(stamp, 0, process.hrtime.bigint());
  if (waker !== null) {
    waker.release(1);
  } else {
    Atomics.store(control, FLAG, 1);
    Atomics.notify(control, FLAG);
  }
}
