// One pool worker (started by index.ts). It waits for work on the task waker, picks a signal word
// near the one it served last (`summarySelect`), takes the whole word (`take`), claims batches
// from the rings it names, starts each task with a compare-and-swap on the task's state (the
// step that makes a task run once), and writes small results into the task's record and its id
// into this worker's result ring, published (`resultWords.set(slot)`) before the next task starts
// and before the worker waits, so no result waits behind a long task.
//
// Waiting: with nothing pending in this thread but the pool's own message port, the worker
// blocks in `acquire()` (a short spin, then it parks: the cheapest wake-up). Anything else
// pending (a timer, a socket or a file read a task started, an async task) makes it wait with
// `acquireAsync()` instead, so that its event loop keeps running.
//
// Slow path: a task whose argument did not fit its record asks the main thread for it ('need');
// the reply carries a MessagePort that holds the argument (moved there by `run()`, transferred
// buffers included). Results that do not fit, and errors, are posted.
import { syncBuiltinESMExports } from 'node:module';
import { performance } from 'node:perf_hooks';
import threads = require('node:worker_threads');

import { SignalWords, WorkerWaker } from '../index';
import * as L from './layout';
import { FAST_START, KIND_FAST, RECORD_KIND, type SlowPayload, type ToPool, type ToWorker, type WorkerInit } from './layout';
import { PayloadCodec } from './payload';
import { describeThrown, unclonableThrown } from './task-errors';

const YIELD_EVERY_MS = 4; // while work keeps coming, let this thread's event loop run this often
// An idle worker with nothing visibly pending blocks for at most this long, then turns its event
// loop once: at most 16 short wake-ups a second while idle, and a callback the loop owes (an unref'd
// timer, a file read) runs at most this late. A task wakes the worker at once, so the one-in-flight
// round trip is the same as with an unbounded wait (47-64 µs either way, 8 rounds each, quiet VM).
const IDLE_SLICE_MS = 64;
const PUBLISH_EVERY = 64; // results written before the ring's tail is published mid-batch
// The idle look for work (pollForWork): after this many looks in a row that found nothing, the
// next POLL_BACKOFF_MIN idle waits block at once; then one look again, and each look that finds
// nothing doubles the back-off, up to POLL_BACKOFF_MAX. A look that finds work starts afresh.
// A look lasts at most LOOK_MAX_MICROSECONDS: enough for the main thread, awake, to answer a
// result with the next task (5-10 µs measured on the 2-vCPU VM), while 100 µs made the open-loop
// demo slower (idle workers then compete with the one running tasks for the two vCPUs).
const LOOK_MAX_MICROSECONDS = 20;
const POLL_FAILURE_LIMIT = 8;
const POLL_BACKOFF_MIN = 64;
const POLL_BACKOFF_MAX = 4096;

if (!threads.isMainThread && threads.parentPort !== null && (threads.workerData as { poolWorker?: WorkerInit } | null)?.poolWorker !== undefined) {
  startWorker((threads.workerData as { poolWorker: WorkerInit }).poolWorker, threads.parentPort);
}

function startWorker(init: WorkerInit, port: threads.MessagePort): void {
  const { layout, slot, concurrency, batch } = init;
  // The idle look for work: the pool's spinMicroseconds, at most LOOK_MAX_MICROSECONDS.
  const lookMicroseconds = Math.min(init.spinMicroseconds, LOOK_MAX_MICROSECONDS);
  // The task module reads the user's workerData from node:worker_threads, as in any worker.
  (threads as { workerData: unknown }).workerData = init.workerData;
  syncBuiltinESMExports();

  const view = L.viewLayout(layout);
  const { control, states, records, resultHeaders, resultIds, stats } = view;
  const recordBytes = new Uint8Array(layout.records);
  const codec = new PayloadCodec(layout.records);
  const taskWaker = new WorkerWaker(init.taskWaker);
  const taskWords = new SignalWords(taskWaker, init.taskWords);
  const resultWords = new SignalWords(new WorkerWaker(init.resultWaker), init.resultWords);

  const resultMask = layout.resultCapacity - 1;
  const resultBase = slot * layout.resultCapacity;
  const resultTailAt = slot * L.HEADER_INTS + L.TAIL;
  let resultTail = Atomics.load(resultHeaders, resultTailAt);
  let unpublished = 0;
  const claimedIds = new Int32Array(batch);
  const claimedTokens = new Int32Array(batch);
  const statsBase = slot * L.STAT_STRIDE;
  let tasksStarted = stats[statsBase + L.STAT_TASKS]!; // a replaced worker's slot keeps counting
  const origin = performance.timeOrigin;

  let inFlight = 0; // async tasks, and slow tasks waiting for their argument
  let wakeLoop: (() => void) | undefined;
  const waitingPayloads = new Map<number, (payload: SlowPayload) => void>();

  port.on('message', (message: ToWorker) => {
    const received = threads.receiveMessageOnPort(message.port);
    message.port.close();
    const resume = waitingPayloads.get(message.id);
    waitingPayloads.delete(message.id);
    if (resume !== undefined && received !== undefined) resume(received.message as SlowPayload);
  });
  // What this thread has pending when it has nothing of its own: the pool's port.
  const ownResources = process.getActiveResourcesInfo().length;

  let exports: Record<string, unknown> | undefined;
  let loadError: unknown;
  const tasks = new Map<string | undefined, (arg: unknown) => unknown>();

  function lookup(name: string | undefined): (arg: unknown) => unknown {
    const cached = tasks.get(name);
    if (cached !== undefined) return cached;
    if (exports === undefined) throw loadError;
    const fallback = exports.default as Record<string, unknown> | undefined;
    let fn: unknown;
    if (name === undefined) {
      fn = exports.default;
      // A CommonJS module whose exports object carries `default` (compiled ES modules).
      if (typeof fn !== 'function' && typeof fallback === 'object' && fallback !== null) fn = fallback.default;
    } else {
      // Own properties only: an inherited `toString` or `constructor` is not a task.
      fn = Object.hasOwn(exports, name) ? exports[name] : typeof fallback === 'object' && fallback !== null && Object.hasOwn(fallback, name) ? fallback[name] : undefined;
    }
    if (typeof fn !== 'function') {
      const what = name === undefined ? 'default export (or module.exports) that is a function' : `export named "${name}" that is a function`;
      throw new TypeError(`The task module ${init.filename} has no ${what}`);
    }
    const task = fn as (arg: unknown) => unknown;
    tasks.set(name, task);
    return task;
  }

  function publish(): void {
    if (unpublished === 0) return;
    unpublished = 0;
    // The seq_cst store of `tail` orders the id and record writes before it, and the set() after
    // it, so the main thread, which takes the bit and then loads `tail`, sees them.
    Atomics.store(resultHeaders, resultTailAt, resultTail);
    resultWords.set(slot);
  }

  function post(message: ToPool): void {
    port.postMessage(message);
  }

  function finish(id: number, value: unknown, start: number): void {
    const base = id * L.RECORD_BYTES;
    const run = origin + performance.now() - start;
    records[base / 8 + L.RECORD_RUN / 8] = run;
    if (codec.encode(value, base + L.RECORD_PAYLOAD, base + L.RECORD_BYTES) >= 0) {
      // STARTED -> DONE, after the record writes (seq_cst): should this worker die before it
      // publishes, the pool reads the result from the record instead of calling it lost.
      Atomics.or(states, id, L.DONE_BIT);
      // Never full: at most maxPending ids are admitted and not yet collected (layout.ts).
      resultIds[resultBase + (resultTail & resultMask)] = id;
      resultTail = (resultTail + 1) | 0;
      if (++unpublished === PUBLISH_EVERY) publish();
      return;
    }
    // The task's STARTED token: the pool settles the message only while the id still holds it.
    const token = Atomics.load(states, id);
    try {
      post({ type: 'result', id, token, value, start, run });
    } catch (cloneError) {
      post({ type: 'error', id, token, thrown: unclonableThrown(value, cloneError), start, run });
    }
  }

  function fail(id: number, thrown: unknown, start: number): void {
    const run = origin + performance.now() - start;
    let described: ReturnType<typeof describeThrown>;
    try {
      described = describeThrown(thrown);
    } catch (describeError) {
      described = unclonableThrown(thrown, describeError); // a Proxy whose traps throw
    }
    const token = Atomics.load(states, id);
    try {
      post({ type: 'error', id, token, thrown: described, start, run });
    } catch (cloneError) {
      post({ type: 'error', id, token, thrown: unclonableThrown(thrown, cloneError), start, run });
    }
  }

  function settledAsync(): void {
    inFlight--;
    // Wake the loop once for all the tasks that settle in this turn of the event loop, not once
    // per task: each wake-up costs a look for work and an acquireAsync (measured: 5-10× the
    // throughput of tasks that await one setImmediate).
    if (wakeLoop !== undefined && !wakeScheduled) {
      wakeScheduled = true;
      setImmediate(wakeSettled);
    }
  }

  let wakeScheduled = false;
  function wakeSettled(): void {
    wakeScheduled = false;
    const wake = wakeLoop;
    wakeLoop = undefined;
    if (wake !== undefined) wake();
  }

  function run(id: number, name: string | undefined, arg: unknown, start: number): void {
    let value: unknown;
    try {
      value = lookup(name)(arg);
    } catch (thrown) {
      fail(id, thrown, start);
      return;
    }
    let then: unknown;
    try {
      then = typeof value === 'object' || typeof value === 'function' ? (value as { then?: unknown } | null)?.then : undefined;
    } catch (thrown) {
      fail(id, thrown, start);
      return;
    }
    if (typeof then !== 'function') {
      finish(id, value, start);
      return;
    }
    inFlight++;
    Promise.resolve(value).then(
      (result) => {
        finish(id, result, start);
        settledAsync();
      },
      (thrown) => {
        fail(id, thrown, start);
        settledAsync();
      },
    );
  }

  /** Starts task `id` if its state still holds `token`; false for a stale entry. */
  function start(id: number, token: number): boolean {
    const started = (token & L.GEN_MASK) | L.STARTED | (slot + 1);
    // The one step that decides who runs the task: only one thread's CAS from the QUEUED token
    // succeeds (another worker holding a duplicate entry, or the main thread aborting it or
    // putting it back after a crash, all CAS from the same token). seq_cst, like every Atomics
    // operation: the main thread's record writes before its QUEUED store are visible here.
    if (Atomics.compareExchange(states, id, token, started) !== token) return false;
    stats[statsBase + L.STAT_TASKS] = ++tasksStarted; // plain store: read for accounting only
    const base = id * L.RECORD_BYTES;
    const now = origin + performance.now();
    records[base / 8 + L.RECORD_START / 8] = now;
    if (recordBytes[base + RECORD_KIND] === KIND_FAST) {
      const name = codec.decode(base + FAST_START) as string | undefined;
      const arg = codec.decode(codec.end);
      run(id, name, arg, now);
      return true;
    }
    inFlight++;
    waitingPayloads.set(id, (payload) => {
      inFlight--;
      run(id, payload.name, payload.arg, now);
      // The loop may be waiting for this: let it publish and look for work.
      const wake = wakeLoop;
      wakeLoop = undefined;
      if (wake !== undefined) wake();
    });
    post({ type: 'need', id, token: started });
    return true;
  }

  // The rings of the word in hand that runWord has not reached yet (bit i = queue bit i).
  let heldWord = 0;
  let heldBits = 0n;

  /**
   * Before this thread runs task code, which may take long or wait for another task: hands the
   * rings it holds (their bits were taken with the word) back to the other workers, `ring` if it
   * still has entries and the word's rings not reached yet. This thread still drains them after;
   * claims are a CAS, so sharing a ring with another worker costs nothing else.
   */
  function handBack(ring: number): void {
    if (L.ringLength(view, ring) > 0) taskWords.set(L.signalQueueOf(layout, ring));
    for (let queueBit = 0; heldBits !== 0n && queueBit < layout.queuesPerWord; queueBit++) {
      const bit = 1n << BigInt(queueBit);
      if ((heldBits & bit) === 0n) continue;
      heldBits &= ~bit;
      const held = L.ringOf(layout, heldWord, queueBit);
      if (L.ringLength(view, held) > 0) taskWords.set(L.signalQueueOf(layout, held));
    }
  }

  /** Runs what the queues of `bits` (taken from `word`) hold. False once the pool is cancelling. */
  function runWord(word: number, bits: bigint): boolean {
    heldWord = word;
    heldBits = bits;
    for (let half = 0; half < 2; half++) {
      let mask = Number(half === 0 ? bits & 0xffffffffn : bits >> 32n);
      while (mask !== 0) {
        const bit = 31 - Math.clz32(mask & -mask);
        mask &= mask - 1;
        const queueBit = half * 32 + bit;
        if (queueBit >= layout.queuesPerWord) continue;
        const ring = L.ringOf(layout, word, queueBit);
        heldBits &= ~(1n << BigInt(queueBit));
        if (inFlight >= concurrency) {
          // Full: give the ring back to the other workers (its bit was taken with the word).
          if (L.ringLength(view, ring) > 0) taskWords.set(L.signalQueueOf(layout, ring));
          continue;
        }
        if (!drainRing(ring)) return false;
      }
    }
    return true;
  }

  function drainRing(ring: number): boolean {
    for (;;) {
      const room = Math.min(batch, concurrency - inFlight);
      if (room <= 0) {
        if (L.ringLength(view, ring) > 0) taskWords.set(L.signalQueueOf(layout, ring));
        return true;
      }
      const count = L.claimTasks(layout, view, ring, room, claimedIds, claimedTokens);
      if (count === 0) return true;
      handBack(ring);
      for (let i = 0; i < count; i++) {
        // destroy(): stop between tasks; the ones claimed and not started stay QUEUED, and the
        // pool rejects them once this worker has exited.
        if (Atomics.load(control, L.STATE) === L.CANCELLING) return false;
        // The results in hand go out before more task code runs: a long task must not hold them.
        publish();
        start(claimedIds[i]!, claimedTokens[i]!);
      }
    }
  }

  function takeStopRequest(): boolean {
    // A CAS, not a decrement: two idle workers must not both take the last request (the count
    // would go negative and one worker too many would stop).
    for (;;) {
      const requests = Atomics.load(control, L.STOP_REQUESTS);
      if (requests <= 0) return false;
      if (Atomics.compareExchange(control, L.STOP_REQUESTS, requests, requests - 1) === requests) return true;
    }
  }

  // An idle worker looks at the task summary for up to lookMicroseconds before it blocks. A look
  // is needed besides the waker's own spin before it parks: a task's permit goes to the oldest
  // waiter queued on the waker, so with two idle workers the one that went idle last (the one
  // still awake) would never get it, and every task would cost a parked thread's wake-up. A
  // worker that sees a summary bit here takes the task itself (the woken one then finds nothing
  // and waits again). Adaptive like the waker's spin: looks that find nothing back off.
  let pollFailures = 0;
  let pollAllowed = POLL_FAILURE_LIMIT;
  let pollSkip = 0;
  let pollBackoff = POLL_BACKOFF_MIN;
  function pollForWork(): boolean {
    if (lookMicroseconds === 0) return false;
    if (pollSkip > 0) {
      pollSkip--;
      return false;
    }
    const until = performance.now() + lookMicroseconds / 1000;
    do {
      if (taskWaker.summaryBits() !== 0n) {
        pollFailures = 0;
        pollAllowed = POLL_FAILURE_LIMIT;
        pollBackoff = POLL_BACKOFF_MIN;
        return true;
      }
    } while (performance.now() < until);
    if (++pollFailures >= pollAllowed) {
      pollFailures = 0;
      pollAllowed = 1;
      pollSkip = pollBackoff;
      pollBackoff = Math.min(pollBackoff * 2, POLL_BACKOFF_MAX);
    }
    return false;
  }

  function nextTurn(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  function settledOne(): Promise<void> {
    return new Promise((resolve) => {
      wakeLoop = resolve;
    });
  }

  async function permitOrSettled(): Promise<void> {
    const abort = new AbortController();
    const permit = taskWaker.acquireAsync({ signal: abort.signal }).catch(() => false);
    await Promise.race([permit, settledOne()]);
    wakeLoop = undefined;
    // An abort that races a grant keeps the permit in the waker (acquireAsync's contract).
    abort.abort();
  }

  async function loop(): Promise<void> {
    let last = init.homeWord;
    let yieldAt = performance.now() + YIELD_EVERY_MS;
    for (;;) {
      const state = Atomics.load(control, L.STATE);
      if (state === L.CANCELLING) return;
      if (inFlight < concurrency) {
        const word = taskWaker.summarySelect(last);
        if (word !== undefined) {
          const bits = taskWords.take(word);
          if (bits !== 0n) {
            last = word;
            if (!runWord(word, bits)) return;
          }
          publish();
          if (performance.now() > yieldAt) {
            await nextTurn();
            yieldAt = performance.now() + YIELD_EVERY_MS;
          }
          continue; // a stale summary bit: take() has cleaned it
        }
      }
      publish();
      if (inFlight > 0) {
        await (inFlight >= concurrency ? settledOne() : permitOrSettled());
        continue;
      }
      // Idle. The summary was empty when we looked, so waiting is safe: a later set() of an empty
      // word marks its summary bit, which adds a permit that the wait below takes.
      if (state === L.STOPPING || takeStopRequest()) return;
      if (process.getActiveResourcesInfo().length > ownResources) {
        await taskWaker.acquireAsync();
      } else if (!taskWaker.tryAcquire()) {
        if (pollForWork()) continue;
        // Nothing pending that this thread can see. Some work is invisible to
        // getActiveResourcesInfo() (an unref'd timer; fs.readFile on Node 26), so block only for a
        // slice, then let the event loop turn once so that its callbacks run, and look again.
        if (!taskWaker.acquireTimeout(IDLE_SLICE_MS)) {
          await nextTurn();
          continue;
        }
      }
      yieldAt = performance.now() + YIELD_EVERY_MS;
    }
  }

  void (async () => {
    try {
      exports = (await import(init.filename)) as Record<string, unknown>;
    } catch (error) {
      loadError = error; // every task this worker starts rejects with it
    }
    post({ type: 'ready' });
    await loop();
    publish();
    // On purpose, not a crash; then leave even if a task left a timer running.
    Atomics.store(control, L.CLEAN_EXIT + slot, 1);
    process.exit(0);
  })();
}
