/**
 * A crash loop must not take the cluster primary down with it: once restarts
 * are slowed (more than 5 crashes in 10 s) and every worker is dead at once,
 * the primary used to sit on an unref'd timer, its event loop went empty and
 * it exited 13 without a word. Real processes: `portcullis run --workers 2`,
 * workers killed with SIGKILL round after round; a replacement that fails to
 * start once the fleet is up is retried, not a reason to stop the survivors;
 * a first fleet that cannot start still stops with exit 1.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DEFAULT_RESTART_POLICY, restartDelayMs } from '../../src/gateway/cluster.js';
import { startBackendServer, type BackendServer } from '../support/backend-server.js';
import { call } from './harness.js';
import { spawnPortcullis, type Spawned } from '../support/cli.js';

const WORKERS = 2;

function messages(run: Spawned): { msg: string; pid: number }[] {
  return run
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg: string; pid: number });
}

/** Workers that logged they listen and that the primary has not yet reported as exited. */
function liveWorkers(run: Spawned): number[] {
  const lines = messages(run);
  const exited = new Set(lines.map((line) => /worker (\d+) exited/.exec(line.msg)?.[1]).filter((pid) => pid !== undefined).map(Number));
  return lines.filter((line) => line.msg.includes('Listening on port') && !exited.has(line.pid)).map((line) => line.pid);
}

async function until<T>(what: string, run: Spawned, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (run.child.exitCode !== null) throw new Error(`the primary exited (${run.child.exitCode}) while waiting for ${what}; stdout: ${run.stdout()} stderr: ${run.stderr()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stdout: ${run.stdout()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('cluster primary under a crash loop', () => {
  let dir: string;
  let backend: BackendServer;
  const children: ChildProcess[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-crash-loop-'));
    backend = await startBackendServer();
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await backend?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps restarting, slowed, when every worker is killed round after round, then stops with exit 0', async () => {
    const config = join(dir, 'gateway.json');
    writeFileSync(config, JSON.stringify({ version: 3, endpoints: [{ endpoint: '/fast', backend: [{ host: [backend.url], url_pattern: '/fast' }] }] }));
    const run = spawnPortcullis(['run', '-c', config, '--port', '0', '--workers', String(WORKERS)]);
    children.push(run.child);
    await run.waitForOutput(/2 workers listening on port (\d+)/);
    const killed: number[] = [];
    try {
      // Kill the whole fleet until a round in which every restart was delayed: the moment no worker is alive and only a timer is left.
      for (let round = 0; round < 10; round++) {
        const pids = await until('every worker to listen', run, () => {
          const live = liveWorkers(run);
          return live.length === WORKERS ? live : undefined;
        });
        for (const pid of pids) process.kill(pid, 'SIGKILL');
        killed.push(...pids);
        const exitLines = await until('the primary to report the exits', run, () => {
          const lines = pids.map((pid) => messages(run).find((line) => line.msg.includes(`worker ${pid} exited`))?.msg);
          return lines.every((line) => line !== undefined) ? (lines as string[]) : undefined;
        });
        if (exitLines.every((line) => /restarts slowed/.test(line))) break;
      }
      const delayed = messages(run).filter((line) => /exited \(SIGKILL\); starting a new one (in \d+ ms|after the \d+ restart\(s\) already waiting) \(\d+ crashes in the last 10 s; restarts slowed\)/.test(line.msg));
      assert.ok(delayed.length >= WORKERS, `restarts were slowed and the log says so: ${run.stdout()}`);
      assert.ok(messages(run).some((line) => /starting a new worker now \(delayed \d+ ms\)/.test(line.msg)), 'the delayed restart is logged when it happens');

      // The primary outlived the round where all workers were dead, and the gateway serves again.
      const answer = await until('the gateway to answer again', run, async () => {
        try {
          // With --port 0 the primary picks a new port once the last worker holding the old one is gone.
          const current = messages(run).findLast((line) => line.msg.includes('Listening on port'))!.msg.match(/port (\d+)/)![1];
          const response = await call(`http://127.0.0.1:${current}/fast`);
          return response.status === 200 ? response : undefined;
        } catch {
          return undefined;
        }
      });
      assert.equal(answer.status, 200);
      assert.equal(run.child.exitCode, null, 'the primary is still running');
      await until('a full fleet again', run, () => (liveWorkers(run).length === WORKERS ? true : undefined));
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGTERM');
    }
    assert.equal((await run.ended).code, 0);
    assert.ok(!messages(run).some((line) => /failed to start/.test(line.msg)), 'killed workers are crashes, not startup failures');
    assert.ok(killed.length >= WORKERS * 3);
  });

  it('keeps serving when a replacement fails to start after the fleet was up, and retries it until it starts', async () => {
    const config = join(dir, 'replacement.json');
    const good = JSON.stringify({ version: 3, endpoints: [{ endpoint: '/fast', backend: [{ host: [backend.url], url_pattern: '/fast' }] }] });
    writeFileSync(config, good);
    const run = spawnPortcullis(['run', '-c', config, '--port', '0', '--workers', String(WORKERS)]);
    children.push(run.child);
    const [, port] = await run.waitForOutput(/2 workers listening on port (\d+)/);
    try {
      // Workers read the file when they start: a replacement now fails on its config.
      writeFileSync(config, '{"version": 3, "endpoints": [{"endpoint": 1}]}');
      const [victim, survivor] = liveWorkers(run);
      process.kill(victim!, 'SIGKILL');
      await until('two failed replacements', run, () =>
        messages(run).filter((line) => /worker \d+ exited \(code 1\) before it listened; starting a new one/.test(line.msg)).length >= 2 ? true : undefined,
      );
      assert.equal(run.child.exitCode, null, 'the primary did not stop the fleet');
      const answer = await call(`http://127.0.0.1:${port}/fast`);
      assert.equal(answer.status, 200, 'the surviving worker still serves');
      assert.ok(liveWorkers(run).includes(survivor!));
      assert.ok(!messages(run).some((line) => /failed to start/.test(line.msg)));

      writeFileSync(config, good);
      await until('the fleet to be whole again', run, () =>
        messages(run).filter((line) => /2 workers listening/.test(line.msg)).length >= 2 ? true : undefined,
      );
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGTERM');
    }
    assert.equal((await run.ended).code, 0);
  });

  it('still stops with exit 1 when the first fleet cannot start (a busy port), instead of retrying forever', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      const config = join(dir, 'busy.json');
      writeFileSync(config, JSON.stringify({ version: 3, endpoints: [{ endpoint: '/fast', backend: [{ host: [backend.url], url_pattern: '/fast' }] }] }));
      const run = spawnPortcullis(['run', '-c', config, '--port', String(port), '--workers', String(WORKERS)]);
      children.push(run.child);
      assert.equal((await run.ended).code, 1);
      assert.match(run.stdout(), /worker \d+ failed to start \(exit code 1\); stopping/);
      assert.doesNotMatch(run.stdout(), /starting a new one/);
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});

describe('restartDelayMs', () => {
  it('restarts at once up to 5 crashes in the window, then from 1 s doubling per crash, capped at 5 s', () => {
    const delays = [0, 1, 5, 6, 7, 8, 9, 50, 10_000].map((crashes) => restartDelayMs(crashes, DEFAULT_RESTART_POLICY));
    assert.deepEqual(delays, [0, 0, 0, 1000, 2000, 4000, 5000, 5000, 5000]);
  });

  it('follows a custom policy', () => {
    const policy = { maxFastRestarts: 0, windowMs: 1000, slowDelayMs: 100, maxDelayMs: 250 };
    assert.deepEqual([0, 1, 2, 3].map((crashes) => restartDelayMs(crashes, policy)), [0, 100, 200, 250]);
  });
});
