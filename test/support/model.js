'use strict';
// A small, obviously-correct, single-threaded model of the WorkerWaker contract
// (docs/contract.md), written from the contract alone, not from the product. Differential and property tests run the
// same operations against it and against the native waker and compare the observable state.
// Independent of the product on purpose: it restates the bit positions and the cap instead of
// reading lib/surface.ts or the addon's layout, so that a wrong constant there cannot hide here.
// Blocking calls are not modelled: `acquireTimeout(0)` stands in for a wait that finds nothing.

const SUMMARY_MASK = (1n << 62n) - 1n;
const PARTITION_FLAG = 1n << 62n;
const YIELD_FLAG = 1n << 63n;
const U64 = (1n << 64n) - 1n;
// The permit cap (docs/contract.md, "Choices where the original is silent"): release refuses to pass
// it, and 0->1 edges, which cannot be refused, stop at it.
const MAX_PERMITS = 2 ** 31 - 1;

class WakerModel {
  constructor() {
    this.statusWord = 0n;
    this.permitCount = 0;
    this.sleeperCount = 0;
    this.workerCount = 0;
    this.partition = 0n;
  }

  // Sets bits; one permit per bit that was clear, up to the cap.
  setBits(bits) {
    let newly = bits & ~this.statusWord;
    this.statusWord |= bits;
    while (newly !== 0n) {
      this.permitCount = Math.min(MAX_PERMITS, this.permitCount + Number(newly & 1n));
      newly >>= 1n;
    }
  }

  status() { return this.statusWord; }
  statusBits() { return [(this.statusWord & YIELD_FLAG) !== 0n, (this.statusWord & PARTITION_FLAG) !== 0n]; }
  markYield() { this.setBits(YIELD_FLAG); }
  tryUnmarkYield() { this.statusWord &= ~YIELD_FLAG & U64; }
  markTasks() { this.setBits(PARTITION_FLAG); }
  tryUnmarkTasks() {
    if ((this.statusWord & PARTITION_FLAG) === 0n) return;
    this.statusWord &= ~PARTITION_FLAG & U64;
    if (this.partition !== 0n) this.markTasks();
  }
  markActive(index) { this.setBits(1n << BigInt(index)); }
  markActiveMask(mask) { this.setBits(mask); }
  tryUnmarkIfEmpty(bitIndex, words, wordIndex = bitIndex) {
    if (words[wordIndex] !== 0n) return;
    this.statusWord &= ~(1n << BigInt(bitIndex)) & U64;
  }
  tryUnmark(bitIndex) { this.statusWord &= ~(1n << BigInt(bitIndex)) & U64; }
  snapshotSummary() { return this.statusWord & SUMMARY_MASK; }
  summaryBits() { return this.statusWord & SUMMARY_MASK; }
  summarySelect(nearest) {
    const summary = this.statusWord & SUMMARY_MASK;
    if (summary === 0n) return undefined;
    for (let distance = 0; distance < 64; distance++) {
      for (const candidate of [nearest - distance, nearest + distance]) {
        if (candidate >= 0 && candidate < 62 && ((summary >> BigInt(candidate)) & 1n) === 1n) return candidate;
      }
    }
    throw new Error('unreachable');
  }
  tryAcquire() {
    if (this.permitCount === 0) return false;
    this.permitCount -= 1;
    return true;
  }
  acquireTimeout() { return this.tryAcquire(); }
  release(n) {
    if (n > MAX_PERMITS - this.permitCount) throw new RangeError(`release(${n}) would pass the permit cap`);
    this.permitCount += n;
  }
  permits() { return this.permitCount; }
  sleepers() { return this.sleeperCount; }
  registerSleeper() { this.sleeperCount += 1; }
  unregisterSleeper() { this.sleeperCount = Math.max(0, this.sleeperCount - 1); }
  registerWorker() { return ++this.workerCount; }
  unregisterWorker() { this.workerCount = Math.max(0, this.workerCount - 1); return this.workerCount; }
  getWorkerCount() { return this.workerCount; }
  syncPartitionSummary(start, end, leafWords) {
    let bitmap = 0n;
    for (let i = start; i < end; i++) if (leafWords[i] !== 0n) bitmap |= 1n << BigInt(i - start);
    this.partition = bitmap;
    if (bitmap !== 0n) this.markTasks();
    else this.tryUnmarkTasks();
    return bitmap !== 0n;
  }
  partitionSummary() { return this.partition; }
  partitionLeafHasWork(leaf) { return ((this.partition >> BigInt(leaf)) & 1n) === 1n; }
  markPartitionLeafActive(leaf) {
    const wasEmpty = this.partition === 0n;
    this.partition |= 1n << BigInt(leaf);
    if (!wasEmpty) return false;
    this.markTasks();
    return true;
  }
  clearPartitionLeaf(leaf) {
    const bit = 1n << BigInt(leaf);
    const wasSet = (this.partition & bit) !== 0n;
    this.partition &= ~bit & U64;
    if (wasSet && this.partition === 0n) this.tryUnmarkTasks();
  }
}

module.exports = { WakerModel, MAX_PERMITS, SUMMARY_MASK, PARTITION_FLAG, YIELD_FLAG };
