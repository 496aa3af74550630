'use strict';
// The benchmark cannot rot: `node bench/run.js --quick` must write every row with finite,
// positive numbers. And the pure-JS peer it measures against (bench/peers/atomics-waker.js)
// must keep the contract, or a win over it would mean nothing: it is checked here against the
// spec model, for its errors, across threads and asynchronously. Speed is never asserted.
const { execFile, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { isDeepStrictEqual } = require('node:util');
const { Worker } = require('node:worker_threads');

const { WorkerWaker } = require('..');
const { AtomicsWaker, MAX_PERMITS } = require('../bench/peers/atomics-waker');
const { WakerModel } = require('./support/model');

const ROOT = path.join(__dirname, '..');
const PEER = path.join(ROOT, 'bench', 'peers', 'atomics-waker.js');
const CONSUMER = path.join(ROOT, 'bench', 'workers', 'fanout.js');

const { prng } = require('./support/prng');

// Resolves with `promise`, or rejects after `ms`: every wait in this file is bounded.
function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Polls `condition` every millisecond; rejects when it stays false for `ms`.
async function until(condition, ms, what) {
  const limit = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > limit) throw new Error(`${what}: not done after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

const workers = new Set();
function startWorker(file, options) {
  const worker = new Worker(file, options);
  workers.add(worker);
  worker.once('exit', () => workers.delete(worker));
  return worker;
}
afterEach(async () => {
  await Promise.all([...workers].map((w) => w.terminate()));
});

describe('the pure-JS peer keeps the contract', () => {
  test('random sequences agree with the spec model step by step', () => {
    const pick = (rand, n) => Math.floor(rand() * n);
    const index = (rand) => (pick(rand, 8) * 8) % 62; // a few indices, so edges repeat
    for (let seed = 1; seed <= 150; seed++) {
      const rand = prng(seed);
      const peer = new AtomicsWaker();
      const model = new WakerModel();
      const words = new BigUint64Array(new SharedArrayBuffer(62 * 8));
      for (let step = 0; step < 150; step++) {
        const op = pick(rand, 14);
        const where = `seed ${seed}, step ${step}, op ${op}`;
        let got;
        let want;
        switch (op) {
          case 0: peer.markYield(); model.markYield(); break;
          case 1: peer.tryUnmarkYield(); model.tryUnmarkYield(); break;
          case 2: peer.markTasks(); model.markTasks(); break;
          case 3: { const i = index(rand); peer.markActive(i); model.markActive(i); break; }
          case 4: {
            let mask = 0n;
            for (let b = pick(rand, 4); b > 0; b--) mask |= 1n << BigInt(pick(rand, 62));
            peer.markActiveMask(mask);
            model.markActiveMask(mask);
            break;
          }
          case 5: { const i = index(rand); peer.tryUnmarkIfEmpty(i, words); model.tryUnmarkIfEmpty(i, words); break; }
          case 6: { const i = index(rand); peer.tryUnmark(i); model.tryUnmark(i); break; }
          case 7: got = peer.tryAcquire(); want = model.tryAcquire(); break;
          case 8: got = peer.acquireTimeout(0); want = model.acquireTimeout(0); break;
          case 9: { const n = pick(rand, 3); peer.release(n); model.release(n); break; }
          case 10: peer.registerSleeper(); model.registerSleeper(); break;
          case 11: peer.unregisterSleeper(); model.unregisterSleeper(); break;
          case 12: got = [peer.snapshotSummary(), peer.summaryBits(), peer.statusBits()];
            want = [model.snapshotSummary(), model.summaryBits(), model.statusBits()];
            break;
          default: { const i = index(rand); words[i] = words[i] === 0n ? 1n : 0n; } // the queues change
        }
        const seen = [got, peer.status(), peer.permits(), peer.sleepers()];
        const spec = [want, model.status(), model.permits(), model.sleepers()];
        if (!isDeepStrictEqual(seen, spec)) expect([where, ...seen]).toEqual([where, ...spec]);
      }
    }
  });

  test('bad arguments throw a TypeError or RangeError naming them, and change nothing', () => {
    const peer = new AtomicsWaker();
    const expectError = (fn, Type, code, ...parts) => {
      expect(fn).toThrow(Type);
      try {
        fn();
      } catch (error) {
        expect(error.code).toBe(code);
        for (const part of parts) expect(error.message).toContain(part);
      }
    };
    expectError(() => peer.markActive(62), RangeError, 'ERR_OUT_OF_RANGE', '"index"', '0 to 61', '62');
    expectError(() => peer.markActive(1.5), RangeError, 'ERR_OUT_OF_RANGE', '"index"', '1.5');
    expectError(() => peer.markActive('1'), TypeError, 'ERR_INVALID_ARG_TYPE', '"index"');
    expectError(() => peer.markActiveMask(1n << 62n), RangeError, 'ERR_OUT_OF_RANGE', '"mask"');
    expectError(() => peer.release(-1), RangeError, 'ERR_OUT_OF_RANGE', '"n"', '-1');
    expectError(() => peer.release(MAX_PERMITS + 1), RangeError, 'ERR_OUT_OF_RANGE', '"n"', String(MAX_PERMITS + 1));
    expectError(() => peer.acquireTimeout(-1), RangeError, 'ERR_OUT_OF_RANGE', '"timeoutMs"');
    expectError(() => peer.acquireTimeout(NaN), RangeError, 'ERR_OUT_OF_RANGE', '"timeoutMs"');
    expect(() => AtomicsWaker.prototype.tryAcquire.call({})).toThrow(TypeError);
    expect(() => new AtomicsWaker(new ArrayBuffer(256))).toThrow(TypeError);
    expect(() => new AtomicsWaker(new SharedArrayBuffer(256))).toThrow(TypeError); // no header
    expect([peer.status(), peer.permits(), peer.sleepers()]).toEqual([0n, 0, 0]);
    peer.release(MAX_PERMITS);
    expectError(() => peer.release(1), RangeError, 'ERR_OUT_OF_RANGE', '"n"');
    expect(peer.permits()).toBe(MAX_PERMITS);
  });

  test('acquireTimeout waits about its timeout, then gives up', () => {
    const peer = new AtomicsWaker();
    const start = performance.now();
    expect(peer.acquireTimeout(30)).toBe(false);
    expect(performance.now() - start).toBeGreaterThanOrEqual(29);
    expect(peer.sleepers()).toBe(0);
  });

  test('blocked consumers in workers take every permit exactly once', async () => {
    const peer = new AtomicsWaker();
    const control = new Int32Array(new SharedArrayBuffer(12)); // TAKEN, STOP, TARGET
    const consumers = [0, 1, 2].map(() => {
      const worker = startWorker(CONSUMER, { workerData: { impl: 'atomics-peer', buffer: peer.buffer, control } });
      const messages = [];
      worker.on('message', (m) => messages.push(m));
      const exited = new Promise((resolve, reject) => {
        worker.once('error', reject);
        worker.once('exit', resolve);
      });
      return { messages, exited };
    });
    const allParkedAndTaken = (released) => Atomics.load(control, 0) === released && peer.sleepers() === 3;
    await until(() => allParkedAndTaken(0), 10000, 'consumers parking');
    // Releases of 1-3 permits, every tenth time waiting until all three are parked again, so
    // that many releases meet parked consumers (and bursts meet running ones).
    let total = 0;
    for (let i = 0; i < 300; i++) {
      const n = 1 + (i % 3);
      peer.release(n);
      total += n;
      if (i % 10 === 9) await until(() => allParkedAndTaken(total), 10000, `consumers draining ${total}`);
    }
    Atomics.store(control, 1, 1);
    peer.release(3); // one stop permit each
    await within(10000, Promise.all(consumers.map((c) => c.exited)), 'consumers leaving');
    const taken = consumers.map((c) => c.messages.find((m) => m.taken !== undefined).taken);
    expect(taken.reduce((a, b) => a + b, 0)).toBe(total);
    expect(peer.permits()).toBe(0);
    expect(peer.sleepers()).toBe(0);
  });

  test('acquireAsync resolves when another thread releases, and false on timeout', async () => {
    const peer = new AtomicsWaker();
    expect(await within(2000, peer.acquireAsync({ timeout: 20 }), 'timeout')).toBe(false);
    // ref: false here and below, so that a lost wake-up fails the test instead of keeping Jest alive.
    const pending = peer.acquireAsync({ ref: false });
    expect(peer.sleepers()).toBe(1);
    startWorker(`
      const { workerData } = require('node:worker_threads');
      const { AtomicsWaker } = require(${JSON.stringify(PEER)});
      setTimeout(() => new AtomicsWaker(workerData).release(1), 20);
    `, { eval: true, workerData: peer.buffer });
    expect(await within(5000, pending, 'cross-thread release')).toBe(true);
    expect([peer.permits(), peer.sleepers()]).toEqual([0, 0]);
  });

  test('an aborted acquireAsync rejects with AbortError and loses no permit or wake-up', async () => {
    const peer = new AtomicsWaker();
    const controller = new AbortController();
    const aborted = peer.acquireAsync({ signal: controller.signal });
    const waiting = peer.acquireAsync({ ref: false });
    const reason = new Error('no longer needed');
    controller.abort(reason);
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: reason });
    expect(peer.sleepers()).toBe(1);
    // The abandoned wait is still first in V8's queue: the wake-up it receives must reach the
    // call that is still waiting.
    peer.release(1);
    expect(await within(5000, waiting, 'wake-up passed on')).toBe(true);
    await expect(peer.acquireAsync({ signal: AbortSignal.abort('early') })).rejects.toMatchObject({ name: 'AbortError', cause: 'early' });
    await expect(peer.acquireAsync({ timeout: -1 })).rejects.toThrow(RangeError);
    expect([peer.permits(), peer.sleepers()]).toEqual([0, 0]);
  });
});

// ---- the benchmark itself --------------------------------------------------------------------

const FAST_METHODS = ['tryAcquire-hit', 'tryAcquire-miss', 'release', 'markActive-set', 'snapshotSummary', 'status'];
const BLOCKING_IDS = [
  'worker-waker', 'atomics-wait', 'postMessage', 'native-condvar', 'native-futex', 'native-spin', 'probe-adaptive-spin',
];

function expectedRowIds() {
  const ids = [
    ...BLOCKING_IDS.map((id) => `blocking:${id}`),
    ...BLOCKING_IDS.map((id) => `blockingSameCpu:${id}`),
    ...['worker-waker', 'atomics-waitAsync', 'postMessage', 'piscina'].map((id) => `async:${id}`),
    ...['worker-waker', 'atomics-waitAsync', 'postMessage'].map((id) => `asyncWaiting:${id}`),
    ...['worker-waker', 'atomics-waitAsync', 'postMessage', 'piscina'].map((id) => `asyncSameCpu:${id}`),
    ...['wakeSoon', 'wakeLate'].flatMap((section) => ['worker-waker', 'waitAsync'].map((id) => `${section}:${id}`)),
    ...FAST_METHODS.flatMap((m) => ['worker-waker', 'binding', 'atomics-peer', 'js-probe'].map((impl) => `fastPath:${m}/${impl}`)),
    'fastPath:baseline/empty-napi',
    'fastPath:baseline/atomics-load',
  ];
  // 1 .. cores, and always 1, 2 and 4 consumers (the fan-out targets).
  const counts = new Set([...Array.from({ length: os.cpus().length }, (_, i) => i + 1), 1, 2, 4]);
  for (const n of counts) {
    for (const impl of ['worker-waker', 'atomics-peer']) {
      ids.push(`fanout:${n}/${impl}/wakes-per-release`, `fanout:${n}/${impl}/permits-per-sec`);
    }
  }
  return ids;
}

function works(command, args) {
  return spawnSync(command, args, { encoding: 'utf8' }).status === 0;
}

// Rows that may be skipped, each only where its reason holds on this machine. `pinned`: the
// benchmark said it pinned its threads (a sandbox may forbid it where taskset exists).
function mayBeSkipped(key, pinned) {
  const linux = process.platform === 'linux';
  const compiler = [process.env.CXX, 'c++', 'g++', 'clang++'].some((cxx) => cxx && works(cxx, ['--version']));
  const pinnable = linux && os.cpus().length >= 2 && works('taskset', ['-pc', String(process.pid)]) && pinned;
  const [section, id] = key.split(':');
  if (id.startsWith('native-') && (!compiler || (!linux && id !== 'native-condvar'))) return true;
  if ((section === 'blockingSameCpu' || section === 'asyncSameCpu') && !pinnable) return true;
  if (id === 'worker-waker' && section.startsWith('async')) return typeof WorkerWaker.prototype.acquireAsync !== 'function';
  if (id === 'piscina') return !fs.existsSync(path.join(ROOT, 'node_modules', 'piscina'));
  if (section === 'fanout' && id.endsWith('/wakes-per-release')) return !linux;
  return false;
}

describe('npm run bench -- --quick', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'worker-waker-bench-'));
  let results;
  let stdout;

  beforeAll(async () => {
    stdout = await new Promise((resolve, reject) => {
      execFile(process.execPath, [path.join(ROOT, 'bench', 'run.js'), '--quick', '--out', out],
        { timeout: 150000, maxBuffer: 1 << 24 },
        (error, out1, err1) => (error ? reject(new Error(`${error.message}\n${err1}`)) : resolve(out1)));
    });
    results = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
  }, 170000);

  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  test('names the machine and the mode', () => {
    expect(results.mode).toBe('quick');
    expect(typeof results.machine.cpu).toBe('string');
    expect(results.machine.cpu.length).toBeGreaterThan(0);
    expect(results.machine.cores).toBe(os.cpus().length);
    expect(results.rounds).toBeGreaterThanOrEqual(3);
    expect(stdout).toContain(results.machine.cpu);
  });

  test('prints a table with every row and every target', () => {
    const escape = (text) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    const lines = stdout.split('\n');
    // Labels repeat between sections (two CPUs, one CPU): each row needs a line of its own.
    const byLabel = new Map();
    for (const r of results.rows) byLabel.set(r.label, [...(byLabel.get(r.label) ?? []), r]);
    for (const [label, rows] of byLabel) {
      const printed = lines.filter((l) => l.startsWith(`  ${label} `));
      expect([label, printed.length]).toEqual([label, rows.length]);
      rows.forEach((r, i) => {
        // The label, then the median with its unit and the range of the rounds, or why it was skipped.
        const shape = r.skipped ? `skipped: ${escape(r.note)}$` : `\\d[kM]? ${escape(r.unit)} \\[`;
        expect([label, printed[i]]).toEqual([label, expect.stringMatching(new RegExp(shape))]);
      });
    }
    for (const t of results.targets) expect(stdout).toContain(`  ${t.name} `);
  });

  test('has every row, each measured with finite positive numbers or skipped for a reason that holds here', () => {
    const byKey = new Map(results.rows.map((r) => [`${r.section}:${r.id}`, r]));
    expect([...byKey.keys()].sort()).toEqual(expectedRowIds().sort());
    for (const [key, r] of byKey) {
      if (r.skipped) {
        expect([key, mayBeSkipped(key, results.placement.startsWith('round-trip threads pinned'))]).toEqual([key, true]);
        expect(typeof r.note).toBe('string');
        expect(r.note.length).toBeGreaterThan(0);
        continue;
      }
      const numbers = [r.median, ...r.rounds, ...(r.ratio === undefined ? [] : [r.ratio])];
      expect([key, r.rounds.length >= results.rounds]).toEqual([key, true]);
      for (const value of numbers) {
        expect([key, Number.isFinite(value) && value > 0]).toEqual([key, true]);
      }
    }
  });

  test('compares each row with a baseline measured in the same run', () => {
    const rows = results.rows.filter((r) => !r.skipped && r.baseline !== undefined);
    expect(rows.length).toBeGreaterThan(0);
    const median = (values) => {
      const sorted = [...values].sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    };
    for (const r of rows) {
      const base = results.rows.find((b) => b.section === r.section && b.id === r.baseline);
      // Fast path and wake: round by round against the baseline (both measured back to back in
      // each round).
      const paired = r.section === 'fastPath' || r.section.startsWith('wake');
      const expected = paired ? median(r.rounds.map((v, i) => v / base.rounds[i])) : r.median / base.median;
      expect([r.section, r.id, r.ratio]).toEqual([r.section, r.id, expect.closeTo(expected, 10)]);
    }
    for (const t of results.targets) {
      expect(t.ratio === null || (Number.isFinite(t.ratio) && t.ratio > 0)).toBe(true);
    }
  });

  test('draws every measured round trip in the SVG', () => {
    const svg = fs.readFileSync(path.join(out, 'results.svg'), 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const drawn = results.rows.filter((r) => r.unit === 'us' && !r.skipped);
    const bars = svg.match(/<rect [^>]*class="(?:ours|probe|bar)"/g);
    expect(bars).toHaveLength(drawn.length);
    // A log scale: even the fastest round trip (well under 1 us) gets a bar one can see, and a
    // longer round trip never gets a shorter bar.
    const widths = bars.map((bar) => Number(/width="([\d.]+)"/.exec(bar)[1]));
    expect(Math.min(...widths)).toBeGreaterThanOrEqual(20);
    const byMedian = drawn.map((r, i) => [r.median, widths[i]]).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < byMedian.length; i++) expect(byMedian[i][1]).toBeGreaterThanOrEqual(byMedian[i - 1][1]);
    expect(svg).toContain('log scale');
  });
});
