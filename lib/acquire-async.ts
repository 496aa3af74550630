// acquireAsync: an event loop (a server's main thread) waits for permits that other threads
// release. A call that finds no permit joins the waker's FIFO wait queue in the addon
// (native/core/wait_queue.h) beside blocked acquire() callers; whichever thread releases hands the
// permit to it and signals this thread's event loop, which runs dispatch() below. This module
// keeps the pending calls of this thread by id, makes the Promises and Errors (here, in the
// caller's realm, never in the addon), runs the timeouts, follows the AbortSignals and runs the
// safety-net poll.
//
// Accounting, shared with the addon (the invariant is in native/core/wait_queue.h): a grant is
// handed to this thread in dispatch(ids), which counts in progress[0] how many calls it has
// resolved; the addon gives back every grant past that count. A call that times out or is
// aborted tells the addon (asyncCancel), which takes it out of the queue or, when its grant is
// already on its way, gives that permit back: no permit is ever lost. None of the callbacks
// here reads the shared state's header, so no scribble over the state can make them throw.
import { addAbortListener } from 'node:events';

import { native, type StateView } from './binding';
import { QUEUED, takePermit } from './cells';
import { invalidType, outOfRange } from './errors';

/**
 * Options of {@link WorkerWaker.acquireAsync}, as in `timers/promises`.
 * @example
 * ```js
 * const assert = require('node:assert');
 * const { WorkerWaker } = require('worker-waker');
 *
 * const waker = new WorkerWaker();
 * async function main() {
 *   const controller = new AbortController();
 *   const acquired = await waker.acquireAsync({ timeout: 50, signal: controller.signal, ref: true });
 *   assert.strictEqual(acquired, false); // no permit within 50 ms
 * }
 * main();
 * ```
 */
export interface AcquireAsyncOptions {
  /**
   * Milliseconds to wait before resolving `false`: a number >= 0; `Infinity` (the default)
   * waits for ever; 0 only takes a permit that is there now.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * async function main() {
   *   waker.release(1);
   *   assert.strictEqual(await waker.acquireAsync({ timeout: 0 }), true); // a permit is there: taken
   *   assert.strictEqual(await waker.acquireAsync({ timeout: 0 }), false); // none left
   * }
   * main();
   * ```
   */
  timeout?: number | undefined;
  /**
   * Aborting it rejects the pending call with an {@link AbortError} whose `cause` is the reason.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker, AbortError } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * const pending = waker.acquireAsync({ signal: AbortSignal.timeout(10) });
   * assert.rejects(pending, (error) => error instanceof AbortError && error.cause.name === 'TimeoutError');
   * ```
   */
  signal?: AbortSignal | undefined;
  /**
   * `false`: the pending call does not keep the event loop alive. Default `true`.
   * @example
   * ```js
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * // Nothing will ever release a permit, and the process still exits at once: the call is unref'd.
   * waker.acquireAsync({ ref: false }).then(() => console.log('never printed'));
   * ```
   */
  ref?: boolean | undefined;
  /**
   * Up to this many microseconds (an integer from 0 to 1000; default 0, no spin) the thread's
   * event loop polls for this call's permit instead of sleeping, while the call is pending. Waking
   * a sleeping event loop costs tens of microseconds when its CPU has halted meanwhile; a permit
   * released while the loop still spins arrives without that wake-up. The loop spins only when
   * it is about to sleep anyway (never while a `setImmediate` is pending), never past its next
   * timer, and less and less often while its spins find nothing; a spin stops as soon as the loop
   * has I/O to handle, such as a socket's data or another thread's message (on Linux, macOS and
   * the BSDs; elsewhere, such as on Windows, it runs to a grant, its budget or the next timer).
   * The cost: up to this much CPU time each time the loop would sleep with such a call pending,
   * taken from other threads when cores are scarce. With several calls pending, the loop spins for the largest request. The
   * environment variable `WORKER_WAKER_SPIN=0` turns it off; under Bun and Deno the option is
   * checked, then treated as 0 (the spin drives libuv directly, which they lack).
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { Worker } = require('node:worker_threads');
   * const { WorkerWaker } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * async function main() {
   *   // Another thread releases the permit; this loop spins up to 50 µs for it before sleeping.
   *   const worker = new Worker(
   *     `const { workerData } = require('node:worker_threads');
   *      const { WorkerWaker } = require(workerData.module);
   *      new WorkerWaker(workerData.buffer).release(1);`,
   *     { eval: true, workerData: { module: require.resolve('worker-waker'), buffer: waker.buffer } },
   *   );
   *   assert.strictEqual(await waker.acquireAsync({ spinMicroseconds: 50 }), true);
   *   await worker.terminate();
   * }
   * main();
   * ```
   */
  spinMicroseconds?: number | undefined;
}

/**
 * The rejection of an aborted `acquireAsync`, shaped like Node's own: `name` `'AbortError'`,
 * `code` `'ABORT_ERR'`, `cause` the signal's `reason`.
 * @example
 * ```js
 * const assert = require('node:assert');
 * const { WorkerWaker, AbortError } = require('worker-waker');
 *
 * const waker = new WorkerWaker();
 * const controller = new AbortController();
 * const pending = waker.acquireAsync({ signal: controller.signal });
 * controller.abort('shutting down');
 * assert.rejects(pending, (error) =>
 *   error instanceof AbortError && error.code === 'ABORT_ERR' && error.cause === 'shutting down');
 * ```
 */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR';

  // `{ cause?: unknown }` is ES2022's ErrorOptions spelled out: the shipped declarations must compile
  // for users whose `lib` predates it (target ES2020).
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbortError';
  }
}

// setTimeout fires after at most 2^31 - 1 ms (about 24.8 days; it turns larger delays into
// 1 ms); longer timeouts re-arm.
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Pending {
  readonly id: number;
  readonly resolve: (acquired: boolean) => void;
  readonly reject: (reason: unknown) => void;
  readonly refd: boolean;
  /** The loop spin this call counts for in spinRequests (0: none). */
  spin: number;
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
  unfollow: (() => void) | undefined;
}

/** The pending calls of this thread, by the addon's call id. */
const pending = new Map<number, Pending>();
/** Pending calls made with `ref: true`; this thread's grant signal keeps the loop alive while > 0. */
let refd = 0;
/** dispatch() writes here how many calls of the current batch it has resolved (see above). */
const progress = new Uint32Array(1);
/** The addon writes the ids of each batch here before it calls dispatch(n). */
const batchIds = new Float64Array(native.asyncBatch);
/** This module's dispatcher index in the addon (asyncInit), once registered. */
let dispatcherIndex = -1;

// The loop spin (options.spinMicroseconds): pending calls by requested microseconds; the addon
// spins for the largest request (asyncSpin), and stops when none is left.
const MAX_SPIN_MICROSECONDS = 1000;
// Only on Node itself: the spin drives libuv directly (a prepare handle, uv_backend_timeout), and
// Bun aborts on those libuv functions ("unsupported uv function") while Deno's process lacks them
// (the first call ends it with "undefined symbol"). Elsewhere the option is checked, then ignored.
const LOOP_SPIN_SUPPORTED = typeof process.versions.bun !== 'string' && typeof process.versions.deno !== 'string';
const spinRequests = new Map<number, number>();
let spinAsked = 0;

function addSpin(micros: number): void {
  spinRequests.set(micros, (spinRequests.get(micros) ?? 0) + 1);
  if (micros > spinAsked) {
    native.asyncSpin(dispatcherIndex, micros);
    spinAsked = micros;
  }
}

function removeSpin(micros: number): void {
  const left = spinRequests.get(micros)! - 1;
  if (left !== 0) {
    spinRequests.set(micros, left);
    return;
  }
  spinRequests.delete(micros);
  if (micros !== spinAsked) return;
  let largest = 0;
  for (const requested of spinRequests.keys()) largest = Math.max(largest, requested);
  spinAsked = largest;
  native.asyncSpin(dispatcherIndex, largest);
}

// The safety net's poll (native/core/wait_queue.h): while calls are pending, a timer asks the addon
// to hand over permits that reached the cell without a dispatch (a release through a second
// copy of the addon, a scribbled queued cell). Its period doubles from POLL_MIN_MS to
// POLL_MAX_MS, so that a permit stranded that way waits at most POLL_MAX_MS, while 10,000 pending
// calls cost a few microseconds a poll (the addon skips states whose cell is empty). Unref'd:
// it never keeps the process alive.
// The timer functions are captured at load: a test's fake timers must not run the poll.
const POLL_MIN_MS = 4;
const { setTimeout: pollSetTimeout } = globalThis;
const POLL_MAX_MS = 256;
let pollTimer: NodeJS.Timeout | undefined;
let pollDelay = POLL_MIN_MS;

function armPoll(): void {
  if (pollTimer !== undefined) return;
  pollDelay = POLL_MIN_MS;
  schedulePoll();
}

function schedulePoll(): void {
  pollTimer = pollSetTimeout(poll, pollDelay);
  pollTimer.unref();
}

function poll(): void {
  pollTimer = undefined;
  if (pending.size === 0) return;
  native.asyncPoll();
  pollDelay = Math.min(pollDelay * 2, POLL_MAX_MS);
  schedulePoll();
}

type FollowAbort = (signal: AbortSignal, listener: () => void) => () => void;

// events.addAbortListener (Node >= 20.5) also fires when another listener stops propagation;
// the fallback covers older Node 20 releases. The disposer runs inside dispatch() and the
// timers: a signal whose methods throw must not break the queue there, so its error is
// dropped (the listener then merely stays on that signal).
const followAbort: FollowAbort = (signal, listener) => {
  let dispose: () => void;
  if (typeof addAbortListener === 'function') {
    const disposable = addAbortListener(signal, listener);
    dispose = () => disposable[Symbol.dispose]();
  } else {
    signal.addEventListener('abort', listener, { once: true });
    dispose = () => signal.removeEventListener('abort', listener);
  }
  return () => {
    try {
      dispose();
    } catch {
      // see above
    }
  };
};

function isAbortSignal(value: unknown): value is AbortSignal {
  // Duck-typed like Node's own validateAbortSignal: signals from other realms pass too.
  return (
    typeof value === 'object' &&
    value !== null &&
    'aborted' in value &&
    typeof (value as AbortSignal).addEventListener === 'function'
  );
}

interface Parsed {
  timeout: number;
  signal: AbortSignal | undefined;
  ref: boolean;
  spin: number;
}

function parseOptions(options: unknown): Parsed {
  if (options === undefined) return { timeout: Infinity, signal: undefined, ref: true, spin: 0 };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidType('options', 'of type object', options);
  }
  const { timeout = Infinity, signal, ref = true, spinMicroseconds = 0 } = options as AcquireAsyncOptions;
  // A RangeError also for a non-number, as the contract says ("a negative or non-numeric
  // timeout"); the other options follow Node's TypeError for a wrong type.
  if (typeof timeout !== 'number' || !(timeout >= 0)) {
    throw outOfRange('options.timeout', 'a number >= 0 (Infinity allowed)', timeout);
  }
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw invalidType('options.signal', 'an instance of AbortSignal', signal);
  }
  if (typeof ref !== 'boolean') throw invalidType('options.ref', 'of type boolean', ref);
  if (typeof spinMicroseconds !== 'number') {
    throw invalidType('options.spinMicroseconds', 'of type number', spinMicroseconds);
  }
  if (!Number.isInteger(spinMicroseconds) || spinMicroseconds < 0 || spinMicroseconds > MAX_SPIN_MICROSECONDS) {
    throw outOfRange('options.spinMicroseconds', `an integer from 0 to ${MAX_SPIN_MICROSECONDS}`, spinMicroseconds);
  }
  return { timeout, signal, ref, spin: spinMicroseconds };
}

function abortError(signal: AbortSignal): AbortError {
  let reason: unknown;
  try {
    reason = signal.reason;
  } catch (error) {
    reason = error; // a signal whose reason getter throws: that error is the best cause we have
  }
  return new AbortError(undefined, { cause: reason });
}

/** Settles nothing: detaches `entry` from the pending map, its timer, signal and keep-alive count. */
function detach(entry: Pending): void {
  entry.settled = true;
  pending.delete(entry.id);
  if (entry.timer !== undefined) clearTimeout(entry.timer);
  entry.unfollow?.();
  if (entry.refd && --refd === 0) native.asyncRef(false);
  if (entry.spin !== 0) {
    const micros = entry.spin;
    entry.spin = 0;
    removeSpin(micros);
  }
}

/**
 * Called by the addon on this thread with the ids of n granted calls in batchIds, oldest first:
 * resolves them and counts each one in progress[0] once it is handed to its promise (the addon
 * gives back the grants past that count if this loop is stopped midway). An id without a
 * pending call, or with an orphan (see acquireAsync), belongs to a call that failed after the
 * addon queued it (a stack overflow): asyncCancel gives its grant back (and does nothing for a
 * call already cancelled).
 */
function dispatch(n: number): void {
  for (let i = 0; i < n; i++) {
    const id = batchIds[i]!;
    const entry = pending.get(id);
    if (entry !== undefined && !entry.settled) {
      detach(entry);
      entry.resolve(true);
    } else {
      if (entry !== undefined) detach(entry);
      native.asyncCancel(id);
    }
    progress[0] = i + 1;
  }
}

/** A pending call stops waiting: tells the addon, then settles. */
function giveUp(entry: Pending, outcome: AbortError | false): void {
  if (pending.get(entry.id) !== entry) return; // settled already (an orphan is still pending)
  detach(entry);
  native.asyncCancel(entry.id);
  if (outcome === false) entry.resolve(false);
  else entry.reject(outcome);
}

function armTimer(entry: Pending, ms: number): void {
  const delay = Math.min(ms, MAX_TIMER_MS);
  entry.timer = setTimeout(() => {
    if (ms > MAX_TIMER_MS) armTimer(entry, ms - MAX_TIMER_MS);
    else giveUp(entry, false);
  }, delay);
  if (!entry.refd) entry.timer.unref();
}

/**
 * `WorkerWaker#acquireAsync` on `state` (`cells`: the same buffer as 32-bit cells); argument
 * errors reject (as in `timers/promises`).
 */
export function acquireAsync(state: StateView, cells: Uint32Array, options?: unknown): Promise<boolean> {
  // Everything that may run the caller's code (option getters, Proxy traps, the signal's own
  // methods) runs before the call is registered, so an exception there rejects and leaves no
  // trace in the queue.
  let parsed: Parsed;
  let entry: Pending | undefined;
  let unfollow: (() => void) | undefined;
  try {
    parsed = parseOptions(options);
    const { signal } = parsed;
    if (signal !== undefined) {
      if (signal.aborted) return Promise.reject(abortError(signal));
      unfollow = followAbort(signal, () => {
        if (entry !== undefined) giveUp(entry, abortError(signal));
      });
    }
  } catch (error) {
    return Promise.reject(error);
  }
  const { timeout, ref, spin } = parsed;
  // Fast path without entering the addon: a permit that is there while nobody is queued.
  if (Atomics.load(cells, QUEUED) === 0 && takePermit(cells)) {
    unfollow?.();
    return Promise.resolve(true);
  }
  let id: number;
  try {
    if (dispatcherIndex < 0) dispatcherIndex = native.asyncInit(dispatch, progress, batchIds);
    id = native.asyncAcquire(state, timeout !== 0, dispatcherIndex);
  } catch (error) {
    unfollow?.();
    // Made here, not by the addon, so that it belongs to the caller's realm (see lib/errors.ts). The
    // addon refuses a state whose header another thread overwrote (a TypeError).
    const cause = error as { name?: unknown; message?: unknown } | undefined;
    const Failure = cause?.name === 'TypeError' ? TypeError : Error;
    return Promise.reject(new Failure(`worker-waker: acquireAsync failed: ${String(cause?.message)}`, { cause: error }));
  }
  if (id <= 0) {
    unfollow?.();
    return Promise.resolve(id === 0); // -1: timeout 0 and no permit
  }
  return new Promise<boolean>((resolve, reject) => {
    entry = { id, resolve, reject, refd: ref, spin: 0, settled: false, timer: undefined, unfollow };
    pending.set(id, entry);
    try {
      if (ref && refd++ === 0) native.asyncRef(true);
      if (spin !== 0 && LOOP_SPIN_SUPPORTED) {
        addSpin(spin);
        entry.spin = spin; // counted: detach() takes it back
      }
      if (timeout !== Infinity) armTimer(entry, timeout);
      armPoll();
    } catch (error) {
      // The promise rejects (a stack overflow in setTimeout, say), but the call is queued. No
      // function call here (the stack may be exhausted): marked settled while still pending, it is
      // an orphan that dispatch(), its timer or its signal withdraws, giving its grant back.
      entry.settled = true;
      throw error;
    }
  });
}
