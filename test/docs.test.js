'use strict';
// Docs that run: every JS/TS example of README.md, docs/ and the @example blocks of lib/ is written
// into a scratch folder and run with node as a user would paste it, against the built package placed
// in that folder's node_modules the way `npm install` lays it out (package.json, dist/ and the addon).
// Each example must exit 0 within EXAMPLE_TIMEOUT_MS. TypeScript examples are compiled first with the
// repository's tsc. The conventions (file-name comments, not-run markers) are in docs/contributing.md.
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');

const { collect, examplesOf, markdownBlocks, markdownFiles, tsdocBlocks } = require('./support/doc-examples');

const ROOT = path.join(__dirname, '..');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const EXAMPLE_TIMEOUT_MS = 10_000;
// The blocks marked `<!-- not-run: reason -->`. Change this number only together with a marker: a
// block that stops running must be noticed, not silently listed.
const EXPECTED_NOT_RUN = 0;

const run = promisify(execFile);
// Children see a user's environment: none of the npm_* variables of the `npm test` running us.
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('npm_')));
delete env.NODE_OPTIONS;
delete env.WORKER_WAKER_TEST_BUILD; // the release addon, as a user has it

const { examples, skipped } = collect();
let scratch;

/** Lays the built package out as `npm install worker-waker` would, with its dependencies linked. */
function installPackage(dir) {
  const pkg = require('../package.json');
  const target = path.join(dir, 'node_modules', pkg.name);
  fs.mkdirSync(path.join(target, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(target, 'package.json'));
  // dist/ with its subfolders (dist/pool is `worker-waker/pool`), the files the package ships.
  fs.cpSync(path.join(ROOT, 'dist'), path.join(target, 'dist'), {
    recursive: true,
    filter: (source) => fs.statSync(source).isDirectory() || /\.(js|mjs|d\.ts|d\.mts)$/.test(source),
  });
  const addon = path.join(ROOT, 'build', 'Release', 'worker_waker.node');
  if (fs.existsSync(addon)) {
    fs.mkdirSync(path.join(target, 'build', 'Release'), { recursive: true });
    fs.copyFileSync(addon, path.join(target, 'build', 'Release', 'worker_waker.node'));
  } else {
    fs.cpSync(path.join(ROOT, 'prebuilds'), path.join(target, 'prebuilds'), { recursive: true });
  }
  for (const dep of [...Object.keys(pkg.dependencies), '@types/node']) {
    const link = path.join(dir, 'node_modules', dep);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules', dep), link, 'junction');
  }
}

beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'worker-waker-docs-'));
  installPackage(scratch);
});

afterAll(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

test('the documentation has examples, and the not-run list has the expected length', () => {
  expect(examples.length).toBeGreaterThan(0);
  expect(skipped.map((s) => `${s.source}:${s.line} (${s.heading}): ${s.reason}`)).toHaveLength(EXPECTED_NOT_RUN);
});

test('the conventions: named blocks under one heading form one example, markers skip, other languages are ignored', () => {
  const fence = '```';
  const doc = [
    '# One', `${fence}js`, '// main.js', 'require("./worker.js");', fence, 'text', `${fence}js`, '// worker.js', '1;', fence,
    '# Two', `${fence}js`, '// main.js', '2;', fence, `${fence}sh`, 'npm test', fence,
    '<!-- not-run: a fragment -->', '', `${fence}ts`, 'fragment(', fence, `${fence}mjs`, 'await 3;', fence,
  ].join('\n');
  const { examples: found, skipped: notRun } = examplesOf('doc.md', markdownBlocks(doc));
  expect(found.map((e) => [e.heading, e.entry, Object.keys(e.files)])).toEqual([
    ['One', 'main.js', ['main.js', 'worker.js']],
    ['Two', 'main.js', ['main.js']],
    ['Two', 'main.mjs', ['main.mjs']],
  ]);
  expect(notRun).toEqual([{ source: 'doc.md', line: 21, heading: 'Two', reason: 'a fragment' }]);
  const comment = ['/**', ' * Does a thing.', ' * @example', ' * ```js', ' * thing();', ' * ```', ' */', '  thing(): void {'].join('\n');
  expect(tsdocBlocks(comment)).toEqual([{ lang: 'js', code: 'thing();', line: 4, heading: 'thing', notRun: undefined }]);
});

/** GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to dashes. */
const anchorOf = (heading) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');

test('every relative link of README.md and docs/ points to a file of the repository, and to a heading that exists', () => {
  const broken = [];
  for (const file of [...markdownFiles(), ...fs.readdirSync(path.join(ROOT, 'docs', 'api'), { recursive: true })
    .filter((f) => f.endsWith('.md')).map((f) => `docs/api/${f.split(path.sep).join('/')}`)]) {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8').replace(/^(```|~~~)[\s\S]*?^\1/gm, '');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
      const [pathPart, anchor] = target.split('#');
      const resolved = pathPart === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), pathPart));
      if (resolved.startsWith('..')) {
        broken.push(`${file}: ${target} leaves the repository`);
      } else if (!fs.existsSync(path.join(ROOT, resolved))) {
        broken.push(`${file}: ${target} does not exist`);
      } else if (anchor !== undefined && resolved.endsWith('.md')) {
        const headings = fs.readFileSync(path.join(ROOT, resolved), 'utf8').match(/^#{1,6} .*$/gm) ?? [];
        if (!headings.some((h) => anchorOf(h.replace(/^#+ /, '')) === anchor)) broken.push(`${file}: ${target} names no heading`);
      }
    }
  }
  expect(broken).toEqual([]);
});

test('the API reference has an example for every class, interface and constant, and for every member of them', () => {
  // docs/api/ is generated from lib/ (npm run docs:check keeps it current), so its pages list exactly
  // the public surface. AbortError's members (its constructor and `code`) are shown by its class example.
  // One folder per module (worker-waker, worker-waker/pool), each with classes/ and interfaces/.
  const api = path.join(ROOT, 'docs', 'api');
  const pages = fs.readdirSync(api, { recursive: true }).map((f) => f.split(path.sep).join('/'))
    .filter((f) => /(^|\/)(classes|interfaces|variables)\/[^/]+\.md$/.test(f));
  expect(pages).toEqual(expect.arrayContaining(['worker-waker/classes/WorkerWaker.md', 'worker-waker/pool/classes/Pool.md', 'worker-waker/pool/interfaces/PoolOptions.md']));
  const missing = [];
  for (const page of pages) {
    const [head, ...members] = fs.readFileSync(path.join(api, page), 'utf8').split(/^### /m);
    if (!/^## Example$/m.test(head)) missing.push(page);
    if (page === 'worker-waker/classes/AbortError.md') continue;
    for (const member of members) if (!/^#{4,6} Example$/m.test(member)) missing.push(`${page}: ${member.split('\n')[0]}`);
  }
  expect(missing).toEqual([]);
});

describe.each(examples.map((e) => [`${e.source}:${e.line} (${e.heading}) ${e.entry}`, e]))('%s', (_name, example) => {
  test('runs and exits 0', async () => {
    const dir = path.join(scratch, 'examples', `${example.source.replace(/\W/g, '_')}_${example.line}`);
    fs.mkdirSync(dir, { recursive: true });
    for (const [name, code] of Object.entries(example.files)) fs.writeFileSync(path.join(dir, name), code);
    let entry = example.entry;
    if (Object.keys(example.files).some((name) => name.endsWith('.ts'))) {
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: {
          target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, types: ['node'], skipLibCheck: false,
        },
        include: ['*.ts'],
      }));
      await run(process.execPath, [TSC, '-p', dir], { cwd: dir, env, timeout: EXAMPLE_TIMEOUT_MS }).catch((error) => {
        throw new Error(`tsc failed:\n${error.stdout}${error.stderr}`);
      });
      entry = entry.replace(/\.ts$/, '.js');
    }
    // Run from another directory: an example must find its own files wherever the user starts it.
    await run(process.execPath, [path.join(dir, entry)], { cwd: scratch, env, timeout: EXAMPLE_TIMEOUT_MS, killSignal: 'SIGKILL' }).catch((error) => {
      const why = error.killed ? `did not exit within ${EXAMPLE_TIMEOUT_MS} ms` : `exit code ${error.code}, signal ${error.signal}`;
      throw new Error(`${why}\n--- stdout\n${error.stdout}\n--- stderr\n${error.stderr}`);
    });
  });
});
