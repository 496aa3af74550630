'use strict';
// A small task pool built only on worker-waker and shared memory: no message crosses threads on
// the hot path.
//
//   main thread                                     worker i (of N)
//   run(x): write (id, x) into a queue ring         park on the task waker (acquire)
//   every `chunk` tasks or at the end of the tick:  summarySelect(near the word served last)
//     store ring tail, taskWords.set(queue)   ───►  take(word): every queue bit of the word at once
//     (marks the summary bit: a permit wakes        claim up to `batch` tasks per CAS, run them,
//      one parked worker)                            write results to its own ring, store its tail,
//   acquireAsync on the result waker        ◄───    resultWords.set(i) (a permit only when the
//   take(0): which workers have results;             main thread has emptied the word since)
//   read their rings, resolve the promises
//
// Tasks are numbers in, numbers out: the worker module exports `(x: number) => number`. A task
// that throws comes back through the same ring, as a status flag and a bounded error text.
// Bounded: at most `words * queuesPerWord * queueCapacity` tasks are admitted and not yet
// settled; past that `trySubmit` returns null and `run` waits for room (push back).

const os = require('node:os');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { WorkerWaker, SignalWords } = require('../..');
const L = require('./layout');

const WORKER_FILE = path.join(__dirname, 'worker.js');
const MAX_THREADS = 64; // worker i signals result queue i: all in result word 0
const MAX_CAPACITY = 1 << 22; // tasks admitted at once: ids, promises and rings stay small
const JOIN_TIMEOUT_MS = 5000;
const YIELD_EVERY_MS = 4; // let timers and I/O run while results keep streaming in

function abortError(message) {
  const error = new Error(message);
  error.name = 'AbortError';
  error.code = 'ABORT_ERR';
  return error;
}

function closedError() {
  const error = new Error('The pool is closed');
  error.code = 'ERR_POOL_CLOSED';
  return error;
}

function checkOption(options, name, fallback, min, max) {
  const value = options[name] === undefined ? fallback : options[name];
  if (typeof value !== 'number') {
    throw new TypeError(`The "${name}" option must be of type number. Received type ${typeof value}`);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`The "${name}" option must be an integer from ${min} to ${max}. Received ${String(value)}`);
  }
  return value;
}

class Pool {
  #layout;
  #view;
  #workers = [];
  #exits = [];
  #readies = [];
  #taskWaker = new WorkerWaker();
  #taskWords = new SignalWords(this.#taskWaker);
  #resultWaker = new WorkerWaker();
  #resultWords = new SignalWords(this.#resultWaker);
  #chunk;
  #afterTailStore; // test seam, see the constructor

  // Admitted tasks: id -> settle functions; ids are recycled through a stack.
  #resolvers;
  #rejecters;
  #freeIds;
  #freeTop;
  #pending = 0;

  // Submission cursor: the ring being filled, its room, and what the workers have been shown.
  #ring = 0;
  #room = 0;
  #chunkCount = 0;
  #tails;
  #published;
  #resultHeads; // per worker: how far the main thread has read its result ring
  #flushScheduled = false;

  #collecting = false;
  #spaceWaiters = [];
  #idleWaiters = [];
  #closed = false;
  #closing = null; // close() or destroy(), whichever came first
  #cancelling = null;
  #failure = null;
  #counts = { submitted: 0, completed: 0, failed: 0, cancelled: 0, mainPermits: 0, mainWasted: 0, mainWaits: 0 };

  /**
   * @param {object} options
   * @param {string} options.filename absolute path of a module exporting `(x: number) => number`.
   * @param {number} [options.threads] workers (default: the machine's available parallelism).
   * @param {number} [options.words] signal words used for task queues (default: threads).
   * @param {number} [options.queuesPerWord] queues per word (default 8).
   * @param {number} [options.queueCapacity] tasks per queue, a power of two (default 256).
   * @param {number} [options.chunk] tasks written to one queue before it is published (default 32, at most queueCapacity).
   * @param {number} [options.batch] tasks a worker claims at once (default 64).
   * @param {object} [options.testHooks] test seam: `afterTailStore({ ring, queue, taskWaker,
   *   taskWords })` runs between the store of a ring's tail and the set() that announces it
   *   (test/pool.test.js pauses there to prove that order).
   */
  constructor(options = {}) {
    const { filename } = options;
    if (typeof filename !== 'string' || !path.isAbsolute(filename)) {
      throw new TypeError(`The "filename" option must be an absolute path. Received ${String(filename)}`);
    }
    const threads = checkOption(options, 'threads', Math.min(os.availableParallelism(), MAX_THREADS), 1, MAX_THREADS);
    const words = checkOption(options, 'words', Math.min(threads, 62), 1, 62);
    const queuesPerWord = checkOption(options, 'queuesPerWord', 8, 1, 64);
    const queueCapacity = checkOption(options, 'queueCapacity', 256, 1, 1 << 20);
    if ((queueCapacity & (queueCapacity - 1)) !== 0) {
      throw new RangeError(`The "queueCapacity" option must be a power of two. Received ${queueCapacity}`);
    }
    if (words * queuesPerWord * queueCapacity > MAX_CAPACITY) {
      throw new RangeError(`words * queuesPerWord * queueCapacity must be at most ${MAX_CAPACITY}. Received ${words * queuesPerWord * queueCapacity}`);
    }
    this.#chunk = checkOption(options, 'chunk', Math.min(32, queueCapacity), 1, queueCapacity);
    const batch = checkOption(options, 'batch', 64, 1, 1 << 16);
    this.#afterTailStore = options.testHooks?.afterTailStore;

    this.#layout = L.createLayout({ threads, words, queuesPerWord, queueCapacity });
    this.#view = L.viewLayout(this.#layout);
    const { maxPending, queueCount } = this.#layout;
    this.#resolvers = new Array(maxPending).fill(undefined);
    this.#rejecters = new Array(maxPending).fill(undefined);
    this.#freeIds = new Int32Array(maxPending);
    for (let i = 0; i < maxPending; i++) this.#freeIds[i] = maxPending - 1 - i;
    this.#freeTop = maxPending;
    this.#tails = new Int32Array(queueCount);
    this.#published = new Int32Array(queueCount);
    this.#resultHeads = new Int32Array(threads);
    this.#room = queueCapacity;

    for (let index = 0; index < threads; index++) this.#spawn(index, filename, batch);
  }

  #spawn(index, filename, batch) {
    const worker = new Worker(WORKER_FILE, {
      workerData: {
        layout: this.#layout,
        index,
        filename,
        batch,
        // Spread the workers' starting points over the words they will serve.
        homeWord: Math.floor((index * this.#layout.words) / this.#layout.threads),
        taskWaker: this.#taskWaker.buffer,
        taskWords: this.#taskWords.buffer,
        resultWaker: this.#resultWaker.buffer,
        resultWords: this.#resultWords.buffer,
      },
    });
    this.#workers.push(worker);
    this.#exits.push(new Promise((resolve) => worker.once('exit', resolve)));
    const ready = new Promise((resolve, reject) => {
      // The only message a worker sends, once, when its task module has loaded (see worker.js).
      worker.once('message', () => {
        // An idle pool must not keep the process alive; pending tasks do (acquireAsync).
        worker.unref();
        resolve();
      });
      worker.once('error', (error) => {
        reject(error);
        this.#fail(error);
      });
      worker.once('exit', (code) => {
        reject(new Error(`pool worker ${index} exited with code ${code} before it was ready`));
        if (Atomics.load(this.#view.control, L.STATE) === L.RUNNING) this.#fail(new Error(`pool worker ${index} exited unexpectedly (code ${code})`));
      });
    });
    ready.catch(() => {}); // reported through ready() and the tasks' promises, not as unhandled
    this.#readies.push(ready);
  }

  /** Resolves once every worker has loaded the task module. */
  ready() {
    return Promise.all(this.#readies).then(() => undefined);
  }

  /** Number of worker threads. */
  get threads() {
    return this.#layout.threads;
  }

  /** Most tasks that may be admitted and not yet settled. */
  get capacity() {
    return this.#layout.maxPending;
  }

  /** Tasks admitted and not yet settled. */
  get pending() {
    return this.#pending;
  }

  /** Tasks whose promise has resolved. */
  get completed() {
    return this.#counts.completed;
  }

  /**
   * Submits `x` if there is room now.
   * @returns a promise of the task's result, or null when the pool is full (push back: retry
   *   after some results have come in, or use `run`, which waits).
   */
  trySubmit(x) {
    if (this.#closed) throw closedError();
    if (typeof x !== 'number') throw new TypeError(`The task argument must be a number. Received ${typeof x}`);
    if (this.#pending >= this.#layout.maxPending) return null;
    if (this.#room === 0 && !this.#findRoom()) return null;
    const ring = this.#ring;
    const id = this.#freeIds[--this.#freeTop];
    const slot = ring * this.#layout.queueCapacity + (this.#tails[ring] & (this.#layout.queueCapacity - 1));
    this.#view.queueIds[slot] = id;
    this.#view.queueArgs[slot] = x;
    this.#tails[ring] = (this.#tails[ring] + 1) | 0;
    this.#room--;
    this.#pending++;
    this.#counts.submitted++;
    const promise = new Promise((resolve, reject) => {
      this.#resolvers[id] = resolve;
      this.#rejecters[id] = reject;
    });
    // Publish a full chunk at once, so that workers start while the caller keeps submitting;
    // the rest goes out at the end of this tick (one tail store and one set() for many tasks).
    if (++this.#chunkCount === this.#chunk) this.#advance();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.#flush());
    }
    if (!this.#collecting) this.#collect().catch((error) => this.#fail(error));
    return promise;
  }

  /** Submits `x`, waiting for room while the pool is full; resolves to the task's result. */
  async run(x) {
    for (;;) {
      const promise = this.trySubmit(x);
      if (promise !== null) return promise;
      await new Promise((resolve) => this.#spaceWaiters.push(resolve));
    }
  }

  /** Publishes the current ring and moves to the next one that has room. */
  #advance() {
    this.#publish(this.#ring);
    this.#ring = (this.#ring + 1) % this.#layout.queueCount;
    this.#chunkCount = 0;
    this.#room = this.#roomOf(this.#ring);
  }

  #findRoom() {
    for (let tries = 0; tries < this.#layout.queueCount; tries++) {
      this.#advance();
      if (this.#room > 0) return true;
    }
    return false;
  }

  #roomOf(ring) {
    // Slots below `head` are free to overwrite: a worker advances `head` (seq_cst CAS) only after it
    // has copied the tasks it claims, and a CAS that loses discards its copies (claimTasks). A
    // stale head only makes the ring look fuller than it is.
    const head = Atomics.load(this.#view.queueHeaders, ring * L.HEADER_INTS + L.HEAD);
    return this.#layout.queueCapacity - ((this.#tails[ring] - head) | 0);
  }

  #publish(ring) {
    if (this.#published[ring] === this.#tails[ring]) return;
    this.#published[ring] = this.#tails[ring];
    // Tail first, then set(): the seq_cst store orders the slot writes before it, and a worker
    // that takes the bit and then loads the tail sees every slot. The other way round, a worker
    // could take the bit, find the old tail (nothing to do) and park, and the tasks would wait
    // for an unrelated set() of the same word.
    const queue = L.signalQueueOf(this.#layout, ring);
    Atomics.store(this.#view.queueHeaders, ring * L.HEADER_INTS + L.TAIL, this.#tails[ring]);
    if (this.#afterTailStore !== undefined) {
      this.#afterTailStore({ ring, queue, taskWaker: this.#taskWaker, taskWords: this.#taskWords });
    }
    this.#taskWords.set(queue);
  }

  #flush() {
    this.#flushScheduled = false;
    if (this.#chunkCount > 0) this.#advance();
  }

  /** Waits for results and settles them while any task is pending. */
  async #collect() {
    this.#collecting = true;
    try {
      let lastYield = performance.now();
      let foundSincePermit = true;
      while (this.#pending > 0) {
        // Sleep only when the summary bit is clear: take() leaves it set when a worker refilled
        // the word meanwhile, and that refill may not have added a permit.
        if (this.#resultWaker.summaryBits() !== 0n) {
          const bits = this.#resultWords.take(0);
          if (bits !== 0n) {
            foundSincePermit = true;
            this.#drainResults(bits);
          }
          // Let the resolved promises' reactions run (they usually submit more tasks), and now and
          // then let timers and I/O run too.
          if (performance.now() - lastYield > YIELD_EVERY_MS) {
            await new Promise(setImmediate);
            lastYield = performance.now();
          } else {
            await null;
          }
          continue;
        }
        if (!foundSincePermit) this.#counts.mainWasted++;
        foundSincePermit = false;
        if (this.#resultWaker.permits() === 0) this.#counts.mainWaits++;
        await this.#resultWaker.acquireAsync();
        this.#counts.mainPermits++;
        lastYield = performance.now();
      }
    } finally {
      this.#collecting = false;
    }
  }

  /** Reads the result rings of the workers named by `bits` (bit i = worker i). */
  #drainResults(bits) {
    const { resultHeaders, resultIds, resultValues, resultStatus } = this.#view;
    const capacity = this.#layout.resultCapacity;
    const mask = capacity - 1;
    let freed = 0;
    const low = Number(bits & 0xffffffffn);
    const high = Number(bits >> 32n);
    for (let half = 0; half < 2; half++) {
      let m = half === 0 ? low : high;
      while (m !== 0) {
        const worker = half * 32 + (31 - Math.clz32(m & -m));
        m &= m - 1;
        if (worker >= this.#layout.threads) continue;
        let head = this.#resultHeads[worker];
        const tail = Atomics.load(resultHeaders, worker * L.HEADER_INTS + L.TAIL);
        const base = worker * capacity;
        while (head !== tail) {
          const slot = base + (head & mask);
          const id = resultIds[slot];
          if (resultStatus[slot] === L.RESULT_ERROR) this.#settleError(id, L.readError(this.#view, id, resultValues[slot]));
          else this.#settle(id, resultValues[slot]);
          head = (head + 1) | 0;
          freed++;
        }
        this.#resultHeads[worker] = head;
        // After the slots are read (and their error records, whose ids are only now free for
        // reuse): the seq_cst store tells the worker that these slots may be written again.
        Atomics.store(resultHeaders, worker * L.HEADER_INTS + L.HEAD, head);
      }
    }
    this.#wakeSubmitters(freed);
  }

  #release(id) {
    this.#resolvers[id] = undefined;
    this.#rejecters[id] = undefined;
    this.#freeIds[this.#freeTop++] = id;
    if (--this.#pending === 0) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }

  // A result whose id is not pending would resolve someone else's task (or nothing): a bug in
  // the rings, so stop the pool (the collector's failure cancels it) rather than go on.
  #checkPending(id) {
    if (!(id >= 0 && id < this.#layout.maxPending) || this.#resolvers[id] === undefined) {
      throw new Error(`pool bug: a result arrived for task id ${id}, which is not pending`);
    }
  }

  #settle(id, value) {
    this.#checkPending(id);
    const resolve = this.#resolvers[id];
    this.#release(id);
    this.#counts.completed++;
    resolve(value);
  }

  #settleError(id, error) {
    this.#checkPending(id);
    const reject = this.#rejecters[id];
    this.#release(id);
    this.#counts.failed++;
    reject(error);
  }

  #wakeSubmitters(count) {
    const waiters = this.#spaceWaiters.splice(0, count);
    for (const resolve of waiters) resolve();
  }

  // The collector may be waiting for a result permit while its last task settled some other way.
  #wakeCollector() {
    if (this.#collecting && this.#pending === 0) this.#resultWaker.release(1);
  }

  /**
   * Drains and stops: no new tasks are accepted, every task already submitted completes, then the
   * workers exit and are joined. Resolves to the number of workers that had to be terminated
   * because they did not exit within 5 s (0 on a clean shutdown).
   */
  close() {
    if (this.#closing === null) {
      this.#closed = true;
      this.#wakeSubmitters(this.#spaceWaiters.length); // their run() now fails with ERR_POOL_CLOSED
      this.#closing = (async () => {
        this.#flush();
        if (this.#pending > 0) await new Promise((resolve) => this.#idleWaiters.push(resolve));
        // destroy() (or a failure) meanwhile: its cancel owns the shutdown; STOPPING must not
        // overwrite CANCELLING while workers may still be finishing a batch.
        if (this.#cancelling !== null) return this.#cancelling;
        return this.#stop(L.STOPPING);
      })();
    }
    return this.#closing;
  }

  /**
   * Cancels and stops: workers finish the batch in hand and exit; tasks that did not run reject
   * with an AbortError. Resolves, once every worker has been joined, to the number of workers
   * that had to be terminated (0 on a clean shutdown).
   */
  destroy() {
    const cancelled = this.#cancel(abortError('The pool was destroyed before the task ran'));
    if (this.#closing === null) this.#closing = cancelled;
    return cancelled;
  }

  // A worker died (its task module failed to load, or a bug): cancel everything, also during a
  // close() that is waiting for tasks the dead worker had claimed.
  #fail(error) {
    if (this.#failure !== null) return;
    this.#failure = error;
    const cancelled = this.#cancel(error);
    if (this.#closing === null) this.#closing = cancelled;
  }

  #cancel(reason) {
    if (this.#cancelling === null) {
      this.#closed = true;
      this.#wakeSubmitters(this.#spaceWaiters.length);
      this.#cancelling = (async () => {
        const terminated = await this.#stop(L.CANCELLING);
        // Every worker has exited: whatever results they published are final. Settle them, then
        // reject what never ran.
        try {
          this.#drainResults((1n << BigInt(this.#layout.threads)) - 1n);
        } catch {
          // A corrupt ring (#checkPending), already the reason of this cancel when the collector
          // found it: reject what is left rather than leave it pending.
        }
        for (let id = 0; id < this.#layout.maxPending; id++) {
          const reject = this.#rejecters[id];
          if (reject === undefined) continue;
          this.#release(id);
          this.#counts.cancelled++;
          reject(reason);
        }
        this.#wakeCollector();
        return terminated;
      })();
    }
    return this.#cancelling;
  }

  async #stop(state) {
    Atomics.store(this.#view.control, L.STATE, state);
    // One permit per worker: each parked worker wakes, sees the state and exits.
    this.#taskWaker.release(this.#layout.threads);
    for (const worker of this.#workers) worker.ref(); // keep the process alive until joined
    let timer;
    const timedOut = new Promise((resolve) => {
      timer = setTimeout(resolve, JOIN_TIMEOUT_MS, 'timeout');
    });
    const joined = await Promise.race([Promise.all(this.#exits), timedOut]);
    clearTimeout(timer);
    if (joined !== 'timeout') return 0;
    // Should not happen; a stuck worker must not hang the caller.
    const stuck = this.#workers.filter((worker) => worker.threadId !== -1);
    await Promise.all(stuck.map((worker) => worker.terminate()));
    return stuck.length;
  }

  /**
   * stats() once every worker is parked on the task waker (a worker publishes its counters just
   * before it waits, so they are then exact), or after `timeoutMs` if some worker stays busy.
   * For measuring one phase of a run: call it before and after, and subtract.
   */
  async settledStats(timeoutMs = 1000) {
    const deadline = performance.now() + timeoutMs;
    while (this.#taskWaker.sleepers() < this.#layout.threads && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    return this.stats();
  }

  /** Counters of this pool's work so far (worker counters are exact once the pool is closed). */
  stats() {
    const { stats } = this.#view;
    const sum = (field) => {
      let total = 0;
      for (let i = 0; i < this.#layout.threads; i++) total += stats[i * L.STAT_STRIDE + field];
      return total;
    };
    return {
      ...this.#counts,
      tasksRun: sum(L.STAT_TASKS),
      batches: sum(L.STAT_BATCHES),
      takes: sum(L.STAT_TAKES),
      workerPermits: sum(L.STAT_PERMITS),
      workerWasted: sum(L.STAT_WASTED),
      workerWaits: sum(L.STAT_WAITS),
    };
  }
}

module.exports = { Pool };
