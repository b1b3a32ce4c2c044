import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { loadIssuerSettings } from '../../src/issuer/config.js';
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

  test('GET is not allowed', async () => {
    const res = await fetch(`${server.url}/v1/auth/accesskey/exchange`);
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
  });
});
