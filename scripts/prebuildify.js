#!/usr/bin/env node
'use strict';
// `npm run prebuildify`: builds this machine's prebuild into prebuilds/<platform>-<arch>/ with prebuildify.
// Run it through npm: npm's config (nodedir) is what lets node-gyp build offline here.
//
// prebuildify's --tag-libc tags every platform, macOS and Windows included (worker-waker.glibc.node),
// so it is passed on Linux only, the one OS where two libcs share a platform-arch folder. Elsewhere
// the file is plain worker-waker.node, the name scripts/check-prebuilds.js expects; node-gyp-build loads
// both forms. PREBUILD_PLATFORM (which prebuildify honours too) overrides the OS, for tests.
//
// On a Linux host whose glibc is newer than the floor scripts/check-prebuilds.js enforces (2.31), the
// build runs in a Debian 11 root instead (scripts/bullseye.sh), so the prebuild loads on the oldest
// supported systems. PREBUILD_ARCH=arm64 cross-compiles there.
//
// prebuildify moves the fresh build out of build/Release; the developer's own build/Release binary (if
// any) is put back afterwards, so the dev tree keeps loading it and not the stripped prebuild.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const DEV_BINARY = path.join(ROOT, 'build', 'Release', 'worker_waker.node');

// Build against Node 20.0.0's headers and build settings (common.gypi), the oldest Node that
// `engines` allows. A Node-API binary runs on every later Node; without --target, prebuildify picks
// the newest Node its node-abi copy knows, so the same commit would build differently after an update.
const TARGET = 'node@20.0.0';

/** prebuildify's arguments for a build on (or, with PREBUILD_PLATFORM, named for) `platform`. */
function prebuildifyArgs(platform) {
  const args = ['--napi', '--strip', `--target=${TARGET}`];
  if (platform === 'linux') args.push('--tag-libc');
  return args;
}

/** True when this Linux host's glibc is newer than the floor: its own build would not load there. */
function hostAboveGlibcFloor() {
  const { GLIBC_FLOOR, compareVersions } = require('./check-prebuilds');
  const glibc = process.report.getReport().header.glibcVersionRuntime;
  return Boolean(glibc) && compareVersions(glibc.split('.').map(Number), GLIBC_FLOOR.GLIBC) > 0;
}

function main() {
  const platform = process.env.PREBUILD_PLATFORM || process.platform;
  if (!process.env.PREBUILD_PLATFORM && platform === 'linux' && hostAboveGlibcFloor()) {
    const arch = process.env.PREBUILD_ARCH || process.arch;
    const result = spawnSync('bash', [path.join(__dirname, 'bullseye.sh'), 'prebuild', arch], { cwd: ROOT, stdio: 'inherit' });
    if (result.error) throw result.error;
    return result.status ?? 1;
  }
  let saved = null;
  if (fs.existsSync(DEV_BINARY)) {
    saved = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'worker-waker-dev-')), 'worker_waker.node');
    fs.copyFileSync(DEV_BINARY, saved);
  }
  try {
    const bin = require.resolve('prebuildify/bin.js');
    const result = spawnSync(process.execPath, [bin, ...prebuildifyArgs(platform)], { cwd: ROOT, stdio: 'inherit' });
    if (result.error) throw result.error;
    return result.status ?? 1;
  } finally {
    if (saved) {
      fs.mkdirSync(path.dirname(DEV_BINARY), { recursive: true });
      fs.copyFileSync(saved, DEV_BINARY);
      fs.rmSync(path.dirname(saved), { recursive: true, force: true });
      console.log(`prebuildify.js: restored your own ${path.relative(ROOT, DEV_BINARY)}`);
    }
  }
}

module.exports = { TARGET, prebuildifyArgs };

if (require.main === module) process.exitCode = main();
