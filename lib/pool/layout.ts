// The shared memory of one pool, used by the main thread (index.ts) and every worker (worker.ts).
// Everything lives in SharedArrayBuffers handed to a worker once, through workerData.
//
// Task rings: `queueCount` bounded rings with one producer (the main thread) and any number of
// consumers (workers claim batches with a compare-and-swap on `head`). Ring r is signal queue
// `(r % words) * 64 + floor(r / words)`, so consecutive rings land in different signal words.
// A ring entry is (task id, token): the token the id's state had when it was queued.
//
// Task states (one Int32 per id): the single truth about who runs a task. The main thread stores
// a fresh QUEUED token (a new generation) before it queues the id; a worker runs the task only
// after its compare-and-swap from that token to STARTED-by-me succeeds. A ring entry whose token
// no longer matches (the task was aborted, or put back after its worker died and queued again)
// is skipped, so an id queued twice still runs once. A worker marks DONE a task whose result it
// wrote into the record, before it publishes it: if it dies before publishing, the pool still
// finds the result there.
//
// Records: RECORD_BYTES per id. The main thread writes the task's name and argument there (the
// fast path, payload.ts); the worker reads them, then writes its start time, run time and (fast
// path) the result over them. An id belongs to one task at a time, so a record is never shared.
//
// Result rings: one per worker slot, one producer (that worker) and one consumer (the main
// thread); an entry is a task id whose record holds its result. Results that take the slow path
// (big values, errors) are posted instead.
//
// Messages: see worker.ts.
//
// Indices are free-running int32 counters (wrapping at 2^32, compared with `(a - b) | 0`); a slot
// is `index & (capacity - 1)`. Head and tail sit 64 bytes apart so that producer and consumers
// do not write the same cache line.

import type { MessagePort } from 'node:worker_threads';

export const HEADER_INTS = 32; // 128 bytes per ring header: head at +0, tail at +16
export const HEAD = 0;
export const TAIL = 16;

// control[STATE]: what workers do when they run out of work.
export const STATE = 0;
export const RUNNING = 0;
export const STOPPING = 1; // close(): exit once every task has completed (no work is left)
export const CANCELLING = 2; // destroy(): exit after the task in hand
// control[STOP_REQUESTS]: idle workers that should exit (idleTimeout); any idle worker may take one.
export const STOP_REQUESTS = 1;
// control[CLEAN_EXIT + slot]: 1 when that worker left its loop on purpose (not a crash).
export const CLEAN_EXIT = 16;
export const MAX_THREADS = 64; // worker slot i marks result queue i: all in result word 0
const CONTROL_INTS = CLEAN_EXIT + MAX_THREADS;

// Task state tokens: generation << GEN_SHIFT | phase << PHASE_SHIFT | (worker slot + 1).
export const PHASE_SHIFT = 7;
export const GEN_SHIFT = 9;
export const WORKER_MASK = (1 << PHASE_SHIFT) - 1;
export const PHASE_MASK = 3 << PHASE_SHIFT;
export const QUEUED = 1 << PHASE_SHIFT;
export const STARTED = 2 << PHASE_SHIFT;
export const DONE = 3 << PHASE_SHIFT; // finished, its result in its record (fast path); STARTED | DONE_BIT
export const DONE_BIT = 1 << PHASE_SHIFT;
export const GEN_MASK = ~((1 << GEN_SHIFT) - 1);

// Records.
export const RECORD_BYTES = 512;
export const RECORD_START = 0; // float64: when the task started (performance.timeOrigin + now(), ms)
export const RECORD_RUN = 8; // float64: how long it ran (ms)
export const RECORD_PAYLOAD = 16; // the name then the argument; later the result

// Per-worker-slot counters, written by the worker (stats[slot * STAT_STRIDE + field]).
export const STAT_STRIDE = 16; // 128 bytes per slot: no false sharing between workers
export const STAT_TASKS = 0; // tasks started (a task run twice would show here)

export interface Layout {
  readonly words: number;
  readonly queuesPerWord: number;
  readonly queueCount: number;
  readonly queueCapacity: number;
  readonly maxPending: number;
  readonly resultCapacity: number;
  readonly control: SharedArrayBuffer;
  readonly stats: SharedArrayBuffer;
  readonly states: SharedArrayBuffer;
  readonly records: SharedArrayBuffer;
  readonly queueHeaders: SharedArrayBuffer;
  readonly queueIds: SharedArrayBuffer;
  readonly queueTokens: SharedArrayBuffer;
  readonly resultHeaders: SharedArrayBuffer;
  readonly resultIds: SharedArrayBuffer;
}

export interface View {
  readonly control: Int32Array;
  readonly stats: Float64Array;
  readonly states: Int32Array;
  readonly records: Float64Array;
  readonly queueHeaders: Int32Array;
  readonly queueIds: Int32Array;
  readonly queueTokens: Int32Array;
  readonly resultHeaders: Int32Array;
  readonly resultIds: Int32Array;
}

export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Creates the shared buffers of a pool; the arguments are already validated. */
export function createLayout(words: number, queuesPerWord: number, queueCapacity: number): Layout {
  const queueCount = words * queuesPerWord;
  // A result ring never fills: at most `maxPending` ids are admitted and not yet collected, and
  // every entry of a result ring is one of them.
  const maxPending = queueCount * queueCapacity;
  const resultCapacity = nextPowerOfTwo(maxPending);
  return {
    words,
    queuesPerWord,
    queueCount,
    queueCapacity,
    maxPending,
    resultCapacity,
    control: new SharedArrayBuffer(CONTROL_INTS * 4),
    stats: new SharedArrayBuffer(MAX_THREADS * STAT_STRIDE * 8),
    states: new SharedArrayBuffer(maxPending * 4),
    records: new SharedArrayBuffer(maxPending * RECORD_BYTES),
    queueHeaders: new SharedArrayBuffer(queueCount * HEADER_INTS * 4),
    queueIds: new SharedArrayBuffer(maxPending * 4),
    queueTokens: new SharedArrayBuffer(maxPending * 4),
    resultHeaders: new SharedArrayBuffer(MAX_THREADS * HEADER_INTS * 4),
    resultIds: new SharedArrayBuffer(MAX_THREADS * resultCapacity * 4),
  };
}

/** Typed views over a layout (in any thread). */
export function viewLayout(layout: Layout): View {
  return {
    control: new Int32Array(layout.control),
    stats: new Float64Array(layout.stats),
    states: new Int32Array(layout.states),
    records: new Float64Array(layout.records),
    queueHeaders: new Int32Array(layout.queueHeaders),
    queueIds: new Int32Array(layout.queueIds),
    queueTokens: new Int32Array(layout.queueTokens),
    resultHeaders: new Int32Array(layout.resultHeaders),
    resultIds: new Int32Array(layout.resultIds),
  };
}

/** Signal queue number (word * 64 + bit) of ring `ring`. */
export function signalQueueOf(layout: Layout, ring: number): number {
  return (ring % layout.words) * 64 + Math.floor(ring / layout.words);
}

/** Ring index of bit `bit` of signal word `word`. */
export function ringOf(layout: Layout, word: number, bit: number): number {
  return bit * layout.words + word;
}

/** Entries of ring `ring` not claimed yet (as seen now). */
export function ringLength(view: View, ring: number): number {
  const at = ring * HEADER_INTS;
  return (Atomics.load(view.queueHeaders, at + TAIL) - Atomics.load(view.queueHeaders, at + HEAD)) | 0;
}

/**
 * Claims up to `max` entries of ring `ring`: copies their ids and tokens into `ids`/`tokens` and
 * returns how many (0 when the ring is empty). Any number of threads may claim from one ring at
 * once; each entry goes to exactly one of them.
 */
export function claimTasks(layout: Layout, view: View, ring: number, max: number, ids: Int32Array, tokens: Int32Array): number {
  const { queueHeaders, queueIds, queueTokens } = view;
  const headAt = ring * HEADER_INTS + HEAD;
  const tailAt = ring * HEADER_INTS + TAIL;
  const base = ring * layout.queueCapacity;
  const mask = layout.queueCapacity - 1;
  for (;;) {
    const head = Atomics.load(queueHeaders, headAt);
    // The main thread wrote the slots before its seq_cst store of `tail`, so this load makes
    // them visible.
    let count = (Atomics.load(queueHeaders, tailAt) - head) | 0;
    if (count <= 0) return 0;
    if (count > max) count = max;
    for (let i = 0; i < count; i++) {
      const slot = base + ((head + i) & mask);
      ids[i] = queueIds[slot]!;
      tokens[i] = queueTokens[slot]!;
    }
    // Copy, then claim. If the CAS succeeds, `head` had not moved, so the producer (which reuses a
    // slot only after `head` has passed it) had not overwritten what we copied. If it fails,
    // another thread claimed these entries: discard the copies and retry. (A plain store would
    // let two threads that loaded the same `head` both take the same entries.)
    if (Atomics.compareExchange(queueHeaders, headAt, head, (head + count) | 0) === head) return count;
  }
}

/** What the pool hands a worker (index.ts). */
export interface WorkerInit {
  readonly layout: Layout;
  readonly slot: number;
  readonly filename: string; // a file: URL
  readonly concurrency: number;
  /** The pool's spinMicroseconds: how long an idle worker looks for work before it blocks. */
  readonly spinMicroseconds: number;
  readonly batch: number;
  readonly homeWord: number;
  readonly taskWaker: SharedArrayBuffer;
  readonly taskWords: SharedArrayBuffer;
  readonly resultWaker: SharedArrayBuffer;
  readonly resultWords: SharedArrayBuffer;
  readonly workerData: unknown;
}

/** Messages between the pool and a worker. */
export type ToPool =
  | { readonly type: 'ready' }
  | { readonly type: 'need'; readonly id: number; readonly token: number }
  | { readonly type: 'result'; readonly id: number; readonly token: number; readonly value: unknown; readonly start: number; readonly run: number }
  | { readonly type: 'error'; readonly id: number; readonly token: number; readonly thrown: unknown; readonly start: number; readonly run: number };
export type ToWorker = { readonly type: 'payload'; readonly id: number; readonly port: MessagePort };
/** What `run()` moves into a slow task's port. */
export interface SlowPayload {
  readonly name: string | undefined;
  readonly arg: unknown;
}

// Record byte RECORD_KIND: how the argument travels.
export const RECORD_KIND = RECORD_PAYLOAD;
export const KIND_FAST = 0; // the name and the argument follow in the record
export const KIND_SLOW = 1; // they wait in a MessagePort: ask for them
export const FAST_START = RECORD_KIND + 1;

