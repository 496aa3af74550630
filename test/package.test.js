'use strict';
// Packaging: what `npm install worker-waker` gives a user. Packs the package, installs the tarball into
// an empty project with npm's defaults (install scripts allowed), checks that nothing compiled and that
// npm had nothing to approve, then uses it with PREBUILDS_ONLY=1 from the main thread, a Worker, ES
// modules and TypeScript; then builds from source with `npx worker-waker-build`, the one way to compile.
// Also checks the release tools: scripts/check-prebuilds.js and the prebuild names scripts/prebuildify.js
// gives each target. (scripts/platforms.js runs pnpm, Yarn, Bun, Deno and the other Nodes.)
//
// The tree is packed from a scratch copy, so this file never touches the shared build/, dist/ or
// prebuilds/. Prebuilds are not committed: the copy builds a fresh one for this machine with
// `npm run prebuildify` (on Linux, in the cached Debian 11 root of scripts/bullseye.sh: the first run
// makes it, about a minute), unless PREBUILDS_ONLY is set in the environment, as the release workflow
// does to test the prebuilds it already built.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {
  EXPECTED,
  GLIBC_FLOOR,
  identify,
  versionsAboveFloor,
  checkPrebuilds,
  listFiles,
} = require('../scripts/check-prebuilds');
const { version } = require('../package.json');

const ROOT = path.join(__dirname, '..');
const FIXTURE = path.join(__dirname, 'fixtures', 'consumer');
const NAME = require('../package.json').name;
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const testPrebuiltOnly = Boolean(process.env.PREBUILDS_ONLY);

// Children see a user's environment: none of the npm_* variables of the `npm test` running us.
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('npm_')));
delete baseEnv.PREBUILDS_ONLY;
delete baseEnv.LIBC; // node-gyp-build's libc override: tests that need it set it
delete baseEnv.WORKER_WAKER_TEST_BUILD; // a user's package has the release addon only

/** Runs a command to completion (bounded) and returns its stdout; a failure shows its output. */
function run(file, args, { cwd, env = {}, timeout = 120_000 }) {
  return execFileSync(file, args, {
    cwd,
    env: { ...baseEnv, ...env },
    timeout,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    shell: process.platform === 'win32' && file === 'npm', // npm is npm.cmd there
    maxBuffer: 64 * 1024 * 1024,
  });
}
const npm = (args, options) => run('npm', args, options);
const node = (args, options) => run(process.execPath, args, options);
const lastJsonLine = (stdout) => JSON.parse(stdout.trim().split('\n').pop());

/** The prebuild this machine loads, as prebuildify names it. */
const HOST_PREBUILD = (() => {
  // Asked of a fresh process: getReport() waits for every worker thread of this one to answer, and
  // Jest runs other test files in this process first (one of their workers may still be stopping).
  const glibc = process.platform === 'linux' &&
    execFileSync(process.execPath, ['-p', 'process.report.getReport().header.glibcVersionRuntime ?? ""'], { encoding: 'utf8' }).trim();
  const libc = process.platform !== 'linux' ? '' : glibc ? '.glibc' : '.musl';
  return `prebuilds/${process.platform}-${process.arch}/${NAME}${libc}.node`;
})();

// The test build's extra exports, as test/support/test-addon.d.ts declares them.
const TEST_ONLY = [...fs.readFileSync(path.join(__dirname, 'support', 'test-addon.d.ts'), 'utf8').matchAll(/^ {2}(\w+)\(/gm)].map((m) => m[1]);

/** The test-only names that the .node at `file` exports (loaded in a fresh process: this one may hold it already). */
function testOnlyExports(file) {
  const script = 'const addon = { exports: {} }; process.dlopen(addon, process.argv[1]); console.log(JSON.stringify(Object.keys(addon.exports)));';
  const names = JSON.parse(execFileSync(process.execPath, ['-e', script, file], { encoding: 'utf8', timeout: 30_000 }));
  return TEST_ONLY.filter((name) => names.includes(name));
}

test('the release build in build/Release exports none of the test build\'s diagnostics; the test build has them all', () => {
  expect(TEST_ONLY.length).toBeGreaterThan(10);
  expect(testOnlyExports(path.join(ROOT, 'build', 'Release', 'worker_waker.node'))).toEqual([]);
  expect(testOnlyExports(path.join(ROOT, 'build', 'Release', 'worker_waker_test.node'))).toEqual(TEST_ONLY);
});

test('the test build is the release build plus one source: every shared source compiles to the same object', () => {
  // node-gyp's make build (Linux, macOS) keeps each target's objects under obj.target/<target>/.
  // The same bytes mean the same code: the suites that run on the test build run the release code.
  const objects = (target) => listFiles(path.join(ROOT, 'build', 'Release', 'obj.target', target)).filter((file) => file.endsWith('.o')).sort();
  const release = objects('worker_waker');
  const testBuild = objects('worker_waker_test');
  const gyp = fs.readFileSync(path.join(ROOT, 'binding.gyp'), 'utf8');
  const releaseSources = [...gyp.slice(gyp.indexOf('"target_defaults"'), gyp.indexOf('"dependencies"')).matchAll(/"(native\/[\w./-]+)\.cc"/g)].map((m) => `${m[1]}.o`);
  expect(release).toEqual([...releaseSources].sort());
  expect(testBuild).toEqual([...release, 'native/node/test_exports.o'].sort());
  const differing = release.filter((file) => {
    const read = (target) => fs.readFileSync(path.join(ROOT, 'build', 'Release', 'obj.target', target, file));
    return !read('worker_waker').equals(read('worker_waker_test'));
  });
  expect(differing).toEqual([]);
});

describe('the published package', () => {
  let tmp;
  let stage;
  let consumer;
  let installed;
  let packedFiles;
  let installOutput;

  beforeAll(() => {
    if (testPrebuiltOnly && !fs.existsSync(path.join(ROOT, HOST_PREBUILD))) {
      throw new Error(`PREBUILDS_ONLY is set but ${HOST_PREBUILD} is missing: run \`npm run prebuildify\` first`);
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'worker-waker-package-'));

    // A scratch copy of the working tree, without anything built or generated.
    stage = path.join(tmp, 'stage');
    const skip = new Set(['.git', 'node_modules', 'build', 'dist', '.dev', ...(testPrebuiltOnly ? [] : ['prebuilds'])]);
    fs.cpSync(ROOT, stage, {
      recursive: true,
      filter: (src) => {
        const parts = path.relative(ROOT, src).split(path.sep);
        return !skip.has(parts[0]) && !parts.includes('node_modules') && !src.endsWith('.tgz'); // tools/*/node_modules too
      },
    });
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(stage, 'node_modules'), 'junction');
    if (!testPrebuiltOnly) {
      // The Debian 11 root is cached in this tree's .dev/, shared with the copy.
      npm(['run', 'prebuildify'], { cwd: stage, env: { WORKER_WAKER_CACHE: path.join(ROOT, '.dev') }, timeout: 540_000 });
    }

    // `npm pack` runs `prepack` (tsc, check-prebuilds --present) in the copy, as `npm publish` would.
    const [pack] = JSON.parse(npm(['pack', '--json', '--pack-destination', tmp], { cwd: stage }));
    packedFiles = pack.files.map((file) => file.path);

    consumer = path.join(tmp, 'consumer');
    fs.cpSync(FIXTURE, consumer, { recursive: true });
    // npm's defaults: install scripts allowed; --foreground-scripts would show any script's output.
    installOutput = npm(
      ['install', '--foreground-scripts', '--prefer-offline', '--no-audit', '--no-fund', path.join(tmp, pack.filename)],
      { cwd: consumer },
    );
    installed = path.join(consumer, 'node_modules', NAME);
    // The type check needs Node's types, as any TypeScript project using worker_threads has them.
    fs.mkdirSync(path.join(consumer, 'node_modules', '@types'), { recursive: true });
    fs.symlinkSync(
      path.join(ROOT, 'node_modules', '@types', 'node'),
      path.join(consumer, 'node_modules', '@types', 'node'),
      'junction',
    );
  }, 600_000);

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('ships exactly the runtime, the types, the sources to build from and the prebuilds', () => {
    // The allowed set is derived from the tree (each lib/ module compiles to a .js and a .d.ts, every
    // native source ships), so anything else in the tarball fails here: tests, TS sources, maps, configs.
    const dist = fs.readdirSync(path.join(ROOT, 'lib'), { recursive: true }).flatMap((file) => {
      const source = /^(.+)\.(m?)ts$/.exec(file.split(path.sep).join('/'));
      if (!source || file.endsWith('.d.ts') || file.endsWith('.d.mts')) return [];
      const [, base, m] = source;
      return [`dist/${base}.${m}js`, `dist/${base}.d.${m}ts`];
    });
    const native = fs
      .readdirSync(path.join(ROOT, 'native'), { recursive: true })
      .map((file) => file.split(path.sep).join('/'))
      .filter((file) => /\.(cc|h)$/.test(file))
      .map((file) => `native/${file}`);
    const prebuilds = testPrebuiltOnly
      ? listFiles(path.join(ROOT, 'prebuilds')).map((file) => `prebuilds/${file}`)
      : [HOST_PREBUILD];
    // No binding.gyp at the root: npm, pnpm and Yarn would compile it (or ask to) at install time. It
    // ships as native/binding.gyp for `npx worker-waker-build`.
    const topLevel = ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'native/binding.gyp', 'bin/worker-waker-build.js'];
    expect([...packedFiles].sort()).toEqual([...topLevel, ...dist, ...native, ...prebuilds].sort());
    expect(packedFiles).toContain(HOST_PREBUILD);
    expect(dist).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'dist/index.mjs', 'dist/index.d.mts']));
    expect(dist).toEqual(expect.arrayContaining(['dist/pool/index.js', 'dist/pool/index.d.mts', 'dist/pool/worker.js']));
    // Everything gyp compiles must ship, or building from source fails for users.
    const gyp = fs.readFileSync(path.join(ROOT, 'binding.gyp'), 'utf8');
    for (const source of gyp.match(/native\/[\w./-]+\.cc/g)) expect(packedFiles).toContain(source);
  });

  test('the prebuild in the tarball exports none of the test build\'s diagnostics', () => {
    expect(testOnlyExports(path.join(installed, HOST_PREBUILD))).toEqual([]);
  });

  test('the shipped JavaScript points to no source map (neither the maps nor lib/ ship)', () => {
    const scripts = packedFiles.filter((file) => /\.m?js$/.test(file));
    expect(scripts.length).toBeGreaterThan(0);
    const withComment = scripts.filter((file) =>
      fs.readFileSync(path.join(installed, file), 'utf8').includes('sourceMappingURL'),
    );
    expect(withComment).toEqual([]);
  });

  test('npm publish refuses a tree without all eight prebuilds (prepublishOnly)', () => {
    // The dry run stops at prepublishOnly; the registry is unreachable in case it ever got further.
    let failure;
    try {
      npm(['publish', '--dry-run', '--registry=http://127.0.0.1:9/', '--fetch-retries=0'], { cwd: stage, timeout: 30_000 });
    } catch (err) {
      failure = err;
    }
    expect(failure).toBeDefined();
    expect(failure.stderr).toContain('is not a complete release');
    expect(failure.stderr).toMatch(/darwin-arm64\/worker-waker\.node: missing/);
  }, 60_000);

  test('installs with npm defaults without running or asking to approve anything, and compiles nothing', () => {
    // npm 11 lists packages with install scripts (allowScripts) and prints a banner for each it runs.
    expect(installOutput).not.toMatch(/install-scripts|allowScripts|gyp info|> worker-waker@/);
    expect(fs.existsSync(path.join(installed, 'build'))).toBe(false);
    const manifest = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) expect(manifest.scripts?.[hook]).toBeUndefined();
    expect(manifest.gypfile).toBe(false);
    expect(fs.existsSync(path.join(installed, 'binding.gyp'))).toBe(false);
  });

  test('runs on the prebuild in the main thread and a Worker', () => {
    const result = lastJsonLine(
      node([path.join(consumer, 'main.cjs')], { cwd: consumer, env: { PREBUILDS_ONLY: '1' }, timeout: 30_000 }),
    );
    expect(result).toEqual({
      exitCode: 0,
      permitsAfterWorker: 1, // 2 released - 2 taken by the worker + 1 for bit 7's 0→1 edge
      woken: true,
      permitsLeft: 0,
      summary: String(1n << 7n),
      binary: path.join(...HOST_PREBUILD.split('/')),
    });
  });

  test('the shipped prebuilds are within the glibc floor (Linux: built in Debian 11)', () => {
    expect(checkPrebuilds(path.join(installed, 'prebuilds'), { complete: false })).toEqual([]);
  });

  test('the prebuild is a binary for this OS, CPU and libc (as scripts/check-prebuilds.js reads it)', () => {
    const got = identify(fs.readFileSync(path.join(installed, HOST_PREBUILD)));
    const format = { linux: 'elf', darwin: 'mach-o', win32: 'pe' }[process.platform];
    expect(got).toMatchObject({ format, cpu: process.arch });
    if (process.platform === 'linux') expect(got.libc).toBe(HOST_PREBUILD.includes('.musl.') ? 'musl' : 'glibc');
  });

  test('import and require give the same class', () => {
    const result = lastJsonLine(
      node([path.join(consumer, 'esm.mjs')], { cwd: consumer, env: { PREBUILDS_ONLY: '1' }, timeout: 30_000 }),
    );
    expect(result).toEqual({ sameClass: true, permits: 1, took: true });
  });

  test('worker-waker/pool runs a task from CommonJS and from an ES module (one class for both)', () => {
    const options = { cwd: consumer, env: { PREBUILDS_ONLY: '1' }, timeout: 30_000 };
    expect(lastJsonLine(node([path.join(consumer, 'pool.cjs')], options))).toEqual({ result: { doubled: 42 } });
    expect(lastJsonLine(node([path.join(consumer, 'pool.mjs')], options))).toEqual({ sameClass: true, result: { doubled: 8 } });
  });

  test('TypeScript resolves the types through both the require and import conditions', () => {
    // --traceResolution shows where each import landed; tsc fails on a type error or an unused
    // @ts-expect-error, so the misuse lines in the fixtures prove the types are not `any`.
    const trace = node([TSC, '-p', consumer, '--traceResolution'], { cwd: consumer, timeout: 60_000 });
    const resolved = [...trace.matchAll(/Module name 'worker-waker' was successfully resolved to '([^']+)'/g)].map(
      (m) => path.relative(installed, m[1]).split(path.sep).join('/'),
    );
    expect(new Set(resolved)).toEqual(new Set(['dist/index.d.ts', 'dist/index.d.mts']));
    const pool = [...trace.matchAll(/Module name 'worker-waker\/pool' was successfully resolved to '([^']+)'/g)].map(
      (m) => path.relative(installed, m[1]).split(path.sep).join('/'),
    );
    expect(new Set(pool)).toEqual(new Set(['dist/pool/index.d.ts', 'dist/pool/index.d.mts']));
  });

  test('with no binary that fits, require throws one error naming the system and how to build', () => {
    // WORKER_WAKER_PREBUILD points node-gyp-build at an empty folder: nothing fits.
    const empty = fs.mkdtempSync(path.join(tmp, 'empty-'));
    const result = lastJsonLine(
      node([path.join(consumer, 'load-error.cjs')], {
        cwd: consumer,
        env: { PREBUILDS_ONLY: '1', WORKER_WAKER_PREBUILD: empty },
        timeout: 30_000,
      }),
    );
    expect(result).toMatchObject({ loaded: false, name: 'Error', code: 'ERR_WORKER_WAKER_NO_BINARY', hasCause: true });
    expect(result.message).toContain(`${process.platform}-${process.arch}`);
    expect(result.message).toContain(`Node ${process.version}`);
    if (process.platform === 'linux') expect(result.message).toMatch(/\((glibc [\d.]+|musl)\)/);
    expect(result.message).toContain('npx worker-waker-build');
    expect(result.message).toContain('PREBUILDS_ONLY');
    expect(result.message).toContain('No native build was found');
  });

  test('npm rebuild compiles nothing: the package has no install script and no binding.gyp at its root', () => {
    const out = npm(['rebuild', NAME, '--foreground-scripts'], { cwd: consumer, timeout: 60_000 });
    expect(out).not.toContain(`> ${NAME}@${version}`);
    expect(fs.existsSync(path.join(installed, 'build'))).toBe(false);
  }, 90_000);

  test('npx worker-waker-build compiles from source, and the package loads that build', () => {
    const prebuilds = path.join(installed, 'prebuilds');
    const aside = path.join(tmp, 'prebuilds-aside');
    fs.renameSync(prebuilds, aside);
    try {
      const out = npm(['exec', '--', 'worker-waker-build'], { cwd: consumer, timeout: 240_000 });
      expect(out).toContain('worker-waker-build: building in');
      expect(fs.existsSync(path.join(installed, 'build', 'Release', 'worker_waker.node'))).toBe(true);
      // The shipped binding.gyp builds the release addon only.
      expect(fs.readdirSync(path.join(installed, 'build', 'Release')).filter((file) => file.endsWith('.node'))).toEqual(['worker_waker.node']);
      expect(testOnlyExports(path.join(installed, 'build', 'Release', 'worker_waker.node'))).toEqual([]);
      const result = lastJsonLine(node([path.join(consumer, 'main.cjs')], { cwd: consumer, timeout: 30_000 }));
      expect(result).toMatchObject({ exitCode: 0, woken: true, permitsLeft: 0, binary: path.join('build', 'Release', 'worker_waker.node') });
    } finally {
      fs.rmSync(path.join(installed, 'build'), { recursive: true, force: true });
      fs.rmSync(path.join(installed, 'binding.gyp'), { force: true });
      fs.renameSync(aside, prebuilds);
    }
  }, 300_000);
});

describe('scripts/check-prebuilds.js', () => {
  // Minimal headers: enough bytes for identify(), plus the strings it looks for.
  function elf(machine, extra) {
    const bytes = Buffer.alloc(64);
    bytes.writeUInt32BE(0x7f454c46, 0);
    bytes.writeUInt16LE(machine, 18);
    return Buffer.concat([bytes, Buffer.from(extra, 'latin1')]);
  }
  function macho(cpu) {
    const bytes = Buffer.alloc(32);
    bytes.writeUInt32LE(0xfeedfacf, 0);
    bytes.writeUInt32LE(cpu, 4);
    return bytes;
  }
  function pe(machine) {
    const bytes = Buffer.alloc(0x100);
    bytes.write('MZ', 0, 'latin1');
    bytes.writeUInt32LE(0x80, 0x3c);
    bytes.writeUInt32BE(0x50450000, 0x80);
    bytes.writeUInt16LE(machine, 0x84);
    return bytes;
  }
  const glibcLibs = '\0libstdc++.so.6\0libc.so.6\0GLIBC_2.2.5\0GLIBC_2.17\0GLIBCXX_3.4.21\0';
  const muslLibs = (arch) => `\0libstdc++.so.6\0libc.musl-${arch}.so.1\0`;
  const release = {
    [`linux-x64/${NAME}.glibc.node`]: elf(0x3e, glibcLibs),
    [`linux-x64/${NAME}.musl.node`]: elf(0x3e, muslLibs('x86_64')),
    [`linux-arm64/${NAME}.glibc.node`]: elf(0xb7, glibcLibs),
    [`linux-arm64/${NAME}.musl.node`]: elf(0xb7, muslLibs('aarch64')),
    [`darwin-x64/${NAME}.node`]: macho(0x01000007),
    [`darwin-arm64/${NAME}.node`]: macho(0x0100000c),
    [`win32-x64/${NAME}.node`]: pe(0x8664),
    [`win32-arm64/${NAME}.node`]: pe(0xaa64),
  };
  function writeTree(files) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'worker-waker-prebuilds-'));
    for (const [file, bytes] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), bytes);
    }
    return dir;
  }
  const dirs = [];
  const tree = (files) => {
    const dir = writeTree(files);
    dirs.push(dir);
    return dir;
  };
  afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

  /** 'linux-x64-musl', 'darwin-arm64', …: the target an EXPECTED path is for, as the workflow names it. */
  const targetOf = (file) => file.split('/')[0] + (EXPECTED[file].libc ? `-${EXPECTED[file].libc}` : '');

  test('expects the eight release targets, the ones the release workflow builds', () => {
    const targets = Object.keys(EXPECTED).map(targetOf).sort();
    expect(targets).toEqual(
      ['linux-x64-glibc', 'linux-x64-musl', 'linux-arm64-glibc', 'linux-arm64-musl', 'darwin-x64', 'darwin-arm64', 'win32-x64', 'win32-arm64'].sort(),
    );
    const workflow = fs.readFileSync(path.join(ROOT, '.github', 'workflows', 'release.yml'), 'utf8');
    expect([...workflow.matchAll(/\{ target: ([\w-]+),/g)].map((m) => m[1]).sort()).toEqual(targets);
  });

  test('the release workflow publishes the checked tarball from CI with provenance, on tags only', () => {
    const workflow = fs.readFileSync(path.join(ROOT, '.github', 'workflows', 'release.yml'), 'utf8');
    const publish = workflow.slice(workflow.indexOf('\n  publish:'));
    expect(publish).toMatch(/if: startsWith\(github\.ref, 'refs\/tags\/v'\)/);
    expect(publish).toMatch(/needs: pack/);
    expect(publish).toMatch(/id-token: write/);
    expect(publish).toMatch(/npm publish worker-waker-\*\.tgz --provenance/);
  });

  test('on each target, node-gyp-build picks the expected file out of a complete release', () => {
    // node-gyp-build reads the platform, CPU and libc once, at load: one child process per target.
    const dir = tree(Object.fromEntries(Object.entries(release).map(([file, bytes]) => [`prebuilds/${file}`, bytes])));
    const loader = require.resolve('node-gyp-build');
    for (const file of Object.keys(EXPECTED)) {
      const [platform, arch] = file.split('/')[0].split('-');
      // Without LIBC, node-gyp-build assumes glibc, as it does on macOS and Windows.
      const env = { PREBUILDS_ONLY: '1', npm_config_platform: platform, npm_config_arch: arch };
      if (EXPECTED[file].libc) env.LIBC = EXPECTED[file].libc;
      const picked = node(['-p', `require(${JSON.stringify(loader)}).path(${JSON.stringify(dir)})`], { cwd: dir, env, timeout: 10_000 });
      expect(path.relative(path.join(dir, 'prebuilds'), picked.trim()).split(path.sep).join('/')).toBe(file);
    }
  });

  test('accepts a complete release', () => {
    expect(checkPrebuilds(tree(release))).toEqual([]);
  });

  test('names a missing binary, an unexpected one, and one built for the wrong CPU or libc', () => {
    const broken = { ...release, [`linux-x64/${NAME}.node`]: elf(0x3e, glibcLibs) };
    delete broken[`darwin-x64/${NAME}.node`];
    broken[`linux-arm64/${NAME}.glibc.node`] = elf(0x3e, glibcLibs); // an x64 build under arm64
    broken[`linux-x64/${NAME}.musl.node`] = elf(0x3e, glibcLibs); // a glibc build tagged musl
    expect(checkPrebuilds(tree(broken)).sort()).toEqual(
      [
        `darwin-x64/${NAME}.node: missing`,
        `linux-arm64/${NAME}.glibc.node: cpu is x64, expected arm64`,
        `linux-x64/${NAME}.musl.node: libc is glibc, expected musl`,
        `linux-x64/${NAME}.node: not expected (the tarball would ship it)`,
      ].sort(),
    );
  });

  test('rejects a glibc build that needs a newer glibc or libstdc++ than the floor', () => {
    const [glibcMajor, glibcMinor] = GLIBC_FLOOR.GLIBC;
    const atFloor = `\0libc.so.6\0GLIBC_${glibcMajor}.${glibcMinor}\0GLIBCXX_${GLIBC_FLOOR.GLIBCXX.join('.')}\0`;
    expect(versionsAboveFloor(elf(0x3e, atFloor))).toEqual([]);
    const tooNew = `\0libc.so.6\0GLIBC_2.2.5\0GLIBC_${glibcMajor}.${glibcMinor + 3}\0GLIBCXX_3.4.${GLIBC_FLOOR.GLIBCXX[2] + 1}\0`;
    expect(versionsAboveFloor(elf(0x3e, tooNew))).toEqual([
      `GLIBCXX_3.4.${GLIBC_FLOOR.GLIBCXX[2] + 1}`,
      `GLIBC_${glibcMajor}.${glibcMinor + 3}`,
    ]);
    const problems = checkPrebuilds(tree({ ...release, [`linux-arm64/${NAME}.glibc.node`]: elf(0xb7, tooNew) }));
    expect(problems).toEqual([expect.stringMatching(/^linux-arm64\/.*: needs GLIBCXX_3\.4\.\d+, GLIBC_2\.\d+, newer/)]);
  });

  test("rejects a glibc build that needs a newer C++ ABI (CXXABI) than GCC 10's", () => {
    const [major, minor, patch] = GLIBC_FLOOR.CXXABI;
    expect(versionsAboveFloor(elf(0x3e, `\0libc.so.6\0CXXABI_${major}.${minor}.${patch}\0`))).toEqual([]);
    expect(versionsAboveFloor(elf(0x3e, `\0libc.so.6\0CXXABI_${major}.${minor}.${patch + 1}\0`))).toEqual([
      `CXXABI_${major}.${minor}.${patch + 1}`,
    ]);
  });

  test('--present (npm pack) accepts a partial set but not one above the floor', () => {
    const one = { [`linux-x64/${NAME}.glibc.node`]: release[`linux-x64/${NAME}.glibc.node`] };
    expect(checkPrebuilds(tree(one), { complete: false })).toEqual([]);
    expect(checkPrebuilds(tree(one)).length).toBe(Object.keys(EXPECTED).length - 1);
    const tooNew = { [`linux-x64/${NAME}.glibc.node`]: elf(0x3e, '\0libc.so.6\0GLIBC_2.34\0') };
    expect(checkPrebuilds(tree(tooNew), { complete: false })).toEqual([expect.stringMatching(/needs GLIBC_2\.34/)]);
  });

});

describe('scripts/prebuildify.js', () => {
  // The real wrapper and the real prebuildify, run in a scratch copy for each release target (named with
  // PREBUILD_PLATFORM/ARCH/LIBC, as prebuildify allows), with node-gyp and strip replaced by stand-ins:
  // what is under test is the naming, not the compiler.
  let scratch;
  let gypCalls;

  /** An executable that runs `source` with this Node (a .cmd shim on Windows, where prebuildify uses a shell). */
  function fakeTool(name, source) {
    const script = path.join(scratch, `${name}.js`);
    if (process.platform === 'win32') {
      fs.writeFileSync(script, source);
      fs.writeFileSync(path.join(scratch, `${name}.cmd`), `@"${process.execPath}" "%~dp0${name}.js" %*\r\n`);
      return path.join(scratch, `${name}.cmd`);
    }
    fs.writeFileSync(script, `#!${process.execPath}\n${source}`);
    fs.chmodSync(script, 0o755);
    return script;
  }

  beforeAll(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'worker-waker-prebuildify-'));
    fs.mkdirSync(path.join(scratch, 'scripts'));
    fs.copyFileSync(path.join(ROOT, 'scripts', 'prebuildify.js'), path.join(scratch, 'scripts', 'prebuildify.js'));
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(scratch, 'package.json'));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(scratch, 'node_modules'), 'junction');
    const gypLog = path.join(scratch, 'node-gyp-calls.jsonl');
    // Like `node-gyp rebuild`: build/ is recreated and holds one fresh binary.
    const nodeGyp = fakeTool(
      'fake-node-gyp',
      `const fs = require('node:fs');
fs.appendFileSync(${JSON.stringify(gypLog)}, JSON.stringify(process.argv.slice(2)) + '\\n');
fs.rmSync('build', { recursive: true, force: true });
fs.mkdirSync('build/Release', { recursive: true });
fs.writeFileSync('build/Release/worker_waker.node', 'fresh build');
`,
    );
    const strip = fakeTool('fake-strip', '');
    // A developer's own build, which the wrapper must put back.
    fs.mkdirSync(path.join(scratch, 'build', 'Release'), { recursive: true });
    fs.writeFileSync(path.join(scratch, 'build', 'Release', 'worker_waker.node'), 'dev build');

    for (const file of Object.keys(EXPECTED)) {
      const [platform, arch] = file.split('/')[0].split('-');
      const env = { PREBUILD_PLATFORM: platform, PREBUILD_ARCH: arch, PREBUILD_NODE_GYP: nodeGyp, PREBUILD_STRIP_BIN: strip };
      // Only Linux builds have a libc to name; elsewhere it must not matter what the host would pick.
      env.PREBUILD_LIBC = EXPECTED[file].libc ?? 'musl';
      node([path.join(scratch, 'scripts', 'prebuildify.js')], { cwd: scratch, env, timeout: 30_000 });
    }
    gypCalls = fs.readFileSync(gypLog, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  }, 120_000);

  afterAll(() => {
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  test('names each release target the way scripts/check-prebuilds.js expects (libc tag on Linux only)', () => {
    expect(listFiles(path.join(scratch, 'prebuilds')).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const file of Object.keys(EXPECTED)) {
      expect(fs.readFileSync(path.join(scratch, 'prebuilds', file), 'utf8')).toBe('fresh build');
    }
  });

  test('builds each one once, for Node 20.0.0 and its target CPU, as a release build', () => {
    expect(gypCalls.length).toBe(Object.keys(EXPECTED).length);
    Object.keys(EXPECTED).forEach((file, i) => {
      const arch = file.split('/')[0].split('-')[1];
      expect(gypCalls[i]).toEqual(expect.arrayContaining(['rebuild', '--target=20.0.0', `--arch=${arch}`, '--release']));
    });
  });

  test("puts the developer's build/Release binary back, so the dev tree does not run on the prebuild", () => {
    expect(fs.readFileSync(path.join(scratch, 'build', 'Release', 'worker_waker.node'), 'utf8')).toBe('dev build');
  });
});
