/**
 * `portcullis issuer serve`: the published demo access key stays on loopback,
 * and a data dir others can write is refused. The command runs in this process
 * (the same program as main.ts); one case runs the built CLI as a real process
 * and stops it with SIGTERM.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadIssuerSettings } from '../../src/issuer/config.js';
import { DEMO_ACCESS_KEY_SECRET } from '../../src/issuer/default-config.js';
import { createIssuer } from '../../src/issuer/issuer.js';
import { createKeyStore } from '../../src/issuer/key-store.js';
import { isLoopbackHost, startIssuerServer } from '../../src/issuer/server.js';
import { runPortcullis, spawnPortcullis } from '../support/cli.js';
import { fromRoot } from '../support/repo-root.js';

const PID = 'P2portcullisdemo0000000000000';
const EXAMPLE_CONFIG = fromRoot('examples/issuer.json');

const roots: string[] = [];
after(() => roots.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tempRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-serve-'));
  roots.push(dir);
  return dir;
}

interface IssuerRun { exitCode: number; stdout: string; stderr: string; served: boolean }

/**
 * `portcullis issuer …` in this process: the real program and flag parsing, with the output
 * captured and the wait for SIGINT/SIGTERM replaced by `whileServing`.
 */
async function issuerCli(args: string[], whileServing?: (url: string) => Promise<void>): Promise<IssuerRun> {
  let served = false;
  const result = await runPortcullis(['issuer', '--port', '0', '--log-level', 'silent', ...args], {
    whileServing: async (url) => {
      served = true;
      await whileServing?.(url);
    },
  });
  // Compared as whole lines below, without the last newline.
  return { exitCode: result.code, stdout: result.stdout.replace(/\n$/, ''), stderr: result.stderr.replace(/\n$/, ''), served };
}

const exchange = (url: string, secret: string) =>
  fetch(`${url}/v1/auth/accesskey/exchange`, {
    method: 'POST',
    headers: { authorization: `Bearer ${PID}:${secret}`, 'content-type': 'application/json' },
    body: '{"loginOptions":{}}',
  });

describe('portcullis issuer serve: the published demo access key stays on loopback', () => {
  test('a non-loopback --host with the demo key (built in or examples/issuer.json) → exit 1, the reason and the flag on stderr, the data dir untouched', async () => {
    const root = tempRoot();
    for (const args of [['--host', '0.0.0.0'], ['--host', '::'], ['--host', '192.0.2.10'], ['--host', '0.0.0.0', '--config', EXAMPLE_CONFIG]]) {
      const dataDir = join(root, `data-${args.join('-').replace(/[^a-z0-9]/gi, '_')}`);
      const host = args[1]!;
      const result = await issuerCli([...args, '--data-dir', dataDir]);
      const label = args.join(' ');
      assert.equal(result.exitCode, 1, label);
      assert.equal(result.served, false, label);
      assert.equal(result.stdout, '', label);
      assert.equal(
        result.stderr,
        `error: refusing to serve the built-in demo access key (K2demoaccesskey0000000000001) on ${JSON.stringify(host)}, which is not a loopback address: ` +
          'its secret is published, so anyone who can reach this port could exchange it for tokens. ' +
          'Listen on 127.0.0.1, use --config with access keys of your own, or pass --allow-demo-key-on-network',
        label,
      );
      assert.equal(existsSync(dataDir), false, `${label}: refused before the data dir is created`);
    }

    // A config with access keys of its own is fine on any host, with no warning.
    const config = join(root, 'own-keys.json');
    writeFileSync(config, JSON.stringify({ roles: [{ name: 'service' }], access_keys: [{ id: 'K2own', key: 'a-long-local-secret', roles: ['service'] }] }));
    const own = await issuerCli(['--host', '0.0.0.0', '--config', config, '--data-dir', join(root, 'own')], async (url) => {
      assert.equal((await exchange(url, 'a-long-local-secret')).status, 200);
    });
    assert.equal(own.exitCode, 0, own.stderr);
    assert.equal(own.served, true);
    assert.equal(own.stderr, '');
  });

  test('with --allow-demo-key-on-network it serves the demo key on 0.0.0.0 and warns loudly on stderr; on loopback no flag and no warning', async () => {
    const root = tempRoot();
    const loopback = await issuerCli(['--host', '127.0.0.1', '--data-dir', join(root, 'loopback')], async (url) => {
      assert.equal((await exchange(url, DEMO_ACCESS_KEY_SECRET)).status, 200);
    });
    assert.equal(loopback.exitCode, 0, loopback.stderr);
    assert.equal(loopback.served, true);
    assert.equal(loopback.stderr, '');

    const allowed = await issuerCli(['--host', '0.0.0.0', '--allow-demo-key-on-network', '--data-dir', join(root, 'network')], async (url) => {
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal((await fetch(`${url}/health`)).status, 200);
      assert.equal((await exchange(url, DEMO_ACCESS_KEY_SECRET)).status, 200);
    });
    assert.equal(allowed.exitCode, 0, allowed.stderr);
    assert.equal(allowed.served, true);
    const warnings = allowed.stderr.split('\n');
    assert.equal(warnings.length, 3);
    assert.ok(warnings.every((line) => line.startsWith('WARNING: ')), allowed.stderr);
    assert.match(warnings[0]!, /^WARNING: serving the PUBLIC demo access key K2demoaccesskey0000000000001 on 0\.0\.0\.0, which is not loopback \(--allow-demo-key-on-network\)\.$/);
    assert.ok(!allowed.stderr.includes(DEMO_ACCESS_KEY_SECRET), 'the warning does not print the secret');
    assert.match(allowed.stdout, /^portcullis issuer listening on http:\/\/127\.0\.0\.1:\d+ /);
  });

  test('startIssuerServer itself refuses the demo key on a wildcard host unless allowDemoKeyOnNetwork; what counts as loopback', async () => {
    const issuer = createIssuer(loadIssuerSettings(undefined), await createKeyStore({ alg: 'ES256', keepRotatedKeys: 0 }));
    await assert.rejects(startIssuerServer(issuer, { host: '0.0.0.0', port: 0 }), /^Error: refusing to serve the built-in demo access key \(K2demoaccesskey0000000000001\) on "0\.0\.0\.0"/);
    for (const host of ['127.0.0.2', '::1']) {
      const server = await startIssuerServer(issuer, { host, port: 0 });
      await server.close();
    }
    const allowed = await startIssuerServer(issuer, { host: '0.0.0.0', port: 0, allowDemoKeyOnNetwork: true });
    try {
      assert.equal((await exchange(allowed.url, DEMO_ACCESS_KEY_SECRET)).status, 200);
    } finally {
      await allowed.close();
    }

    const loopback = ['127.0.0.1', '127.0.0.2', '127.255.255.254', 'localhost', 'LOCALHOST', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'];
    const notLoopback = ['0.0.0.0', '::', '', '0:0:0:0:0:0:0:0', '10.0.0.1', '192.0.2.10', '::ffff:10.0.0.1', '::2', 'fe80::1%lo', '128.0.0.1', 'localhost.localdomain', '127.0.0.1.nip.io', 'example.com', '127.1'];
    for (const host of loopback) assert.equal(isLoopbackHost(host), true, host);
    for (const host of notLoopback) assert.equal(isLoopbackHost(host), false, host);
  });
});

describe('portcullis issuer serve: the data dir', () => {
  test('as a real process (the built CLI): serves on the port it prints, then stops on SIGTERM with exit 0', async () => {
    const run = spawnPortcullis(['issuer', '--port', '0', '--data-dir', join(tempRoot(), 'data'), '--log-level', 'silent']);
    try {
      const [, url] = await run.waitForOutput(/^portcullis issuer listening on (http:\/\/127\.0\.0\.1:\d+) /m);
      assert.equal((await fetch(`${url}/health`)).status, 200);
      run.child.kill('SIGTERM');
      assert.deepEqual(await run.ended, { code: 0, signal: null }, run.stderr());
      await assert.rejects(fetch(`${url}/health`), TypeError, 'the port is closed after SIGTERM');
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  });

  test('a world-writable --data-dir → exit 1 with the dir and the fix on stderr; nothing listens', async () => {
    const dataDir = join(tempRoot(), 'data');
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o777);
    const result = await issuerCli(['--data-dir', dataDir]);
    assert.equal(result.exitCode, 1);
    assert.equal(result.served, false);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, new RegExp(`^error: issuer data dir ${dataDir} is writable by every user \\(mode 0777\\); .* Fix: chmod 700 ${dataDir}, or choose another --data-dir$`));
  });
});
