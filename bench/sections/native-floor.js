'use strict';
// The native floor of the blocking round trip: bench/native/pingpong.cc, compiled at run time
// with the system C++ compiler into the OS temp folder (cached by source hash), then run once
// per mode. Without a compiler the rows are skipped with a note.
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { row, skippedRow } = require('../util');

const SOURCE = path.join(__dirname, '..', 'native', 'pingpong.cc');
const MODES = [
  { mode: 'condvar', id: 'native-condvar', label: 'C++ mutex+condvar ping-pong (native floor)' },
  { mode: 'futex', id: 'native-futex', label: 'C++ futex ping-pong' },
  { mode: 'spin', id: 'native-spin', label: 'C++ spin (200 pauses), then futex' },
];

function findCompiler() {
  const candidates = [process.env.CXX, 'c++', 'g++', 'clang++'].filter(Boolean);
  for (const cxx of candidates) {
    const probe = spawnSync(cxx, ['--version'], { encoding: 'utf8' });
    if (probe.status === 0) return cxx;
  }
  return null;
}

/** Returns { binary } or { note } when the floor cannot be built here. */
function build() {
  if (process.platform === 'win32') return { note: 'the native floor builds with g++/clang++ only (not on Windows)' };
  const cxx = findCompiler();
  if (cxx === null) return { note: 'no C++ compiler found (tried $CXX, c++, g++, clang++)' };
  const source = fs.readFileSync(SOURCE);
  const hash = crypto.createHash('sha256').update(source).update(cxx).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), 'worker-waker-bench');
  const binary = path.join(dir, `pingpong-${hash}`);
  if (fs.existsSync(binary)) return { binary };
  fs.mkdirSync(dir, { recursive: true });
  const partial = `${binary}.${process.pid}.tmp`;
  const compile = spawnSync(cxx, ['-O2', '-std=c++17', '-pthread', SOURCE, '-o', partial], { encoding: 'utf8' });
  if (compile.status !== 0) {
    return { note: `${cxx} failed to compile bench/native/pingpong.cc: ${(compile.stderr || String(compile.error)).trim().split('\n')[0]}` };
  }
  fs.renameSync(partial, binary); // atomic: a concurrent run never executes a half-written file
  return { binary };
}

// cpus: [pingCpu, echoCpu] to pin the two threads, or null.
function nativeFloorRows(section, config, cpus) {
  const built = build();
  return MODES.map(({ mode, id, label }) => {
    if (built.note !== undefined) return skippedRow(section, id, label, 'us', built.note);
    const args = [mode, String(config.roundMs), String(config.rounds)];
    if (cpus !== null) args.push(cpus.join(','));
    const run = spawnSync(built.binary, args, {
      encoding: 'utf8',
      timeout: (config.rounds + 1) * config.roundMs * 20 + 20000,
    });
    if (run.status !== 0) {
      throw new Error(`native floor ${mode} failed (status ${run.status}, ${run.signal ?? 'no signal'}): ${run.stderr}`);
    }
    const result = JSON.parse(run.stdout);
    if (result.unsupported !== undefined) return skippedRow(section, id, label, 'us', result.unsupported);
    return row(section, id, label, 'us', result.roundTripNs.map((ns) => ns / 1000));
  });
}

module.exports = { nativeFloorRows };
