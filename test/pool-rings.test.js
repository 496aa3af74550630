'use strict';
// The pool's task rings (lib/pool/layout.ts): any number of workers claim from a ring that one
// producer fills, and every entry goes to exactly one of them, also while the ring wraps.
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const L = require('../dist/pool/layout');
const { within } = require('./support/pool');

const CLAIMER = path.join(__dirname, 'fixtures', 'signal-ring-claimer.js');
const PRODUCER = path.join(__dirname, 'fixtures', 'signal-ring-producer.js');

// Each call of the returned function resolves to the worker's next message (or rejects with its
// error), so that no message is missed between two awaits.
function messages(worker) {
  const queue = [];
  const waiting = [];
  worker.on('message', (m) => (waiting.length > 0 ? waiting.shift().resolve(m) : queue.push(m)));
  worker.on('error', (e) => waiting.splice(0).forEach((w) => w.reject(e)));
  return () => (queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((resolve, reject) => waiting.push({ resolve, reject })));
}

// Every id of `counts` (an Int32Array of claim counts) exactly once, or the first one that is not.
function onceEach(counts) {
  const wrong = counts.findIndex((n) => n !== 1);
  return wrong === -1 ? 'every id once' : `id ${wrong} claimed ${counts[wrong]} times`;
}

test('workers racing to claim from one ring get every entry exactly once', async () => {
  const N = 1 << 16; // records take 512 bytes per id: 32 MiB here
  const layout = L.createLayout(1, 1, N);
  const view = L.viewLayout(layout);
  for (let id = 0; id < N; id++) {
    view.queueIds[id] = id;
    view.queueTokens[id] = id * 2;
  }
  Atomics.store(view.queueHeaders, L.TAIL, N);
  const counts = new SharedArrayBuffer(N * 4);
  const gate = new SharedArrayBuffer(4);
  const claimers = [1, 2, 3].map((batch) => new Worker(CLAIMER, { workerData: { layout, counts, gate, batch } }));
  const next = claimers.map(messages);
  try {
    await within(10000, Promise.all(next.map((n) => n())), 'the claimers to start');
    Atomics.store(new Int32Array(gate), 0, 1);
    Atomics.notify(new Int32Array(gate), 0);
    const claimed = await within(10000, Promise.all(next.map((n) => n())), 'the claimers');
    expect(claimed.reduce((a, b) => a + b, 0)).toBe(N);
    expect(onceEach(new Int32Array(counts))).toBe('every id once');
    expect(Atomics.load(view.queueHeaders, L.HEAD)).toBe(N);
  } finally {
    await Promise.all(claimers.map((worker) => worker.terminate()));
  }
}, 30000);

test('a producer wrapping a small ring while three workers drain it: every id is claimed exactly once', async () => {
  // Capacity 8: the producer reuses each slot thousands of times, so a claimer that copied a slot
  // after the producer could overwrite it (or a claim that skipped the CAS) would show up here as
  // a wrong token, a duplicate or a missing id.
  const N = 60000;
  const layout = L.createLayout(1, 1, 8);
  const view = L.viewLayout(layout);
  const counts = new SharedArrayBuffer(N * 4);
  const gate = new SharedArrayBuffer(4);
  const done = new SharedArrayBuffer(4);
  const threads = [
    new Worker(PRODUCER, { workerData: { layout, gate, done, total: N } }),
    ...[1, 2, 3].map((batch) => new Worker(CLAIMER, { workerData: { layout, counts, gate, batch, done } })),
  ];
  const next = threads.map(messages);
  try {
    await within(10000, Promise.all(next.map((n) => n())), 'the threads to start');
    Atomics.store(new Int32Array(gate), 0, 1);
    Atomics.notify(new Int32Array(gate), 0);
    const [produced, ...claimed] = await within(30000, Promise.all(next.map((n) => n())), 'the producer and claimers');
    expect(produced).toBe(N);
    expect(claimed.reduce((a, b) => a + b, 0)).toBe(N);
    expect(onceEach(new Int32Array(counts))).toBe('every id once');
    expect(Atomics.load(view.queueHeaders, L.HEAD)).toBe(N);
    expect(Atomics.load(view.queueHeaders, L.TAIL)).toBe(N);
  } finally {
    await Promise.all(threads.map((worker) => worker.terminate()));
  }
}, 45000);
