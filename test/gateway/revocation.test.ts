/**
 * Revocation through a real gateway and forward-auth on 127.0.0.1 with the
 * in-memory store, driven through the admin endpoint as an operator would:
 * a revoked token gets 401 `token_revoked` (cached ones too), "log out
 * everywhere" kills tokens issued before the revocation and not later ones,
 * `token_keys` bounds what may be revoked, and the admin endpoint refuses
 * anyone without its token. With an unreachable Redis store, `fail_closed`
 * turns into 503 `revocation_unavailable` and a not-ready instance; without
 * it, requests keep being served.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRevocationAdmin, readAdminToken, type RevocationAdmin } from '../../src/admin/revocation-admin.js';
import { startForwardAuth } from '../../src/adapters/forward-auth/server.js';
import { ConfigError } from '../../src/config/validate.js';
import { startGateway, type Gateway } from '../../src/gateway/server.js';
import { silentLogger } from '../../src/lib/logger.js';
import { startBackendServer, unusedPort, type BackendServer } from '../support/backend-server.js';
import { nowSeconds } from '../support/clock.js';
import { runPortcullis } from '../support/cli.js';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { planFrom } from '../support/plan.js';

const ADMIN_TOKEN = 'admin-token-0123456789abcdef';

let jwks: JwksServer;
let backend: BackendServer;
let key: TestSigningKey;
let dir: string;

before(async () => {
  jwks = await startJwksServer();
  key = await generateSigningKey('rev-1');
  jwks.setKeys(jwksOf(key));
  backend = await startBackendServer();
  dir = mkdtempSync(join(tmpdir(), 'portcullis-revocation-'));
  writeFileSync(join(dir, 'admin-token'), `${ADMIN_TOKEN}\n`);
});
after(async () => {
  await backend.close();
  await jwks.close();
  rmSync(dir, { recursive: true, force: true });
});

function config(revoker: Record<string, unknown>, serviceExtra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: 3,
    extra_config: { 'auth/revoker': { token_keys: ['jti', 'sub', 'tenant', 'sid'], TTL: 3600, ...revoker }, ...serviceExtra },
    endpoints: [
      {
        endpoint: '/orders',
        extra_config: { 'auth/validator': { alg: 'RS256', jwk_url: jwks.url('/jwks') } },
        backend: [{ host: [backend.url], url_pattern: '/orders' }],
      },
    ],
  };
}

const mint = (claims: Record<string, unknown>, iat = nowSeconds()): Promise<string> => mintToken(key, { iat, exp: iat + 600, ...claims });

async function status(gateway: Gateway, bearer: string): Promise<{ status: number; body: string; challenge: string | null }> {
  const response = await fetch(`${gateway.url}/orders`, { headers: { authorization: `Bearer ${bearer}` } });
  return { status: response.status, body: await response.text(), challenge: response.headers.get('www-authenticate') };
}

async function adminCall(admin: RevocationAdmin, body: unknown, token = ADMIN_TOKEN): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${admin.url}/revocations`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, json: await response.json() };
}

describe('memory store, revoked through the admin endpoint', () => {
  let gateway: Gateway;
  let admin: RevocationAdmin;
  before(async () => {
    const plan = planFrom(config({ admin: { port: 0, token_file: join(dir, 'admin-token') } }), { strict: true });
    gateway = await startGateway(plan, { host: '127.0.0.1', port: 0, accessLog: false });
    await gateway.ready();
    admin = await startRevocationAdmin({
      store: () => gateway.bound().revocation,
      rules: plan.revocation!,
      token: readAdminToken(plan.revocation!.admin!),
      port: 0,
      host: '127.0.0.1',
      logger: silentLogger,
    });
  });
  after(async () => {
    await admin.close();
    await gateway.close();
  });

  test('a jti: that token gets 401 token_revoked at once, cached or not; another token of the same user lives', async () => {
    const revoked = await mint({ sub: 'dave', jti: 'j-1' });
    const other = await mint({ sub: 'dave', jti: 'j-2' });
    assert.equal((await status(gateway, revoked)).status, 200, 'now in the verified-token cache');
    assert.equal((await adminCall(admin, { kind: 'jti', value: 'j-1' })).status, 201);
    const denied = await status(gateway, revoked);
    assert.equal(denied.status, 401);
    assert.equal(JSON.parse(denied.body).code, 'token_revoked');
    assert.match(denied.challenge ?? '', /error="invalid_token"/);
    assert.equal((await status(gateway, other)).status, 200);
  });

  test('log out everywhere: tokens of the subject issued before the revocation die, a later login works', async () => {
    const old = await mint({ sub: 'alice' }, nowSeconds() - 60);
    assert.equal((await status(gateway, old)).status, 200);
    const answer = await adminCall(admin, { kind: 'sub', value: 'alice' });
    assert.equal(answer.status, 201);
    const entry = (answer.json as { revoked: { before: number; expiresAt: number } }).revoked;
    assert.ok(entry.before > nowSeconds() - 1 && entry.before <= nowSeconds() + 1, 'before defaults to the end of the current second');
    assert.equal(entry.expiresAt, entry.before + 3600, 'kept for TTL after before');
    assert.equal((await status(gateway, old)).status, 401);
    assert.equal((await status(gateway, await mint({ sub: 'alice' }, entry.before))).status, 200, 'a login in the next second works');
  });

  test('an explicit before (ISO date), a tenant (dct and tenants) and a configured claim (sid)', async () => {
    const t = nowSeconds() - 30;
    assert.equal((await adminCall(admin, { kind: 'sub', value: 'bob', before: new Date(t * 1000).toISOString() })).status, 201);
    assert.equal((await status(gateway, await mint({ sub: 'bob' }, t - 10))).status, 401);
    assert.equal((await status(gateway, await mint({ sub: 'bob' }, t + 10))).status, 200);

    assert.equal((await adminCall(admin, { kind: 'tenant', value: 'T1' })).status, 201);
    assert.equal((await status(gateway, await mint({ sub: 'x', dct: 'T1' }, nowSeconds() - 5))).status, 401);
    assert.equal((await status(gateway, await mint({ sub: 'x', tenants: { T1: { roles: [] } } }, nowSeconds() - 5))).status, 401);
    assert.equal((await status(gateway, await mint({ sub: 'x', dct: 'T2' }, nowSeconds() - 5))).status, 200);

    assert.equal((await adminCall(admin, { kind: 'claim', claim: 'sid', value: 'S9' })).status, 201);
    assert.equal((await status(gateway, await mint({ sub: 'y', sid: 'S9' }, nowSeconds() - 5))).status, 401);
  });

  test('token_keys bound what may be revoked; bad bodies are 400 with a reason', async () => {
    const refused = await adminCall(admin, { kind: 'claim', claim: 'email', value: 'a@b' });
    assert.equal(refused.status, 400);
    assert.match((refused.json as { message: string }).message, /token_keys .* does not allow revoking by claim "email"/);
    assert.equal((await adminCall(admin, { kind: 'everything', value: 'x' })).status, 400);
    assert.equal((await adminCall(admin, { kind: 'sub', value: '' })).status, 400);
    assert.equal((await adminCall(admin, { kind: 'sub', value: 'a', before: 'yesterday' })).status, 400);
    assert.equal((await adminCall(admin, { kind: 'sub', value: 'a', extra: 1 })).status, 400);
  });

  test('the admin endpoint refuses a missing or wrong token, and lists with the right one', async () => {
    for (const token of ['', 'wrong-token-0123456789abcdef', `${ADMIN_TOKEN}x`]) {
      const response = await fetch(`${admin.url}/revocations`, { method: 'POST', headers: token === '' ? {} : { authorization: `Bearer ${token}` }, body: '{}' });
      assert.equal(response.status, 401);
      assert.deepEqual(await response.json(), { error: 'unauthorized' });
    }
    const list = await adminCall(admin, undefined);
    assert.equal(list.status, 200);
    const entries = (list.json as { entries: { kind: string; value: string }[] }).entries;
    assert.ok(entries.some((entry) => entry.kind === 'jti' && entry.value === 'j-1'));
  });

  test('the public port has no admin path', async () => {
    const response = await fetch(`${gateway.url}/revocations`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: '{}' });
    assert.equal(response.status, 404);
  });

  test('readiness shows the store', async () => {
    const ready = await fetch(`${gateway.url}/__ready`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as { revocation: { store: string; state: string; entries: number } };
    assert.equal(body.revocation.store, 'memory');
    assert.equal(body.revocation.state, 'synced');
    assert.ok(body.revocation.entries >= 1);
  });
});

describe('forward-auth enforces the same set', () => {
  test('a revoked subject is denied to the proxy with 401 token_revoked', async () => {
    const plan = planFrom(config({}), { strict: true });
    const server = await startForwardAuth(plan, { proxy: 'traefik', host: '127.0.0.1', port: 0, accessLog: false });
    try {
      await server.ready();
      const token = await mint({ sub: 'erin' }, nowSeconds() - 5);
      const check = () => fetch(`${server.url}/`, { headers: { 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/orders', authorization: `Bearer ${token}` } });
      assert.equal((await check()).status, 200);
      await server.bound.revocation!.revoke({ kind: 'sub', value: 'erin', before: nowSeconds(), expiresAt: nowSeconds() + 3600 });
      const denied = await check();
      assert.equal(denied.status, 401);
      assert.equal(((await denied.json()) as { code: string }).code, 'token_revoked');
    } finally {
      await server.close();
    }
  });
});

describe('a Redis store that cannot be reached', () => {
  const unreachable = async (): Promise<Record<string, unknown>> => ({
    redis: { connection_pools: [{ name: 'shared', address: `127.0.0.1:${await unusedPort()}`, dial_timeout: '200ms', max_retry_backoff: '200ms' }] },
  });

  test('fail_closed: 503 revocation_unavailable and not ready, while the set was never loaded', async () => {
    const plan = planFrom(config({ connection_pool: 'shared', fail_closed: true }, await unreachable()), { strict: true });
    const gateway = await startGateway(plan, { host: '127.0.0.1', port: 0, accessLog: false });
    try {
      await gateway.ready();
      const answer = await status(gateway, await mint({ sub: 'alice' }));
      assert.equal(answer.status, 503);
      assert.equal(JSON.parse(answer.body).code, 'revocation_unavailable');
      const ready = await fetch(`${gateway.url}/__ready`);
      assert.equal(ready.status, 503);
      const body = (await ready.json()) as { revocation: { store: string; state: string } };
      assert.equal(body.revocation.store, 'redis');
      assert.equal(body.revocation.state, 'connecting');
    } finally {
      await gateway.close();
    }
  });

  test('without fail_closed (the default) requests are served and readiness reports the state only', async () => {
    const plan = planFrom(config({ connection_pool: 'shared' }, await unreachable()), { strict: true });
    const gateway = await startGateway(plan, { host: '127.0.0.1', port: 0, accessLog: false });
    try {
      await gateway.ready();
      assert.equal((await status(gateway, await mint({ sub: 'alice' }))).status, 200);
      const ready = await fetch(`${gateway.url}/__ready`);
      assert.equal(ready.status, 200);
      assert.equal(((await ready.json()) as { revocation: { state: string } }).revocation.state, 'connecting');
    } finally {
      await gateway.close();
    }
  });
});

describe('config', () => {
  test('an admin listener needs a credential, off the public port; a pool must exist', () => {
    assert.throws(
      () => planFrom(config({ admin: { port: 9911 } }), { strict: true }),
      (error: unknown) => error instanceof ConfigError && error.issues.some((issue) => /admin/.test(issue.path) && /token_env/.test(issue.message)),
    );
    assert.throws(
      () => planFrom({ ...config({ admin: { port: 8080, token_env: 'X' } }) }, { strict: true }),
      (error: unknown) => error instanceof ConfigError && error.issues.some((issue) => /admin.*port/.test(issue.path) && /public port/.test(issue.message)),
    );
    assert.throws(
      () => planFrom(config({ connection_pool: 'missing' }), { strict: true }),
      (error: unknown) => error instanceof ConfigError && error.issues.some((issue) => /connection_pool/.test(issue.path) && /there are none/.test(issue.message)),
    );
  });

  test('a short or missing admin token stops startup with the JSON path', () => {
    const plan = planFrom(config({ admin: { port: 0, token_env: 'PORTCULLIS_TEST_ADMIN' } }), { strict: true });
    assert.throws(() => readAdminToken(plan.revocation!.admin!, {}), /token_env.*|PORTCULLIS_TEST_ADMIN is not set/);
    assert.throws(() => readAdminToken(plan.revocation!.admin!, { PORTCULLIS_TEST_ADMIN: 'short' }), (error: unknown) => error instanceof ConfigError && /16 characters/.test(error.issues[0]!.message));
  });
});

describe('portcullis revoke', () => {
  test('reaches a running in-memory gateway through its admin endpoint, with the token from the config', async () => {
    const port = await unusedPort();
    const file = join(dir, 'cli.json');
    writeFileSync(file, JSON.stringify(config({ admin: { port, token_file: join(dir, 'admin-token') } })));
    const plan = planFrom(JSON.parse(JSON.stringify(config({ admin: { port, token_file: join(dir, 'admin-token') } }))), { strict: true });
    const gateway = await startGateway(plan, { host: '127.0.0.1', port: 0, accessLog: false });
    const admin = await startRevocationAdmin({ store: () => gateway.bound().revocation, rules: plan.revocation!, token: ADMIN_TOKEN, port, host: '127.0.0.1', logger: silentLogger });
    try {
      await gateway.ready();
      const token = await mint({ sub: 'frank' }, nowSeconds() - 5);
      assert.equal((await status(gateway, token)).status, 200);
      const cli = await runPortcullis(['revoke', '-c', file, '--sub', 'frank']);
      assert.equal(cli.code, 0, cli.stderr);
      assert.match(cli.stdout, /revoked sub frank, tokens issued before .* through http:\/\/127\.0\.0\.1:\d+/);
      assert.equal((await status(gateway, token)).status, 401);

      const usage = await runPortcullis(['revoke', '-c', file, '--jti', 'a', '--before', '0']);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /--before does not apply to --jti/);
      const nothing = await runPortcullis(['revoke', '-c', file]);
      assert.equal(nothing.code, 2);
      assert.match(nothing.stderr, /say what to revoke/);
      const notAllowed = await runPortcullis(['revoke', '-c', file, '--claim', 'email=a@b']);
      assert.equal(notAllowed.code, 2);
      assert.match(notAllowed.stderr, /does not allow revoking by claim "email"/);
    } finally {
      await admin.close();
      await gateway.close();
    }
  });
});
