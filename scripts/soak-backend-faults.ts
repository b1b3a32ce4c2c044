/**
 * Soak tier (not in `npm test`): after many failed backend calls, no socket is
 * left open and the heap has not grown with the failures. Heap sizes after GC
 * and socket counts move with the machine and the runtime, so this check runs
 * here, on demand, rather than as a unit test.
 *
 *   npm run soak:faults -- --rounds 8
 *
 * Exit code 0 when both hold, 1 otherwise.
 */
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startBackendFaultRig } from '../test/faults/backend-rig.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '8' } } });
const rounds = Math.max(1, Number(values.rounds) || 8);
/** Two calls per round carry 256 KiB: keeping those bodies alone would grow the heap by 4 MiB over 8 rounds. */
const HEAP_LIMIT_BYTES = 2 * 1024 * 1024;

// tsx runs without --expose-gc; the flag can still be set at runtime and gc() fetched from a fresh context.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

function tcpSockets(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'TCPSocketWrap').length;
}

/** Keep-alive sockets close on their own timers: wait (up to a bound) for the count to fall to `limit`. */
async function settleSockets(limit: number, withinMs = 3000): Promise<number> {
  const started = performance.now();
  while (tcpSockets() > limit && performance.now() - started < withinMs) await new Promise((resolve) => setTimeout(resolve, 50));
  return tcpSockets();
}

const rig = await startBackendFaultRig();
try {
  // Warm up, so pools, lazy modules and JIT state exist before measuring.
  await rig.checkAll();
  const baselineSockets = await settleSockets(0);
  const baselineHeap = heapAfterGc();
  for (let i = 0; i < rounds; i++) await rig.checkAll();
  const during = tcpSockets();
  const sockets = await settleSockets(baselineSockets);
  const grownBytes = heapAfterGc() - baselineHeap;
  const stillServing = (await rig.hit('/no-op/ok')).status === 200;
  console.log(`backend faults: ${rounds} rounds of ${rounds * 8} failed calls`);
  console.log(`  sockets: ${baselineSockets} before, ${during} right after, ${sockets} settled (must not exceed ${baselineSockets})`);
  console.log(`  heap growth: ${(grownBytes / 1024).toFixed(0)} KiB (must stay under ${HEAP_LIMIT_BYTES / 1024} KiB)`);
  console.log(`  still serving: ${stillServing}`);
  process.exitCode = sockets <= baselineSockets && grownBytes < HEAP_LIMIT_BYTES && stillServing ? 0 : 1;
} finally {
  await rig.close();
}
