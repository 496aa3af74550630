'use strict';
// Generates docs/api/ (Markdown) from the doc comments of lib/ with TypeDoc. TypeDoc needs the
// TypeScript 5 compiler API, which the project's TypeScript 7 lacks, so it runs from this folder
// with its own dependencies (installed here with `npm ci` on first use).
// `--check` generates into a scratch folder and exits 1 when docs/api/ differs from it.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const HERE = __dirname;
const ROOT = path.join(HERE, '..', '..');
const API = path.join(ROOT, 'docs', 'api');
const TYPEDOC = path.join(HERE, 'node_modules', 'typedoc', 'bin', 'typedoc');

function files(dir) {
  if (!fs.existsSync(dir)) return new Map();
  const found = new Map();
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath ?? entry.path, entry.name);
    found.set(path.relative(dir, full).split(path.sep).join('/'), fs.readFileSync(full, 'utf8'));
  }
  return found;
}

function generate(out) {
  if (!fs.existsSync(TYPEDOC)) {
    execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: HERE, stdio: 'inherit', shell: process.platform === 'win32' });
  }
  execFileSync(process.execPath, [TYPEDOC, '--options', path.join(HERE, 'typedoc.json'), '--out', out, '--logLevel', 'Warn'], {
    cwd: HERE,
    stdio: 'inherit',
  });
}

if (process.argv.includes('--check')) {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'worker-waker-api-'));
  try {
    generate(scratch);
    const fresh = files(scratch);
    const committed = files(API);
    const stale = [...new Set([...fresh.keys(), ...committed.keys()])].filter((f) => fresh.get(f) !== committed.get(f));
    if (stale.length > 0) {
      console.error(`docs/api is stale (${stale.sort().join(', ')}): run \`npm run docs:api\` and commit the result`);
      process.exitCode = 1;
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
} else {
  generate(API);
}
