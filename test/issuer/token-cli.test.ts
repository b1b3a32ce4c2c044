/**
 * `portcullis token` and `portcullis issuer rotate` against a running issuer
 * and offline on a data dir. The commands run in this process (the same
 * program as main.ts), one after another; one case runs the built CLI as a
 * child process, as `curl -H "Authorization: Bearer $(npx portcullis token)"` does.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { loadIssuerSettings } from '../../src/issuer/config.js';
import { createIssuer } from '../../src/issuer/issuer.js';
import { createKeyStore } from '../../src/issuer/key-store.js';
import { startIssuerServer, type IssuerServer } from '../../src/issuer/server.js';
import { runPortcullis, spawnPortcullis } from '../support/cli.js';

const PID = 'P2portcullisdemo0000000000000';

const cli = (...args: string[]) => runPortcullis(args);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('portcullis token', () => {
  let server: IssuerServer;
  before(async () => {
    const settings = loadIssuerSettings(undefined);
    server = await startIssuerServer(createIssuer(settings, await createKeyStore({ alg: 'RS256', keepRotatedKeys: 12 })), { port: 0 });
  });
  after(() => server.close());

  test('against a running issuer: prints only the token and a newline; the flags become claims', async () => {
    const result = await cli(
      'token', '--issuer', server.url,
      '--sub', 'U2cli', '--roles', 'admin,viewer', '--permissions', 'extra:one',
      '--tenant', 'T2acme:editor', '--tenant', 'T2globex:viewer,editor',
      '--claims', '{"plan":"pro"}', '--ttl', '2m', '--aud', 'api-a,api-b', '--jti',
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, 'warning: "U2cli" is no user of the issuer config: the token carries only the roles, tenants and claims given with it\n');
    assert.match(result.stdout, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/);
    const { payload } = await jwtVerify(result.stdout.trim(), createRemoteJWKSet(new URL(`${server.url}/v2/keys/${PID}`)), {
      issuer: `${server.url}/v1/apps/${PID}`,
      audience: ['api-a', 'api-b'],
    });
    assert.equal(payload.sub, 'U2cli');
    assert.deepEqual(payload.roles, ['admin', 'viewer']);
    assert.deepEqual(payload.permissions, ['reports:read', 'users:write', 'extra:one']);
    assert.deepEqual(payload.tenants, {
      T2acme: { roles: ['editor'], permissions: ['projects:read', 'projects:write'] },
      T2globex: { roles: ['viewer', 'editor'], permissions: ['reports:read', 'projects:read', 'projects:write'] },
    });
    assert.equal(payload.dct, undefined, 'two tenants: no automatic dct');
    assert.equal(payload.plan, 'pro');
    assert.equal((payload.exp as number) - (payload.iat as number), 120);
    assert.equal(typeof payload.jti, 'string');
  });

  test('a configured user brings its roles, tenants and claims', async () => {
    const result = await cli('token', '--issuer', server.url, '--sub', 'U2alice000000000000000000000');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '', 'a configured sub gives no warning');
    const payload = decodeJwt(result.stdout.trim());
    assert.deepEqual(payload.roles, ['admin']);
    assert.equal(payload.dct, 'T2acme');
    assert.equal(payload.plan, 'pro');
  });

  test('--user names a configured user by short name, email or id (any case for the first two); flags still override', async () => {
    for (const [name, sub, roles] of [
      ['alice', 'U2alice000000000000000000000', ['admin']],
      ['ALICE', 'U2alice000000000000000000000', ['admin']],
      ['bob@example.com', 'U2bob00000000000000000000000', ['viewer']],
      ['U2bob00000000000000000000000', 'U2bob00000000000000000000000', ['viewer']],
    ] as const) {
      const result = await cli('token', '--issuer', server.url, '--user', name);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, '', name);
      const payload = decodeJwt(result.stdout.trim());
      assert.equal(payload.sub, sub, name);
      assert.deepEqual(payload.roles, roles, name);
    }
    const overridden = decodeJwt((await cli('token', '--issuer', server.url, '--user', 'bob', '--roles', 'editor')).stdout.trim());
    assert.deepEqual([overridden.sub, overridden.roles, overridden.plan], ['U2bob00000000000000000000000', ['editor'], 'free']);
  });

  test('--user that is no configured user, or with --sub → exit 1, the known users on stderr, nothing on stdout', async () => {
    const unknown = await cli('token', '--issuer', server.url, '--user', 'carol');
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stdout, '');
    assert.equal(
      unknown.stderr,
      `error: issuer at ${server.url} answered 400: no user "carol" in the issuer config; users: alice (U2alice000000000000000000000), bob (U2bob00000000000000000000000)\n`,
    );
    const both = await cli('token', '--issuer', server.url, '--user', 'alice', '--sub', 'U2x');
    assert.equal(both.code, 1);
    assert.equal(both.stdout, '');
    assert.equal(both.stderr, 'error: give user or sub, not both\n');
    const mint = await fetch(`${server.url}/admin/mint`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user":"nobody"}' });
    assert.equal(mint.status, 400);
    assert.equal(((await mint.json()) as { errorCode: string }).errorCode, 'unknown_user');
  });

  test('as a real process (the built CLI): prints only the token and a newline', async () => {
    const run = spawnPortcullis(['token', '--issuer', server.url, '--roles', 'admin']);
    assert.deepEqual(await run.ended, { code: 0, signal: null }, run.stderr());
    assert.equal(run.stderr(), '');
    assert.match(run.stdout(), /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/);
    assert.deepEqual(decodeJwt(run.stdout().trim()).roles, ['admin']);
  });

  test('bad flags → exit 1, a message on stderr, nothing on stdout', async () => {
    const cases = [['--claims', '[1]'], ['--claims', '{nope'], ['--ttl', 'soon'], ['--tenant', ':admin'], ['--issuer', 'ftp://x']];
    for (const args of cases) {
      const result = await cli('token', '--issuer', server.url, ...args);
      const label = args.join(' ');
      assert.equal(result.code, 1, label);
      assert.equal(result.stdout, '', label);
      assert.match(result.stderr, /^error: /, label);
    }
  });

  test('with no issuer listening, mints from the data dir; an issuer started later on that dir publishes the key', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'portcullis-token-')), 'data');
    dirs.push(dataDir);
    const port = await freePort();
    const issuerUrl = `http://127.0.0.1:${port}`;
    const result = await cli('token', '--issuer', issuerUrl, '--data-dir', dataDir, '--roles', 'admin');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stderr,
      `note: no issuer answers at ${issuerUrl}; minted offline with the keys in ${dataDir}. A gateway accepts it once an issuer serves that data dir (portcullis issuer --data-dir …).\n`,
    );
    const token = result.stdout.trim();
    const offlineUser = await cli('token', '--issuer', issuerUrl, '--data-dir', dataDir, '--user', 'bob');
    assert.equal(decodeJwt(offlineUser.stdout.trim()).sub, 'U2bob00000000000000000000000');
    const offlineSub = await cli('token', '--issuer', issuerUrl, '--data-dir', dataDir, '--sub', 'U2typo');
    assert.match(offlineSub.stderr, /^note: no issuer answers at .*\nwarning: "U2typo" is no user of the issuer config: /);
    const offlineUnknown = await cli('token', '--issuer', issuerUrl, '--data-dir', dataDir, '--user', 'carol');
    assert.deepEqual([offlineUnknown.code, offlineUnknown.stdout], [1, '']);
    assert.match(offlineUnknown.stderr, /^error: no user "carol" in the issuer config; users: alice \(U2alice0+\), bob \(U2bob0+\)\n$/);
    const settings = loadIssuerSettings(undefined);
    const later = await startIssuerServer(createIssuer(settings, await createKeyStore({ dataDir, alg: 'RS256', keepRotatedKeys: 12 })), { port });
    try {
      const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${issuerUrl}/v2/keys/${PID}`)), {
        issuer: `${issuerUrl}/v1/apps/${PID}`,
        audience: PID,
      });
      assert.deepEqual(payload.roles, ['admin']);
    } finally {
      await later.close();
    }
  });

  test('issuer rotate asks the running issuer', async () => {
    const before = (await (await fetch(`${server.url}/v2/keys/${PID}`)).json()) as { keys: unknown[] };
    const result = await cli('issuer', 'rotate', '--issuer', server.url);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^new signing key [0-9a-f]{32}; published: /);
    const after = (await (await fetch(`${server.url}/v2/keys/${PID}`)).json()) as { keys: unknown[] };
    assert.equal(after.keys.length, before.keys.length + 1);
  });

  test('issuer serve: a busy port gives a clear message and exit 1', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'portcullis-serve-')), 'data');
    dirs.push(dataDir);
    const result = await cli('issuer', '--port', String(server.port), '--data-dir', dataDir, '--log-level', 'silent');
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`port ${server.port} is already in use; choose another with --port`));
    assert.equal(existsSync(dataDir), false, 'no data dir (and no signing key) is created for an issuer that cannot listen');
    // An existing data dir without keys stays without keys.
    mkdirSync(dataDir, { mode: 0o700 });
    const again = await cli('issuer', '--port', String(server.port), '--data-dir', dataDir, '--log-level', 'silent');
    assert.equal(again.code, 1);
    assert.deepEqual(readdirSync(dataDir), []);
  });
});
