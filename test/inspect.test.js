'use strict';
// util.inspect(waker) and console.log(waker) show the waker's state.
const { inspect } = require('node:util');
const { WorkerWaker } = require('..');

const fields = (text) => Object.fromEntries([...text.matchAll(/(\w+): (0x[0-9a-f]+ \[[\d, ]*\]|\w+)/g)].map((m) => [m[1], m[2]]));

test('a fresh waker shows an empty summary, clear flags and zero counts', () => {
  expect(inspect(new WorkerWaker())).toBe(
    'WorkerWaker { summary: 0x0 [], yield: false, partition: false, permits: 0, sleepers: 0, workers: 0, partitionSummary: 0x0 }',
  );
});

test('the summary in hex with its set bits, the flags, permits, sleepers, workers and the partition bitmap', () => {
  const waker = new WorkerWaker();
  waker.markActiveMask((1n << 61n) | (1n << 5n) | 1n);
  waker.markYield();
  waker.markPartitionLeafActive(63); // sets bit 63 of the bitmap and the partition flag
  waker.release(2);
  waker.registerSleeper();
  waker.registerWorker();
  waker.registerWorker();
  const before = [waker.status(), waker.permits(), waker.sleepers(), waker.getWorkerCount(), waker.partitionSummary()];
  expect(fields(inspect(waker))).toEqual({
    summary: '0x2000000000000021 [0, 5, 61]',
    yield: 'true',
    partition: 'true',
    permits: '7', // 0→1 edges of 3 summary bits and 2 flags, then release(2)
    sleepers: '1',
    workers: '2',
    partitionSummary: '0x8000000000000000',
  });
  // Looking changes nothing.
  expect([waker.status(), waker.permits(), waker.sleepers(), waker.getWorkerCount(), waker.partitionSummary()]).toEqual(before);
});

test('console.log prints the same text, and a waker nested past the depth limit is a short tag', () => {
  const waker = new WorkerWaker();
  waker.markActive(3);
  expect(inspect({ a: { b: waker } }, { depth: 1 })).toContain('[WorkerWaker]');
  const lines = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...args) => lines.push(inspect(...args)));
  try {
    console.log(waker);
  } finally {
    log.mockRestore();
  }
  expect(lines[0]).toMatch(/^WorkerWaker \{ summary: 0x8 \[3\], /);
});

test('an object that only pretends to be a waker is shown without its state and without throwing', () => {
  expect(() => inspect(Object.create(WorkerWaker.prototype))).not.toThrow();
  expect(inspect(Object.create(WorkerWaker.prototype))).not.toContain('permits');
});
