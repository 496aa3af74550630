#!/usr/bin/env node
'use strict';
// Release gate: prebuilds/ must hold exactly the binaries a release promises, each one built for the
// OS, CPU and libc its path names, the glibc ones within the glibc floor. The release workflow runs it
// before `npm pack`, and `npm publish` (prepublishOnly):
//   node scripts/check-prebuilds.js [prebuilds-dir]
// With --present (`npm pack`'s prepack) it checks only the binaries that are there, so a local pack of
// one prebuild passes, but never one that needs a newer glibc than the floor.
// It reads file bytes only, so it runs on any machine.
const fs = require('node:fs');
const path = require('node:path');

const { name } = require('../package.json');

/**
 * Path under prebuilds/ → what the file must be. The names are the ones scripts/prebuildify.js makes:
 * a libc tag on Linux only (node-gyp-build picks the file whose tag matches the running libc).
 */
const EXPECTED = {
  [`linux-x64/${name}.glibc.node`]: { format: 'elf', cpu: 'x64', libc: 'glibc' },
  [`linux-x64/${name}.musl.node`]: { format: 'elf', cpu: 'x64', libc: 'musl' },
  [`linux-arm64/${name}.glibc.node`]: { format: 'elf', cpu: 'arm64', libc: 'glibc' },
  [`linux-arm64/${name}.musl.node`]: { format: 'elf', cpu: 'arm64', libc: 'musl' },
  [`darwin-x64/${name}.node`]: { format: 'mach-o', cpu: 'x64' },
  [`darwin-arm64/${name}.node`]: { format: 'mach-o', cpu: 'arm64' },
  [`win32-x64/${name}.node`]: { format: 'pe', cpu: 'x64' },
  [`win32-arm64/${name}.node`]: { format: 'pe', cpu: 'arm64' },
};

// The newest symbol versions a glibc prebuild may need: glibc 2.31 and the libstdc++ of GCC 10 (GLIBCXX
// and CXXABI), as Debian 11 and Ubuntu 20.04 have them. Linux glibc prebuilds are built in Debian 11 to stay within them (scripts/bullseye.sh
// here, node:20-bullseye in the release workflow); a binary that needs more fails to load on older
// systems, which is what this catches.
const GLIBC_FLOOR = { GLIBC: [2, 31], GLIBCXX: [3, 4, 28], CXXABI: [1, 3, 12] };

const ELF_MACHINES = { 0x3e: 'x64', 0xb7: 'arm64' };
const MACHO_CPUS = { 0x01000007: 'x64', 0x0100000c: 'arm64' };
const PE_MACHINES = { 0x8664: 'x64', 0xaa64: 'arm64' };

/** Reads the format, CPU and (ELF) libc of a compiled module from its bytes. */
function identify(bytes) {
  if (bytes.length >= 20 && bytes.readUInt32BE(0) === 0x7f454c46) {
    // 64-bit little-endian ELF on every target here: e_machine is the u16 at offset 18. A musl
    // binary links libc.musl-<arch>.so.1, a glibc one libc.so.6 (names kept in .dynstr, even stripped).
    const libc = bytes.includes('libc.musl-') ? 'musl' : bytes.includes('libc.so.6') ? 'glibc' : 'unknown';
    return { format: 'elf', cpu: ELF_MACHINES[bytes.readUInt16LE(18)] ?? 'unknown', libc };
  }
  if (bytes.length >= 8 && bytes.readUInt32LE(0) === 0xfeedfacf) {
    return { format: 'mach-o', cpu: MACHO_CPUS[bytes.readUInt32LE(4)] ?? 'unknown' };
  }
  if (bytes.length >= 0x40 && bytes.toString('latin1', 0, 2) === 'MZ') {
    const pe = bytes.readUInt32LE(0x3c);
    if (pe + 6 <= bytes.length && bytes.readUInt32BE(pe) === 0x50450000) {
      return { format: 'pe', cpu: PE_MACHINES[bytes.readUInt16LE(pe + 4)] ?? 'unknown' };
    }
  }
  return { format: 'unknown', cpu: 'unknown' };
}

/** Symbol versions above GLIBC_FLOOR that an ELF binary asks for, e.g. ['GLIBC_2.34']. */
function versionsAboveFloor(bytes) {
  const text = bytes.toString('latin1');
  const above = new Set();
  for (const [lib, floor] of Object.entries(GLIBC_FLOOR)) {
    for (const [tag, version] of text.matchAll(new RegExp(`\\b${lib}_([0-9.]+)`, 'g'))) {
      if (compareVersions(version.split('.').map(Number), floor) > 0) above.add(tag);
    }
  }
  return [...above].sort();
}

function compareVersions(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function listFiles(dir, prefix = '') {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? listFiles(path.join(dir, entry.name), rel) : [rel];
  });
}

/**
 * Every way `dir` differs from a complete release: an empty list means it is one. With
 * `{ complete: false }`, a missing binary is no problem (a local pack of this machine's prebuild).
 */
function checkPrebuilds(dir, { complete = true } = {}) {
  const problems = [];
  const found = new Set(listFiles(dir));
  for (const [file, want] of Object.entries(EXPECTED)) {
    if (!found.has(file)) {
      if (complete) problems.push(`${file}: missing`);
      continue;
    }
    const bytes = fs.readFileSync(path.join(dir, file));
    const got = identify(bytes);
    for (const key of Object.keys(want)) {
      if (got[key] !== want[key]) problems.push(`${file}: ${key} is ${got[key]}, expected ${want[key]}`);
    }
    if (want.libc === 'glibc') {
      const above = versionsAboveFloor(bytes);
      if (above.length > 0) problems.push(`${file}: needs ${above.join(', ')}, newer than the supported floor`);
    }
  }
  for (const file of found) {
    if (!(file in EXPECTED)) problems.push(`${file}: not expected (the tarball would ship it)`);
  }
  return problems;
}

module.exports = { EXPECTED, GLIBC_FLOOR, identify, versionsAboveFloor, compareVersions, checkPrebuilds, listFiles };

if (require.main === module) {
  const complete = !process.argv.includes('--present');
  const [dirArg] = process.argv.slice(2).filter((arg) => arg !== '--present');
  const dir = path.resolve(dirArg ?? path.join(__dirname, '..', 'prebuilds'));
  const problems = checkPrebuilds(dir, { complete });
  if (problems.length > 0) {
    console.error(`${dir} is not ${complete ? 'a complete release' : 'fit to ship'}:\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  } else if (complete) {
    console.log(`${dir}: all ${Object.keys(EXPECTED).length} prebuilds present and built for their targets`);
  } // --present is quiet when all is well: `npm pack --json` prints its JSON on the same stdout
}
