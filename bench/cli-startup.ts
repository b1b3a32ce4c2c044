/**
 * `npm run bench:cli`: how long `portcullis --version`, `--help` and a `check`
 * of the examples take to start and exit, against `node -e 0` (the floor no
 * CLI can beat). A timed test would fail on a busy machine; this prints
 * medians and ratios measured in one run instead, with the commands
 * interleaved so load hits them alike.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const example = (name: string): string => fileURLToPath(new URL(`../examples/${name}`, import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 21);
// The target for --version and --help, in milliseconds.
const TARGET_MS = 250;

if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);

// A check loads and validates a config: what every command that reads one (run, forward-auth, explain) pays first.
const cases: { name: string; args: string[]; targetMs?: number }[] = [
  { name: 'node -e 0', args: ['-e', '0'] },
  { name: 'portcullis --version', args: [MAIN, '--version'], targetMs: TARGET_MS },
  { name: 'portcullis --help', args: [MAIN, '--help'], targetMs: TARGET_MS },
  { name: 'check krakend-descope', args: [MAIN, 'check', '-c', example('krakend-descope.json')] },
  { name: 'check demo', args: [MAIN, 'check', '-c', example('demo.json')] },
];

function timeOnce(args: string[]): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stderr.toString()}`);
  return elapsedMs;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

// One warm-up each, so the first run does not pay for a cold file cache.
for (const c of cases) timeOnce(c.args);
const samples = new Map(cases.map((c) => [c.name, [] as number[]]));
for (let i = 0; i < RUNS; i++) for (const c of cases) samples.get(c.name)!.push(timeOnce(c.args));

const baseline = median(samples.get('node -e 0')!);
console.log(`${RUNS} runs each, interleaved; medians (target for --version and --help: under ${TARGET_MS} ms)`);
for (const c of cases) {
  const ms = median(samples.get(c.name)!);
  const verdict = c.targetMs === undefined ? '' : ms < c.targetMs ? '  ok' : '  over target';
  console.log(`  ${c.name.padEnd(22)} ${ms.toFixed(1).padStart(7)} ms  ${(ms / baseline).toFixed(2)}× node -e 0  (+${(ms - baseline).toFixed(1)} ms)${verdict}`);
}
