/**
 * `portcullis run` as a real process (the built CLI, plain node): SIGTERM
 * drains an in-flight request and exits 0; the cluster mode serves from several
 * workers, replaces a crashed one and stops cleanly. Bad configs and flags:
 * cli-errors.test.ts, in process.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackendServer, type BackendServer } from '../support/backend-server.js';
import { killAll, spawnPortcullis, type Spawned } from '../support/cli.js';
import { call } from './harness.js';

/** The pids of the processes that logged "Listening on port" (the workers, in cluster mode). */
function listeningPids(stdout: string): number[] {
  return stdout
    .split('\n')
    .filter((line) => line.includes('Listening on port'))
    .map((line) => (JSON.parse(line) as { pid: number }).pid);
}

describe('portcullis run', () => {
  let dir: string;
  let backend: BackendServer;
  /** The /slow request the backend holds until the test releases it. */
  let held: { reached: Promise<ServerResponse>; reach: (res: ServerResponse) => void };
  const runs: Spawned[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-run-'));
    backend = await startBackendServer();
    backend.on('/slow', (_req, res) => held.reach(res));
  });

  after(async () => {
    killAll(runs);
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
    const run = spawnPortcullis(['run', '-c', writeConfig('good.json', goodConfig()), '--port', '0']);
    runs.push(run);
    const [, port] = await run.waitForOutput(/Listening on port (\d+)/);
    const url = `http://127.0.0.1:${port}`;
    let reach!: (res: ServerResponse) => void;
    held = { reached: new Promise((resolve) => (reach = resolve)), reach: (res) => reach(res) };
    const inFlight = call(`${url}/slow`);
    // The backend holds the request, so it is in flight for certain when the signal arrives.
    const res = await held.reached;
    run.child.kill('SIGTERM');
    await run.waitForOutput(/shutting down, draining in-flight requests/);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ slow: true }));
    const answer = await inFlight;
    assert.equal(answer.status, 200);
    assert.equal(answer.json<{ slow: boolean }>().slow, true);
    assert.deepEqual(await run.ended, { code: 0, signal: null });
    await assert.rejects(call(`${url}/fast`), 'the port is closed after shutdown');
  });

  it('runs several workers with --workers, replaces a crashed one, and stops them all on SIGTERM', async () => {
    const run = spawnPortcullis(['run', '-c', writeConfig('workers.json', goodConfig()), '--port', '0', '--workers', '2']);
    runs.push(run);
    const [, port] = await run.waitForOutput(/2 workers listening on port (\d+)/);
    const workers = listeningPids(run.stdout());
    assert.equal(new Set(workers).size, 2);
    assert.ok(!workers.includes(run.child.pid!), 'the primary does not serve');

    process.kill(workers[0]!, 'SIGKILL');
    await run.waitForOutput(/exited \(SIGKILL\); starting a new one/);
    await run.waitUntil('a replacement worker to listen', (stdout) => (new Set(listeningPids(stdout)).size === 3 ? true : undefined));
    for (let i = 0; i < 4; i++) {
      const answer = await call(`http://127.0.0.1:${port}/fast`);
      assert.equal(answer.status, 200);
    }
    run.child.kill('SIGTERM');
    assert.deepEqual(await run.ended, { code: 0, signal: null });
  });
});
