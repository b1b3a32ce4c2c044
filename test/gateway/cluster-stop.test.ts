/**
 * A stop of `--workers N` ends when the last worker exits, however node orders
 * that worker's 'exit' and the close of its IPC channel. node:cluster keeps a
 * worker in `cluster.workers` until both have happened; the primary used to
 * count `cluster.workers` on 'exit', so a last worker whose channel closed
 * after its exit left the primary waiting forever, deaf to further SIGTERMs.
 * Real processes: the built startPrimary with workers that, on SIGTERM, hand
 * their IPC channel to a child that outlives them, which makes the order
 * certain.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { assertDistBuilt, spawnNode, type Spawned } from '../support/cli.js';
import { fromRoot } from '../support/repo-root.js';

const WORKER = `
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
process.on('SIGTERM', () => {
  // cluster.fork gives a worker its IPC channel as fd 3 (node takes NODE_CHANNEL_FD out of the env);
  // the holder gets it as its own fd 3, so the channel stays open after this process exits.
  const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60000)'], {
    stdio: ['ignore', 'ignore', 'ignore', 3],
    detached: true,
  });
  writeFileSync(join(process.env.HOLDERS_DIR, String(holder.pid)), '');
  holder.unref();
  process.exit(0);
});
process.send({ type: 'portcullis:ready', port: 1 });
setInterval(() => {}, 60000);
`;

const PRIMARY = `
import cluster from 'node:cluster';
const { startPrimary } = await import(process.env.CLUSTER_MODULE);
cluster.setupPrimary({ exec: process.env.WORKER_SCRIPT });
const lines = [];
const log = (level) => (obj, msg) => lines.push(\`\${level} \${typeof obj === 'string' ? obj : msg}\`);
const primary = startPrimary({ workers: 2, logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }, drainTimeoutMs: 1000 });
await primary.ready;
console.log('ready');
primary.stop();
const code = await primary.exited;
console.log(\`exited \${code}\`);
// The holders keep the channels, and so this process, open: leave now that the stop has ended.
process.exit(code);
`;

describe('cluster primary: stopping', () => {
  let dir: string;
  let holders: string;
  let primary: Spawned | undefined;

  before(() => {
    assertDistBuilt();
    dir = mkdtempSync(join(tmpdir(), 'portcullis-cluster-stop-'));
    holders = join(dir, 'holders');
    writeFileSync(join(dir, 'worker.mjs'), WORKER);
    writeFileSync(join(dir, 'primary.mjs'), PRIMARY);
    mkdirSync(holders);
  });

  after(() => {
    if (primary?.child.exitCode === null) primary.child.kill('SIGKILL');
    for (const pid of listHolders()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  function listHolders(): number[] {
    try {
      return readdirSync(holders).map(Number);
    } catch {
      return [];
    }
  }

  it('ends when the last worker exits, even while its IPC channel is still open', { timeout: 60_000 }, async () => {
    primary = spawnNode([join(dir, 'primary.mjs')], {
      env: {
        ...process.env,
        CLUSTER_MODULE: pathToFileURL(fromRoot('dist', 'src', 'gateway', 'cluster.js')).href,
        WORKER_SCRIPT: join(dir, 'worker.mjs'),
        HOLDERS_DIR: holders,
      },
    });
    await primary.waitForOutput(/^ready$/m);
    // Before the fix this line never came: both workers had exited, but the primary still counted them.
    await primary.waitForOutput(/^exited 0$/m);
    const ended = await primary.ended;
    assert.deepEqual(ended, { code: 0, signal: null });
    // Both workers did hand their channel on, so the order this test is about really happened.
    assert.equal(listHolders().length, 2);
  });
});
