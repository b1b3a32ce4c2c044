/**
 * `npx tsx bench/json-literals.ts`: what keeping number literals costs a
 * merging endpoint's CPU, per answer size and shape, against the plain
 * JSON.parse + JSON.stringify it replaced. Each round times both on the same
 * text back to back, in CPU time; the ratio reported is the median of the
 * per-round ratios (the machine is shared and noisy). Knobs: BENCH_ROUNDS (9).
 */
import { parseKeepingNumbers, stringifyKeepingNumbers } from '../src/gateway/json-literals.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);

/** A typical API listing: ids, names, e-mails, ISO dates, prices, flags, tags, nested addresses. */
function listing(items: number, literals: boolean): string {
  const rows = [];
  for (let i = 0; i < items; i++) {
    rows.push({
      id: 100_000 + i,
      name: `user ${i}`,
      email: `user${i}@example.com`,
      created: '2024-01-07T19:58:42.949Z',
      score: (i * 37) % 10_000 / 100,
      active: i % 2 === 0,
      tags: ['a', 'bb', 'ccc'],
      address: { street: 'Kulas Light', suite: 'Apt. 556', geo: { lat: '-37.3159', lng: '81.1496' } },
    });
  }
  const text = JSON.stringify({ data: rows, total: items, page: 1 });
  // Snowflake-style ids and prices with a trailing zero: every row then holds literals a double would change.
  return literals ? text.replace(/"id":(\d+)/g, '"id":9$1000000000000').replace(/"score":(\d+)\.(\d)(?=[,}])/g, '"score":$1.$20') : text;
}

const CASES: [string, string][] = [
  ['bench body (56 B)', JSON.stringify({ id: 42, name: 'portcullis', items: [1, 2, 3], ok: true })],
  ['listing 100 rows', listing(100, false)],
  ['listing 2000 rows', listing(2000, false)],
  ['listing 100 rows, literals', listing(100, true)],
  ['listing 2000 rows, literals', listing(2000, true)],
];

/** CPU time (user + system) per call, which a busy shared machine disturbs far less than wall time. */
function timePerCall(fn: () => unknown, budgetMs: number): number {
  let calls = 0;
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  while (Number(process.hrtime.bigint() - start) < budgetMs * 1e6) {
    fn();
    calls++;
  }
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / calls;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const plain = (text: string) => () => JSON.stringify(JSON.parse(text));
const keeping = (text: string) => () => {
  const decoded = parseKeepingNumbers(text);
  if (!decoded.ok) throw new Error('not decoded');
  return stringifyKeepingNumbers(decoded.value, decoded.literals);
};

console.log(`bench:json-literals: ${ROUNDS} rounds, decode + encode of one answer, CPU µs per call (median)`);
for (const [name, text] of CASES) {
  if (keeping(text)() !== plain(text)() && !name.includes('literals')) throw new Error(`${name}: outputs differ`);
  for (let i = 0; i < 3; i++) {
    timePerCall(plain(text), 50);
    timePerCall(keeping(text), 50);
  }
  const before: number[] = [];
  const after: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    before.push(timePerCall(plain(text), 100));
    after.push(timePerCall(keeping(text), 100));
  }
  const ratio = median(after.map((a, i) => a / before[i]!));
  console.log(`  ${name.padEnd(30)} ${String(text.length).padStart(7)} B  parse+stringify ${median(before).toFixed(1).padStart(8)}  keeping ${median(after).toFixed(1).padStart(8)}  ratio ${ratio.toFixed(2)}`);
}
