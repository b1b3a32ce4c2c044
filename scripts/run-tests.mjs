// Runs every *.test.ts under src/ and test/ with node's own test runner, and
// prints how long the run took.
//
// The full run (no filter argument) is what `npm test` does:
// - One tsc pass type-checks src/, test/, bench/ and scripts/ and emits
//   JavaScript with source maps into .test-build/ (git- and eslint-ignored,
//   outside dist/, so never packed). The tests then run compiled, with plain
//   node: loading tsx cost each test process about 0.65 s of CPU.
// - c8 measures coverage of src/ and fails below the floor. It picks the
//   compiled files by path (.test-build/src, and dist/src, which the tests
//   that start real processes run) and reads their source maps, so coverage
//   is counted and reported per src/*.ts. c8 rather than node's
//   --experimental-test-coverage: on node 20 that one cannot map transpiled
//   sources, counts comment lines, and has no include list or threshold.
//   Without c8 installed the run goes on, saying coverage was skipped.
//   COVERAGE=0 turns it off.
//
// A filtered run (`node scripts/run-tests.mjs gateway`: every file whose path
// contains the argument) builds nothing: each file runs from source under tsx,
// as `node --import tsx --test <file>` does.
//
// The list of files always comes from the sources, so a compiled test whose
// source was deleted or renamed is never run.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

/** Today's coverage of src/ rounded down a point or two: lines 97.2, branches 91.6, functions 98.7 (c8 11.0.0, node 20.20). */
const COVERAGE_FLOOR = { lines: 96, branches: 90, functions: 97 };
/** A hung test fails as a timeout instead of hanging the run; property runs under FUZZ_RUNS may take long. */
const TEST_TIMEOUT_MS = process.env.FUZZ_RUNS ? 0 : 300_000;
/** Where the full run's tsc pass writes. */
const COMPILED_DIR = '.test-build';

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
  console.log(`typecheck and compile: ${seconds(started)} s`);
}

const sources = roots.flatMap((root) => collect(root, [])).sort();
if (sources.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

const full = !filter;
if (full) compile();
const files = full ? sources.map((path) => join(COMPILED_DIR, path.replace(/\.ts$/, '.js'))) : sources;

const testArgs = [
  // Failures then point at the .ts lines, not the compiled ones.
  ...(full ? ['--enable-source-maps'] : ['--import', 'tsx']),
  '--test',
  '--test-concurrency=2',
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
      '--reporter=text-summary',
      process.execPath,
      ...testArgs,
    ]
  : testArgs;

const started = performance.now();
const result = spawnSync(process.execPath, command, { stdio: 'inherit' });
console.log(`test phase: ${seconds(started)} s wall${c8 ? ', with coverage' : ''}${result.signal ? `, killed by ${result.signal}` : ''}`);
process.exit(result.status ?? 1);
