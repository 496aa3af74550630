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
// The developer's builds: the release addon and the test build (`npm run build` makes both).
const DEV_BINARIES = ['worker_waker.node', 'worker_waker_test.node'].map((file) => path.join(ROOT, 'build', 'Release', file));

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
  const saveDir = fs.mkdtempSync(path.join(os.tmpdir(), 'worker-waker-dev-'));
  const saved = DEV_BINARIES.filter((file) => fs.existsSync(file));
  for (const file of saved) fs.copyFileSync(file, path.join(saveDir, path.basename(file)));
  try {
    const bin = require.resolve('prebuildify/bin.js');
    const result = spawnSync(process.execPath, [bin, ...prebuildifyArgs(platform)], { cwd: ROOT, stdio: 'inherit' });
    if (result.error) throw result.error;
    return result.status ?? 1;
  } finally {
    for (const file of saved) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.copyFileSync(path.join(saveDir, path.basename(file)), file);
      console.log(`prebuildify.js: restored your own ${path.relative(ROOT, file)}`);
    }
    fs.rmSync(saveDir, { recursive: true, force: true });
  }
}

module.exports = { TARGET, prebuildifyArgs };

if (require.main === module) process.exitCode = main();
