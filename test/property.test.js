'use strict';
// Property tests (fast-check).
// 1. Random operation sequences against the pure model (test/support/model.js), shrunk to a
//    minimal failing sequence: several handles on one state (attached mid-sequence), SignalWords
//    on top, leaf and signal words changed underneath; every result and the observable state must
//    agree after every step.
// 2. Hostile arguments, receivers and constructor inputs for every public member of WorkerWaker
//    and SignalWords, and for every export of the addon itself (a fixed sweep of bad states
//    and bad arguments first, then random ones), each in a child process
//    (test/fixtures/hostile-*.js) so that a crash fails the test instead of killing Jest.
const path = require('node:path');
const { execFile } = require('node:child_process');
const { isDeepStrictEqual } = require('node:util');
const fc = require('fast-check');
const { WorkerWaker, SignalWords } = require('..');
const { WakerModel } = require('./support/model');

const CAP = 2 ** 31 - 1; // the permit cap
// Two of these bring permits near the cap and a third is refused. The headroom (16,383) exceeds
// what one sequence can add by marks (80 steps x 62 bits), so marks never reach the cap here.
const BIG_RELEASE = 2 ** 30 - 2 ** 13;

// SignalWords as the spec states it, over the model waker and plain words.
class SignalWordsModel {
  constructor(waker, words) {
    this.waker = waker;
    this.words = words;
  }

  set(queue) {
    const word = queue >> 6;
    const bit = 1n << BigInt(queue & 63);
    const before = this.words[word];
    this.words[word] = before | bit;
    if (before === 0n) this.waker.markActive(word);
    return (before & bit) === 0n;
  }

  clear(queue) {
    const word = queue >> 6;
    const bit = 1n << BigInt(queue & 63);
    const before = this.words[word];
    this.words[word] = before & ~bit;
    if ((before & bit) === 0n) return false;
    if (before === bit) this.waker.tryUnmarkIfEmpty(word, this.words, word);
    return true;
  }

  isSet(queue) {
    return ((this.words[queue >> 6] >> BigInt(queue & 63)) & 1n) === 1n;
  }

  take(word) {
    const bits = this.words[word];
    this.words[word] = 0n;
    this.waker.tryUnmarkIfEmpty(word, this.words, word);
    return bits;
  }
}

const int = (min, max) => fc.integer({ min, max });
// Indices lean to the ends of their ranges (summary bits 0-61, leaves 0-63) as often as not.
const summaryIndex = fc.oneof(int(0, 61), fc.constantFrom(0, 1, 60, 61));
const leafIndex = fc.oneof(int(0, 63), fc.constantFrom(0, 62, 63));
const word64 = fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom(1n, 1n << 63n));
const handle = int(0, 3);

// An operation: [handle, name, ...arguments]. '$words' and '$leaves' mark where the runner passes
// the signal words or the leaf words; syncPartitionSummary's second number is the span.
const operation = fc.oneof(
  ...['markYield', 'tryUnmarkYield', 'markTasks', 'tryUnmarkTasks', 'snapshotSummary', 'summaryBits', 'statusBits',
    'status', 'tryAcquire', 'permits', 'sleepers', 'registerSleeper', 'unregisterSleeper', 'registerWorker',
    'unregisterWorker', 'getWorkerCount', 'partitionSummary'].map((name) => fc.tuple(handle, fc.constant(name))),
  fc.tuple(handle, fc.constant('markActive'), summaryIndex),
  fc.tuple(handle, fc.constant('markActiveMask'), fc.bigInt({ min: 0n, max: (1n << 62n) - 1n })),
  fc.tuple(handle, fc.constant('tryUnmark'), summaryIndex),
  fc.tuple(handle, fc.constant('tryUnmarkIfEmpty'), summaryIndex, fc.constant('$words'), fc.option(int(0, 61), { nil: undefined })),
  fc.tuple(handle, fc.constant('summarySelect'), int(0, 63)),
  fc.tuple(handle, fc.constant('acquireTimeout'), fc.constant(0)),
  fc.tuple(handle, fc.constant('release'), fc.oneof(int(0, 5), fc.constant(BIG_RELEASE))),
  fc.tuple(handle, fc.constant('syncPartitionSummary'), int(0, 16), int(0, 64), fc.constant('$leaves')),
  fc.tuple(handle, fc.constant('partitionLeafHasWork'), leafIndex),
  fc.tuple(handle, fc.constant('markPartitionLeafActive'), leafIndex),
  fc.tuple(handle, fc.constant('clearPartitionLeaf'), leafIndex),
  // SignalWords on the same waker.
  fc.tuple(handle, fc.constantFrom('$set', '$clear', '$isSet'), fc.oneof(int(0, 3967), int(0, 200))),
  fc.tuple(handle, fc.constant('$take'), fc.oneof(summaryIndex, int(0, 3))),
  // The world changes underneath: another handle attaches; a word or leaf is stored directly.
  fc.tuple(handle, fc.constant('$attach')),
  fc.tuple(handle, fc.constant('$storeWord'), int(0, 61), word64),
  fc.tuple(handle, fc.constant('$storeLeaf'), int(0, 79), word64),
);

// Lengths spread over the whole range (fast-check's default keeps most sequences very short).
const sequences = fc.array(operation, { minLength: 1, maxLength: 80, size: 'max' });

function runSequence(operations, Model = WakerModel) {
  const model = new Model();
  const modelWords = new BigUint64Array(62);
  const modelSignals = new SignalWordsModel(model, modelWords);
  const modelLeaves = new BigUint64Array(80);
  const first = new WorkerWaker();
  const handles = [first];
  const signals = [new SignalWords(first)];
  const leaves = new BigUint64Array(new SharedArrayBuffer(80 * 8));

  const observe = (waker, words) => ({
    status: waker.status(),
    permits: waker.permits(),
    sleepers: waker.sleepers(),
    workers: waker.getWorkerCount(),
    partition: waker.partitionSummary(),
    words: Array.from(words),
  });

  operations.forEach(([which, name, ...args], step) => {
    const waker = handles[which % handles.length];
    const signalWords = signals[which % signals.length];
    const at = () => `step ${step}: ${name}(${args.map(String).join(', ')})`;
    let got;
    let want;
    switch (name) {
      case '$attach':
        handles.push(new WorkerWaker(first.buffer));
        signals.push(new SignalWords(handles[handles.length - 1], signals[0].buffer));
        return;
      case '$storeWord':
        Atomics.store(signalWords.words, args[0], args[1]);
        modelWords[args[0]] = args[1];
        return;
      case '$storeLeaf':
        Atomics.store(leaves, args[0], args[1]);
        modelLeaves[args[0]] = args[1];
        return;
      case '$set':
      case '$clear':
      case '$isSet':
      case '$take':
        got = signalWords[name.slice(1)](args[0]);
        want = modelSignals[name.slice(1)](args[0]);
        break;
      case 'syncPartitionSummary': {
        const [start, span] = args;
        got = waker.syncPartitionSummary(start, start + span, leaves);
        want = model.syncPartitionSummary(start, start + span, modelLeaves);
        break;
      }
      case 'tryUnmarkIfEmpty':
        // `undefined` as wordIndex means "the default", so it is passed or left out alike.
        got = waker.tryUnmarkIfEmpty(args[0], signalWords.words, ...(args[2] === undefined ? [] : [args[2]]));
        want = model.tryUnmarkIfEmpty(args[0], modelWords, ...(args[2] === undefined ? [] : [args[2]]));
        break;
      case 'release':
        if (model.permits() + args[0] > CAP) {
          // Refused: a RangeError, and nothing changes.
          let error;
          try {
            waker.release(args[0]);
          } catch (thrown) {
            error = thrown;
          }
          if (error === undefined || error.name !== 'RangeError') throw new Error(`${at()}: not refused`);
          break;
        }
        got = waker.release(args[0]);
        want = model.release(args[0]);
        break;
      default:
        got = waker[name](...args);
        want = model[name](...args);
    }
    if (!isDeepStrictEqual(got, want)) {
      throw new Error(`${at()}: returned ${String(got)}, the model ${String(want)}`);
    }
    const seen = observe(waker, signalWords.words);
    const expected = observe(model, modelWords);
    if (!isDeepStrictEqual(seen, expected)) {
      throw new Error(`${at()}: state ${JSON.stringify(seen, (k, v) => (typeof v === 'bigint' ? `${v}` : v))}\n` +
        `model ${JSON.stringify(expected, (k, v) => (typeof v === 'bigint' ? `${v}` : v))}`);
    }
  });
}

test('random operation sequences on several handles and SignalWords agree with the model at every step', () => {
  fc.assert(fc.property(sequences, runSequence), { numRuns: 400 });
});

test('the comparison is live: a model that misses one permit is caught and shrunk to one step', () => {
  class NoEdgePermit extends WakerModel {
    markActive(index) {
      this.statusWord |= 1n << BigInt(index);
    }
  }
  let failure;
  try {
    fc.assert(fc.property(sequences, (ops) => runSequence(ops, NoEdgePermit)), { numRuns: 400 });
  } catch (error) {
    failure = error;
  }
  expect(failure).toBeDefined();
  // Shrunk so that the very first step shows it: a markActive, or a set() that marks a word.
  expect(failure.cause.message).toMatch(/^step 0: (markActive|\$set)\(\d+\): state .*"permits":1,/);
});

test('permits never pass the cap: marks saturate there, and a release past it is refused', () => {
  // Marks cannot be refused (one permit per edge), so near the cap they saturate; a release that
  // comes afterwards must then be refused exactly when it would pass the cap.
  const { layout } = require('../dist/binding').native;
  fc.assert(
    fc.property(int(0, 70), int(0, 62), fc.boolean(), int(1, 2 ** 20), (gap, bits, flags, n) => {
      const waker = new WorkerWaker();
      const raw = () => Atomics.load(new Uint32Array(waker.buffer), layout.permitsCell);
      waker.release(CAP - gap);
      waker.markActiveMask((1n << BigInt(bits)) - 1n);
      if (flags) {
        waker.markYield();
        waker.markTasks();
      }
      const before = raw();
      let refused = false;
      try {
        waker.release(n);
      } catch (error) {
        refused = error.name === 'RangeError';
      }
      const edges = bits + (flags ? 2 : 0);
      const fits = before + n <= CAP;
      return before === Math.min(CAP, CAP - gap + edges) && refused === !fits && raw() === (fits ? before + n : before);
    }),
    { numRuns: 500 },
  );
});

function runFixture(name) {
  const script = path.join(__dirname, 'fixtures', name);
  return new Promise((resolve) => {
    execFile(process.execPath, [script], { timeout: 60000 }, (error, stdout, stderr) => {
      resolve({ code: error ? error.code ?? null : 0, signal: error ? error.signal ?? null : null, stdout, stderr });
    });
  });
}

describe.each([
  ['WorkerWaker', 'hostile-waker.js'],
  ['SignalWords', 'hostile-signal-words.js'],
  ['the addon, loaded directly', 'hostile-binding.js'],
])('hostile input for %s', (what, fixture) => {
  test('only TypeError/RangeError, state untouched, no crash (child process)', async () => {
    const { code, signal, stdout, stderr } = await runFixture(fixture);
    // stdout carries fast-check's counterexample and seed when a property fails.
    expect({ code, signal, stdout, stderr }).toEqual({ code: 0, signal: null, stdout: expect.stringMatching(/^ok \d+\n$/), stderr: '' });
  });
});
