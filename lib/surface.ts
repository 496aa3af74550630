// The public API, stated once: every member of WorkerWaker, SignalWords and the pool's Pool, its
// arguments and their ranges (an options object: each option and its range), and the native
// export behind it. The classes check their arguments by hand (each check is on a hot path); the
// tests are generated from this table and hold the classes to it, and a hand-written test holds
// the table against docs/contract.md and docs/pool.md. Not exported from the package.
import { layout } from './binding';
import { MAX_THREADS as POOL_THREADS } from './pool/layout';

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
  /**
   * Only a TypeError is possible (a buffer, a waker, an options object); `optional` may be omitted.
   * An options object with `fields` refuses a non-object (`The "options" argument must be an
   * object`) and each field as its OptionSpec says.
   */
  | { readonly name: string; readonly type: 'SharedArrayBuffer' | 'WorkerWaker'; readonly optional?: boolean }
  | { readonly name: string; readonly type: 'options'; readonly optional?: boolean; readonly fields?: readonly OptionSpec[] }
  /** Any value: nothing is refused. */
  | { readonly name: string; readonly type: 'any' };

/**
 * One option of an options object (the pool's). Its errors name it as `The "name" option must be
 * …` (a field of a nested object as `"parent.field"`): a TypeError with code ERR_INVALID_ARG_TYPE
 * for a wrong type, a RangeError with code ERR_OUT_OF_RANGE for a value out of range. Every option
 * may be left out unless `required`.
 */
export type OptionSpec =
  /** A Number that must be an integer in [min, max]; with `auto`, also the string 'auto'. */
  | { readonly name: string; readonly type: 'integer'; readonly min: number; readonly max: number; readonly auto?: boolean; readonly required?: boolean }
  /**
   * A Number >= min (Infinity allowed), or with `finite`, a finite Number > min; a non-number is
   * a TypeError.
   */
  | { readonly name: string; readonly type: 'number'; readonly min: number; readonly finite?: boolean; readonly required?: boolean }
  /** An absolute path or a `file:` URL (a string or a URL). */
  | { readonly name: string; readonly type: 'path'; readonly required?: boolean }
  /** A string. */
  | { readonly name: string; readonly type: 'string'; readonly required?: boolean }
  /** An array. */
  | { readonly name: string; readonly type: 'array'; readonly required?: boolean }
  /** An AbortSignal; null counts as left out. */
  | { readonly name: string; readonly type: 'AbortSignal'; readonly required?: boolean }
  /** A value structured clone copies (checked when the first worker starts). */
  | { readonly name: string; readonly type: 'clonable'; readonly required?: boolean }
  /** An object (its `fields` checked one by one), or with `shareEnv`, also worker_threads.SHARE_ENV. */
  | { readonly name: string; readonly type: 'object'; readonly fields?: readonly OptionSpec[]; readonly shareEnv?: boolean; readonly required?: boolean };

export interface MemberSpec {
  readonly name: string;
  /** A well-known symbol's member is named as the symbol's description: 'Symbol.asyncDispose'. */
  readonly kind: 'constructor' | 'method' | 'getter';
  readonly args: readonly ArgumentSpec[];
  /**
   * The export of the addon that does the work. An export named like the method takes the
   * method's arguments after the state (the tests call it with the same refused values), and
   * unless the method's `fastPath` is 'always', lib/binding.ts types it from the method itself.
   */
  readonly native?: string;
  /**
   * The method does the work in JS (the same steps on the same words): 'first' calls the export
   * for the slow case; 'always' never calls it (the export is the C++ core's counterpart, in the
   * test build only, for test/core-vs-fast-paths.test.js).
   */
  readonly fastPath?: 'first' | 'always';
  /** Returns a Promise; argument errors reject it (a wrong receiver still throws). */
  readonly async?: boolean;
}

/** Summary bits of the status word (bits 0–61), as the addon states them. */
const SUMMARY_BITS = layout.summaryBits;
/** Queues of SignalWords: 64 per signal word. */
const QUEUES = SUMMARY_BITS * 64;

// The ranges of the index arguments, as the addon states them (native/core/waker_core.h).
const summaryIndex = (name: string): ArgumentSpec => ({ name, type: 'integer', min: 0, max: layout.summaryIndexMax });
const leafIndex: ArgumentSpec = { name: 'localLeafIdx', type: 'integer', min: 0, max: layout.leafIndexMax };
const queue: ArgumentSpec = { name: 'queue', type: 'integer', min: 0, max: QUEUES - 1 };
type MethodExtra = Pick<MemberSpec, 'native' | 'fastPath' | 'async'>;
/** A method's row; its name, export and fast path keep their literal types (lib/binding.ts reads them). */
const method = <const N extends string, const E extends MethodExtra = {}>(
  name: N,
  args: readonly ArgumentSpec[] = [],
  extra: E = {} as E,
): { readonly name: N; readonly kind: 'method'; readonly args: readonly ArgumentSpec[] } & E => ({
  name,
  kind: 'method',
  args,
  ...extra,
});
const getter = <const N extends string>(name: N) => ({ name, kind: 'getter', args: [] }) as const satisfies MemberSpec;

const length = (name: string) => (args: Readonly<Record<string, unknown>>): number => (args[name] as BigUint64Array).length;

export const WORKER_WAKER = [
  { name: 'constructor', kind: 'constructor', args: [{ name: 'buffer', type: 'SharedArrayBuffer', optional: true }], native: 'isState' } as const,
  getter('buffer'),
  method('status', [], { native: 'status', fastPath: 'always' }),
  method('statusBits', [], { native: 'status', fastPath: 'always' }),
  method('markYield', [], { native: 'markYield' }),
  method('tryUnmarkYield', [], { native: 'tryUnmarkYield' }),
  method('markTasks', [], { native: 'markTasks' }),
  method('tryUnmarkTasks', [], { native: 'tryUnmarkTasks' }),
  method('markActive', [summaryIndex('index')], { native: 'markActive', fastPath: 'first' }),
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
  method('snapshotSummary', [], { native: 'summary', fastPath: 'always' }),
  method('summaryBits', [], { native: 'summary', fastPath: 'always' }),
  method('summarySelect', [{ name: 'nearestToIndex', type: 'integer', min: 0, max: layout.nearestIndexMax }], { native: 'summarySelect' }),
  method('tryAcquire', [], { native: 'tryAcquire', fastPath: 'always' }),
  method('acquire', [], { native: 'acquire', fastPath: 'first' }),
  method('acquireTimeout', [{ name: 'timeoutMs', type: 'number', min: 0 }], { native: 'acquireTimeout' }),
  method('acquireAsync', [{ name: 'options', type: 'options', optional: true }], { native: 'asyncAcquire', fastPath: 'first', async: true }),
  method('release', [{ name: 'n', type: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER }], { native: 'release', fastPath: 'always' }),
  method('permits', [], { native: 'permits', fastPath: 'always' }),
  method('sleepers', [], { native: 'sleepers', fastPath: 'always' }),
  method('registerSleeper', [], { native: 'registerSleeper' }),
  method('unregisterSleeper', [], { native: 'unregisterSleeper' }),
  method('registerWorker', [], { native: 'registerWorker' }),
  method('unregisterWorker', [], { native: 'unregisterWorker' }),
  method('getWorkerCount', [], { native: 'workerCount', fastPath: 'always' }),
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
  method('partitionSummary', [], { native: 'partitionSummary', fastPath: 'always' }),
  method('partitionLeafHasWork', [leafIndex], { native: 'partitionLeafHasWork', fastPath: 'always' }),
  method('markPartitionLeafActive', [leafIndex], { native: 'markPartitionLeafActive' }),
  method('clearPartitionLeaf', [leafIndex], { native: 'clearPartitionLeaf' }),
] satisfies readonly MemberSpec[];

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
  method('set', [queue], { native: 'markActive', fastPath: 'first' }),
  method('clear', [queue], { native: 'tryUnmarkIfEmpty', fastPath: 'first' }),
  method('isSet', [queue]),
  method('take', [summaryIndex('word')], { native: 'tryUnmarkIfEmpty', fastPath: 'first' }),
];

const threadCount = (name: string): OptionSpec => ({ name, type: 'integer', min: 1, max: POOL_THREADS });
const resourceLimit = (name: string): OptionSpec => ({ name, type: 'number', min: 0, finite: true });

/** `new Pool(options)`, as lib/pool/index.ts checks it. */
export const POOL_OPTIONS: readonly OptionSpec[] = [
  { name: 'filename', type: 'path', required: true },
  threadCount('threads'),
  threadCount('minThreads'),
  threadCount('maxThreads'),
  { name: 'idleTimeout', type: 'number', min: 0 },
  { name: 'maxQueue', type: 'integer', min: 0, max: Infinity, auto: true },
  { name: 'concurrentTasksPerWorker', type: 'integer', min: 1, max: 1 << 16 },
  { name: 'spinMicroseconds', type: 'integer', min: 0, max: 1000 },
  {
    name: 'resourceLimits',
    type: 'object',
    fields: ['maxYoungGenerationSizeMb', 'maxOldGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'].map(resourceLimit),
  },
  { name: 'workerData', type: 'clonable' },
  { name: 'env', type: 'object', shareEnv: true },
];

/** `pool.run(arg, options)`. */
export const RUN_OPTIONS: readonly OptionSpec[] = [
  { name: 'name', type: 'string' },
  { name: 'signal', type: 'AbortSignal' },
  { name: 'transferList', type: 'array' },
];

export const POOL: readonly MemberSpec[] = [
  { name: 'constructor', kind: 'constructor', args: [{ name: 'options', type: 'options', fields: POOL_OPTIONS }] },
  method('run', [{ name: 'arg', type: 'any' }, { name: 'options', type: 'options', optional: true, fields: RUN_OPTIONS }], { async: true }),
  method('close', [], { async: true }),
  method('destroy', [], { async: true }),
  method('Symbol.asyncDispose', [], { async: true }),
  getter('threads'),
  getter('queueSize'),
  getter('completed'),
  getter('utilization'),
  getter('duration'),
  getter('runTime'),
  getter('waitTime'),
  getter('options'),
  getter('started'),
];

/** Every public class and its members, one key per class. */
export const SURFACE: Readonly<Record<string, readonly MemberSpec[]>> = {
  WorkerWaker: WORKER_WAKER,
  SignalWords: SIGNAL_WORDS,
  Pool: POOL,
};

