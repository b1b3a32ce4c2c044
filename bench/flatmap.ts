/**
 * `npm run bench:flatmap`: the cost per item of a flatmap_filter `move` that
 * lifts a field out of every item of a list (`items.*.meta.id` →
 * `items.*.id`), at growing list sizes. The figure per item must stay flat:
 * an operation that searched the list once per item grew with the list, and a
 * backend that can grow a list (search results, user-made items) could then
 * hold the event loop for minutes within the default answer size limit.
 */
import { performance } from 'node:perf_hooks';
import type { FlatmapOp } from '../src/config/plan.js';
import { applyFlatmap } from '../src/gateway/flatmap.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SIZES = [5_000, 20_000, 80_000];
const lift: FlatmapOp = { type: 'move', args: [['items', '*', 'meta', 'id'], ['items', '*', 'id']] };
const rename: FlatmapOp = { type: 'move', args: [['items', '*', 'name'], ['items', '*', 'title']] };
const drop: FlatmapOp = { type: 'del', args: [['items', '*', 'secret']] };

function answer(size: number): Record<string, unknown> {
  return { items: Array.from({ length: size }, (_, i) => ({ meta: { id: i }, name: `n${i}`, secret: 's' })) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

console.log(`bench:flatmap: median of ${ROUNDS} rounds, µs per item (move lift, move rename, del)`);
const perItem = new Map<number, number>();
for (const size of SIZES) {
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const data = answer(size);
    const start = performance.now();
    applyFlatmap([lift, rename, drop], data);
    times.push(((performance.now() - start) * 1000) / size);
  }
  perItem.set(size, median(times));
  console.log(`  ${String(size).padStart(6)} items  ${median(times).toFixed(2).padStart(7)} µs per item`);
}
const growth = perItem.get(SIZES[SIZES.length - 1]!)! / perItem.get(SIZES[0]!)!;
console.log(`  per-item cost at ${SIZES[SIZES.length - 1]} / at ${SIZES[0]}: ${growth.toFixed(2)}  target <= 2 (linear)  ${growth <= 2 ? 'met' : 'MISSED'}`);
