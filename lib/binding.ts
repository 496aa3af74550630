// The one place that loads the compiled addon. `NativeBinding` is exactly what the release build
// of native/node/binding.cc exports; everything else in lib/ goes through this typed view.
import path = require('node:path');

import type { WORKER_WAKER } from './surface';
import type { WorkerWaker } from './waker';

/** A BigUint64Array over a SharedArrayBuffer formatted as worker-waker state. */
export type StateView = BigUint64Array;

export interface NativeLayout {
  readonly stateWords: number;
  readonly stateBytes: number;
  readonly headerWord: number;
  readonly statusWord: number;
  /** Index of the permit counter in a Uint32Array over the state (a 32-bit cell). */
  readonly permitsCell: number;
  /** Index of the queued-waiter counter (blocked and async) in a Uint32Array over the state. */
  readonly queuedCell: number;
  readonly sleepersWord: number;
  readonly partitionWord: number;
  readonly workersWord: number;
  /** The permit cap, 2^31 - 1. */
  readonly maxPermits: number;
  /** Summary bits of the status word (bits 0 .. summaryBits - 1): one per signal word. */
  readonly summaryBits: number;
  /** The status word's partition flag. */
  readonly partitionBit: number;
  /** The status word's yield flag. */
  readonly yieldBit: number;
  readonly header: bigint;
  /** The largest summary bit index (summaryBits - 1). */
  readonly summaryIndexMax: number;
  /** The largest leaf index of the partition bitmap. */
  readonly leafIndexMax: number;
  /** The largest bit index a summary search starts from. */
  readonly nearestIndexMax: number;
}

/**
 * The WorkerWaker methods whose export has their name and is called by lib/ (the API table,
 * lib/surface.ts: `native` equal to the name, `fastPath` not 'always').
 */
export type MethodExportName = SameNamed<(typeof WORKER_WAKER)[number]>;
type SameNamed<Row> = Row extends { readonly kind: 'method'; readonly name: infer N extends string; readonly native: infer X }
  ? [X] extends [N]
    ? Row extends { readonly fastPath: 'always' }
      ? never
      : N
    : never
  : never;

/** Such an export takes the state, then the method's own arguments, and returns what it returns. */
export type MethodExports = {
  readonly [K in MethodExportName]: K extends keyof WorkerWaker
    ? WorkerWaker[K] extends (...args: infer A) => infer R
      ? (state: StateView, ...args: A) => R
      : never
    : never;
};

/** The release exports: those of the API table's methods, and these. */
export interface NativeBinding extends MethodExports {
  readonly layout: NativeLayout;
  format(state: StateView): void;
  isState(state: unknown): boolean;
  /** Hands permits in the cell to queued waiters (after a JS release saw the queued cell != 0). */
  dispatch(state: StateView): void;
  /**
   * acquireAsync, native half (native/node/async_binding.cc). Registers a dispatcher on this thread
   * and returns its index: `dispatch(n)` is later called on this thread with the ids of n of
   * its granted calls in `ids[0 .. n)`, oldest first, and writes into `progress[0]` how many of
   * them it has handed to their promises. `ids` holds `asyncBatch` numbers.
   */
  asyncInit(dispatch: (n: number) => void, progress: Uint32Array, ids: Float64Array): number;
  /** The most grants handed to one dispatch call. */
  readonly asyncBatch: number;
  /**
   * Returns 0 when a permit was taken at once (only when nobody is queued on `state`), -1 when
   * none was and `wait` is false, else the id (>= 1) of the call now queued, to be resolved by
   * dispatcher `dispatcher`. Throws a TypeError for state not over a SharedArrayBuffer (the
   * queued call points into it until it ends; a plain ArrayBuffer could be transferred away).
   */
  asyncAcquire(state: StateView, wait: boolean, dispatcher: number): number;
  /** Call `id` gave up: it leaves the queue, or its grant goes back to the waker. */
  asyncCancel(id: number): void;
  /**
   * One more (`true`) or one less (`false`) reason for this thread's pending calls to keep the
   * event loop alive (counted per thread: each instance of the JS layer adds at most one).
   */
  asyncRef(ref: boolean): void;
  /** The safety net: hands permits sitting in the cells of states with calls of this thread queued. */
  asyncPoll(): void;
  /**
   * The pending calls of dispatcher `dispatcher` ask this thread's event loop to spin for up to
   * `microseconds` (an integer 0-1000; 0: no longer) for a grant before it sleeps.
   */
  asyncSpin(dispatcher: number, microseconds: number): void;
}

type Loader = (dir: string) => unknown;
const loadAddon = require('node-gyp-build') as Loader;

const root = path.join(__dirname, '..');

// WORKER_WAKER_TEST_BUILD=1 loads the test build instead (build/Release/worker_waker_test.node,
// made by `npm run build`): the same code plus diagnostics, for this package's own tests
// (test/support/test-addon.js), so that the lib and the diagnostics read one copy of the addon.
export const native = (
  process.env['WORKER_WAKER_TEST_BUILD'] === '1'
    ? require(path.join(root, 'build', 'Release', 'worker_waker_test.node'))
    : load(root)
) as NativeBinding;

/** The state's layout and the ranges of the index arguments, as the addon states them. */
export const layout: NativeLayout = (native as { readonly layout: NativeLayout }).layout;

/** node-gyp-build picks build/Release, else the prebuild for this system; else one clear error. */
function load(root: string): unknown {
  try {
    return loadAddon(root);
  } catch (cause) {
    const lines = [
      `worker-waker: no usable native binary for ${describeSystem()}.`,
      'To build one from source, install Python 3 and a C++17 compiler ' +
        '(https://github.com/nodejs/node-gyp#installation), then run `npx worker-waker-build` ' +
        'in your project (installing never compiles).',
    ];
    if (process.env['PREBUILDS_ONLY']) lines.push('PREBUILDS_ONLY is set, so binaries built from source were skipped.');
    lines.push(`Cause: ${String(cause instanceof Error ? cause.message : cause).split('\n')[0]}`);
    throw Object.assign(new Error(lines.join('\n'), { cause }), { code: 'ERR_WORKER_WAKER_NO_BINARY' });
  }
}

/** "linux-x64 (glibc 2.36), Node v20.20.2 (Node-API 9)": what a prebuild must match. */
function describeSystem(): string {
  let libc = '';
  if (process.platform === 'linux') {
    // The report header names the glibc the process runs on; it is absent on musl.
    const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
    const glibc = report.header?.glibcVersionRuntime;
    libc = glibc ? ` (glibc ${glibc})` : ' (musl)';
  }
  return `${process.platform}-${process.arch}${libc}, Node ${process.version} (Node-API ${process.versions.napi})`;
}
