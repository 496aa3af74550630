'use strict';
// Attacks on the loop spin (acquireAsync's spinMicroseconds, the Pool's spinMicroseconds): bad
// values, the largest-request accounting across calls, wakers and dispatchers, threads that end
// while their loop spins (many of them), loop liveness (I/O, messages, timers, an idle pool) and
// runtimes other than Node. Conservation (permits released == permits taken + permits left) and
// bounded waits; the test build's asyncSpinStats says what the spin did, never how fast.
const path = require('node:path');
const net = require('node:net');
const { execFile, spawnSync } = require('node:child_process');
const native = require('./support/test-addon'); // first: the lib then uses the test build
const { stats, prepares, freshBackoffEachTest } = require('./support/loop-spin');
const { WorkerWaker } = require('..');
const { Pool } = require('../dist/pool');
const { workerTracker, nextMessage, exited } = require('./support/threads');

const WORKER = path.join(__dirname, 'fixtures', 'loop-spin-attack-worker.js');
const CHILD = path.join(__dirname, 'fixtures', 'loop-spin-attack-child.js');
const TASK = path.join(__dirname, 'fixtures', 'loop-spin-attack-task.js');
const workers = workerTracker(WORKER);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// Whether the prepare handle runs: ten turns of a loop that sleeps each time.
async function spinRuns() {
  const before = prepares();
  for (let i = 0; i < 10; i++) await sleep(1);
  return prepares() > before;
}

function within(promise, ms, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

// `taskset -c 0` where there is one (Linux): the child's threads share one CPU.
const ONE_CPU = spawnSync('taskset', ['-c', '0', 'true']).status === 0 ? ['taskset', '-c', '0'] : null;

function runChild(args, { timeoutMs = 20_000, oneCpu = false } = {}) {
  const env = { ...process.env };
  delete env.WORKER_WAKER_SPIN;
  const [file, ...prefix] = oneCpu && ONE_CPU ? [...ONE_CPU, process.execPath] : [process.execPath];
  return new Promise((resolve) => {
    execFile(file, [...prefix, CHILD, ...args], { timeout: timeoutMs, env }, (error, stdout, stderr) => {
      resolve({ code: error ? error.code : 0, signal: error ? error.signal : null, stdout, stderr });
    });
  });
}

freshBackoffEachTest();

afterEach(async () => {
  await workers.terminateAll();
  expect(native.asyncPending()).toBe(0);
});

describe('bad values', () => {
  const BAD = [
    [NaN, RangeError, /"options.spinMicroseconds".*an integer from 0 to 1000.*Received NaN/],
    [1000.5, RangeError, /"options.spinMicroseconds".*from 0 to 1000.*Received 1000.5/],
    [1001, RangeError, /"options.spinMicroseconds".*from 0 to 1000.*Received 1001/],
    [-1, RangeError, /"options.spinMicroseconds".*Received -1/],
    [Infinity, RangeError, /"options.spinMicroseconds".*Received Infinity/],
    [-Infinity, RangeError, /"options.spinMicroseconds".*Received -Infinity/],
    [Number.MIN_VALUE, RangeError, /"options.spinMicroseconds".*Received 5e-324/],
    ['5', TypeError, /"options.spinMicroseconds".*of type number.*Received type string/],
    [5n, TypeError, /"options.spinMicroseconds".*of type number.*Received 5n/],
    [true, TypeError, /"options.spinMicroseconds".*of type number/],
    [{ valueOf: () => 5 }, TypeError, /"options.spinMicroseconds".*of type number/],
  ];

  test('acquireAsync rejects each, with a permit there or not, and leaves nothing pending or spinning', async () => {
    const waker = new WorkerWaker();
    const before = prepares();
    for (const permits of [0, 1]) {
      for (const [spinMicroseconds, type, message] of BAD) {
        const call = waker.acquireAsync({ spinMicroseconds, timeout: 1000 });
        await expect(call).rejects.toThrow(type);
        await expect(call).rejects.toThrow(message);
        expect(waker.permits()).toBe(permits);
        expect(waker.sleepers()).toBe(0);
        expect(native.asyncPending()).toBe(0);
      }
      waker.release(1);
    }
    await sleep(5);
    expect(prepares()).toBe(before);
  });

  test('-0 is the integer 0: accepted, and no spin', async () => {
    const waker = new WorkerWaker();
    const before = prepares();
    await expect(waker.acquireAsync({ spinMicroseconds: -0, timeout: 20 })).resolves.toBe(false);
    expect(prepares()).toBe(before);
  });

  test('new Pool throws for each, naming the option, before any worker starts', () => {
    for (const [spinMicroseconds, type] of BAD) {
      let caught;
      try {
        new Pool({ filename: TASK, threads: 1, spinMicroseconds });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(type);
      expect(caught.message).toMatch(/^The "spinMicroseconds" option must be/);
      if (type === RangeError) expect(caught.message).toMatch(/an integer from 0 to 1000/);
    }
  });
});

describe('the largest request', () => {
  // Every order in which three calls asking for 1000, 200 and 50 µs settle, each one way: the
  // prepare handle runs while any is pending and stops with the last.
  const ORDERS = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
  ];
  test.each(ORDERS)('calls on three wakers settle in the order %i, %i, %i (granted, aborted, timed out)', async (...order) => {
    const wakers = [new WorkerWaker(), new WorkerWaker(), new WorkerWaker()];
    const controllers = wakers.map(() => new AbortController());
    const spins = [1000, 200, 50];
    const outcomes = ['granted', 'aborted', 'timedOut'];
    // The call that settles last times out; long enough that it is still pending before then.
    const calls = wakers.map((waker, i) =>
      waker
        .acquireAsync({ spinMicroseconds: spins[i], signal: controllers[i].signal, timeout: i === order[2] ? 1000 : Infinity })
        .then(
          (granted) => (granted ? 'granted' : 'timedOut'),
          (error) => error.name,
        ),
    );
    for (let step = 0; step < 3; step++) {
      expect(await spinRuns()).toBe(true);
      const i = order[step];
      const outcome = outcomes[step];
      if (outcome === 'granted') wakers[i].release(1);
      else if (outcome === 'aborted') controllers[i].abort();
      await expect(within(calls[i], 5000, `the call of ${spins[i]} µs`)).resolves.toBe(outcome === 'aborted' ? 'AbortError' : outcome);
    }
    expect(await spinRuns()).toBe(false);
    for (const waker of wakers) {
      expect(waker.permits()).toBe(0);
      expect(waker.sleepers()).toBe(0);
    }
  });

  test('equal requests: the spin stays until the last of them settles', async () => {
    const waker = new WorkerWaker();
    const a = new AbortController();
    const b = new AbortController();
    const first = waker.acquireAsync({ spinMicroseconds: 500, signal: a.signal }).catch((error) => error.name);
    const second = waker.acquireAsync({ spinMicroseconds: 500, signal: b.signal }).catch((error) => error.name);
    const small = waker.acquireAsync({ spinMicroseconds: 10, timeout: 1e6 });
    a.abort();
    await expect(first).resolves.toBe('AbortError');
    expect(await spinRuns()).toBe(true);
    b.abort();
    await expect(second).resolves.toBe('AbortError');
    expect(await spinRuns()).toBe(true); // the 10 µs call
    waker.release(1);
    await expect(within(small, 5000, 'the grant')).resolves.toBe(true);
    expect(await spinRuns()).toBe(false);
    expect(waker.permits()).toBe(0);
  });

  test('two dispatchers on one thread: the spin runs while either asks', async () => {
    // A second dispatcher, as a second copy of the lib on this thread would register.
    const other = native.asyncInit(() => {}, new Uint32Array(1), new Float64Array(256));
    const waker = new WorkerWaker();
    const call = waker.acquireAsync({ spinMicroseconds: 100, timeout: 1e6 });
    native.asyncSpin(other, 300);
    expect(await spinRuns()).toBe(true);
    waker.release(1);
    await expect(within(call, 5000, 'the grant')).resolves.toBe(true);
    expect(await spinRuns()).toBe(true); // the other dispatcher still asks
    native.asyncSpin(other, 0);
    expect(await spinRuns()).toBe(false);
    native.asyncSpin(other, 50);
    expect(await spinRuns()).toBe(true);
    native.asyncSpin(other, 0);
    expect(await spinRuns()).toBe(false);
  });

  test('once the largest request settles, the loop spins for the next largest, not the stale one', async () => {
    const worker = workers.startWorker({ role: 'largest' });
    const { before, after } = await within(nextMessage(worker), 10_000, 'the report');
    await within(exited(worker), 5000, 'the worker to end');
    const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
    expect(before.length).toBeGreaterThan(0);
    expect(after.length).toBeGreaterThan(0);
    // With the 1000 µs call pending a spin lasts up to the 1 ms timer's due time; with only the
    // 200 µs call left, about 200 µs (a preempted spin lasts longer: the median).
    expect(median(after)).toBeLessThan(600);
  });
});

describe('threads that end while their loop spins', () => {
  test('60 short-lived workers, 40 spinning calls each: natural ends, terminate() and process.exit(); every permit accounted for', async () => {
    let released = 0;
    let left = 0;
    let taken = 0;
    for (let i = 0; i < 60; i++) {
      const waker = new WorkerWaker();
      const role = ['natural', 'terminate', 'exit'][i % 3];
      if (role === 'natural') {
        const counter = new SharedArrayBuffer(4);
        const worker = workers.startWorker({ role, buffer: waker.buffer, counter, calls: 40, timeoutMs: 30 });
        await within(nextMessage(worker), 10_000, 'the calls');
        const done = nextMessage(worker);
        waker.release(25);
        released += 25;
        const report = await within(done, 10_000, 'the calls to settle');
        expect(report).toEqual({ settled: 40, pending: 0 });
        await within(exited(worker), 5000, 'a natural end');
        taken += Atomics.load(new Int32Array(counter), 0);
      } else if (role === 'terminate') {
        const worker = workers.startWorker({ role, buffer: waker.buffer, calls: 40 });
        await within(nextMessage(worker), 10_000, 'the loop to spin');
        const done = worker.terminate();
        waker.release(10); // after terminate(): no JS of the worker runs, every grant comes back
        released += 10;
        await within(done, 5000, 'terminate()');
      } else {
        const worker = workers.startWorker({ role, buffer: waker.buffer, calls: 40, exitCode: 4 });
        const code = await within(new Promise((resolve) => worker.once('exit', resolve)), 10_000, 'process.exit()');
        expect(code).toBe(4);
        waker.release(5);
        released += 5;
      }
      expect(waker.sleepers()).toBe(0);
      left += waker.permits();
    }
    expect(taken + left).toBe(released);
    expect(taken).toBeGreaterThan(0);
  }, 120_000);
});

describe('loop liveness', () => {
  test('socket data arriving while the loop spins is read, every byte, with spinning calls pending all along', async () => {
    const waker = new WorkerWaker();
    const stop = new AbortController();
    const calls = [1000, 1000, 500].map((spinMicroseconds) =>
      waker.acquireAsync({ spinMicroseconds, signal: stop.signal }).catch((error) => error.name),
    );
    const server = net.createServer((socket) => socket.on('data', (chunk) => socket.write(chunk)));
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = net.connect(server.address().port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    const before = stats().spins;
    // Ping-pong: each round's echo arrives while the loop would sleep, so the loop spins first.
    let received = 0;
    for (let round = 0; round < 200; round++) {
      const echo = new Promise((resolve) => client.once('data', (chunk) => resolve(chunk.length)));
      client.write('x'.repeat(16));
      received += await within(echo, 5000, `echo ${round}`);
    }
    expect(received).toBe(200 * 16);
    expect(stats().spins).toBeGreaterThan(before);
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
    stop.abort();
    expect(await Promise.all(calls)).toEqual(['AbortError', 'AbortError', 'AbortError']);
    expect(waker.sleepers()).toBe(0);
  });

  test('a 1 ms timer keeps firing and setImmediate chains run while a 1000 µs spin is asked for', async () => {
    const waker = new WorkerWaker();
    const stop = new AbortController();
    const call = waker.acquireAsync({ spinMicroseconds: 1000, signal: stop.signal }).catch((error) => error.name);
    let fired = 0;
    await within(
      new Promise((resolve) => {
        const tick = () => (++fired < 100 ? setTimeout(tick, 1) : resolve());
        setTimeout(tick, 1);
      }),
      10_000,
      '100 chained 1 ms timers',
    );
    let turns = 0;
    await within(
      new Promise((resolve) => {
        const turn = () => (++turns < 2000 ? setImmediate(turn) : resolve());
        setImmediate(turn);
      }),
      10_000,
      '2000 setImmediate turns',
    );
    expect([fired, turns]).toEqual([100, 2000]);
    stop.abort();
    await expect(call).resolves.toBe('AbortError');
  });

  test.each(['plain', 'interval'])('an idle pool (%s workers) uses next to no CPU and its main thread does not spin', async (variant) => {
    const result = await runChild(['idle-pool', variant]);
    expect(result).toMatchObject({ code: 0, signal: null, stderr: '' });
    const report = JSON.parse(result.stdout);
    expect(report.sum).toBe(2450);
    expect(report.prepares).toBe(0); // no task in flight: no result wait, no spin
    // A thread that spins while idle burns a whole core (cpu ≈ wall); idle, it is a few percent.
    expect(report.cpuMicros).toBeLessThan(report.wallMicros * 0.25);
  });
});

describe('a spinning call after a granted one', () => {
  // A grant's Signal() marks a signal outstanding after it wakes the JS thread. When the JS thread
  // answers it before the mark lands (the granting thread preempted by the thread it woke, as on
  // one CPU), the mark must not outlive the answer: a mark that stays makes every later prepare
  // return before spinning, and the loop never spins again while it sleeps between grants.
  test.each([
    ['on one CPU', true],
    ['on any CPU', false],
  ])('%s: after each grant, a long wait still spins (backing off: at most 10 spins a round)', async (_, oneCpu) => {
    const result = await runChild(['busy-waker'], { oneCpu });
    expect(result).toMatchObject({ code: 0, signal: null, stderr: '' });
    const rounds = JSON.parse(result.stdout);
    expect(rounds).toHaveLength(12);
    for (const { prepares, spins } of rounds) {
      expect(prepares).toBeGreaterThan(0);
      expect(spins).toBeLessThanOrEqual(10);
    }
  });
});

describe('other runtimes', () => {
  // Bun aborts on the libuv functions the spin uses, and Deno lacks them: there the option is
  // checked, then ignored. The child plays each runtime through process.versions.
  test.each(['bun', 'deno'])('under %s a spin-asking call works and the loop never spins', async (runtime) => {
    const result = await runChild(['runtime', runtime]);
    expect(result).toMatchObject({ code: 0, signal: null, stderr: '' });
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ granted: true, timedOut: false, pending: 0 });
    expect(report.stats).toEqual({ spins: 0, found: 0, endedByIo: 0, notSleeping: 0, backingOff: 0, spunMicros: 0, maxSpinMicros: 0 });
  });
});
