// Runs every *.test.ts under src/ and test/ with node's own test runner, and
// prints how long the run took.
//
// The full run (no filter argument) is what `npm test` does:
// - One tsc pass type-checks src/, test/, bench/ and scripts/ and emits
//   JavaScript with source maps into .test-build/ (git- and eslint-ignored,
//   outside dist/, so never packed); the precompiled config validators
//   (src/config/generated, JavaScript already) are copied beside it. The
//   tests then run compiled, with plain node: loading tsx cost each test
//   process about 0.65 s of CPU.
// - The files share a few test processes instead of one each (see SOLO and
//   GROUPS below): loading the sources, jose and undici and compiling the
//   config schema once per process rather than once per file was more than
//   half of the CPU of the short files.
// - c8 measures coverage of src/ and fails below the floor. It picks the
//   compiled files by path (.test-build/src, and dist/src, which the tests
//   that start real processes run) and reads their source maps, so coverage
//   is counted and reported per src/*.ts. c8 rather than node's
//   --experimental-test-coverage: on node 20 that one cannot map transpiled
//   sources, counts comment lines, and has no include list or threshold.
//   Without c8 installed the run goes on, saying coverage was skipped.
//   COVERAGE=0 turns it off.
// ISOLATE=1 gives every compiled file a process of its own, as a filtered run does.
//
// A filtered run (`node scripts/run-tests.mjs gateway`: every file whose path
// contains the argument) builds nothing: each file runs from source under tsx
// in a process of its own, as `node --import tsx --test <file>` does.
//
// The list of files always comes from the sources, so a compiled test whose
// source was deleted or renamed is never run.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { copyGenerated } from './copy-generated.mjs';

/** Today's coverage of src/ rounded down a point or two: lines 97.7, branches 91.1, functions 98.2 (c8 11.0.0, node 20.20, tsc's output, spawned processes included). */
const COVERAGE_FLOOR = { lines: 96, branches: 90, functions: 97 };
/** A hung test fails as a timeout instead of hanging the run; property runs under FUZZ_RUNS may take long. */
const TEST_TIMEOUT_MS = process.env.FUZZ_RUNS ? 0 : 300_000;
/** Where the full run's tsc pass writes. */
const COMPILED_DIR = '.test-build';
/** How many test processes run at once. */
const CONCURRENCY = 3;
/**
 * Files that get a test process of their own and start first, longest first,
 * so the run never ends waiting on one of them. Each mostly starts and waits on
 * other processes (the built CLI, npm, tsc, redis-server, nginx, Chromium);
 * the figures are CPU and wall seconds measured alone. A path here that no
 * longer exists fails the run, so the list cannot silently go stale.
 */
const SOLO = [
  'test/gateway/cluster-restarts.test.ts', // 18 s CPU, 22 s wall: worker restarts slowed on purpose
  'test/package/packed.test.ts', // 17 s, 18 s: npm pack, npm install, tsc
  'test/revocation/fleet-propagation.test.ts', // 15 s, 15 s: redis-server, four gateways, seven revoke commands
  'test/docs/readme.test.ts', // 10 s, 10 s
  'test/scripts/compat-corpus.test.ts', // 8 s, 9 s
  'test/metrics/prometheus.test.ts', // 5 s, 9 s: a real Prometheus
  'test/examples/fleet-example.test.ts', // 8 s, 5 s
  'test/gateway/cli.test.ts', // 5 s, 6 s
  'test/ratelimit/fleet-ratelimit.test.ts', // 5 s, 4 s
];
/** How many processes share the other files, dealt round-robin in path order. */
const GROUPS = 6;

const roots = ['src', 'test'];
const filter = process.argv[2];
const require = createRequire(import.meta.url);

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.ts') && (!filter || path.includes(filter))) out.push(path);
  }
  return out;
}

function findC8() {
  try {
    const bin = join(require.resolve('c8/package.json'), '..', 'bin', 'c8.js');
    return existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

function seconds(since) {
  return ((performance.now() - since) / 1000).toFixed(1);
}

/** Type-checks everything tsconfig.json includes and writes the JavaScript the full run executes. */
function compile() {
  const started = performance.now();
  const tsc = join(require.resolve('typescript/package.json'), '..', 'bin', 'tsc');
  // tsconfig.json's own settings (strict, source maps); declarations are only for the package, which dist/ holds.
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--outDir', COMPILED_DIR, '--declaration', 'false'], { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`typecheck failed (tsc -p tsconfig.json, ${seconds(started)} s)`);
    process.exit(result.status ?? 1);
  }
  // The precompiled config validators are JavaScript, which tsc does not copy.
  copyGenerated(COMPILED_DIR);
  console.log(`typecheck and compile: ${seconds(started)} s`);
}

/**
 * One entry file per test process, in COMPILED_DIR/run. `node --test` sorts
 * the files it is given, so the names carry the start order. Each entry
 * imports its test files in turn; node:test collects their tests into the one
 * process and runs them one after another. A file that fails to load becomes
 * a failing test that names it, and the files after it still run.
 */
function writeEntries(sources) {
  const missing = SOLO.filter((path) => !existsSync(path));
  if (missing.length > 0) {
    console.error(`scripts/run-tests.mjs lists files that do not exist: ${missing.join(', ')}`);
    process.exit(1);
  }
  const compiled = (path) => join(COMPILED_DIR, path.replace(/\.ts$/, '.js'));
  const isolate = process.env.ISOLATE === '1';
  const solo = SOLO.filter((path) => sources.includes(path));
  const shared = sources.filter((path) => !SOLO.includes(path));
  const groups = isolate ? shared.map((path) => [path]) : Array.from({ length: Math.min(GROUPS, shared.length) }, (_, i) => shared.filter((_, j) => j % GROUPS === i));
  const processes = [...solo.map((path) => [path]), ...groups];
  const dir = join(COMPILED_DIR, 'run');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const width = String(processes.length).length;
  return processes.map((paths, i) => {
    const name = paths.length === 1 ? basename(paths[0], '.test.ts') : `group-${i - solo.length + 1}`;
    const entry = join(dir, `${String(i + 1).padStart(width, '0')}-${name}.mjs`);
    const specifiers = paths.map((path) => relative(dir, compiled(path)));
    writeFileSync(
      entry,
      [
        '// Written by scripts/run-tests.mjs: the test files this process runs.',
        "import { test } from 'node:test';",
        `for (const file of ${JSON.stringify(specifiers, null, 2)}) {`,
        '  try {',
        '    await import(file);',
        '  } catch (error) {',
        '    test(`${file} loads`, () => {',
        '      throw error;',
        '    });',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    return entry;
  });
}

const sources = roots.flatMap((root) => collect(root, [])).sort();
if (sources.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

const full = !filter;
if (full) compile();
const files = full ? writeEntries(sources) : sources;

const testArgs = [
  // Failures then point at the .ts lines, not the compiled ones.
  ...(full ? ['--enable-source-maps'] : ['--import', 'tsx']),
  '--test',
  `--test-concurrency=${CONCURRENCY}`,
  ...(TEST_TIMEOUT_MS > 0 ? [`--test-timeout=${TEST_TIMEOUT_MS}`] : []),
  '--test-reporter=spec',
  ...files,
];

const c8 = full && process.env.COVERAGE !== '0' ? findC8() : undefined;
if (full && process.env.COVERAGE !== '0' && c8 === undefined) console.log('coverage: skipped (c8 is not installed)');
const command = c8
  ? [
      c8,
      '--check-coverage',
      `--lines=${COVERAGE_FLOOR.lines}`,
      `--branches=${COVERAGE_FLOOR.branches}`,
      `--functions=${COVERAGE_FLOOR.functions}`,
      // Chosen by compiled path; the source maps then name the src/*.ts each line belongs to.
      `--include=${COMPILED_DIR}/src/**`,
      '--include=dist/src/**',
      '--exclude=**/*.test.js',
      // ajv's generated validators (scripts/write-validators.ts): thousands of branches, one per schema rule, that
      // would weigh more than the code written by hand; test/config/generated-validators.test.ts checks them instead.
      '--exclude=**/src/config/generated/**',
      '--reporter=text-summary',
      process.execPath,
      ...testArgs,
    ]
  : testArgs;

const started = performance.now();
const result = spawnSync(process.execPath, command, { stdio: 'inherit' });
console.log(`test phase: ${seconds(started)} s wall${c8 ? ', with coverage' : ''}${result.signal ? `, killed by ${result.signal}` : ''}`);
process.exit(result.status ?? 1);
