'use strict';
// A hostile reviewer's tests of worker-waker/pool: each names a way a task, a payload or the host
// can break a guarantee. Every wait is bounded; accounting is exact (tasks submitted = resolved +
// rejected, and each task started at most once, counted through shared memory by the task itself).
const path = require('node:path');
const { createHook } = require('node:async_hooks');
const v8 = require('node:v8');

const { Pool, MAX_FAST_BYTES, MAX_STRING } = require('../dist/pool');

const TASKS = path.join(__dirname, 'fixtures', 'pool-attack-task.js');

const pools = [];
function pool(options = {}, counters = 0) {
  const runs = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, counters)));
  const flags = new Int32Array(new SharedArrayBuffer(4 * 64));
  const created = new Pool({ filename: TASKS, threads: 2, workerData: { runs: runs.buffer, flags: flags.buffer }, ...options });
  pools.push(created);
  return { pool: created, runs, flags };
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => within(p.destroy(), 10000, 'destroy() after the test')));
});

// Rejects after `ms` when `promise` has not settled.
function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const outcome = (promise) => promise.then((value) => ({ value }), (error) => ({ error }));

// Waits (at most 10 s) until the pool's workers have started `count` tasks in all.
async function startedAtLeast(p, count) {
  const deadline = Date.now() + 10000;
  while (p.started < count) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} tasks to start (${p.started} did)`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

// Byte-exact comparison with structured clone: holes, key order, -0, NaN and types all show.
function sameAsStructuredClone(got, sent) {
  return Buffer.compare(v8.serialize(got), v8.serialize(structuredClone(sent))) === 0;
}

describe('hostile payloads', () => {
  test('an argument whose getter throws rejects only its own task (with that error), also while it waited for room', async () => {
    const { pool: p } = pool({ threads: 1 });
    const hostile = {
      get x() {
        throw new RangeError('argument getter');
      },
    };
    // Alone: a rejected promise, not a synchronous throw.
    let first;
    expect(() => (first = p.run(hostile))).not.toThrow();
    await expect(within(first, 5000, 'the hostile task')).rejects.toThrow('argument getter');
    // Behind more tasks than the rings hold: admitted later, from the pool's own loop.
    const before = Array.from({ length: 1500 }, (_, i) => p.run(i, { name: 'echo' }));
    const late = outcome(p.run(hostile)); // handled at once: it may reject before the others settle
    const after = Array.from({ length: 10 }, (_, i) => p.run(i, { name: 'echo' }));
    const results = await within(Promise.all([...before, ...after].map(outcome)), 15000, 'the tasks around it');
    expect(results.filter((r) => 'error' in r).map((r) => r.error.message)).toEqual([]);
    expect(results.map((r) => r.value)).toEqual([...before.keys(), ...after.keys()]);
    expect((await within(late, 5000, 'the late hostile task')).error).toMatchObject({ message: 'argument getter' });
    // Every id came back: the pool still takes as many tasks as before.
    const again = await within(Promise.all(Array.from({ length: 1500 }, (_, i) => p.run(i, { name: 'echo' }))), 15000, 'a second round');
    expect(again).toEqual([...again.keys()]);
  });

  test.each([
    ['getterThrows', 'a result whose getter throws', 'getter boom'],
    ['getterThrowsAsync', 'an async result whose getter throws', 'getter boom'],
    ['throwHostileProxy', 'a thrown Proxy whose traps throw', 'hostile trap'],
  ])('%s: %s rejects that task with the error; the worker lives on', async (name, _what, message) => {
    const { pool: p } = pool({ threads: 1 });
    const thread = await p.run(0, { name: 'thread' });
    const error = await within(p.run(0, { name }), 5000, name).then(() => undefined, (e) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).not.toBe('ERR_POOL_WORKER_DIED');
    expect(error.message).toContain(message);
    expect(await p.run(0, { name: 'thread' })).toBe(thread);
  });

  test('odd values come back exactly as structured clone gives them, both ways', async () => {
    const { pool: p } = pool({ threads: 1 });
    const sparseWithProperty = [1, , 3]; // eslint-disable-line no-sparse-arrays
    sparseWithProperty.x = 5;
    const holeAtEnd = [1, 2, , ]; // eslint-disable-line no-sparse-arrays
    holeAtEnd.y = 1;
    const nullProto = Object.assign(Object.create(null), { b: 1, a: 2, 10: 3, 2: 4 });
    const withSymbol = { a: 1, [Symbol('s')]: 2 };
    const hidden = Object.defineProperty({ shown: 1 }, 'hidden', { value: 2, enumerable: false });
    const longest = 'x'.repeat(MAX_STRING);
    const values = [
      sparseWithProperty,
      holeAtEnd,
      { list: sparseWithProperty },
      nullProto,
      withSymbol,
      hidden,
      [-0, NaN, Infinity, -Infinity, Number.MIN_VALUE, 2 ** 53 + 2],
      { '\u0000': '\u0000', '\ud800': 'lone \udc00 surrogates \ud83d', '': undefined },
      JSON.parse('{"__proto__": 1, "a": 2}'),
      { a: { b: { c: { d: { e: { f: { g: { h: { i: 1 } } } } } } } } },
      [longest],
      [longest + 'y'],
      { [longest]: 1 },
      10n,
      new Date(0),
      [undefined, null, true, false, ''],
      Object.assign([1, 2], { 5: 6 }),
      (() => {
        const shared = { s: 1 };
        return [shared, shared, { again: shared }];
      })(),
      (() => {
        const circular = { name: 'loop' };
        circular.self = circular;
        return circular;
      })(),
      { b: 1, '01': 2, 1: 3, 4294967294: 4, 4294967295: 5, a: 6 },
      Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, i])),
      Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i])),
      Array.from({ length: 65 }, (_, i) => i),
    ];
    for (const value of values) {
      const back = await within(p.run(value, { name: 'echo' }), 5000, 'an echo');
      expect([value, sameAsStructuredClone(back, value)]).toEqual([value, true]);
    }
  });

  test('values at the fast path\'s size limit, one byte either side, round-trip exactly', async () => {
    const { pool: p } = pool({ threads: 1 });
    // An array of strings: 3 bytes for the array, 3 + 2n per string; the name (undefined) takes 1.
    for (const extra of [-2, -1, 0, 1, 2]) {
      const room = MAX_FAST_BYTES - 1 - 3 + extra;
      const strings = [];
      let left = room;
      while (left > 3 + 2 * MAX_STRING) {
        strings.push('a'.repeat(MAX_STRING));
        left -= 3 + 2 * MAX_STRING;
      }
      strings.push('\ud800'.repeat(Math.max(0, Math.floor((left - 3) / 2))));
      const back = await within(p.run(strings, { name: 'echo' }), 5000, 'an echo at the limit');
      expect(sameAsStructuredClone(back, strings)).toBe(true);
    }
  });
});

describe('long tasks and idle workers', () => {
  test('a task waiting for a task queued right behind it is not a deadlock: the idle worker runs the second', async () => {
    const { pool: p } = pool({ threads: 2 });
    await Promise.all([p.run(0, { name: 'thread' }), p.run(0, { name: 'thread' })]); // both workers up
    for (let round = 0; round < 3; round++) {
      // Same tick: both land in one ring, published together.
      const waiting = p.run(round, { name: 'waitFlag' });
      const setting = p.run(round, { name: 'setFlag' });
      // 'not-equal': the flag was set before the wait began; 'timed-out' (5 s): the second never ran.
      const [waited, set] = await within(Promise.all([waiting, setting]), 10000, 'the pair');
      expect([['ok', 'set'], ['not-equal', 'set']]).toContainEqual([waited, set]);
    }
  });

  test('a task that never returns holds none of the tasks queued with it: the other worker runs them all', async () => {
    const { pool: p } = pool({ threads: 2 });
    await Promise.all([p.run(0, { name: 'thread' }), p.run(0, { name: 'thread' })]);
    const stuck = outcome(p.run(0, { name: 'forever' }));
    // Enough to fill several rings of both signal words.
    const rest = Array.from({ length: 200 }, (_, i) => p.run(i, { name: 'echo' }));
    expect(await within(Promise.all(rest), 10000, 'the tasks queued with the stuck one')).toEqual([...rest.keys()]);
    await within(p.destroy(), 10000, 'destroy() with a task that never returns');
    expect((await stuck).error).toMatchObject({ name: 'AbortError' });
  });
});

describe('maxQueue', () => {
  test('maxQueue 0: a task runs when a worker is free, and is refused (ERR_POOL_QUEUE_FULL) when none is', async () => {
    const { pool: p, flags } = pool({ threads: 1, maxQueue: 0 });
    expect(await within(p.run(7, { name: 'echo' }), 5000, 'a task on an idle pool')).toBe(7);
    const busy = p.run(1, { name: 'waitFlag' });
    // Until the worker has started it, the task may count as queued; once it runs, nothing may wait.
    const deadline = Date.now() + 5000;
    while (p.queueSize > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
    await expect(p.run(2, { name: 'echo' })).rejects.toMatchObject({ code: 'ERR_POOL_QUEUE_FULL' });
    Atomics.store(flags, 1, 1);
    Atomics.notify(flags, 1);
    expect(await within(busy, 5000, 'the busy task')).toBe('ok');
  });

  test('thousands of run() calls at once against maxQueue: each either runs exactly once or is refused, none is lost', async () => {
    const submitted = 5000;
    const { pool: p, runs } = pool({ threads: 2, maxQueue: 100 }, submitted);
    const results = await within(Promise.all(Array.from({ length: submitted }, (_, i) => outcome(p.run({ i })))), 20000, 'every task');
    const resolved = results.filter((r) => 'value' in r);
    const refused = results.filter((r) => r.error?.code === 'ERR_POOL_QUEUE_FULL');
    expect(resolved.length + refused.length).toBe(submitted);
    // All in one tick, so none settled meanwhile: piscina's count, maxQueue plus one per worker.
    expect(resolved.length).toBe(100 + 2);
    for (let i = 0; i < submitted; i++) expect([i, Atomics.load(runs, i)]).toEqual([i, 'value' in results[i] ? 1 : 0]);
    expect(resolved.every((r, k) => typeof r.value === 'number') && new Set(resolved.map((r) => r.value)).size).toBe(resolved.length);
  });
});

describe('workers that die', () => {
  // Settles `count` tasks of which some die in one of several ways; checks that every task settled
  // once, ran at most once, and that only tasks a dead worker had started were lost.
  async function crashRound({ count, acts, name, options }) {
    const { pool: p, runs } = pool(options, count);
    const promises = Array.from({ length: count }, (_, i) => outcome(p.run({ i, act: acts(i) }, { name })));
    const results = await within(Promise.all(promises), 30000, 'every task of the crash round');
    const died = [];
    for (let i = 0; i < count; i++) {
      const result = results[i];
      const ran = Atomics.load(runs, i);
      if ('value' in result) {
        expect([i, result.value, ran]).toEqual([i, i, 1]);
      } else {
        expect([i, result.error.code, ran <= 1]).toEqual([i, 'ERR_POOL_WORKER_DIED', true]);
        expect(result.error.message).toMatch(/^The worker running this task died \(/);
        died.push(i);
      }
    }
    let total = 0;
    for (let i = 0; i < count; i++) total += Atomics.load(runs, i);
    expect(p.started).toBe(total); // the pool's own count agrees: nothing ran that was not counted
    expect(p.completed).toBe(count - died.length);
    // Still whole: a second round, more tasks than its rings hold, all complete.
    const again = await within(Promise.all(Array.from({ length: 1200 }, (_, i) => p.run(i, { name: 'echo' }))), 20000, 'the round after');
    expect(again).toEqual([...again.keys()]);
    expect(p.queueSize).toBe(0);
    return { died, results };
  }

  test('process.exit() in a sync task, one task at a time: only that task is lost, every claimed one runs elsewhere, once', async () => {
    const exits = (i) => i % 37 === 5;
    const { died } = await crashRound({ count: 400, acts: (i) => (exits(i) ? 'exit' : undefined), options: { threads: 2 } });
    expect(died).toEqual([...Array(400).keys()].filter(exits));
  });

  test('process.exit() in a sync task with a batch claimed (concurrentTasksPerWorker 32): the batch goes back to the queue', async () => {
    const exits = (i) => i % 41 === 7;
    const { died } = await crashRound({ count: 400, acts: (i) => (exits(i) ? 'exit' : undefined), options: { threads: 2, concurrentTasksPerWorker: 32 } });
    expect(died).toEqual([...Array(400).keys()].filter(exits));
  });

  test('process.exit() and uncaught throws after a task returned: the result written before the death is delivered', async () => {
    const acts = (i) => (i % 29 === 3 ? 'exit-later' : i % 29 === 17 ? 'throw-outside' : undefined);
    const { died } = await crashRound({ count: 300, acts, options: { threads: 2 } });
    expect(died).toEqual([]);
  });

  test('process.exit() while the worker writes a result into shared memory (a getter of the result): only that task is lost', async () => {
    const dies = (i) => i % 31 === 9;
    const { died, results } = await crashRound({ count: 200, acts: (i) => (dies(i) ? 'exit-in-result' : undefined), options: { threads: 2, concurrentTasksPerWorker: 4 } });
    expect(died).toEqual([...Array(200).keys()].filter(dies));
    expect(results[9].error.message).toContain('exit code 6');
  });

  test('async tasks, 8 per worker, one calls process.exit(): its worker\'s other started tasks reject, the rest complete', async () => {
    const exits = (i) => i % 53 === 11;
    const { died } = await crashRound({ count: 400, acts: (i) => (exits(i) ? 'exit' : undefined), name: 'countedAsync', options: { threads: 2, concurrentTasksPerWorker: 8 } });
    for (const i of [...Array(400).keys()].filter(exits)) expect(died).toContain(i);
    expect(died.length).toBeLessThanOrEqual(8 * [...Array(400).keys()].filter(exits).length);
  });

  test('a module that kills every worker while loading: every task, those waiting for room too, rejects with the reason', async () => {
    const p = new Pool({ filename: path.join(__dirname, 'fixtures', 'pool-attack-exit-on-load.js'), threads: 1 });
    pools.push(p);
    const results = await within(Promise.all(Array.from({ length: 600 }, (_, i) => outcome(p.run(i)))), 15000, 'every task');
    const reasons = new Set(results.map((r) => `${r.error?.code}: ${r.error?.message}`));
    expect([...reasons]).toEqual(['ERR_POOL_WORKER_DIED: Pool workers keep dying before they are ready (exit code 9)']);
  });

  test('a worker killed by resourceLimits while others stream results: the out-of-memory task rejects, nothing else is lost', async () => {
    const ooms = (i) => i === 50 || i === 250;
    const { died, results } = await crashRound({
      count: 300,
      acts: (i) => (ooms(i) ? 'oom' : undefined),
      options: { threads: 2, resourceLimits: { maxOldGenerationSizeMb: 24, maxYoungGenerationSizeMb: 4 } },
    });
    expect(died).toEqual([50, 250]);
    expect(results[50].error.message).toMatch(/reaching memory limit/);
    expect(results[50].error.cause).toMatchObject({ code: 'ERR_WORKER_OUT_OF_MEMORY' });
  });
});

describe('the host process', () => {
  const { spawn } = require('node:child_process');
  const CHILD = path.join(__dirname, 'fixtures', 'pool-attack-child.js');

  // Runs the child in `mode`; resolves { code, signal, lines, ms } once it exits, or rejects after
  // `ms` (killing it). `onLine(line, child)` sees each JSON line as it comes.
  function child(args, ms, onLine = () => {}) {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const proc = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      const lines = [];
      let stderr = '';
      let buffered = '';
      proc.stdout.on('data', (chunk) => {
        buffered += chunk;
        let at;
        while ((at = buffered.indexOf('\n')) !== -1) {
          const line = JSON.parse(buffered.slice(0, at));
          buffered = buffered.slice(at + 1);
          lines.push(line);
          onLine(line, proc);
        }
      });
      proc.stderr.on('data', (chunk) => (stderr += chunk));
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`child ${args.join(' ')} still running after ${ms} ms; stdout ${JSON.stringify(lines)}; stderr ${stderr}`));
      }, ms);
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, lines, stderr, ms: Date.now() - started });
      });
    });
  }

  test('an idle pool, never closed, lets the process exit by itself (also with a timer left running in a worker)', async () => {
    const { code, signal, lines, stderr } = await child(['idle-exits'], 10000);
    expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(lines).toEqual([{ results: 100 }]);
  });

  test('six pools in one process, never closed: every task runs once and the process exits by itself', async () => {
    const { code, lines, stderr } = await child(['many-pools'], 15000);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(lines).toEqual([{ sums: Array(6).fill(19900), runs: Array(6).fill(200) }]);
  });

  test('tasks that post their own messages on parentPort (undefined, null, text, objects) do not crash the process', async () => {
    const { code, lines, stderr } = await child(['posts'], 10000);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(lines).toEqual([{ results: [...Array(6).fill('posted'), 5] }]);
  });

  test('a pending task keeps the process alive until its result is in', async () => {
    const { code, lines } = await child(['pending-keeps-alive'], 10000);
    expect({ code, lines }).toEqual({ code: 0, lines: [{ slept: 400 }] });
  });

  test.each(['idle', 'busy'])('a worker that owns a pool (%s) is terminated promptly, and the process exits', async (state) => {
    const { code, lines, stderr } = await child(['pool-in-worker', state], 15000);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(lines[0].first).toEqual({ results: 50 });
    expect(lines[0].terminateMs).toBeLessThan(5000);
  });

  test('the main process stopped (SIGSTOP) for a second mid-stream: every task completes exactly once after SIGCONT', async () => {
    let stoppedAt = 0;
    const { code, lines, stderr } = await child(['stopped'], 15000, (line, proc) => {
      if (line.streaming) {
        proc.kill('SIGSTOP');
        stoppedAt = Date.now();
        setTimeout(() => proc.kill('SIGCONT'), 1000);
      }
    });
    expect(stoppedAt).toBeGreaterThan(0);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(lines.at(-1)).toEqual({ resolved: 4000, total: 4000, twice: 0 });
  });
});

describe('abort, close and destroy racing the work', () => {
  test('aborts racing claims, starts and completions: each task settles once, runs at most once, and no id leaks', async () => {
    const count = 3000;
    const { pool: p, runs } = pool({ threads: 2 }, count);
    const controllers = [];
    const promises = [];
    for (let i = 0; i < count; i++) {
      const controller = new AbortController();
      controllers.push(controller);
      const options = { signal: controller.signal, name: i % 2 === 0 ? undefined : 'countedAsync' };
      promises.push(outcome(p.run({ i }, options)));
      // Abort some at once (still in this tick), others a little later, at varied points.
      if (i % 7 === 0) controller.abort(new Error(`stop ${i}`));
    }
    for (let i = 1; i < count; i += 3) setTimeout(() => controllers[i].abort(), i % 11);
    await new Promise(setImmediate);
    for (let i = 2; i < count; i += 5) controllers[i].abort();
    const results = await within(Promise.all(promises), 20000, 'every raced task');
    let aborted = 0;
    for (let i = 0; i < count; i++) {
      const ran = Atomics.load(runs, i);
      if ('value' in results[i]) expect([i, results[i].value, ran]).toEqual([i, i, 1]);
      else {
        aborted++;
        expect([i, results[i].error.name, results[i].error.code, ran <= 1]).toEqual([i, 'AbortError', 'ABORT_ERR', true]);
      }
      if (i % 7 === 0) expect([i, results[i].error?.cause?.message]).toEqual([i, `stop ${i}`]);
    }
    expect(aborted).toBeGreaterThanOrEqual(Math.ceil(count / 7));
    // Nothing is left half-accounted: no queue, and the full capacity of ids still works.
    expect(p.queueSize).toBe(0);
    const again = await within(Promise.all(Array.from({ length: 1200 }, (_, i) => p.run(i, { name: 'echo' }))), 20000, 'the round after');
    expect(again).toEqual([...again.keys()]);
  });

  test('destroy() with a task that never returns, tasks in shared memory and tasks waiting for room: all settle, none runs after', async () => {
    const count = 1500;
    const { pool: p, runs } = pool({ threads: 1 }, count);
    const stuck = outcome(p.run(0, { name: 'forever' }));
    const queued = Array.from({ length: count }, (_, i) => outcome(p.run({ i })));
    await startedAtLeast(p, 1); // the stuck one, first in line
    const destroyed = p.destroy();
    await expect(p.run(1, { name: 'echo' })).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED' });
    await within(destroyed, 10000, 'destroy()');
    const results = await within(Promise.all(queued), 1000, 'the queued tasks after destroy()');
    for (let i = 0; i < count; i++) {
      expect([i, results[i].error?.name, results[i].error?.message, Atomics.load(runs, i)]).toEqual([i, 'AbortError', 'The pool was destroyed before the task ran', 0]);
    }
    expect((await stuck).error).toMatchObject({ name: 'AbortError', message: expect.stringContaining('while the task ran') });
    await expect(p.run(1, { name: 'echo' })).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED' });
    expect(p.threads).toEqual([]);
  });

  test('close() waits for a task that never returns; destroy() then ends both, and run() after either rejects', async () => {
    const { pool: p } = pool({ threads: 2 });
    const stuck = outcome(p.run(0, { name: 'forever' }));
    const other = p.run(5, { name: 'echo' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    let closed = false;
    const closing = p.close().then(() => (closed = true));
    await expect(p.run(1, { name: 'echo' })).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED' });
    expect(await within(other, 5000, 'the task beside the stuck one')).toBe(5);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(closed).toBe(false);
    await within(p.destroy(), 10000, 'destroy() during close()');
    await within(closing, 1000, 'close() once destroyed');
    expect((await stuck).error.name).toBe('AbortError');
  });

  test('a worker that dies while close() waits is replaced, and close() still finishes every admitted task', async () => {
    const count = 300;
    const { pool: p, runs } = pool({ threads: 2 }, count);
    const promises = Array.from({ length: count }, (_, i) => outcome(p.run({ i, act: i === 120 ? 'exit' : undefined })));
    await within(p.close(), 15000, 'close()');
    const results = await within(Promise.all(promises), 1000, 'the tasks');
    for (let i = 0; i < count; i++) {
      if (i === 120) expect(results[i].error.code).toBe('ERR_POOL_WORKER_DIED');
      else expect([i, results[i].value, Atomics.load(runs, i)]).toEqual([i, i, 1]);
    }
  });
});

describe('idle workers keep their event loop', () => {
  test('a setInterval started by a task keeps firing while the pool has no work', async () => {
    const { pool: p, flags } = pool({ threads: 1 });
    expect(await p.run(3, { name: 'startTicker' })).toBe('ticking');
    const before = Atomics.load(flags, 3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(Atomics.load(flags, 3) - before).toBeGreaterThanOrEqual(5);
  });
});

describe('results are not held back', () => {
  test.each([1, 32])('a finished task\'s result arrives while its worker runs a long task next (concurrentTasksPerWorker %i)', async (concurrency) => {
    const { pool: p, flags } = pool({ threads: 1, concurrentTasksPerWorker: concurrency }, 8);
    await p.run(0, { name: 'echo' });
    // One tick: the quick ones and the long one share a ring (and, with 32, a claimed batch). The
    // long one waits (at most 5 s) until the quick results are in.
    const quick = Array.from({ length: 5 }, (_, i) => p.run({ i }));
    const long = p.run(9, { name: 'waitFlag' });
    const results = await within(Promise.all(quick), 3000, 'the quick results while the long task runs').finally(() => {
      Atomics.store(flags, 9, 1);
      Atomics.notify(flags, 9);
    });
    expect(results).toEqual([0, 1, 2, 3, 4]);
    // 'not-equal': released before it began to wait; 'timed-out' would mean it waited 5 s.
    expect(['ok', 'not-equal']).toContain(await within(long, 10000, 'the long task'));
  });

  test('destroy() during a task that never returns: the tasks its worker finished before it resolve', async () => {
    const { pool: p, runs } = pool({ threads: 1, concurrentTasksPerWorker: 32 }, 8);
    await p.run(0, { name: 'echo' });
    const quick = Array.from({ length: 5 }, (_, i) => outcome(p.run({ i })));
    const stuck = outcome(p.run(0, { name: 'forever' }));
    await startedAtLeast(p, 7); // the echo, the five, and the stuck one
    await within(p.destroy(), 10000, 'destroy()');
    expect(await Promise.all(quick)).toEqual([0, 1, 2, 3, 4].map((value) => ({ value })));
    expect([...runs.slice(0, 5)]).toEqual([1, 1, 1, 1, 1]);
    expect((await stuck).error.name).toBe('AbortError');
  });
});

describe('bad input', () => {
  // Each option alone, run()'s options and wrong receivers are generated from lib/surface.ts
  // (test/surface.test.js). Here: options that constrain each other, refused with no worker
  // started, and a refused run() that leaves the pool to run every task after it.
  test.each([
    [{ threads: undefined, minThreads: 3, maxThreads: 2 }, RangeError, 'ERR_OUT_OF_RANGE', '"minThreads" option must be at most maxThreads (2)'],
    [{ threads: undefined, minThreads: 64, maxThreads: 63 }, RangeError, 'ERR_OUT_OF_RANGE', '"minThreads" option must be at most maxThreads (63)'],
    [{ threads: 2, maxThreads: 2 }, TypeError, 'ERR_INVALID_ARG_TYPE', '"threads" option must be left out when minThreads or maxThreads is given'],
    [{ threads: 1, minThreads: 1 }, TypeError, 'ERR_INVALID_ARG_TYPE', '"threads" option must be left out when minThreads or maxThreads is given'],
    [{ threads: 64, minThreads: 1, maxThreads: 64 }, TypeError, 'ERR_INVALID_ARG_TYPE', '"threads" option must be left out when minThreads or maxThreads is given'],
  ])('new Pool(%p) throws %p (%s) naming the option, and starts no worker', (options, ErrorClass, code, named) => {
    // Resources Node creates meanwhile: a worker, a message port, a timer would show here.
    const created = [];
    const hook = createHook({ init: (_, type) => created.push(type) }).enable();
    let thrown;
    try {
      pool(options);
    } catch (error) {
      thrown = error;
    } finally {
      hook.disable();
    }
    expect(thrown).toBeInstanceOf(ErrorClass);
    expect([thrown.code, thrown.message]).toEqual([code, expect.stringContaining(named)]);
    expect(pools).toHaveLength(0);
    expect(created.filter((type) => ['WORKER', 'MESSAGEPORT', 'Timeout'].includes(type))).toEqual([]);
  });

  test('refused run() calls in the middle of a stream of tasks: each task of the stream runs exactly once', async () => {
    const count = 400;
    const { pool: p, runs } = pool({}, count);
    const refused = [null, { name: 5 }, { signal: {} }, { transferList: 'buffer' }];
    const results = [];
    for (let x = 0; x < count; x++) {
      results.push(outcome(p.run({ i: x })));
      results.push(outcome(p.run({ i: x }, refused[x % refused.length])));
    }
    const settled = await within(Promise.all(results), 20000, 'the stream');
    const ran = settled.filter((_, i) => i % 2 === 0);
    const rejected = settled.filter((_, i) => i % 2 === 1);
    expect(ran.map((r) => r.value)).toEqual([...Array(count).keys()]);
    expect(rejected.every((r) => r.error instanceof TypeError && r.error.code === 'ERR_INVALID_ARG_TYPE')).toBe(true);
    expect([...runs]).toEqual(Array(count).fill(1));
    expect([p.queueSize, p.started, p.completed]).toEqual([0, count, count]);
  });

  test('a task name is looked up among the module\'s own exports only: inherited methods are not tasks', async () => {
    const p = new Pool({ filename: path.join(__dirname, 'fixtures', 'pool-attack-object-task.js'), threads: 1 });
    pools.push(p);
    expect(await p.run(21, { name: 'double' })).toBe(42);
    for (const name of ['toString', 'constructor', 'hasOwnProperty', 'valueOf', '__proto__']) {
      const error = await within(p.run(21, { name }), 5000, name).then(() => undefined, (e) => e);
      expect([name, error?.name, error?.message]).toEqual([name, 'TypeError', expect.stringContaining(`has no export named "${name}" that is a function`)]);
    }
  });
});

describe('what already holds (coverage)', () => {
  test('idleTimeout scales down between bursts and back up, and every task of every burst runs exactly once', async () => {
    const perBurst = 300;
    const bursts = 5;
    const { pool: p, runs } = pool({ threads: undefined, minThreads: 1, maxThreads: 2, idleTimeout: 20 }, perBurst * bursts);
    for (let burst = 0; burst < bursts; burst++) {
      const base = burst * perBurst;
      const results = await within(Promise.all(Array.from({ length: perBurst }, (_, k) => p.run({ i: base + k }))), 15000, `burst ${burst}`);
      expect(results).toEqual(Array.from({ length: perBurst }, (_, k) => base + k));
      const deadline = Date.now() + 5000;
      while (p.threads.length > 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(p.threads.length).toBe(1);
    }
    for (let i = 0; i < perBurst * bursts; i++) expect([i, Atomics.load(runs, i)]).toEqual([i, 1]);
  });

  test('idleTimeout 0 with bursts and pauses: never fewer than minThreads workers, and no task is left with none', async () => {
    const { pool: p } = pool({ threads: undefined, minThreads: 1, maxThreads: 2, idleTimeout: 0 });
    const deadline = Date.now() + 3000;
    for (let round = 0; round < 300 && Date.now() < deadline; round++) {
      const burst = round % 2 === 0 ? 3 : 1;
      const results = await within(Promise.all(Array.from({ length: burst }, (_, i) => p.run(i, { name: 'echo' }))), 3000, `round ${round}`);
      expect(results).toEqual([...results.keys()]);
      await new Promise((resolve) => setTimeout(resolve, 1));
      expect([round, p.threads.length >= 1]).toEqual([round, true]);
    }
  });

  test('transferList moves the buffer (detached here, whole there); a bad transferList rejects and leaks nothing', async () => {
    const { pool: p } = pool({ threads: 1 });
    const array = new Uint8Array(1 << 20).fill(9);
    array[array.length - 1] = 4;
    const moved = p.run(array, { name: 'bytes', transferList: [array.buffer] });
    expect(array.byteLength).toBe(0);
    expect(await within(moved, 5000, 'the transfer')).toEqual({ length: 1 << 20, first: 9, last: 4 });
    const twice = new Uint8Array(4);
    await expect(p.run(twice, { name: 'bytes', transferList: [twice.buffer, twice.buffer] })).rejects.toMatchObject({ name: 'DataCloneError' });
    await expect(p.run(twice, { name: 'bytes', transferList: [{}] })).rejects.toThrow(/invalid (object|value) in transferList/i); // Node 20-22 / 24+ wording
    expect(twice.byteLength).toBe(4); // nothing moved
    // Every id is still there.
    const again = await within(Promise.all(Array.from({ length: 600 }, (_, i) => p.run(i, { name: 'echo' }))), 10000, 'tasks after');
    expect(again).toEqual([...again.keys()]);
  });

  test('Symbol.asyncDispose finishes the tasks already submitted, then closes', async () => {
    const { pool: p, runs } = pool({ threads: 2 }, 300);
    const results = Array.from({ length: 300 }, (_, i) => p.run({ i }));
    await within(p[Symbol.asyncDispose](), 15000, 'asyncDispose');
    expect(await Promise.all(results)).toEqual([...results.keys()]);
    expect([...runs].every((ran) => ran === 1)).toBe(true);
    expect(p.threads).toEqual([]);
    await expect(p.run(1, { name: 'echo' })).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED' });
  });

  test('errors keep their realm-correct class, code, cause and own properties; other classes keep their name; non-errors come as thrown', async () => {
    const { pool: p } = pool({ threads: 1 });
    const typeError = await p.run(0, { name: 'throwTypeError' }).catch((e) => e);
    expect(typeError).toBeInstanceOf(TypeError);
    expect(typeError).toMatchObject({ message: 'bad type', code: 'E_TASK', extra: [1, 2], cause: { detail: 7 } });
    expect(typeError.stack).toContain('pool-attack-task.js');
    const custom = await p.run(0, { name: 'throwCustom' }).catch((e) => e);
    expect(custom).toBeInstanceOf(Error);
    expect(custom).toMatchObject({ name: 'CustomError', message: 'custom' });
    expect(await p.run(0, { name: 'throwString' }).catch((e) => e)).toBe('plain string');
  });
});

describe('everything at once', () => {
  const { prng } = require('./support/prng');

  test.each([1, 2, 3])('seed %i: crashes, aborts, maxQueue, sync and async tasks, slow payloads and a close(): exact accounting', async (seed) => {
    const random = prng(seed);
    const count = 2500;
    const { pool: p, runs } = pool({ threads: 3, maxQueue: 300, concurrentTasksPerWorker: 4 }, count);
    const kinds = [];
    const promises = [];
    for (let i = 0; i < count; i++) {
      const roll = random();
      const act = roll < 0.004 ? 'exit' : roll < 0.006 ? 'exit-later' : undefined;
      const controller = random() < 0.15 ? new AbortController() : undefined;
      // A string too long for the record sends the argument down the slow path.
      const arg = random() < 0.1 ? { i, act, pad: 'p'.repeat(600) } : { i, act };
      const name = random() < 0.5 ? 'countedAsync' : undefined;
      kinds.push({ act, aborted: controller !== undefined });
      promises.push(outcome(p.run(arg, { name, signal: controller?.signal })));
      if (controller) {
        const when = random();
        if (when < 0.3) controller.abort();
        else setTimeout(() => controller.abort(), Math.floor(when * 10));
      }
      if (random() < 0.02) await new Promise((resolve) => setTimeout(resolve, 1));
      else if (random() < 0.1) await new Promise(setImmediate);
    }
    const closed = within(p.close(), 30000, 'close()');
    const results = await within(Promise.all(promises), 30000, 'every task');
    await closed;
    const tally = { value: 0, full: 0, aborted: 0, died: 0 };
    for (let i = 0; i < count; i++) {
      const result = results[i];
      const ran = Atomics.load(runs, i);
      expect([i, ran <= 1]).toEqual([i, true]);
      if ('value' in result) {
        tally.value++;
        expect([i, result.value, ran]).toEqual([i, i, 1]);
      } else if (result.error.code === 'ERR_POOL_QUEUE_FULL') {
        tally.full++;
        expect([i, ran]).toEqual([i, 0]);
      } else if (result.error.name === 'AbortError') {
        tally.aborted++;
        expect([i, kinds[i].aborted]).toEqual([i, true]);
      } else {
        tally.died++;
        expect([i, result.error.code]).toEqual([i, 'ERR_POOL_WORKER_DIED']);
      }
    }
    expect(tally.value + tally.full + tally.aborted + tally.died).toBe(count);
    // A death takes at most the tasks its worker had started and not finished (4 at once here).
    let deaths = 0;
    for (let i = 0; i < count; i++) if (kinds[i].act !== undefined && Atomics.load(runs, i) === 1) deaths++;
    expect(tally.died).toBeLessThanOrEqual(4 * deaths);
    // Every task that called process.exit() in the task itself died, unless its signal aborted it
    // first (a running task rejects at once when aborted, so it may end either way).
    for (let i = 0; i < count; i++) {
      if (kinds[i].act !== 'exit' || Atomics.load(runs, i) !== 1) continue;
      const expected = kinds[i].aborted ? ['ERR_POOL_WORKER_DIED', 'ABORT_ERR'] : ['ERR_POOL_WORKER_DIED'];
      expect([i, expected.includes(results[i].error?.code)]).toEqual([i, true]);
    }
    // How many of each depends on this machine's speed; each outcome must occur.
    expect([tally.value > 0, tally.full > 0, tally.aborted > 0, tally.died > 0]).toEqual([true, true, true, true]);
    expect(p.threads).toEqual([]);
  });
});
