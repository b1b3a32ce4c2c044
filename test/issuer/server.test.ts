import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { loadIssuerSettings } from '../../src/issuer/config.js';
import type { IssuerAlg } from '../../src/issuer/options.js';
import { createIssuer } from '../../src/issuer/issuer.js';
import { createKeyStore } from '../../src/issuer/key-store.js';
import { startIssuerServer, type IssuerServer } from '../../src/issuer/server.js';

const PID = 'P2portcullisdemo0000000000000';

async function startIssuer(alg: IssuerAlg = 'RS256'): Promise<IssuerServer> {
  const settings = loadIssuerSettings(undefined, { alg });
  const keyStore = await createKeyStore({ alg, keepRotatedKeys: settings.keepRotatedKeys });
  return startIssuerServer(createIssuer(settings, keyStore), { port: 0 });
}

async function mint(server: IssuerServer, body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${server.url}/admin/mint`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const json = (await res.json()) as { sessionJwt: string; expiration: number };
  assert.equal(typeof json.expiration, 'number');
  return json.sessionJwt;
}

/** Fetches discovery, then verifies through its jwks_uri, as an OIDC client would. */
async function verifyThroughDiscovery(discoveryUrl: string, token: string): Promise<{ payload: JWTPayload; issuer: string }> {
  const res = await fetch(discoveryUrl);
  assert.equal(res.status, 200);
  const doc = (await res.json()) as { issuer: string; jwks_uri: string };
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(doc.jwks_uri)), { issuer: doc.issuer, audience: PID });
  return { payload, issuer: doc.issuer };
}

describe('issuer endpoints, checked by an independent verifier (jose)', () => {
  let server: IssuerServer;
  before(async () => {
    server = await startIssuer();
  });
  after(() => server.close());

  test('GET /v2/keys/<pid> is a JWKS that verifies minted tokens with iss, aud and Descope claims', async () => {
    const token = await mint(server, { sub: 'U2test', roles: ['admin'], tenants: { T2acme: ['editor'] }, jti: true, claims: { plan: 'pro' } });
    const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(`${server.url}/v2/keys/${PID}`)), {
      issuer: `${server.url}/v1/apps/${PID}`,
      audience: PID,
      algorithms: ['RS256'],
    });
    assert.equal(protectedHeader.typ, 'JWT');
    assert.equal(payload.sub, 'U2test');
    assert.deepEqual(payload.aud, [PID]);
    assert.equal(payload.drn, 'DS');
    assert.deepEqual(payload.amr, ['pwd']);
    assert.deepEqual(payload.roles, ['admin']);
    assert.deepEqual(payload.permissions, ['reports:read', 'users:write']);
    assert.deepEqual(payload.tenants, { T2acme: { roles: ['editor'], permissions: ['projects:read', 'projects:write'] } });
    assert.equal(payload.dct, 'T2acme');
    assert.equal(payload.plan, 'pro');
    assert.equal(payload.app, 'portcullis-demo');
    assert.match(String(payload.jti), /^[A-Za-z0-9_-]{22}$/);
    assert.equal((payload.exp as number) - (payload.iat as number), 600);
  });

  test('discovery (apps form) names the issuer of apps-form tokens and a jwks_uri that verifies them', async () => {
    const token = await mint(server, { roles: ['viewer'] });
    const { issuer, payload } = await verifyThroughDiscovery(`${server.url}/v1/apps/${PID}/.well-known/openid-configuration`, token);
    assert.equal(issuer, `${server.url}/v1/apps/${PID}`);
    assert.equal(payload.iss, issuer);
  });

  test('discovery (url form) names the issuer of url-form tokens', async () => {
    const token = await mint(server, { iss_form: 'url' });
    const { issuer } = await verifyThroughDiscovery(`${server.url}/${PID}/.well-known/openid-configuration`, token);
    assert.equal(issuer, `${server.url}/${PID}`);
    // The other discovery document's issuer must not accept it.
    await assert.rejects(verifyThroughDiscovery(`${server.url}/v1/apps/${PID}/.well-known/openid-configuration`, token), {
      code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
      claim: 'iss',
    });
  });

  test('project form: iss is the bare project id', async () => {
    const token = await mint(server, { iss_form: 'project' });
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${server.url}/${PID}/.well-known/jwks.json`)), { issuer: PID });
    assert.equal(payload.iss, PID);
  });

  test('GET /v1/keys/<pid> is a bare array holding the same keys as v2', async () => {
    const v1 = await (await fetch(`${server.url}/v1/keys/${PID}`)).json();
    const v2 = (await (await fetch(`${server.url}/v2/keys/${PID}?certs=true`)).json()) as { keys: unknown[] };
    assert.ok(Array.isArray(v1));
    assert.deepEqual(v1, v2.keys);
    const [key] = v2.keys as Record<string, unknown>[];
    assert.deepEqual(Object.keys(key!).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
    assert.equal(key!.use, 'sig');
  });

  test('unknown project → 404 JSON; wrong method → 405 with Allow; HEAD works', async () => {
    const res = await fetch(`${server.url}/v2/keys/P2other`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { errorCode: string }).errorCode, 'not_found');
    const post = await fetch(`${server.url}/v2/keys/${PID}`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    const head = await fetch(`${server.url}/v2/keys/${PID}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  test('a tampered token fails the independent verifier (the test can fail)', async () => {
    const token = await mint(server, { roles: ['viewer'] });
    const [h, p, s] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), roles: ['admin'] })).toString('base64url');
    await assert.rejects(jwtVerify(`${h}.${forged}.${s}`, createRemoteJWKSet(new URL(`${server.url}/v2/keys/${PID}`))), {
      code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    });
  });

  test('negative ttl mints an expired token', async () => {
    const token = await mint(server, { ttl: '-5m' });
    await assert.rejects(jwtVerify(token, createRemoteJWKSet(new URL(`${server.url}/v2/keys/${PID}`))), { code: 'ERR_JWT_EXPIRED' });
  });
});

describe('admin routes', () => {
  let server: IssuerServer;
  before(async () => {
    server = await startIssuer();
  });
  after(() => server.close());

  const post = (path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers, body });

  test('bad mint bodies → 400 naming the field', async () => {
    for (const [body, message] of [
      ['{"roles":"admin"}', 'roles must be a list of non-empty strings'],
      ['{"rolez":["admin"]}', 'unknown field "rolez"'],
      ['{"ttl":"soon"}', 'ttl must be a duration'],
      ['{"iss_form":"other"}', 'iss_form must be'],
      ['[1]', 'the body must be a JSON object'],
      ['{nope', 'the body is not valid JSON'],
    ] as const) {
      const res = await post('/admin/mint', body);
      assert.equal(res.status, 400, body);
      const json = (await res.json()) as { errorCode: string; errorMessage: string };
      assert.equal(json.errorCode, 'bad_request');
      assert.ok(json.errorMessage.startsWith(message), `${body}: ${json.errorMessage}`);
    }
  });

  test('admin routes need a JSON content type (no simple cross-site POST)', async () => {
    const res = await post('/admin/rotate', '{}', { 'content-type': 'text/plain' });
    assert.equal(res.status, 415);
    assert.equal(((await res.json()) as { errorCode: string }).errorCode, 'unsupported_media_type');
  });

  test('admin routes refuse a non-loopback Host (DNS rebinding)', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${server.url}/admin/mint`, { method: 'POST', headers: { host: 'evil.example:4000', 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('{}');
    });
    assert.equal(status, 403);
  });

  test('oversized bodies → 413', async () => {
    const res = await post('/admin/mint', JSON.stringify({ claims: { big: 'x'.repeat(70_000) } }));
    assert.equal(res.status, 413);
  });

  test('rotate answers the new kid and the published list, and JWKS follows', async () => {
    const before = (await (await fetch(`${server.url}/v2/keys/${PID}`)).json()) as { keys: { kid: string }[] };
    const res = await post('/admin/rotate', '{}');
    assert.equal(res.status, 200);
    const body = (await res.json()) as { kid: string; published: string[] };
    const after = (await (await fetch(`${server.url}/v2/keys/${PID}`)).json()) as { keys: { kid: string }[] };
    assert.deepEqual(after.keys.map((k) => k.kid), [body.kid, ...before.keys.map((k) => k.kid)]);
    assert.deepEqual(body.published, after.keys.map((k) => k.kid));
    const token = await mint(server, {});
    assert.equal(decodeProtectedHeader(token).kid, body.kid);
  });
});

describe('other algorithms verify with jose too', () => {
  for (const alg of ['ES256', 'ES384', 'EdDSA'] as const) {
    test(alg, async () => {
      const server = await startIssuer(alg);
      try {
        const token = await mint(server, { roles: ['admin'] });
        const { protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(`${server.url}/v2/keys/${PID}`)), {
          algorithms: [alg],
          issuer: `${server.url}/v1/apps/${PID}`,
        });
        assert.equal(protectedHeader.alg, alg);
      } finally {
        await server.close();
      }
    });
  }
});
