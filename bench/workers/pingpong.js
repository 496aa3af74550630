'use strict';
// One side of a round-trip benchmark. workerData:
//   mechanism  'worker-waker' | 'atomics' | 'postMessage' | 'spin-probe' (see below)
//   role       'ping' (drives timed rounds, posts { roundTripUs: [...] }) | 'pong' (echoes)
//   ping, pong SharedArrayBuffers of the two semaphores (waker or peer state); ping carries
//              ping -> pong, pong carries pong -> ping
//   control    Int32Array over a SharedArrayBuffer; [STOP] = 1 tells pong to leave, [GO] = 1
//              starts the run
//   port       MessagePort to the other side (postMessage only; a pong without one answers
//              the main thread through parentPort)
//   roundMs, rounds: see bench/run.js
//   waiting    pong answers each ping only once control[PENDING] is 1 (set by the main thread
//              when its call is pending), and clears it (the asyncWaiting section)
// Each side first posts { tid } (its kernel thread id, or null) so that the main thread can
// pin it to a CPU, and waits for GO. The ping side runs rounds of at least roundMs, after a half-length warm-up round that is
// not reported. Pong checks STOP after each ping, so ping stops it by setting STOP and sending
// one more ping.
const { parentPort, workerData } = require('node:worker_threads');
const path = require('node:path');

const { threadId } = require('../util');

const STOP = 0;
const GO = 1;
const PENDING = 2;
const { mechanism, role, roundMs, rounds, control, waiting = false } = workerData;

// asyncWaiting: holds the answer until the main thread's call is pending. A busy poll (this
// thread has a CPU of its own there), bounded so that a broken run fails instead of hanging.
function awaitPending() {
  if (!waiting) return;
  const limit = performance.now() + 10000;
  for (let i = 1; Atomics.load(control, PENDING) === 0; i++) {
    if ((i & 1023) === 0 && performance.now() > limit) throw new Error('pong: the main thread never flagged its call as pending');
  }
  Atomics.store(control, PENDING, 0);
}

function semaphores() {
  const Kind = mechanism === 'worker-waker' || mechanism === 'spin-probe'
    ? require(path.join(__dirname, '..', '..')).WorkerWaker
    : require('../peers/atomics-waker').AtomicsWaker;
  return { ping: new Kind(workerData.ping), pong: new Kind(workerData.pong) };
}

// Phase-2 probe, not the API: WorkerWaker with a bounded spin on tryAcquire() before acquire(),
// done from JS with the addon as it is (a Node-API call per poll, ~80 ns on the 2-core VM).
// Adaptive, so that it costs little where spinning cannot pay (the partner parked, or on this
// thread's own CPU):
// - a spin pays when a permit arrives during it, quickly (a permit found only after far longer
//   than the polls take means this thread was preempted: the partner shares its CPU);
// - a permit already there at the first poll says nothing either way;
// - after FAILURES_ALLOWED spins in a row that did not pay, the thread parks at once for
//   `skip` waits, then tries one spin again; each failed retry doubles `skip` (to SKIP_MAX).
const MAX_POLLS = 128;
const POLL_BUDGET_MS = 0.00025; // generous per-poll time: a spin far slower was preempted
const FAILURES_ALLOWED = 8;
const SKIP_MIN = 64;
const SKIP_MAX = 4096;
let failures = 0;
let allowance = FAILURES_ALLOWED;
let skip = 0;
let skipNext = SKIP_MIN;
function spinThenAcquire(waker) {
  if (skip > 0) {
    skip--;
    waker.acquire();
    return;
  }
  const start = performance.now();
  let polls = 0;
  while (polls < MAX_POLLS && !waker.tryAcquire()) polls++;
  const acquired = polls < MAX_POLLS;
  if (acquired && polls === 0) return;
  if (acquired && performance.now() - start < 0.002 + polls * POLL_BUDGET_MS) {
    failures = 0;
    allowance = FAILURES_ALLOWED;
    skipNext = SKIP_MIN;
    return;
  }
  if (++failures >= allowance) {
    skip = skipNext;
    skipNext = Math.min(SKIP_MAX, skipNext * 2);
    failures = 0;
    allowance = 1;
  }
  if (!acquired) waker.acquire();
}

function waitOn(waker) {
  if (mechanism === 'spin-probe') spinThenAcquire(waker);
  else waker.acquire();
}

function blockingPing() {
  const { ping, pong } = semaphores();
  const roundTripUs = [];
  for (let round = 0; round <= rounds; round++) {
    const start = performance.now();
    const limit = start + (round === 0 ? roundMs / 2 : roundMs);
    let trips = 0;
    let now;
    do {
      for (let i = 0; i < 16; i++) {
        ping.release(1);
        waitOn(pong);
      }
      trips += 16;
      now = performance.now();
    } while (now < limit);
    if (round > 0) roundTripUs.push(((now - start) * 1000) / trips);
  }
  Atomics.store(control, STOP, 1); // published to pong by the release that follows
  ping.release(1);
  parentPort.postMessage({ roundTripUs });
}

function blockingPong() {
  const { ping, pong } = semaphores();
  for (;;) {
    waitOn(ping);
    if (Atomics.load(control, STOP) === 1) break;
    awaitPending();
    pong.release(1);
  }
  parentPort.postMessage({ done: true });
}

// postMessage between the two workers over a MessageChannel: the pinger sends, the echo
// answers, the pinger's 'message' handler sends the next one.
function messagePing() {
  const { port } = workerData;
  const roundTripUs = [];
  let round = 0;
  let trips = 0;
  let start = performance.now();
  let limit = start + roundMs / 2;
  port.on('message', () => {
    trips++;
    if ((trips & 15) === 0) {
      const now = performance.now();
      if (now >= limit) {
        if (round > 0) roundTripUs.push(((now - start) * 1000) / trips);
        round++;
        if (round > rounds) {
          port.postMessage('stop');
          port.close();
          parentPort.postMessage({ roundTripUs });
          return;
        }
        trips = 0;
        start = now;
        limit = start + roundMs;
      }
    }
    port.postMessage(0);
  });
  port.postMessage(0);
}

function messagePong() {
  const port = workerData.port ?? parentPort;
  port.on('message', (message) => {
    if (message === 'stop') {
      parentPort.postMessage({ done: true });
      port.close();
      return;
    }
    awaitPending();
    port.postMessage(message);
  });
}

parentPort.postMessage({ tid: threadId() });
Atomics.wait(control, GO, 0); // before any measurement: the main thread pins us meanwhile

if (mechanism === 'postMessage') {
  if (role === 'ping') messagePing();
  else messagePong();
} else if (role === 'ping') {
  blockingPing();
} else {
  blockingPong();
}
