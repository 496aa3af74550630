'use strict';
// Single-thread semantics of every WorkerWaker method, from docs/contract.md, including the
// places where we differ from the Rust original.
// The test build first: the diagnostics below (queued, notifies, waitQueues) count in the lib's copy.
const native = require('./support/test-addon');
const { WorkerWaker } = require('..');

const YIELD = 1n << 63n;
const PARTITION = 1n << 62n;
const CAP = 2 ** 31 - 1; // the permit cap

// The permit counter is a 32-bit cell of the state (native/core/waker_core.h); its index in a
// Uint32Array over the buffer is part of the exported layout.
const { layout } = native;
const permitCell = (waker) => Atomics.load(new Uint32Array(waker.buffer), layout.permitsCell);
const setPermitCell = (waker, value) => Atomics.store(new Uint32Array(waker.buffer), layout.permitsCell, value);

describe('construction and sharing', () => {
  test('a fresh waker is empty and exposes its SharedArrayBuffer', () => {
    const waker = new WorkerWaker();
    expect(waker.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(waker.status()).toBe(0n);
    expect(waker.permits()).toBe(0);
    expect(waker.sleepers()).toBe(0);
    expect(waker.getWorkerCount()).toBe(0);
    expect(waker.partitionSummary()).toBe(0n);
  });

  test('a second handle on the same buffer sees the same state', () => {
    const a = new WorkerWaker();
    const b = new WorkerWaker(a.buffer);
    a.markActive(7);
    expect(b.status()).toBe(1n << 7n);
    expect(b.tryAcquire()).toBe(true);
    expect(a.permits()).toBe(0);
    expect(b.buffer).toBe(a.buffer);
  });

  test('foreign, too small and unformatted buffers throw TypeError', () => {
    const size = new WorkerWaker().buffer.byteLength;
    expect(() => new WorkerWaker(new ArrayBuffer(size))).toThrow(TypeError);
    expect(() => new WorkerWaker(new SharedArrayBuffer(16))).toThrow(TypeError);
    expect(() => new WorkerWaker(new SharedArrayBuffer(size))).toThrow(/bad header/);
    expect(() => new WorkerWaker(new Uint8Array(size))).toThrow(TypeError);
    expect(() => new WorkerWaker(null)).toThrow(TypeError);
  });
});

describe('control flags', () => {
  test('markYield sets bit 63 and adds one permit only on the edge', () => {
    const waker = new WorkerWaker();
    waker.markYield();
    waker.markYield();
    expect(waker.status()).toBe(YIELD);
    expect(waker.statusBits()).toEqual([true, false]);
    expect(waker.permits()).toBe(1);
    waker.tryUnmarkYield();
    expect(waker.status()).toBe(0n);
    expect(waker.permits()).toBe(1);
    waker.markYield();
    expect(waker.permits()).toBe(2);
  });

  test('markTasks sets bit 62 with one permit per edge; statusBits reports it second', () => {
    const waker = new WorkerWaker();
    waker.markTasks();
    waker.markTasks();
    expect(waker.status()).toBe(PARTITION);
    expect(waker.statusBits()).toEqual([false, true]);
    expect(waker.permits()).toBe(1);
  });

  test('tryUnmarkTasks clears the flag when the partition is empty', () => {
    const waker = new WorkerWaker();
    waker.markTasks();
    waker.tryUnmarkTasks();
    expect(waker.status()).toBe(0n);
    expect(waker.permits()).toBe(1);
  });

  test('tryUnmarkTasks re-arms (one permit) when partition leaves still have work', () => {
    const waker = new WorkerWaker();
    expect(waker.markPartitionLeafActive(3)).toBe(true); // flag 0->1: one permit
    waker.tryUnmarkTasks();
    expect(waker.statusBits()).toEqual([false, true]);
    expect(waker.permits()).toBe(2);
  });

  test('tryUnmarkTasks on a clear flag does nothing', () => {
    const waker = new WorkerWaker();
    waker.markPartitionLeafActive(0);
    waker.tryUnmark(0); // summary bits only: the flag stays
    waker.tryUnmarkTasks();
    waker.tryUnmarkTasks();
    expect(waker.permits()).toBe(3);
    waker.clearPartitionLeaf(0); // last leaf -> tryUnmarkTasks with an empty partition
    expect(waker.status()).toBe(0n);
    waker.tryUnmarkTasks();
    expect(waker.status()).toBe(0n);
    expect(waker.permits()).toBe(3);
  });
});

describe('summary bits', () => {
  test('markActive sets a bit with one permit per 0->1 edge', () => {
    const waker = new WorkerWaker();
    waker.markActive(0);
    waker.markActive(0);
    waker.markActive(61);
    expect(waker.snapshotSummary()).toBe((1n << 61n) | 1n);
    expect(waker.summaryBits()).toBe(waker.snapshotSummary());
    expect(waker.permits()).toBe(2);
  });

  test('markActive refuses 62 and 63 (they would corrupt the control flags)', () => {
    const waker = new WorkerWaker();
    expect(() => waker.markActive(62)).toThrow(RangeError);
    expect(() => waker.markActive(63)).toThrow(RangeError);
    expect(() => waker.markActive(64)).toThrow(RangeError);
    expect(waker.status()).toBe(0n);
    expect(waker.permits()).toBe(0);
  });

  test('markActiveMask adds one permit per newly set bit, with one OR', () => {
    const waker = new WorkerWaker();
    waker.markActive(1);
    waker.markActiveMask(0b1111n);
    expect(waker.snapshotSummary()).toBe(0b1111n);
    expect(waker.permits()).toBe(4);
    waker.markActiveMask(0n);
    expect(waker.permits()).toBe(4);
    waker.markActiveMask((1n << 62n) - 1n);
    expect(waker.permits()).toBe(62);
    expect(() => waker.markActiveMask(1n << 62n)).toThrow(RangeError);
    expect(() => waker.markActiveMask(-1n)).toThrow(RangeError);
  });

  test('snapshotSummary hides the control flags', () => {
    const waker = new WorkerWaker();
    waker.markYield();
    waker.markTasks();
    waker.markActive(5);
    expect(waker.snapshotSummary()).toBe(1n << 5n);
    expect(waker.status()).toBe(YIELD | PARTITION | (1n << 5n));
  });

  test('tryUnmark clears without touching permits', () => {
    const waker = new WorkerWaker();
    waker.markActive(9);
    waker.tryUnmark(9);
    waker.tryUnmark(9);
    expect(waker.status()).toBe(0n);
    expect(waker.permits()).toBe(1);
  });

  test('tryUnmarkIfEmpty clears only when the word is empty', () => {
    const waker = new WorkerWaker();
    const words = new BigUint64Array(new SharedArrayBuffer(62 * 8));
    waker.markActive(4);
    words[4] = 1n;
    waker.tryUnmarkIfEmpty(4, words);
    expect(waker.snapshotSummary()).toBe(1n << 4n);
    words[4] = 0n;
    waker.tryUnmarkIfEmpty(4, words);
    expect(waker.snapshotSummary()).toBe(0n);
    expect(waker.permits()).toBe(1);
  });

  test('tryUnmarkIfEmpty reads words[wordIndex] when given', () => {
    const waker = new WorkerWaker();
    const words = new BigUint64Array(3);
    waker.markActive(40);
    words[2] = 8n;
    waker.tryUnmarkIfEmpty(40, words, 2);
    expect(waker.snapshotSummary()).toBe(1n << 40n);
    waker.tryUnmarkIfEmpty(40, words, 1);
    expect(waker.snapshotSummary()).toBe(0n);
    expect(() => waker.tryUnmarkIfEmpty(40, words)).toThrow(RangeError); // words[40] does not exist
  });
});

describe('summarySelect', () => {
  test('returns undefined on an empty summary (the original returned 64)', () => {
    const waker = new WorkerWaker();
    waker.markYield();
    waker.markTasks();
    expect(waker.summarySelect(0)).toBeUndefined();
    expect(waker.summarySelect(63)).toBeUndefined();
  });

  test('finds the nearest set bit, ties to the lower index', () => {
    const waker = new WorkerWaker();
    waker.markActiveMask((1n << 10n) | (1n << 20n));
    expect(waker.summarySelect(10)).toBe(10);
    expect(waker.summarySelect(0)).toBe(10);
    expect(waker.summarySelect(14)).toBe(10);
    expect(waker.summarySelect(15)).toBe(10); // tie: 5 below, 5 above
    expect(waker.summarySelect(16)).toBe(20);
    expect(waker.summarySelect(63)).toBe(20);
  });

  test('works at both ends of the range', () => {
    const waker = new WorkerWaker();
    waker.markActive(61);
    expect(waker.summarySelect(63)).toBe(61);
    expect(waker.summarySelect(0)).toBe(61);
    waker.tryUnmark(61);
    waker.markActive(0);
    expect(waker.summarySelect(63)).toBe(0);
    expect(() => waker.summarySelect(64)).toThrow(RangeError);
  });
});

describe('permits', () => {
  test('tryAcquire takes one permit at a time and never blocks', () => {
    const waker = new WorkerWaker();
    expect(waker.tryAcquire()).toBe(false);
    waker.release(2);
    expect(waker.tryAcquire()).toBe(true);
    expect(waker.tryAcquire()).toBe(true);
    expect(waker.tryAcquire()).toBe(false);
  });

  test('a release before anyone waits is remembered', () => {
    const waker = new WorkerWaker();
    waker.release(1);
    waker.acquire(); // returns at once
    expect(waker.permits()).toBe(0);
  });

  test('release and marks make no system call when nobody is queued', () => {
    const waker = new WorkerWaker();
    const state = new BigUint64Array(waker.buffer);
    waker.registerSleeper(); // a registered sleeper is not queued: nothing to notify
    // Wait queues are counted for the whole process, and Jest runs other test files in this process
    // before this one: one of theirs may still be going away. This test must add none.
    const queuesBefore = native.waitQueues();
    for (let i = 0; i < 1000; i++) {
      waker.release(3);
      waker.markActive(i % 62);
      waker.tryUnmark(i % 62);
    }
    expect(waker.permits()).toBe(4000);
    expect(native.queued(state)).toBe(0);
    expect(native.notifies(state)).toBe(0);
    expect(native.waitQueues()).toBeLessThanOrEqual(queuesBefore);
  });

  test('release(0) is a no-op; release accepts safe integers only', () => {
    const waker = new WorkerWaker();
    waker.release(0);
    expect(waker.permits()).toBe(0);
    expect(() => waker.release(1.5)).toThrow(RangeError);
    expect(() => waker.release(-1)).toThrow(RangeError);
    expect(() => waker.release(2 ** 53)).toThrow(RangeError);
    expect(() => waker.release(Infinity)).toThrow(RangeError);
    expect(waker.permits()).toBe(0);
  });

  test('permits stop at 2 ** 31 - 1: a release past it is refused and changes nothing', () => {
    const waker = new WorkerWaker();
    waker.release(CAP - 1);
    expect(() => waker.release(2)).toThrow(/"n" is out of range\. It must be at most 1 \(permits are capped at 2 \*\* 31 - 1 = 2147483647; 2147483646 are there\)\. Received 2$/);
    expect(waker.permits()).toBe(CAP - 1);
    waker.release(1);
    expect(waker.permits()).toBe(CAP);
    expect(() => waker.release(1)).toThrow(RangeError);
    expect(() => waker.release(1)).toThrow(/at most 0 /);
    expect(() => waker.release(Number.MAX_SAFE_INTEGER)).toThrow(RangeError); // in the domain, past the cap
    expect(waker.permits()).toBe(CAP);
    waker.release(0); // still a no-op
    expect(waker.tryAcquire()).toBe(true);
    expect(waker.permits()).toBe(CAP - 1);
    expect(permitCell(waker)).toBe(CAP - 1);
  });

  // Edges cannot be refused: at the cap they saturate instead of wrapping the 32-bit cell (a
  // wrap to 0 would make tryAcquire fail for ever). The cell is put near the cap directly, through
  // the layout the addon exports (2^31 releases would take far too long).
  test('0->1 edges saturate at the cap, one permit short or many past it', () => {
    const waker = new WorkerWaker();
    setPermitCell(waker, CAP - 1);
    waker.markActive(3); // one edge: reaches the cap exactly
    expect(waker.permits()).toBe(CAP);
    waker.markActive(4); // at the cap: stays there
    waker.markYield();
    waker.markTasks();
    expect(waker.permits()).toBe(CAP);
    expect(waker.status()).toBe(YIELD | PARTITION | 0b11000n);
    setPermitCell(waker, CAP - 3);
    waker.markActiveMask(0xffn << 8n); // eight new bits, room for three
    expect(waker.permits()).toBe(CAP);
    expect(waker.tryAcquire()).toBe(true);
    expect(waker.tryAcquire()).toBe(true);
    expect(waker.permits()).toBe(CAP - 2);
    // Every other path that adds permits through the core saturates too.
    setPermitCell(waker, CAP);
    waker.tryUnmark(3);
    waker.markActive(3);
    waker.clearPartitionLeaf(0);
    waker.markPartitionLeafActive(1); // flag already set: no edge
    waker.tryUnmarkTasks(); // partition non-empty: clears and re-marks, one edge
    expect(waker.permits()).toBe(CAP);
    expect(() => waker.release(1)).toThrow(RangeError);
    expect(waker.permits()).toBe(CAP);
  });

  test('acquireTimeout returns false after the timeout and true when a permit is there', () => {
    const waker = new WorkerWaker();
    const started = process.hrtime.bigint();
    expect(waker.acquireTimeout(30)).toBe(false);
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeGreaterThanOrEqual(29);
    expect(waker.acquireTimeout(0)).toBe(false);
    waker.release(1);
    expect(waker.acquireTimeout(0)).toBe(true);
    waker.release(1);
    expect(waker.acquireTimeout(Infinity)).toBe(true);
    expect(waker.sleepers()).toBe(0);
  });

  test('acquireTimeout rejects negative, NaN and non-number timeouts with RangeError', () => {
    const waker = new WorkerWaker();
    expect(() => waker.acquireTimeout(-1)).toThrow(RangeError);
    expect(() => waker.acquireTimeout(NaN)).toThrow(RangeError);
    expect(() => waker.acquireTimeout(-Infinity)).toThrow(RangeError);
    // The contract says "timeoutMs >= 0 (Infinity allowed), else RangeError": a string too.
    expect(() => waker.acquireTimeout('10')).toThrow(RangeError);
    expect(() => waker.acquireTimeout()).toThrow(RangeError);
  });
});

describe('counters', () => {
  test('sleepers count registrations and stop at 0', () => {
    const waker = new WorkerWaker();
    waker.unregisterSleeper();
    expect(waker.sleepers()).toBe(0);
    waker.registerSleeper();
    waker.registerSleeper();
    expect(waker.sleepers()).toBe(2);
    waker.unregisterSleeper();
    waker.unregisterSleeper();
    waker.unregisterSleeper();
    expect(waker.sleepers()).toBe(0);
  });

  test('worker counters return the new count and stop at 0 (the original wrapped)', () => {
    const waker = new WorkerWaker();
    expect(waker.unregisterWorker()).toBe(0);
    expect(waker.registerWorker()).toBe(1);
    expect(waker.registerWorker()).toBe(2);
    expect(waker.getWorkerCount()).toBe(2);
    expect(waker.unregisterWorker()).toBe(1);
    expect(waker.unregisterWorker()).toBe(0);
    expect(waker.unregisterWorker()).toBe(0);
  });
});

describe('partition', () => {
  test('markPartitionLeafActive returns true only for the first leaf and marks the flag once', () => {
    const waker = new WorkerWaker();
    expect(waker.markPartitionLeafActive(5)).toBe(true);
    expect(waker.markPartitionLeafActive(6)).toBe(false);
    expect(waker.markPartitionLeafActive(5)).toBe(false);
    expect(waker.partitionSummary()).toBe((1n << 5n) | (1n << 6n));
    expect(waker.partitionLeafHasWork(5)).toBe(true);
    expect(waker.partitionLeafHasWork(7)).toBe(false);
    expect(waker.statusBits()).toEqual([false, true]);
    expect(waker.permits()).toBe(1);
  });

  test('clearPartitionLeaf unmarks the flag after the last leaf only', () => {
    const waker = new WorkerWaker();
    waker.markPartitionLeafActive(0);
    waker.markPartitionLeafActive(63);
    waker.clearPartitionLeaf(0);
    expect(waker.statusBits()).toEqual([false, true]);
    waker.clearPartitionLeaf(63);
    expect(waker.statusBits()).toEqual([false, false]);
    waker.clearPartitionLeaf(63); // already clear: nothing
    expect(waker.status()).toBe(0n);
    expect(waker.permits()).toBe(1);
  });

  test('syncPartitionSummary rebuilds the bitmap from [start, end)', () => {
    const waker = new WorkerWaker();
    const leaves = new BigUint64Array(100);
    leaves[10] = 1n;
    leaves[73] = 5n;
    leaves[80] = 1n; // outside the range
    expect(waker.syncPartitionSummary(10, 74, leaves)).toBe(true);
    expect(waker.partitionSummary()).toBe(1n | (1n << 63n));
    expect(waker.statusBits()).toEqual([false, true]);
    expect(waker.permits()).toBe(1);
    expect(waker.syncPartitionSummary(10, 74, leaves)).toBe(true);
    expect(waker.permits()).toBe(1); // flag already set: no new permit
  });

  test('syncPartitionSummary replaces stale bits, so the flag cannot stick (original kept them)', () => {
    const waker = new WorkerWaker();
    const leaves = new BigUint64Array(128);
    waker.markPartitionLeafActive(40); // a bit no leaf in the next range backs
    expect(waker.syncPartitionSummary(0, 8, leaves)).toBe(false);
    expect(waker.partitionSummary()).toBe(0n);
    expect(waker.statusBits()).toEqual([false, false]);
    expect(waker.syncPartitionSummary(3, 3, leaves)).toBe(false); // empty range
  });

  test('syncPartitionSummary checks its range', () => {
    const waker = new WorkerWaker();
    const leaves = new BigUint64Array(100);
    expect(() => waker.syncPartitionSummary(0, 65, leaves)).toThrow(RangeError);
    expect(() => waker.syncPartitionSummary(5, 4, leaves)).toThrow(RangeError);
    expect(() => waker.syncPartitionSummary(0, 101, leaves)).toThrow(RangeError);
    expect(() => waker.syncPartitionSummary(-1, 3, leaves)).toThrow(RangeError);
    expect(() => waker.syncPartitionSummary(0, 3, [0n, 0n, 0n])).toThrow(TypeError);
    expect(waker.syncPartitionSummary(36, 100, leaves)).toBe(false);
  });
});
