'use strict';
// The addon's shape: the typed view (lib/binding.ts for the release build: the exports of the API
// table's methods, typed from the methods, and an interface for the rest;
// test/support/test-addon.d.ts for the test build's extra exports), what each compiled .node
// exports at run time, what lib/ uses and what the API table (lib/surface.ts) names must agree.
// The interfaces are read from the source and the derived names from the compiler, so a
// declaration nobody exports, or an export nobody declares, fails here.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { SURFACE } = require('../dist/surface');

const LIB = path.join(__dirname, '..', 'lib');
// The same .node the package loads (build/Release, or a prebuild under PREBUILDS_ONLY=1).
const binding = require('node-gyp-build')(path.join(__dirname, '..'));
// The test build (npm run build makes both), loaded directly: a second copy of the addon.
const testBinding = require('../build/Release/worker_waker_test.node');
const BINDING_TS = path.join(LIB, 'binding.ts');
const TEST_ADDON_TS = path.join(__dirname, 'support', 'test-addon.d.ts');

/** The members of `export interface name { ... }` in `file`: { name: 'function' | 'value' }. */
function declaredMembers(name, file = BINDING_TS) {
  const match = new RegExp(`export interface ${name} (?:extends \\w+ )?\\{\\n([\\s\\S]*?)\\n\\}`).exec(fs.readFileSync(file, 'utf8'));
  if (match === null) throw new Error(`${file} declares no interface ${name}`);
  const members = {};
  // Members sit two spaces in; deeper lines are doc comments or continued signatures.
  for (const [, member, punctuation] of match[1].matchAll(/^ {2}(?:readonly )?(\w+)([(:])/gm)) {
    members[member] = punctuation === '(' ? 'function' : 'value';
  }
  return members;
}

/** Every `.ts`/`.mts` file under lib/, recursively. */
function libSources(dir = LIB) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return libSources(full);
    return /\.m?ts$/.test(entry.name) ? [full] : [];
  });
}

// The methods whose export lib/binding.ts types from the method (MethodExportName): the table's
// methods with an export of their own name that lib/ calls.
const METHOD_EXPORTS = SURFACE.WorkerWaker.filter(
  (member) => member.kind === 'method' && member.native === member.name && member.fastPath !== 'always',
).map((member) => member.name);
const releaseDeclared = () => ({
  ...Object.fromEntries(METHOD_EXPORTS.map((name) => [name, 'function'])),
  ...declaredMembers('NativeBinding'),
});

const runtimeShape = (object) =>
  Object.fromEntries(Object.keys(object).map((key) => [key, typeof object[key] === 'function' ? 'function' : 'value']));

test('every runtime export of the addon is declared in lib/binding.ts, as a function or a value, and vice versa', () => {
  expect(METHOD_EXPORTS.length).toBeGreaterThan(10);
  expect(runtimeShape(binding)).toEqual(releaseDeclared());
});

test('the compiler derives exactly those method exports from the table (MethodExportName)', () => {
  // A record keyed by the derived union must have every one of these keys and no other (a
  // missing key and an excess property are both type errors).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'worker-waker-binding-shape-'));
  try {
    const probe = path.join(dir, 'probe.ts');
    const lib = path.relative(dir, path.join(LIB, 'binding')).split(path.sep).join('/');
    fs.writeFileSync(
      probe,
      `import type { MethodExportName } from '${lib}';\n` +
        `export const names: Record<MethodExportName, true> = { ${METHOD_EXPORTS.map((name) => `${name}: true`).join(', ')} };\n`,
    );
    const compilerOptions = { noEmit: true, strict: true, module: 'nodenext', target: 'es2022', types: ['node'], typeRoots: [path.join(__dirname, '..', 'node_modules', '@types')] };
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['probe.ts'] }));
    const args = [path.join(__dirname, '..', 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir];
    let output = '';
    try {
      execFileSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });
    } catch (error) {
      output = `${error.stdout}${error.stderr}`;
    }
    expect(output).toBe('');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

test('the test build exports the release exports plus exactly those test/support/test-addon.d.ts declares', () => {
  const testOnly = declaredMembers('NativeTestExports', TEST_ADDON_TS);
  expect(Object.keys(testOnly).length).toBeGreaterThan(10);
  // None of them is in the release build, and the release declares none of them.
  expect(Object.keys(testOnly).filter((name) => name in binding || name in releaseDeclared())).toEqual([]);
  expect(runtimeShape(testBinding)).toEqual({ ...releaseDeclared(), ...testOnly });
  expect(runtimeShape(testBinding.layout)).toEqual(declaredMembers('NativeLayout'));
});

test('the layout object has exactly the fields NativeLayout declares', () => {
  expect(runtimeShape(binding.layout)).toEqual(declaredMembers('NativeLayout'));
});

test('the layout states the status word and the permit cap as the contract does', () => {
  const { layout } = binding;
  expect({ summaryBits: layout.summaryBits, partitionBit: layout.partitionBit, yieldBit: layout.yieldBit, maxPermits: layout.maxPermits }).toEqual({
    summaryBits: 62,
    partitionBit: 62,
    yieldBit: 63,
    maxPermits: 2 ** 31 - 1,
  });
  // The two 32-bit cells are halves of one 64-bit word of the state, inside it.
  for (const cell of [layout.permitsCell, layout.queuedCell]) expect(cell).toBeLessThan(layout.stateWords * 2);
  expect(layout.stateBytes).toBe(layout.stateWords * 8);
});

test('every export lib/ uses exists, and every layout field it reads', () => {
  const used = new Set();
  const usedLayout = new Set();
  for (const file of libSources()) {
    if (path.basename(file) === 'binding.ts') continue;
    const source = fs.readFileSync(file, 'utf8');
    for (const [, name] of source.matchAll(/\bnative\.(\w+)/g)) used.add(name);
    for (const [, name] of source.matchAll(/\bnative\.layout\.(\w+)/g)) usedLayout.add(name);
    // `const { layout } = native;` then `layout.x` (other layouts, such as the pool's, are not the addon's).
    if (/const \{ layout \} = native;/.test(source)) {
      for (const [, name] of source.matchAll(/\blayout\.(\w+)/g)) usedLayout.add(name);
    }
  }
  expect(used.size).toBeGreaterThan(10);
  expect(usedLayout.size).toBeGreaterThan(8);
  expect([...used].filter((name) => !(name in binding))).toEqual([]);
  expect([...usedLayout].filter((name) => !(name in binding.layout))).toEqual([]);
});

test('every native export the API table names exists in the test build and is a function', () => {
  // The table names the C++ core's counterpart of each method; those lib/ does not call (its JS fast
  // paths do the work) are in the test build only, for test/core-vs-fast-paths.test.js.
  const named = Object.values(SURFACE).flatMap((members) => members.filter((member) => member.native).map((member) => member.native));
  expect(named.length).toBeGreaterThan(20);
  expect(named.filter((name) => typeof testBinding[name] !== 'function')).toEqual([]);
});
