import { types } from 'node:util';

import { native, type StateView } from './binding';
import { checkInteger, invalidReceiver, invalidType } from './errors';
import { isWorkerWaker, type WorkerWaker } from './waker';

/** One signal word per summary bit of the waker. */
const WORD_COUNT = native.layout.summaryBits;
const QUEUE_COUNT = WORD_COUNT * 64;
const WORDS_BYTES = WORD_COUNT * BigUint64Array.BYTES_PER_ELEMENT;

/**
 * The 62 signal words of a {@link WorkerWaker}: a bitset of 62 × 64 = 3,968 queues in a
 * `SharedArrayBuffer`. Bit `queue & 63` of word `queue >> 6` says "queue has work"; summary bit
 * `word` of the waker says "word may be non-empty". Producers `set` queue bits, consumers pick a
 * word with `waker.summarySelect()` and `take` it.
 *
 * Invariant kept for every thread: a non-empty word always has its summary bit set (summary bits
 * may stay set after a word empties; they are cleaned lazily by `take`/`clear`).
 *
 * Memory ordering: the words are changed only with JS `Atomics` (sequentially consistent), and the
 * native waker reads them and the status word with seq_cst C++ atomics on the same addresses, so
 * all of these operations fall into one total order. Anything a producer wrote before `set()` is
 * visible to the consumer whose `take()` returns that bit.
 *
 * Lifetime: the words live in `buffer`; attach from another thread with
 * `new SignalWords(new WorkerWaker(wakerBuffer), wordsBuffer)`.
 *
 * Termination: `set()` is two steps (OR the bit into the word, then mark the summary bit), so a
 * thread terminated between them leaves a non-empty word with a clear summary bit. Nothing can
 * close that gap with two separate atomic words; after terminating a producer, re-mark every
 * non-empty word (`markActive` on a set bit writes nothing), as docs/contract.md shows.
 * @example
 * ```js
 * const { WorkerWaker, SignalWords } = require('worker-waker');
 *
 * const waker = new WorkerWaker();
 * const signals = new SignalWords(waker);
 * signals.set(130); // queue 130: word 2, bit 2; marks summary bit 2 (one permit)
 * if (waker.tryAcquire()) {
 *   const word = waker.summarySelect(0);
 *   console.log(`word ${word}: queue bits ${signals.take(word).toString(2)}`); // word 2: queue bits 100
 * }
 * ```
 */
export class SignalWords {
  readonly #words: BigUint64Array;
  readonly #waker: WorkerWaker;
  /** The waker's state, so that each mark is one native call with no second argument check. */
  readonly #state: StateView;

  /**
   * @param waker the waker whose summary bits track these words.
   * @param buffer words made by another `SignalWords` (`signals.buffer`), possibly in another
   *   thread. Omit it to create fresh, empty words.
   * @throws TypeError when `waker` is not a `WorkerWaker`, or `buffer` is not a
   *   `SharedArrayBuffer` of at least 496 bytes (62 words), or holds a waker's state.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker, SignalWords } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * const signals = new SignalWords(waker);
   * // What another thread does with the two buffers it is sent:
   * const sameWords = new SignalWords(new WorkerWaker(waker.buffer), signals.buffer);
   * signals.set(5);
   * assert.strictEqual(sameWords.isSet(5), true);
   * ```
   */
  constructor(waker: WorkerWaker, buffer?: SharedArrayBuffer) {
    if (!isWorkerWaker(waker)) throw invalidType('waker', 'an instance of WorkerWaker', waker);
    // `waker.buffer` brand-checks the waker (a fake with WorkerWaker.prototype throws here).
    const state = new BigUint64Array(waker.buffer, 0, native.layout.stateWords);
    if (buffer === undefined) {
      buffer = new SharedArrayBuffer(WORDS_BYTES);
    } else if (!types.isSharedArrayBuffer(buffer)) {
      throw invalidType('buffer', 'a SharedArrayBuffer of signal words', buffer);
    } else if (buffer.byteLength < WORDS_BYTES) {
      throw invalidType('buffer', `a SharedArrayBuffer of at least ${WORDS_BYTES} bytes (${WORD_COUNT} signal words)`, buffer);
    } else if (buffer.byteLength >= native.layout.stateBytes && native.isState(new BigUint64Array(buffer, 0, native.layout.stateWords))) {
      // Signal words written over a waker's state would corrupt that waker.
      throw invalidType('buffer', 'a SharedArrayBuffer of signal words, not one holding worker-waker state', buffer);
    }
    this.#words = new BigUint64Array(buffer, 0, WORD_COUNT);
    this.#waker = waker;
    this.#state = state;
  }

  static #check(self: unknown, method: string): SignalWords {
    if (typeof self === 'object' && self !== null && #words in self) return self as SignalWords;
    throw invalidReceiver('SignalWords', method);
  }

  /**
   * The 62 signal words (bit `q & 63` of word `q >> 6` is queue `q`). Change them only with `Atomics`.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker, SignalWords } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * const signals = new SignalWords(waker);
   * signals.set(65); // word 1, bit 1
   * assert.strictEqual(Atomics.load(signals.words, 1), 2n);
   * ```
   */
  get words(): BigUint64Array {
    return SignalWords.#check(this, 'words').#words;
  }

  /**
   * The words' memory; pass it to other threads and attach with `new SignalWords(waker, buffer)`.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker, SignalWords } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * const signals = new SignalWords(waker);
   * assert.strictEqual(signals.buffer, signals.words.buffer);
   * ```
   */
  get buffer(): SharedArrayBuffer {
    return SignalWords.#check(this, 'buffer').#words.buffer as SharedArrayBuffer;
  }

  /**
   * The waker these words are bound to.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker, SignalWords } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * const signals = new SignalWords(waker);
   * assert.strictEqual(signals.waker, waker);
   * ```
   */
  get waker(): WorkerWaker {
    return SignalWords.#check(this, 'waker').#waker;
  }

  /**
   * Marks `queue` (0–3967) as having work. When its word goes from empty to non-empty, marks the
   * word's summary bit (one permit if that bit was clear).
   * @returns true when the bit was newly set.
   * @throws RangeError when `queue` is not an integer from 0 to 3967.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker, SignalWords } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * const signals = new SignalWords(waker);
   * assert.strictEqual(signals.set(70), true); // word 1 was empty: marks summary bit 1
   * assert.strictEqual(signals.set(70), false); // already set
   * assert.strictEqual(waker.snapshotSummary(), 1n << 1n);
   * assert.strictEqual(waker.permits(), 1);
   * ```
   */
  set(queue: number): boolean {
    const self = SignalWords.#check(this, 'set');
    checkInteger(queue, 'queue', 0, QUEUE_COUNT - 1);
    const word = queue >> 6;
    const bit = 1n << BigInt(queue & 63);
    // Only the setter that makes the word non-empty (before === 0n) marks the summary bit. A
    // setter that finds the word non-empty needs nothing: its summary bit is set, or is about to
    // be set by the setter that made it non-empty. If a consumer empties the word around our OR,
    // the native TryUnmarkIfEmpty re-reads the word after clearing the summary bit and re-marks
    // it; MarkActive's seq_cst load pairs with that clear (both interleavings are drawn in
    // native/core/waker_core.cc). Atomics.or is seq_cst, so it takes part in that single order.
    const before = Atomics.or(self.#words, word, bit);
    if (before === 0n) native.markActive(self.#state, word);
    return (before & bit) === 0n;
  }

  /**
   * Clears `queue` (0–3967). When its word becomes empty, clears the word's summary bit unless
   * another thread refilled the word meanwhile.
   * @returns true when the bit was set.
   * @throws RangeError when `queue` is not an integer from 0 to 3967.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker, SignalWords } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * const signals = new SignalWords(waker);
   * signals.set(7);
   * assert.strictEqual(signals.clear(7), true); // word 0 is empty again: its summary bit clears
   * assert.strictEqual(signals.clear(7), false);
   * assert.strictEqual(waker.snapshotSummary(), 0n);
   * ```
   */
  clear(queue: number): boolean {
    const self = SignalWords.#check(this, 'clear');
    checkInteger(queue, 'queue', 0, QUEUE_COUNT - 1);
    const word = queue >> 6;
    const bit = 1n << BigInt(queue & 63);
    const before = Atomics.and(self.#words, word, ~bit);
    if ((before & bit) === 0n) return false;
    // The native side re-reads the word after clearing the summary bit, so a set() racing us keeps
    // its summary bit (no false negatives).
    if (before === bit) native.tryUnmarkIfEmpty(self.#state, word, self.#words, word);
    return true;
  }

  /**
   * Whether `queue` (0–3967) is marked now.
   * @throws RangeError when `queue` is not an integer from 0 to 3967.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker, SignalWords } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * const signals = new SignalWords(waker);
   * signals.set(3967); // the last queue
   * assert.strictEqual(signals.isSet(3967), true);
   * assert.strictEqual(signals.isSet(3966), false);
   * ```
   */
  isSet(queue: number): boolean {
    const self = SignalWords.#check(this, 'isSet');
    checkInteger(queue, 'queue', 0, QUEUE_COUNT - 1);
    return ((Atomics.load(self.#words, queue >> 6) >> BigInt(queue & 63)) & 1n) === 1n;
  }

  /**
   * Takes every queue bit of `word` (0–61) at once: swaps the word to 0 and returns what it held
   * (bit i = queue `word * 64 + i`), then clears the word's summary bit if the word is still
   * empty. A word found empty (a stale summary bit) returns 0n and is cleaned the same way.
   * @throws RangeError when `word` is not an integer from 0 to 61.
   * @example
   * ```js
   * const assert = require('node:assert');
   * const { WorkerWaker, SignalWords } = require('worker-waker');
   *
   * const waker = new WorkerWaker();
   * const signals = new SignalWords(waker);
   * signals.set(128); // word 2, bit 0
   * signals.set(129); // word 2, bit 1
   * assert.strictEqual(signals.take(2), 0b11n);
   * assert.strictEqual(waker.snapshotSummary(), 0n); // the word is empty: its summary bit is cleared
   * ```
   */
  take(word: number): bigint {
    const self = SignalWords.#check(this, 'take');
    checkInteger(word, 'word', 0, WORD_COUNT - 1);
    // exchange, not load-then-store: a bit set between the two would be lost. Each bit returned
    // here belongs to this caller alone.
    const bits = Atomics.exchange(self.#words, word, 0n);
    native.tryUnmarkIfEmpty(self.#state, word, self.#words, word);
    return bits;
  }
}
