// The public API, stated once: every member of WorkerWaker and SignalWords, its arguments and
// their ranges, and the native export behind it. The classes check their arguments by hand (each
// check is on a hot path); the tests are generated from this table and hold the classes to it,
// and a hand-written test holds the table against docs/contract.md. Not exported from the package.
import { native } from './binding';

/** The limit of a range that depends on other arguments, computed from the call's arguments. */
export type DependentLimit = (args: Readonly<Record<string, unknown>>) => number;

/** One argument, as the contract states it. */
export type ArgumentSpec =
  /**
   * A Number that must be an integer in [min, max]: TypeError for a non-number, else RangeError.
   * A range with a limit that depends on other arguments says in `range` how docs/contract.md
   * states it.
   */
  | { readonly name: string; readonly type: 'integer'; readonly min: number | DependentLimit; readonly max: number | DependentLimit; readonly optional?: boolean; readonly range?: string }
  /** A Number >= min (Infinity allowed); anything else, a non-number too, is a RangeError. */
  | { readonly name: string; readonly type: 'number'; readonly min: number }
  /** A bigint in [min, limit): TypeError for a non-bigint, else RangeError. */
  | { readonly name: string; readonly type: 'bigint'; readonly min: bigint; readonly limit: bigint }
  /** A BigUint64Array of at least minLength elements (a shorter one: RangeError on `name.length`). */
  | { readonly name: string; readonly type: 'BigUint64Array'; readonly minLength: number }
  /** Only a TypeError is possible (a buffer, a waker, an options object); `optional` may be omitted. */
  | { readonly name: string; readonly type: 'SharedArrayBuffer' | 'WorkerWaker' | 'options'; readonly optional?: boolean };

export interface MemberSpec {
  readonly name: string;
  readonly kind: 'constructor' | 'method' | 'getter';
  readonly args: readonly ArgumentSpec[];
  /**
   * The export of the addon that does the work. An export named like the method takes the
   * method's arguments after the state (the tests call it with the same refused values).
   * `fastPath`: the method does the work in JS (the same steps on the same words) and calls the
   * export only for the slow case, or not at all.
   */
  readonly native?: string;
  readonly fastPath?: boolean;
  /** Returns a Promise; argument errors reject it (a wrong receiver still throws). */
  readonly async?: boolean;
}

/** Summary bits of the status word (bits 0–61), as the addon states them. */
const SUMMARY_BITS = native.layout.summaryBits;
/** Queues of SignalWords: 64 per signal word. */
const QUEUES = SUMMARY_BITS * 64;

const summaryIndex = (name: string): ArgumentSpec => ({ name, type: 'integer', min: 0, max: SUMMARY_BITS - 1 });
const leafIndex: ArgumentSpec = { name: 'localLeafIdx', type: 'integer', min: 0, max: 63 };
const queue: ArgumentSpec = { name: 'queue', type: 'integer', min: 0, max: QUEUES - 1 };
const method = (name: string, args: readonly ArgumentSpec[] = [], extra: Partial<MemberSpec> = {}): MemberSpec => ({
  name,
  kind: 'method',
  args,
  ...extra,
});
const getter = (name: string): MemberSpec => ({ name, kind: 'getter', args: [] });

const length = (name: string) => (args: Readonly<Record<string, unknown>>): number => (args[name] as BigUint64Array).length;

export const WORKER_WAKER: readonly MemberSpec[] = [
  { name: 'constructor', kind: 'constructor', args: [{ name: 'buffer', type: 'SharedArrayBuffer', optional: true }], native: 'isState' },
  getter('buffer'),
  method('status', [], { native: 'status', fastPath: true }),
  method('statusBits', [], { native: 'status', fastPath: true }),
  method('markYield', [], { native: 'markYield' }),
  method('tryUnmarkYield', [], { native: 'tryUnmarkYield' }),
  method('markTasks', [], { native: 'markTasks' }),
  method('tryUnmarkTasks', [], { native: 'tryUnmarkTasks' }),
  method('markActive', [summaryIndex('index')], { native: 'markActive', fastPath: true }),
  method('markActiveMask', [{ name: 'mask', type: 'bigint', min: 0n, limit: 1n << BigInt(SUMMARY_BITS) }], { native: 'markActiveMask' }),
  method(
    'tryUnmarkIfEmpty',
    [
      summaryIndex('bitIndex'),
      { name: 'words', type: 'BigUint64Array', minLength: 1 },
      { name: 'wordIndex', type: 'integer', min: 0, max: (args) => length('words')(args) - 1, optional: true, range: 'an index into it' },
    ],
    { native: 'tryUnmarkIfEmpty' },
  ),
  method('tryUnmark', [summaryIndex('bitIndex')], { native: 'tryUnmark' }),
  method('snapshotSummary', [], { native: 'summary', fastPath: true }),
  method('summaryBits', [], { native: 'summary', fastPath: true }),
  method('summarySelect', [{ name: 'nearestToIndex', type: 'integer', min: 0, max: 63 }], { native: 'summarySelect' }),
  method('tryAcquire', [], { native: 'tryAcquire', fastPath: true }),
  method('acquire', [], { native: 'acquire', fastPath: true }),
  method('acquireTimeout', [{ name: 'timeoutMs', type: 'number', min: 0 }], { native: 'acquireTimeout' }),
  method('acquireAsync', [{ name: 'options', type: 'options', optional: true }], { native: 'asyncAcquire', fastPath: true, async: true }),
  method('release', [{ name: 'n', type: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER }], { native: 'release', fastPath: true }),
  method('permits', [], { native: 'permits', fastPath: true }),
  method('sleepers', [], { native: 'sleepers', fastPath: true }),
  method('registerSleeper', [], { native: 'registerSleeper' }),
  method('unregisterSleeper', [], { native: 'unregisterSleeper' }),
  method('registerWorker', [], { native: 'registerWorker' }),
  method('unregisterWorker', [], { native: 'unregisterWorker' }),
  method('getWorkerCount', [], { native: 'workerCount', fastPath: true }),
  method(
    'syncPartitionSummary',
    [
      { name: 'start', type: 'integer', min: 0, max: length('leafWords'), range: '`0 ≤ start ≤ end ≤ leafWords.length`' },
      {
        name: 'end',
        type: 'integer',
        min: (args) => args['start'] as number,
        max: (args) => Math.min((args['start'] as number) + 64, length('leafWords')(args)),
        range: '`0 ≤ start ≤ end ≤ leafWords.length`, `end − start ≤ 64`',
      },
      { name: 'leafWords', type: 'BigUint64Array', minLength: 0 },
    ],
    { native: 'syncPartitionSummary' },
  ),
  method('partitionSummary', [], { native: 'partitionSummary', fastPath: true }),
  method('partitionLeafHasWork', [leafIndex], { native: 'partitionLeafHasWork', fastPath: true }),
  method('markPartitionLeafActive', [leafIndex], { native: 'markPartitionLeafActive' }),
  method('clearPartitionLeaf', [leafIndex], { native: 'clearPartitionLeaf' }),
];

export const SIGNAL_WORDS: readonly MemberSpec[] = [
  {
    name: 'constructor',
    kind: 'constructor',
    args: [
      { name: 'waker', type: 'WorkerWaker' },
      { name: 'buffer', type: 'SharedArrayBuffer', optional: true },
    ],
  },
  getter('words'),
  getter('buffer'),
  getter('waker'),
  method('set', [queue], { native: 'markActive', fastPath: true }),
  method('clear', [queue], { native: 'tryUnmarkIfEmpty', fastPath: true }),
  method('isSet', [queue]),
  method('take', [summaryIndex('word')], { native: 'tryUnmarkIfEmpty', fastPath: true }),
];

/**
 * Every public class and its members. The example pool (lib/pool) adds its classes here, one key
 * per class, with the same shape.
 */
export const SURFACE: Readonly<Record<string, readonly MemberSpec[]>> = {
  WorkerWaker: WORKER_WAKER,
  SignalWords: SIGNAL_WORDS,
};

