// acquireAsync: an event loop (a server's main thread) waits for permits that other threads
// release. The wait itself runs on a native thread of the addon's own (native/async_waiter.h),
// never on the event loop and never on a libuv threadpool thread. This module keeps the FIFO
// queue of pending calls of each native waiter, makes the Promises and Errors (here, in the
// caller's realm, never in the addon), runs the timeouts and follows the AbortSignals.
//
// Accounting, shared with the native waiter: the waiter takes permits only for calls still
// pending here and hands them over with dispatch(id, n), n at a time in one event-loop turn.
// A call that times out or is aborted tells the waiter (asyncCancel), which passes a grant
// already taken for it on to the next pending call or gives it back to the waker: no permit is
// ever lost.
import { addAbortListener } from 'node:events';

import { native, type StateView } from './binding';
import { invalidType, outOfRange } from './errors';

/** Options of {@link WorkerWaker.acquireAsync}, as in `timers/promises`. */
export interface AcquireAsyncOptions {
  /**
   * Milliseconds to wait before resolving `false`: a number >= 0; `Infinity` (the default)
   * waits for ever; 0 only takes a permit that is there now.
   */
  timeout?: number | undefined;
  /** Aborting it rejects the pending call with an {@link AbortError} whose `cause` is the reason. */
  signal?: AbortSignal | undefined;
  /** `false`: the pending call does not keep the event loop alive. Default `true`. */
  ref?: boolean | undefined;
}

/**
 * The rejection of an aborted `acquireAsync`, shaped like Node's own: `name` `'AbortError'`,
 * `code` `'ABORT_ERR'`, `cause` the signal's `reason`.
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
  readonly queue: Queue;
  readonly resolve: (acquired: boolean) => void;
  readonly reject: (reason: unknown) => void;
  readonly refd: boolean;
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
  unfollow: (() => void) | undefined;
  prev: Pending | undefined;
  next: Pending | undefined;
}

/** The pending calls served by one native waiter, oldest first (a linked list: O(1) removal). */
class Queue {
  head: Pending | undefined;
  tail: Pending | undefined;
  size = 0;
  refd = 0; // pending calls with `ref: true`; the waiter keeps the loop alive while > 0

  constructor(
    readonly state: StateView,
    readonly id: number,
  ) {}

  push(entry: Pending): void {
    entry.prev = this.tail;
    if (this.tail === undefined) this.head = entry;
    else this.tail.next = entry;
    this.tail = entry;
    this.size++;
  }

  remove(entry: Pending): void {
    if (entry.prev === undefined) this.head = entry.next;
    else entry.prev.next = entry.next;
    if (entry.next === undefined) this.tail = entry.prev;
    else entry.next.prev = entry.prev;
    entry.prev = entry.next = undefined;
    if (--this.size === 0) queues.delete(this.id);
  }
}

/** Queues by native waiter id, while they hold pending calls. */
const queues = new Map<number, Queue>();

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
}

function parseOptions(options: unknown): Parsed {
  if (options === undefined) return { timeout: Infinity, signal: undefined, ref: true };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidType('options', 'of type object', options);
  }
  const { timeout = Infinity, signal, ref = true } = options as AcquireAsyncOptions;
  // A RangeError also for a non-number, as the contract says ("a negative or non-numeric
  // timeout"); the other options follow Node's TypeError for a wrong type.
  if (typeof timeout !== 'number' || !(timeout >= 0)) {
    throw outOfRange('options.timeout', 'a number >= 0 (Infinity allowed)', timeout);
  }
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw invalidType('options.signal', 'an instance of AbortSignal', signal);
  }
  if (typeof ref !== 'boolean') throw invalidType('options.ref', 'of type boolean', ref);
  return { timeout, signal, ref };
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

/** Settles nothing: detaches `entry` from its queue, timer, signal and keep-alive count. */
function detach(entry: Pending): void {
  const { queue } = entry;
  entry.settled = true;
  queue.remove(entry);
  if (entry.timer !== undefined) clearTimeout(entry.timer);
  entry.unfollow?.();
  if (entry.refd && --queue.refd === 0) native.asyncRef(queue.state, queue.id, false);
}

/**
 * Called by the native waiter on this thread: n permits taken for the n oldest calls. Returns
 * how many found no call, which the waiter gives back to the waker: 0 while the accounting holds
 * (the waiter takes permits only for pending calls); if it ever breaks, even with this queue
 * gone, the permits go back rather than vanish.
 */
function dispatch(id: number, n: number): number {
  const queue = queues.get(id);
  let left = n;
  while (left > 0 && queue?.head !== undefined) {
    const entry = queue.head;
    detach(entry);
    entry.resolve(true);
    left--;
  }
  return left;
}

/** A pending call stops waiting: tells the waiter, then settles. */
function giveUp(entry: Pending, outcome: AbortError | false): void {
  if (entry.settled) return;
  const { queue } = entry;
  detach(entry);
  native.asyncCancel(queue.state, queue.id);
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
 * `WorkerWaker#acquireAsync` on `state`; argument errors reject (as in `timers/promises`).
 */
export function acquireAsync(state: StateView, options?: unknown): Promise<boolean> {
  // Everything that may run the caller's code (option getters, Proxy traps, the signal's own
  // methods) runs before the call is registered, so an exception there rejects and leaves no
  // trace in the waiter's accounting.
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
  const { timeout, ref } = parsed;
  // Fast path in the same call: a permit that is there now (and that no earlier pending call of
  // this thread is waiting for) is taken without any thread hop.
  let id: number;
  try {
    id = native.asyncAcquire(state, dispatch, timeout !== 0);
  } catch (error) {
    unfollow?.(); // no waiter thread could be started (out of threads or memory)
    // Made here, not by the addon, so that it belongs to the caller's realm (see README).
    const failure = new Error('worker-waker: acquireAsync could not start its waiter thread', { cause: error });
    return Promise.reject(failure);
  }
  if (id <= 0) {
    unfollow?.();
    return Promise.resolve(id === 0); // -1: timeout 0 and no permit
  }
  return new Promise<boolean>((resolve, reject) => {
    let queue = queues.get(id);
    if (queue === undefined) {
      queue = new Queue(state, id);
      queues.set(id, queue);
    }
    entry = {
      queue,
      resolve,
      reject,
      refd: ref,
      settled: false,
      timer: undefined,
      unfollow,
      prev: undefined,
      next: undefined,
    };
    queue.push(entry);
    if (ref && queue.refd++ === 0) native.asyncRef(state, id, true);
    if (timeout !== Infinity) armTimer(entry, timeout);
  });
}
