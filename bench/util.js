'use strict';
// Small helpers shared by the benchmark sections.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const ROOT = path.join(__dirname, '..');

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** A measured row: `rounds` are the per-round values, `median` is what the table shows. */
function row(section, id, label, unit, rounds, extra = {}) {
  return { section, id, label, unit, median: median(rounds), rounds, ...extra };
}

/** A row that could not run here, with the reason. */
function skippedRow(section, id, label, unit, note) {
  return { section, id, label, unit, skipped: true, note };
}

/** Sets `ratio` on every measured row of `rows` to row.median / the baseline row's median. */
function addRatios(rows, baselineId) {
  const baseline = rows.find((r) => r.id === baselineId && !r.skipped);
  if (baseline === undefined) return;
  for (const r of rows) {
    if (r.skipped) continue;
    r.baseline = baselineId;
    r.ratio = r.median / baseline.median;
  }
}

/**
 * Starts workers and resolves with the last message of each once every one has exited;
 * `onMessage(index, message)` sees every message as it comes. Rejects, after terminating them
 * all, when one fails or when `deadlineMs` passes first: a bug must fail the run, not hang it.
 */
function runWorkers(specs, deadlineMs, what, onMessage = () => {}) {
  const workers = specs.map(({ file, workerData, transferList }) => new Worker(file, { workerData, transferList }));
  const messages = new Array(workers.length);
  return new Promise((resolve, reject) => {
    let pending = workers.length;
    let failed = false;
    const fail = (error) => {
      if (failed) return;
      failed = true;
      clearTimeout(timer);
      Promise.all(workers.map((w) => w.terminate())).finally(() => reject(error));
    };
    const timer = setTimeout(() => fail(new Error(`${what}: no result after ${deadlineMs} ms`)), deadlineMs);
    workers.forEach((worker, i) => {
      worker.on('message', (message) => {
        messages[i] = message;
        try {
          onMessage(i, message);
        } catch (error) {
          fail(error);
        }
      });
      worker.once('error', (error) => fail(new Error(`${what}: ${error.message}`, { cause: error })));
      worker.once('exit', (code) => {
        if (code !== 0) fail(new Error(`${what}: worker exited with code ${code}`));
        else if (--pending === 0 && !failed) {
          clearTimeout(timer);
          resolve(messages);
        }
      });
    });
  });
}

/** The calling thread's kernel thread id (Linux), or null. */
function threadId() {
  try {
    return Number(fs.readlinkSync('/proc/thread-self').split('/').pop()); // "<pid>/task/<tid>"
  } catch {
    return null;
  }
}

// ---- thread placement ---------------------------------------------------------------------
// Two threads that share a CPU hand over with a direct switch (~4 us on the 2-core VM); on two
// CPUs a wake-up crosses to the other CPU (~50 us there, when it sleeps). Left to the
// scheduler, a pair lands either way and a row swings 10x, so the round trips pin each thread
// (Linux, `taskset -p` on a thread id) and report which placement they measured.

function tasksetList(pid) {
  const out = spawnSync('taskset', ['-pc', String(pid)], { encoding: 'utf8' });
  if (out.status !== 0) return null;
  const list = /list:\s*(\S+)/.exec(out.stdout);
  return list === null ? null : list[1];
}

function expandCpuList(list) {
  const cpus = [];
  for (const part of list.split(',')) {
    const [lo, hi = lo] = part.split('-').map(Number);
    for (let cpu = lo; cpu <= hi; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** { cpus: [a, b] } (two CPUs this process may use) or { note } when threads cannot be pinned. */
function placement() {
  if (process.platform !== 'linux') return { note: 'threads are pinned on Linux only' };
  if (threadId() === null) return { note: '/proc/thread-self is missing' };
  const list = tasksetList(process.pid);
  if (list === null) return { note: 'taskset (util-linux) is not installed' };
  const cpus = expandCpuList(list);
  if (cpus.length < 2) return { note: `this process may use one CPU only (${list})` };
  // Setting the main thread's own CPU list again changes nothing and shows that pinning works
  // here (a sandbox may forbid sched_setaffinity).
  if (spawnSync('taskset', ['-pc', list, String(process.pid)]).status !== 0) {
    return { note: 'taskset may not change CPU affinity here' };
  }
  return { cpus: cpus.slice(0, 2), mainCpuList: list };
}

/** Pins thread `tid` (a pid for the main thread) to `cpus` (a taskset list such as "1" or "0-3"). */
function pin(tid, cpus) {
  const out = spawnSync('taskset', ['-pc', String(cpus), String(tid)], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`taskset could not pin thread ${tid} to ${cpus}: ${out.stderr.trim()}`);
}

/** Busy-polls `condition` (no system call, no lock); throws when it stays false for `deadlineMs`. */
function spinUntil(condition, deadlineMs, what) {
  const limit = performance.now() + deadlineMs;
  for (let i = 1; !condition(); i++) {
    if ((i & 1023) === 0 && performance.now() > limit) throw new Error(`${what}: still waiting after ${deadlineMs} ms`);
  }
}

module.exports = {
  ROOT, median, row, skippedRow, addRatios, runWorkers, threadId, placement, pin, spinUntil,
};
