'use strict';
// The peer a Node user would write in an afternoon instead of installing worker-waker: the
// WorkerWaker contract (docs/contract.md) for the status word and the permit semaphore, in
// plain JavaScript over a SharedArrayBuffer, blocking with Atomics.wait / Atomics.waitAsync and
// waking with Atomics.notify. The benchmark measures the addon against it, and
// test/bench.test.js checks it against the spec model and across threads, so that a win over
// it is a win over something correct. It shares no code or constants with the product on
// purpose (its own layout, its own checks): a peer built on the product's parts would measure
// and test them twice instead of standing beside them.
//
// Deliberate limits, each one what a user would accept:
// - Permits live in an Int32 (Atomics.wait takes an Int32Array or a BigInt64Array, and BigInt
//   arithmetic would allocate on every call), so release() refuses to go past 2^31 - 1 permits,
//   the same cap as worker-waker's. Mark edges are not checked (worker-waker's saturate at the
//   cap): 2^31 edges without a single acquire in between would be needed to wrap.
// - Partition, worker-count and summarySelect methods are left out: the benchmark does not
//   measure them.
//
// Memory ordering: every Atomics operation is sequentially consistent, so everything written
// before release() (or a mark that added a permit) is visible to the thread whose acquire
// takes that permit, and the two store->load handshakes below need no fences of their own.

const { types } = require('node:util');
const { addAbortListener } = require('node:events');

const MAGIC = 0x50574b57; // "WKWP": tells a peer buffer from any other SharedArrayBuffer
const BYTES = 256;
// Int32 indices. Hot words sit on separate 64-byte lines; `parked` shares the permits line
// because every release reads it.
const HEADER = 0;
const PERMITS = 32; // byte 128
const PARKED = 33; // byte 132: threads (and async waits) inside acquire's slow path
const REGISTERED = 48; // byte 192: sleepers counted by registerSleeper
const STATUS = 8; // BigUint64 index, byte 64

const MAX_PERMITS = 0x7fffffff;
const SUMMARY_MASK = (1n << 62n) - 1n;
const PARTITION_FLAG = 1n << 62n;
const YIELD_FLAG = 1n << 63n;
const BITS = Array.from({ length: 64 }, (_, i) => 1n << BigInt(i));

function popCount32(x) {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

function popCount64(bits) {
  return popCount32(Number(bits & 0xffffffffn)) + popCount32(Number(bits >> 32n));
}

function describe(value) {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return `type string (${JSON.stringify(value)})`;
  if (value === null || typeof value !== 'object') return String(value);
  return `an instance of ${value.constructor?.name ?? 'Object'}`;
}

function invalidType(name, expected, value) {
  const error = new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(value)}`);
  error.code = 'ERR_INVALID_ARG_TYPE';
  return error;
}

function outOfRange(name, range, value) {
  const error = new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${describe(value)}`);
  error.code = 'ERR_OUT_OF_RANGE';
  return error;
}

function checkInteger(value, name, min, max) {
  if (typeof value !== 'number') throw invalidType(name, 'of type number', value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw outOfRange(name, `an integer from ${min} to ${max}`, value);
  }
}

function checkTimeout(value, name) {
  if (typeof value !== 'number') throw invalidType(name, 'of type number', value);
  if (!(value >= 0)) throw outOfRange(name, '>= 0 (Infinity allowed)', value);
}

function abortError(signal) {
  const error = new Error('The operation was aborted', { cause: signal.reason });
  error.name = 'AbortError';
  error.code = 'ABORT_ERR';
  return error;
}

// One interval per thread, referenced while async waits are pending: a pending acquireAsync
// keeps the event loop alive like a timer (Atomics.waitAsync alone does not on Node 20).
// Toggling ref/unref is far cheaper than a timer per wait.
let keepAlive;
let keepAliveCount = 0;
function holdLoop() {
  if (keepAlive === undefined) keepAlive = setInterval(() => {}, 0x3fffffff).unref();
  if (keepAliveCount++ === 0) keepAlive.ref();
}
function releaseLoop() {
  if (--keepAliveCount === 0) keepAlive.unref();
}

class AtomicsWaker {
  #cells; // Int32Array over the whole buffer
  #status; // BigUint64Array over the whole buffer

  /** @param {SharedArrayBuffer} [buffer] state made by another AtomicsWaker, in any thread */
  constructor(buffer) {
    if (buffer === undefined) {
      buffer = new SharedArrayBuffer(BYTES);
      this.#cells = new Int32Array(buffer);
      this.#status = new BigUint64Array(buffer);
      // Atomics.store is seq_cst: a thread that receives the buffer sees the header and zeros.
      Atomics.store(this.#cells, HEADER, MAGIC);
      return;
    }
    if (!types.isSharedArrayBuffer(buffer) || buffer.byteLength < BYTES) {
      throw invalidType('buffer', `a SharedArrayBuffer of at least ${BYTES} bytes holding AtomicsWaker state`, buffer);
    }
    const cells = new Int32Array(buffer, 0, BYTES / 4);
    if (Atomics.load(cells, HEADER) !== MAGIC) {
      throw invalidType('buffer', 'a SharedArrayBuffer holding AtomicsWaker state (bad header)', buffer);
    }
    this.#cells = cells;
    this.#status = new BigUint64Array(buffer, 0, BYTES / 8);
  }

  get buffer() {
    return this.#cells.buffer;
  }

  // ---- status word ------------------------------------------------------------------------

  status() {
    return Atomics.load(this.#status, STATUS);
  }

  statusBits() {
    const status = Atomics.load(this.#status, STATUS);
    return [(status & YIELD_FLAG) !== 0n, (status & PARTITION_FLAG) !== 0n];
  }

  snapshotSummary() {
    return Atomics.load(this.#status, STATUS) & SUMMARY_MASK;
  }

  summaryBits() {
    return Atomics.load(this.#status, STATUS) & SUMMARY_MASK;
  }

  markYield() {
    this.#setBits(YIELD_FLAG);
  }

  tryUnmarkYield() {
    Atomics.and(this.#status, STATUS, ~YIELD_FLAG & 0xffffffffffffffffn);
  }

  markTasks() {
    this.#setBits(PARTITION_FLAG);
  }

  markActive(index) {
    const status = this.#status;
    checkInteger(index, 'index', 0, 61);
    const bit = BITS[index];
    // No write when the bit is set already. If this load sees the bit set, it comes before a
    // consumer's clear of it in the single seq_cst order, so that consumer's recheck of the
    // signal word (tryUnmarkIfEmpty) sees the word write our caller made before this call.
    if ((Atomics.load(status, STATUS) & bit) !== 0n) return;
    this.#setBits(bit);
  }

  markActiveMask(mask) {
    if (typeof mask !== 'bigint') throw invalidType('mask', 'of type bigint', mask);
    if (mask < 0n || mask > SUMMARY_MASK) throw outOfRange('mask', '>= 0n and < 2n ** 62n', mask);
    this.#setBits(mask);
  }

  tryUnmark(bitIndex) {
    const status = this.#status;
    checkInteger(bitIndex, 'bitIndex', 0, 61);
    Atomics.and(status, STATUS, ~BITS[bitIndex] & 0xffffffffffffffffn);
  }

  tryUnmarkIfEmpty(bitIndex, words, wordIndex = bitIndex) {
    const status = this.#status;
    checkInteger(bitIndex, 'bitIndex', 0, 61);
    if (!types.isBigUint64Array(words)) throw invalidType('words', 'an instance of BigUint64Array', words);
    checkInteger(wordIndex, 'wordIndex', 0, words.length - 1);
    // Clear, then recheck the word: a producer that filled it and saw our bit still set (so
    // did not mark) came before the clear, and its word write is then visible to the recheck.
    if (Atomics.load(words, wordIndex) !== 0n) return;
    const bit = BITS[bitIndex];
    const before = Atomics.and(status, STATUS, ~bit & 0xffffffffffffffffn);
    if ((before & bit) !== 0n && Atomics.load(words, wordIndex) !== 0n) this.markActive(bitIndex);
  }

  #setBits(bits) {
    const before = Atomics.or(this.#status, STATUS, bits);
    const newlySet = bits & ~before;
    if (newlySet !== 0n) this.#addPermits(popCount64(newlySet));
  }

  // ---- permits ----------------------------------------------------------------------------

  tryAcquire() {
    const cells = this.#cells;
    let current = Atomics.load(cells, PERMITS);
    while (current > 0) {
      const seen = Atomics.compareExchange(cells, PERMITS, current, current - 1);
      if (seen === current) return true;
      current = seen;
    }
    return false;
  }

  release(n) {
    const cells = this.#cells;
    checkInteger(n, 'n', 0, Number.MAX_SAFE_INTEGER);
    if (n === 0) return;
    let current = Atomics.load(cells, PERMITS);
    for (;;) {
      if (n > MAX_PERMITS - current) {
        throw outOfRange('n', `at most ${MAX_PERMITS - current} (permits would pass 2 ** 31 - 1)`, n);
      }
      const seen = Atomics.compareExchange(cells, PERMITS, current, current + n);
      if (seen === current) break;
      current = seen;
    }
    this.#wake(n);
  }

  #addPermits(n) {
    Atomics.add(this.#cells, PERMITS, n);
    this.#wake(n);
  }

  #wake(n) {
    // The permits/parked handshake, a store->load on each side:
    //   releaser                    waiter
    //   permits += n                parked += 1
    //   load parked                 load permits (tryAcquire), then wait while permits == 0
    // One of the two loads comes last in the seq_cst order and sees the other side's write:
    // either the waiter finds the permit, or we see it parked and notify. A notify that lands
    // before the waiter is inside Atomics.wait is not lost: wait compares permits with 0 under
    // the same lock as notify, and returns at once when they differ. No notify (no lock, no
    // system call) when nobody is parked.
    const cells = this.#cells;
    const parked = Atomics.load(cells, PARKED);
    if (parked !== 0) Atomics.notify(cells, PERMITS, Math.min(n, parked));
  }

  acquire() {
    this.#acquireUntil(Infinity);
  }

  acquireTimeout(timeoutMs) {
    checkTimeout(timeoutMs, 'timeoutMs');
    return this.#acquireUntil(timeoutMs === Infinity ? Infinity : performance.now() + timeoutMs);
  }

  #acquireUntil(deadline) {
    if (this.tryAcquire()) return true;
    const cells = this.#cells;
    let acquired = false;
    Atomics.add(cells, PARKED, 1); // the waiter half of the handshake in #wake
    for (;;) {
      if (this.tryAcquire()) {
        acquired = true;
        break;
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) break; // the tryAcquire above was the last try while parked
      Atomics.wait(cells, PERMITS, 0, remaining);
    }
    Atomics.sub(cells, PARKED, 1);
    // One more try after leaving, as the addon does: a permit released while we left is ours
    // to take rather than a reason to report a timeout.
    return acquired || this.tryAcquire();
  }

  /**
   * @param {{ timeout?: number, signal?: AbortSignal, ref?: boolean }} [options]
   * @returns {Promise<boolean>} true with a permit, false when `timeout` ms passed first
   */
  acquireAsync(options = {}) {
    let cells;
    try {
      cells = this.#cells;
      if (options === null || typeof options !== 'object') throw invalidType('options', 'of type object', options);
      const { timeout = Infinity, signal, ref = true } = options;
      checkTimeout(timeout, 'options.timeout');
      if (signal !== undefined && !(signal instanceof AbortSignal)) {
        throw invalidType('options.signal', 'an instance of AbortSignal', signal);
      }
      if (typeof ref !== 'boolean') throw invalidType('options.ref', 'of type boolean', ref);
      if (signal?.aborted) return Promise.reject(abortError(signal));
      if (this.tryAcquire()) return Promise.resolve(true);
      if (timeout === 0) return Promise.resolve(false);
      return this.#waitAsync(cells, timeout, signal, ref);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #waitAsync(cells, timeout, signal, ref) {
    const deadline = timeout === Infinity ? Infinity : performance.now() + timeout;
    return new Promise((resolve, reject) => {
      let settled = false;
      let abortListener;
      const settle = (fn, value) => {
        settled = true;
        Atomics.sub(cells, PARKED, 1);
        if (ref) releaseLoop();
        abortListener?.[Symbol.dispose]();
        fn(value);
      };
      // A wake can reach a wait that was abandoned (aborted) meanwhile: pass it on, so that a
      // thread still parked is not left asleep next to a permit.
      const passOn = () => {
        if (Atomics.load(cells, PERMITS) > 0 && Atomics.load(cells, PARKED) > 0) Atomics.notify(cells, PERMITS, 1);
      };
      const step = () => {
        for (;;) {
          if (settled) return passOn();
          if (this.tryAcquire()) return settle(resolve, true);
          const remaining = deadline - performance.now();
          if (remaining <= 0) {
            settle(resolve, false);
            return undefined;
          }
          // Node 20 leaks memory for waitAsync with a finite timeout; only timed calls pay it.
          const wait = Atomics.waitAsync(cells, PERMITS, 0, remaining);
          if (wait.async) return wait.value.then(step);
          // 'not-equal' (a permit arrived) or 'timed-out': loop and look again.
        }
      };
      Atomics.add(cells, PARKED, 1); // the waiter half of the handshake in #wake
      if (ref) holdLoop();
      if (signal !== undefined) {
        abortListener = addAbortListener(signal, () => {
          if (!settled) settle(reject, abortError(signal));
        });
      }
      step();
    });
  }

  permits() {
    return Atomics.load(this.#cells, PERMITS);
  }

  sleepers() {
    const cells = this.#cells;
    return Atomics.load(cells, PARKED) + Atomics.load(cells, REGISTERED);
  }

  registerSleeper() {
    Atomics.add(this.#cells, REGISTERED, 1);
  }

  unregisterSleeper() {
    const cells = this.#cells;
    let current = Atomics.load(cells, REGISTERED);
    while (current > 0) {
      const seen = Atomics.compareExchange(cells, REGISTERED, current, current - 1);
      if (seen === current) return;
      current = seen;
    }
  }
}

module.exports = { AtomicsWaker, MAX_PERMITS };
