import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { buildAccessKeyClaims } from '../../src/issuer/claims.js';
import { loadIssuerSettings, resolveIssuerConfig } from '../../src/issuer/config.js';
import { createIssuer } from '../../src/issuer/issuer.js';
import { createKeyStore } from '../../src/issuer/key-store.js';
import { startIssuerServer, type IssuerServer } from '../../src/issuer/server.js';

const PID = 'P2portcullisdemo0000000000000';
const KEY = 'demo-access-key-do-not-use-in-production';
const KEY_ID = 'K2demoaccesskey0000000000001';

describe('POST /v1/auth/accesskey/exchange', () => {
  let server: IssuerServer;
  before(async () => {
    const settings = loadIssuerSettings(undefined);
    server = await startIssuerServer(createIssuer(settings, await createKeyStore({ alg: 'RS256', keepRotatedKeys: 12 })), { port: 0 });
  });
  after(() => server.close());

  const exchange = (authorization: string | undefined, body?: string) =>
    fetch(`${server.url}/v1/auth/accesskey/exchange`, {
      method: 'POST',
      headers: { ...(authorization === undefined ? {} : { authorization }), 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body }),
    });

  test('a known key for the right project → {keyId, sessionJwt, expiration}; the JWT verifies and carries the key grants', async () => {
    const res = await exchange(`Bearer ${PID}:${KEY}`, '{"loginOptions":{}}');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = (await res.json()) as { keyId: string; sessionJwt: string; expiration: number };
    assert.deepEqual(Object.keys(body).sort(), ['expiration', 'keyId', 'sessionJwt']);
    assert.equal(body.keyId, KEY_ID);
    const { payload } = await jwtVerify(body.sessionJwt, createRemoteJWKSet(new URL(`${server.url}/v2/keys/${PID}`)), {
      issuer: `${server.url}/v1/apps/${PID}`,
      audience: PID,
    });
    assert.equal(payload.sub, KEY_ID);
    assert.equal(payload.exp, body.expiration);
    assert.equal(payload.drn, 'DS');
    assert.deepEqual(payload.roles, ['service']);
    assert.deepEqual(payload.permissions, ['jobs:run']);
    assert.deepEqual(payload.tenants, { T2acme: { roles: ['service'], permissions: ['jobs:run'] } });
    assert.equal(payload.client, 'billing-worker');
  });

  test('no body at all is accepted (all request fields are optional)', async () => {
    const res = await exchange(`Bearer ${PID}:${KEY}`);
    assert.equal(res.status, 200);
  });

  test('customClaims and selectedTenant reach the token', async () => {
    const res = await exchange(`Bearer ${PID}:${KEY}`, JSON.stringify({ loginOptions: { customClaims: { plan: 'pro', seats: 5, beta: true }, selectedTenant: 'T2acme' } }));
    assert.equal(res.status, 200);
    const { sessionJwt } = (await res.json()) as { sessionJwt: string };
    const { payload } = await jwtVerify(sessionJwt, createRemoteJWKSet(new URL(`${server.url}/v2/keys/${PID}`)));
    assert.equal(payload.plan, 'pro');
    assert.equal(payload.seats, 5);
    assert.equal(payload.beta, true);
    assert.equal(payload.dct, 'T2acme');
  });

  for (const [name, authorization, code] of [
    ['no Authorization', undefined, 'missing_credentials'],
    ['no access key part', `Bearer ${PID}`, 'missing_credentials'],
    ['Basic scheme', `Basic ${PID}:${KEY}`, 'missing_credentials'],
    ['another project', `Bearer P2someoneelse000000000000000:${KEY}`, 'project_mismatch'],
    ['an unknown key', `Bearer ${PID}:not-a-key-of-this-project`, 'invalid_access_key'],
    ['a prefix of the key', `Bearer ${PID}:${KEY.slice(0, -1)}`, 'invalid_access_key'],
  ] as const) {
    test(`${name} → 401 ${code}`, async () => {
      const res = await exchange(authorization, '{}');
      assert.equal(res.status, 401);
      const body = (await res.json()) as { errorCode: string; sessionJwt?: string };
      assert.equal(body.errorCode, code);
      assert.equal(body.sessionJwt, undefined);
      assert.ok(!JSON.stringify(body).includes(KEY), 'the error must not echo the key');
    });
  }

  for (const [name, body, code] of [
    ['a reserved custom claim', '{"loginOptions":{"customClaims":{"roles":["admin"]}}}', 'reserved_claim'],
    ['an object custom claim value', '{"loginOptions":{"customClaims":{"x":{"y":1}}}}', 'bad_request'],
    ['a tenant the key is not in', '{"loginOptions":{"selectedTenant":"T2globex"}}', 'tenant_not_allowed'],
    ['a non-object body', '"hello"', 'bad_request'],
    ['invalid JSON', '{"loginOptions":', 'bad_request'],
  ] as const) {
    test(`${name} → 400 ${code}`, async () => {
      const res = await exchange(`Bearer ${PID}:${KEY}`, body);
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { errorCode: string }).errorCode, code);
    });
  }

  const RESERVED = ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'jti', 'drn', 'amr', 'roles', 'permissions', 'tenants', 'dct', 'dsub', 'scope', 'scp'];

  test('customClaims naming any reserved claim (scope and scp included) → 400 reserved_claim naming it, no token', async () => {
    const values: Record<string, string | number | boolean> = { exp: 9999999999, iat: 1, nbf: 1 };
    for (const name of RESERVED) {
      const res = await exchange(`Bearer ${PID}:${KEY}`, JSON.stringify({ loginOptions: { customClaims: { plan: 'pro', [name]: values[name] ?? 'admin' } } }));
      assert.equal(res.status, 400, name);
      const body = (await res.json()) as { errorCode: string; errorMessage: string; sessionJwt?: string };
      assert.equal(body.errorCode, 'reserved_claim', name);
      assert.equal(body.errorMessage, `customClaims may not set the reserved claim "${name}"`);
      assert.equal(body.sessionJwt, undefined, name);
    }
  });

  for (const [name, source] of [['client', "the access key's claims"], ['app', 'the template claims']] as const) {
    test(`customClaims may not override "${name}", set by ${source} → 400 claim_conflict`, async () => {
      const res = await exchange(`Bearer ${PID}:${KEY}`, JSON.stringify({ loginOptions: { customClaims: { [name]: 'attacker' } } }));
      assert.equal(res.status, 400);
      const body = (await res.json()) as { errorCode: string; errorMessage: string; sessionJwt?: string };
      assert.equal(body.errorCode, 'claim_conflict');
      assert.equal(body.errorMessage, `customClaims may not override "${name}", which the issuer config sets for this key`);
      assert.equal(body.sessionJwt, undefined);
    });
  }

  test('a key configured with scope keeps it: the caller cannot replace it, and the token carries the configured one', async () => {
    const settings = resolveIssuerConfig({
      roles: [{ name: 'service' }],
      access_keys: [{ id: 'K2scoped', key: 'scoped-local-secret', roles: ['service'], claims: { scope: 'jobs:read' } }],
    });
    const scoped = await startIssuerServer(createIssuer(settings, await createKeyStore({ alg: 'ES256', keepRotatedKeys: 0 })), { port: 0 });
    try {
      const call = (customClaims: Record<string, unknown>) =>
        fetch(`${scoped.url}/v1/auth/accesskey/exchange`, {
          method: 'POST',
          headers: { authorization: `Bearer ${PID}:scoped-local-secret`, 'content-type': 'application/json' },
          body: JSON.stringify({ loginOptions: { customClaims } }),
        });
      const refused = await call({ scope: 'jobs:read jobs:admin' });
      assert.equal(refused.status, 400);
      assert.equal(((await refused.json()) as { errorCode: string }).errorCode, 'reserved_claim');
      const ok = await call({ note: 'hello' });
      assert.equal(ok.status, 200);
      const { sessionJwt } = (await ok.json()) as { sessionJwt: string };
      const { payload } = await jwtVerify(sessionJwt, createRemoteJWKSet(new URL(`${scoped.url}/v2/keys/${PID}`)));
      assert.equal(payload.scope, 'jobs:read');
      assert.equal(payload.note, 'hello');
      assert.deepEqual(payload.roles, ['service']);
    } finally {
      await scoped.close();
    }
  });

  test('buildAccessKeyClaims itself never lets customClaims replace computed or configured claims', () => {
    const settings = loadIssuerSettings(undefined);
    const key = settings.accessKeys[0]!;
    const claims = buildAccessKeyClaims({ settings, baseUrl: 'http://127.0.0.1:4000', nowSeconds: 1_000 }, key, {
      customClaims: { roles: ['admin'], sub: 'U2admin', exp: 9_999_999_999, scope: 'all', client: 'attacker', app: 'other', extra: 1 },
    });
    assert.deepEqual(claims.roles, ['service']);
    assert.equal(claims.sub, KEY_ID);
    assert.equal(claims.exp, 1_000 + settings.sessionTtlSeconds);
    assert.equal(claims.scope, undefined);
    assert.equal(claims.client, 'billing-worker');
    assert.equal(claims.app, 'portcullis-demo');
    assert.equal(claims.extra, 1);
  });

  test('GET is not allowed', async () => {
    const res = await fetch(`${server.url}/v1/auth/accesskey/exchange`);
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
  });
});
