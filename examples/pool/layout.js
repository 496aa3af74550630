'use strict';
// Shared-memory layout of the example pool, used by the main thread (pool.js) and by every
// worker (worker.js). Everything lives in SharedArrayBuffers handed to workers once, through
// workerData; after that no message crosses threads on the hot path.
//
// Task queues: `queueCount` bounded rings, one producer (the main thread) and any number of
// consumers (workers claim batches with a compare-and-swap on `head`). Queue r is signal queue
// `word * 64 + bit` with word = r % words and bit = floor(r / words), so consecutive queues land
// in different signal words and different workers can take them.
//
// Result rings: one per worker, one producer (that worker) and one consumer (the main thread).
// Each result slot holds a task id, a status (RESULT_OK or RESULT_ERROR) and a value: the task's
// result, or for an error the byte length of its text in `errorText`.
//
// Error texts: one record of ERROR_TEXT_BYTES per task id (not per result slot: an id belongs to
// one admitted task at a time, so a record is never shared, and the space is bounded by the
// admission bound, `maxPending * ERROR_TEXT_BYTES`). A failed task's error travels the same way
// as a result, so neither path uses postMessage.
//
// Indices are free-running int32 counters (wrapping at 2^32, compared with `(a - b) | 0`); a slot
// is `index & (capacity - 1)`. Head and tail sit 64 bytes apart so that producer and consumers
// do not write the same cache line.

const HEADER_INTS = 32; // 128 bytes per ring header: head at +0, tail at +16
const HEAD = 0;
const TAIL = 16;

// Result status (resultStatus[slot]).
const RESULT_OK = 0;
const RESULT_ERROR = 1;

// An error's name and message, UTF-8, separated by NUL, cut to this many bytes.
const ERROR_TEXT_BYTES = 256;
const TRUNCATED = '…';

// Pool state word (control[STATE]).
const RUNNING = 0;
const STOPPING = 1; // exit once no work is visible (close(): every task has completed already)
const CANCELLING = 2; // exit after the current batch (destroy())
const STATE = 0;

// Per-worker counters, written by the worker (stats[worker * STAT_STRIDE + field]).
const STAT_STRIDE = 16; // 128 bytes per worker: no false sharing between workers
const STAT_TASKS = 0; // tasks run
const STAT_BATCHES = 1; // batches claimed from a queue
const STAT_TAKES = 2; // words taken that held work
const STAT_PERMITS = 3; // permits taken
const STAT_WASTED = 4; // permits after which no work was found
const STAT_WAITS = 5; // times the worker found no permit and called acquire() (spins up to 20 µs, then parks)

function nextPowerOfTwo(n) {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Creates the shared buffers for a pool; `options` already validated by the caller. */
function createLayout({ threads, words, queuesPerWord, queueCapacity }) {
  const queueCount = words * queuesPerWord;
  // A result ring never fills: the main thread admits at most `queueCount * queueCapacity` tasks
  // that it has not collected yet, and every result in a ring is one of them.
  const maxPending = queueCount * queueCapacity;
  const resultCapacity = nextPowerOfTwo(maxPending);
  return {
    threads,
    words,
    queuesPerWord,
    queueCount,
    queueCapacity,
    maxPending,
    resultCapacity,
    control: new SharedArrayBuffer(64),
    stats: new SharedArrayBuffer(threads * STAT_STRIDE * 8),
    queueHeaders: new SharedArrayBuffer(queueCount * HEADER_INTS * 4),
    queueIds: new SharedArrayBuffer(queueCount * queueCapacity * 4),
    queueArgs: new SharedArrayBuffer(queueCount * queueCapacity * 8),
    resultHeaders: new SharedArrayBuffer(threads * HEADER_INTS * 4),
    resultIds: new SharedArrayBuffer(threads * resultCapacity * 4),
    resultValues: new SharedArrayBuffer(threads * resultCapacity * 8),
    resultStatus: new SharedArrayBuffer(threads * resultCapacity),
    errorText: new SharedArrayBuffer(maxPending * ERROR_TEXT_BYTES),
  };
}

/** Typed views over a layout (in any thread). */
function viewLayout(layout) {
  return {
    control: new Int32Array(layout.control),
    stats: new Float64Array(layout.stats),
    queueHeaders: new Int32Array(layout.queueHeaders),
    queueIds: new Int32Array(layout.queueIds),
    queueArgs: new Float64Array(layout.queueArgs),
    resultHeaders: new Int32Array(layout.resultHeaders),
    resultIds: new Int32Array(layout.resultIds),
    resultValues: new Float64Array(layout.resultValues),
    resultStatus: new Uint8Array(layout.resultStatus),
    errorText: new Uint8Array(layout.errorText),
  };
}

/** Signal queue number (word * 64 + bit) of ring `ring`. */
function signalQueueOf(layout, ring) {
  return (ring % layout.words) * 64 + Math.floor(ring / layout.words);
}

/** Ring index of bit `bit` of signal word `word`. */
function ringOf(layout, word, bit) {
  return bit * layout.words + word;
}

/**
 * Claims up to `max` tasks of ring `ring` for the calling worker: copies their ids and arguments
 * into `ids`/`args` and returns how many (0 when the ring is empty). Any number of workers may
 * claim from one ring at once; each task goes to exactly one of them.
 */
function claimTasks(layout, view, ring, max, ids, args) {
  const { queueHeaders, queueIds, queueArgs } = view;
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
      ids[i] = queueIds[slot];
      args[i] = queueArgs[slot];
    }
    // Copy, then claim. If the CAS succeeds, `head` had not moved, so the producer (which reuses a
    // slot only after `head` has passed it) had not overwritten what we copied. If it fails,
    // another worker claimed these tasks: discard the copies and retry. (A plain store would let
    // two workers that loaded the same `head` both run the same tasks.)
    if (Atomics.compareExchange(queueHeaders, headAt, head, (head + count) | 0) === head) return count;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The name and message of whatever a task threw, without letting its getters throw again. */
function describeThrown(thrown) {
  try {
    if (thrown instanceof Error || (typeof thrown === 'object' && thrown !== null && 'message' in thrown)) {
      return { name: String(thrown.name ?? 'Error'), message: String(thrown.message) };
    }
    return { name: 'Error', message: `task threw a non-error value: ${String(thrown)}` };
  } catch {
    return { name: 'Error', message: 'task threw a value that cannot be described' };
  }
}

/**
 * Writes what a task threw into the error record of task `id` (worker side) and returns its byte
 * length. Longer texts are cut at a character boundary (encodeInto writes only whole UTF-8
 * sequences) and end with '…'. The caller publishes the length in the result slot, before the
 * seq_cst store of the ring's tail, like a result value.
 */
function writeError(view, id, thrown) {
  const { name, message } = describeThrown(thrown);
  const record = view.errorText.subarray(id * ERROR_TEXT_BYTES, (id + 1) * ERROR_TEXT_BYTES);
  const text = `${name}\u0000${message}`;
  const whole = encoder.encodeInto(text, record);
  if (whole.read === text.length) return whole.written;
  const room = ERROR_TEXT_BYTES - encoder.encode(TRUNCATED).length;
  const cut = encoder.encodeInto(text, record.subarray(0, room));
  return cut.written + encoder.encodeInto(TRUNCATED, record.subarray(cut.written)).written;
}

const ERROR_CLASSES = { Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError };

/**
 * The error of task `id` (main-thread side): `length` bytes of its record, as an instance of the
 * built-in class its name names (else an Error with that name). The worker's stack is not kept.
 */
function readError(view, id, length) {
  const start = id * ERROR_TEXT_BYTES;
  // slice(): a private copy, since TextDecoder may refuse views of shared memory.
  const text = decoder.decode(view.errorText.slice(start, start + Math.min(length, ERROR_TEXT_BYTES)));
  const split = text.indexOf('\u0000');
  const name = split === -1 ? 'Error' : text.slice(0, split);
  const message = split === -1 ? text : text.slice(split + 1);
  const ErrorClass = Object.hasOwn(ERROR_CLASSES, name) ? ERROR_CLASSES[name] : Error;
  const error = new ErrorClass(message);
  if (error.name !== name) error.name = name;
  return error;
}

module.exports = {
  HEADER_INTS,
  HEAD,
  TAIL,
  RUNNING,
  STOPPING,
  CANCELLING,
  STATE,
  RESULT_OK,
  RESULT_ERROR,
  ERROR_TEXT_BYTES,
  STAT_STRIDE,
  STAT_TASKS,
  STAT_BATCHES,
  STAT_TAKES,
  STAT_PERMITS,
  STAT_WASTED,
  STAT_WAITS,
  nextPowerOfTwo,
  createLayout,
  viewLayout,
  signalQueueOf,
  ringOf,
  claimTasks,
  writeError,
  readError,
};
