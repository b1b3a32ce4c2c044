/**
 * `portcullis run` as a real child process: SIGTERM drains a slow in-flight
 * request and exits 0; the cluster mode serves from several workers, replaces
 * a crashed one and stops cleanly. Bad configs: cli-errors.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackendServer, type BackendServer } from '../support/backend-server.js';
import { call, spawnRun, waitForLog } from './harness.js';

describe('portcullis run', () => {
  let dir: string;
  let backend: BackendServer;
  const children: ChildProcess[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-run-'));
    backend = await startBackendServer();
    backend.on('/slow', (_req, res) => {
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ slow: true })), 800);
    });
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await backend?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function writeConfig(name: string, config: unknown): string {
    const path = join(dir, name);
    writeFileSync(path, typeof config === 'string' ? config : JSON.stringify(config));
    return path;
  }

  const goodConfig = () => ({
    version: 3,
    timeout: '5s',
    endpoints: [
      { endpoint: '/slow', backend: [{ host: [backend.url], url_pattern: '/slow' }] },
      { endpoint: '/fast', backend: [{ host: [backend.url], url_pattern: '/fast' }] },
    ],
  });

  it('drains an in-flight request on SIGTERM, then exits 0', async () => {
    const run = spawnRun(['-c', writeConfig('good.json', goodConfig()), '--port', '0']);
    children.push(run.child);
    const [, port] = await waitForLog(run, /Listening on port (\d+)/);
    const url = `http://127.0.0.1:${port}`;
    const inFlight = call(`${url}/slow`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    run.child.kill('SIGTERM');
    const answer = await inFlight;
    assert.equal(answer.status, 200);
    assert.equal(answer.json<{ slow: boolean }>().slow, true);
    assert.equal(await run.exit, 0);
    await assert.rejects(call(`${url}/fast`), 'the port is closed after shutdown');
    assert.match(run.stdout(), /shutting down/);
  });

  it('runs several workers with --workers, replaces a crashed one, and stops them all on SIGTERM', async () => {
    const run = spawnRun(['-c', writeConfig('workers.json', goodConfig()), '--port', '0', '--workers', '2']);
    children.push(run.child);
    const [, port] = await waitForLog(run, /2 workers listening on port (\d+)/, 30_000);
    const workerPids = () =>
      run
        .stdout()
        .split('\n')
        .filter((line) => line.includes('Listening on port'))
        .map((line) => (JSON.parse(line) as { pid: number }).pid);
    assert.equal(new Set(workerPids()).size, 2);
    assert.ok(!workerPids().includes(run.child.pid!), 'the primary does not serve');

    process.kill(workerPids()[0]!, 'SIGKILL');
    await waitForLog(run, /exited \(SIGKILL\); starting a new one/);
    const deadline = Date.now() + 15_000;
    while (new Set(workerPids()).size < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(new Set(workerPids()).size, 3, 'a replacement worker started');
    for (let i = 0; i < 4; i++) {
      const answer = await call(`http://127.0.0.1:${port}/fast`);
      assert.equal(answer.status, 200);
    }
    run.child.kill('SIGTERM');
    assert.equal(await run.exit, 0);
  });
});
