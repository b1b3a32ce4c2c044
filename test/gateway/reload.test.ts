/**
 * Reloading a running gateway, as operators do it: SIGHUP (and `--watch`)
 * under sustained load. No request may fail across ten reloads, one of them
 * with a broken file; a changed role requirement applies to the next request
 * once the reload is logged; a broken file leaves the running config serving.
 * Also: a port that is taken names itself and the flag that changes it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { startBackendServer, unusedPort, type BackendServer } from '../support/backend-server.js';
import { spawnPortcullis, type Spawned } from '../support/cli.js';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { nowSeconds } from '../support/clock.js';

let dir: string;
let jwks: JwksServer;
let backend: BackendServer;
let key: TestSigningKey;
const runs: Spawned[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'portcullis-reload-'));
  jwks = await startJwksServer();
  key = await generateSigningKey('reload-1');
  jwks.setKeys(jwksOf(key));
  backend = await startBackendServer();
});

after(async () => {
  for (const run of runs) if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  await backend.close();
  await jwks.close();
  rmSync(dir, { recursive: true, force: true });
});

function config(roles: string[]): string {
  return JSON.stringify({
    version: 3,
    endpoints: [
      {
        endpoint: '/orders',
        extra_config: { 'auth/validator': { alg: 'RS256', jwk_url: jwks.url('/jwks'), roles } },
        backend: [{ host: [backend.url], url_pattern: '/orders' }],
      },
      { endpoint: '/public', backend: [{ host: [backend.url], url_pattern: '/public' }] },
    ],
  });
}

function countOf(run: Spawned, pattern: RegExp): number {
  return run.stdout().split('\n').filter((line) => pattern.test(line)).length;
}

describe('reload', () => {
  test('ten SIGHUP reloads under load, one with a broken file: no request fails, and the new role applies at once', async () => {
    const file = join(dir, 'reload.json');
    writeFileSync(file, config(['admin']));
    const port = await unusedPort();
    const run = spawnPortcullis(['run', '-c', file, '--port', String(port)]);
    runs.push(run);
    await run.waitForOutput(/Listening on port/);
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 8 });
    const reader = await mintToken(key, { exp: nowSeconds() + 300, roles: ['reader'] });
    const admin = await mintToken(key, { exp: nowSeconds() + 300, roles: ['admin'] });

    // Sustained load: 8 loops of requests on keep-alive connections, each one checked.
    let stopLoad = false;
    const failures: string[] = [];
    let sent = 0;
    const load = Array.from({ length: 8 }, async (_, i) => {
      while (!stopLoad) {
        const path = i % 2 === 0 ? '/public' : '/orders';
        try {
          const answer = await pool.request({ path, method: 'GET', headers: { authorization: `Bearer ${admin}` } });
          await answer.body.dump();
          sent++;
          if (answer.statusCode !== 200 && !(path === '/orders' && answer.statusCode === 403)) failures.push(`${path}: ${answer.statusCode}`);
        } catch (error) {
          failures.push(`${path}: ${(error as Error).message}`);
        }
      }
    });

    try {
      for (let i = 0; i < 10; i++) {
        const broken = i === 4;
        // Reload 5 grants the reader role; the broken one (4) must change nothing.
        writeFileSync(file, broken ? '{"version": 3, "endpoints": [' : config(i >= 5 ? ['admin', 'reader'] : ['admin']));
        const before = countOf(run, broken ? /reload refused/ : /configuration reloaded/);
        run.child.kill('SIGHUP');
        await run.waitUntil(`reload ${i}`, () => (countOf(run, broken ? /reload refused/ : /configuration reloaded/) > before ? true : undefined));
        const asReader = await pool.request({ path: '/orders', method: 'GET', headers: { authorization: `Bearer ${reader}` } });
        await asReader.body.dump();
        assert.equal(asReader.statusCode, i >= 5 ? 200 : 403, `after reload ${i}`);
      }
      assert.match(run.stdout(), /reload refused, the running configuration stays: ERROR parsing the configuration file: \$: .*invalid JSON/);
    } finally {
      stopLoad = true;
      await Promise.all(load);
      await pool.close();
    }
    assert.deepEqual(failures, [], `${failures.length} of ${sent} requests failed`);
    assert.ok(sent > 50, `only ${sent} requests were sent during the reloads`);
    run.child.kill('SIGTERM');
    assert.equal((await run.ended).code, 0);
  });

  test('--watch reloads when the file changes', async () => {
    const file = join(dir, 'watch.json');
    writeFileSync(file, config(['admin']));
    const port = await unusedPort();
    const run = spawnPortcullis(['run', '-c', file, '--port', String(port), '--watch']);
    runs.push(run);
    await run.waitForOutput(/Listening on port/);
    const reader = await mintToken(key, { exp: nowSeconds() + 300, roles: ['reader'] });
    const pool = new Pool(`http://127.0.0.1:${port}`);
    try {
      const before = await pool.request({ path: '/orders', method: 'GET', headers: { authorization: `Bearer ${reader}` } });
      await before.body.dump();
      assert.equal(before.statusCode, 403);
      writeFileSync(file, config(['reader']));
      await run.waitForOutput(/configuration reloaded/);
      const afterChange = await pool.request({ path: '/orders', method: 'GET', headers: { authorization: `Bearer ${reader}` } });
      await afterChange.body.dump();
      assert.equal(afterChange.statusCode, 200);
    } finally {
      await pool.close();
    }
    run.child.kill('SIGTERM');
    assert.equal((await run.ended).code, 0);
  });

  test('a port that is taken is named, with the flag that changes it', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      const file = join(dir, 'busy.json');
      writeFileSync(file, config(['admin']));
      const run = spawnPortcullis(['run', '-c', file, '--port', String(port), '--listen-ip', '127.0.0.1']);
      runs.push(run);
      const ended = await run.ended;
      assert.equal(ended.code, 1);
      assert.match(run.stderr(), new RegExp(`ERROR starting the gateway: port ${port} is already in use \\(EADDRINUSE\\); choose another with --port or the config's "port"`));
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});
