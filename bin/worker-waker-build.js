#!/usr/bin/env node
'use strict';
// `npx worker-waker-build`: compiles worker-waker from source into this package's build/Release, for a
// system with no bundled prebuild (the loader's ERR_WORKER_WAKER_NO_BINARY names this command). Installing
// never compiles anything; this is the one way to build on a user's machine. Needs Python 3 and a C++17
// compiler, as node-gyp does.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const packageRoot = path.join(__dirname, '..');
// The tarball ships binding.gyp as native/binding.gyp: a binding.gyp at a package's root makes npm, pnpm
// and Yarn compile it at install time (or ask to). node-gyp reads it from the root only.
const gypFile = path.join(packageRoot, 'binding.gyp');
if (!fs.existsSync(gypFile)) fs.copyFileSync(path.join(packageRoot, 'native', 'binding.gyp'), gypFile);

/** node-gyp's command: npm's own copy when npm runs us (it says where), else node-gyp 12 through npx. */
function nodeGyp() {
  const bundled = process.env.npm_config_node_gyp;
  if (bundled) return { file: process.execPath, args: [bundled] };
  return { file: process.platform === 'win32' ? 'npx.cmd' : 'npx', args: ['--yes', 'node-gyp@12'] };
}

const { file, args } = nodeGyp();
console.log(`worker-waker-build: building in ${packageRoot}`);
const result = spawnSync(file, [...args, 'rebuild', '--release'], {
  cwd: packageRoot,
  stdio: 'inherit',
  shell: process.platform === 'win32',
});
if (result.error) throw result.error;
process.exitCode = result.status ?? 1;
