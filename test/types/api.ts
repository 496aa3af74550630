// Type tests for the public API: `tsc -p test/types` must pass. Every `@ts-expect-error` line is
// a misuse the types must reject (tsc fails if any of them compiles).
import { AbortError, SignalWords, WorkerWaker, type AcquireAsyncOptions } from '../..';

const waker = new WorkerWaker();
const attached: WorkerWaker = new WorkerWaker(waker.buffer);
const buffer: SharedArrayBuffer = attached.buffer;
void buffer;

const status: bigint = waker.status();
const [isYield, isPartitionActive]: [boolean, boolean] = waker.statusBits();
const summary: bigint = waker.snapshotSummary();
const nearest: number | undefined = waker.summarySelect(3);
const took: boolean = waker.tryAcquire();
const timedOut: boolean = waker.acquireTimeout(10);
const permits: number = waker.permits();
const workers: number = waker.registerWorker();
const synced: boolean = waker.syncPartitionSummary(0, 4, new BigUint64Array(4));
void [status, isYield, isPartitionActive, summary, nearest, took, timedOut, permits, workers, synced];

waker.markActive(1);
waker.markActiveMask(0b11n);
waker.tryUnmarkIfEmpty(1, new BigUint64Array(62));
waker.tryUnmarkIfEmpty(1, new BigUint64Array(62), 5);
waker.release(2);

// @ts-expect-error: the constructor takes a SharedArrayBuffer, not an ArrayBuffer
new WorkerWaker(new ArrayBuffer(8));
// @ts-expect-error: indices are numbers
waker.markActive(1n);
// @ts-expect-error: masks are bigints
waker.markActiveMask(3);
// @ts-expect-error: signal words are a BigUint64Array
waker.tryUnmarkIfEmpty(1, [0n]);
// @ts-expect-error: summarySelect may return undefined
const notNumber: number = waker.summarySelect(0);
void notNumber;
// @ts-expect-error: buffer is read-only
waker.buffer = new SharedArrayBuffer(8);
// @ts-expect-error: release needs a count
waker.release();

// acquireAsync and its options
const options: AcquireAsyncOptions = { timeout: 10, signal: AbortSignal.timeout(100), ref: false };
const pending: Promise<boolean> = waker.acquireAsync(options);
void pending.catch((error: unknown) => error instanceof AbortError);
void waker.acquireAsync();
// @ts-expect-error: timeout is a number
void waker.acquireAsync({ timeout: '10' });
// @ts-expect-error: ref is a boolean
void waker.acquireAsync({ ref: 1 });

// SignalWords
const signals = new SignalWords(waker);
const again = new SignalWords(new WorkerWaker(waker.buffer), signals.buffer);
const newlySet: boolean = again.set(3967);
const wasSet: boolean = signals.clear(0);
const isSet: boolean = signals.isSet(5);
const bits: bigint = signals.take(61);
const words: BigUint64Array = signals.words;
const bound: WorkerWaker = signals.waker;
void [newlySet, wasSet, isSet, bits, words, bound];
// @ts-expect-error: a SignalWords needs a waker
new SignalWords();
// @ts-expect-error: take returns a bigint
const notNumber2: number = signals.take(0);
void notNumber2;
