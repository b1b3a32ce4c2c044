/**
 * The core through its public API, with a real JWKS server on 127.0.0.1 and
 * tokens minted by jose: decisions, denial shapes, key rotation, outages and
 * the verified-token cache.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createAuthorizer, createKeySetRegistry, createVerifiedTokenCache, ConfigError, type Decision, type ValidatorConfig } from '../../src/index.js';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { ManualClock, nowSeconds as now } from '../support/clock.js';

const PID = 'P2testproject000000000000000';

function bearer(token: string) {
  return { headers: { authorization: `Bearer ${token}` } };
}

function denied(decision: Decision) {
  assert.equal(decision.allowed, false, 'expected a denial');
  return decision as Extract<Decision, { allowed: false }>;
}

function allowed(decision: Decision) {
  assert.equal(decision.allowed, true, `expected an allow, got ${JSON.stringify(decision)}`);
  return decision as Extract<Decision, { allowed: true }>;
}

describe('createAuthorizer with a remote JWKS', () => {
  let server: JwksServer;
  let key: TestSigningKey;
  let other: TestSigningKey;
  const open: { close(): void }[] = [];
  const make = (config: Partial<ValidatorConfig>, options = {}) => {
    const authorizer = createAuthorizer({ alg: 'RS256', jwk_url: server.url('/jwks'), ...config } as ValidatorConfig, options);
    open.push(authorizer);
    return authorizer;
  };

  before(async () => {
    server = await startJwksServer();
    key = await generateSigningKey('k1');
    other = await generateSigningKey('k-unknown');
    server.setKeys(jwksOf(key));
  });
  after(async () => {
    for (const item of open) item.close();
    await server.close();
  });

  it('allows a valid token and propagates claims with KrakenD formatting', async () => {
    const authorizer = make({
      issuer: `https://api.descope.com/${PID}`,
      audience: [PID],
      roles: ['admin', 'support'],
      propagate_claims: [['sub', 'X-User'], ['roles', 'X-Roles'], ['missing', 'X-Missing'], ['n', 'X-N'], ['obj', 'X-Obj']],
      forward_payload_header: 'X-Jwt-Payload',
    });
    const token = await mintToken(key, {
      sub: 'U1', iss: `https://api.descope.com/${PID}`, aud: [PID], exp: now() + 600, roles: ['reader', 'admin'], n: 4.0000001, obj: { a: 1 },
    });
    const decision = allowed(await authorizer.authorize(bearer(token)));
    assert.equal(decision.claims.sub, 'U1');
    assert.deepEqual(
      decision.headers.map((h) => [h.name, h.value]),
      [['X-User', 'U1'], ['X-Roles', 'reader,admin'], ['X-Missing', ''], ['X-N', '4'], ['X-Obj', '{"a":1}'], ['X-Jwt-Payload', token.split('.')[1]]],
    );
    assert.deepEqual([...decision.stripHeaders], ['x-user', 'x-roles', 'x-missing', 'x-n', 'x-obj', 'x-jwt-payload']);
    assert.equal(decision.cached, false);
    assert.equal(decision.tokenLocation, 'header');
  });

  it('answers a cache hit synchronously, and still checks time and policy on every hit', async () => {
    let clockMs = Date.now();
    const clock = { now: () => clockMs };
    const registry = createKeySetRegistry({ clock });
    const cache = createVerifiedTokenCache(100);
    const admin = make({ roles: ['admin'] }, { keySets: registry, cache, clock });
    const auditor = make({ roles: ['auditor'] }, { keySets: registry, cache, clock });
    open.push(registry);
    const token = await mintToken(key, { sub: 'U2', exp: Math.floor(clockMs / 1000) + 60, roles: ['admin'] });
    allowed(await admin.authorize(bearer(token)));
    const hit = admin.authorize(bearer(token));
    assert.ok(!(hit instanceof Promise), 'a cache hit must not await');
    assert.equal(allowed(hit).cached, true);
    const other = denied(await auditor.authorize(bearer(token)));
    assert.equal(other.code, 'insufficient_roles');
    assert.equal(other.status, 403);
    clockMs += 62_000;
    const expired = denied(await admin.authorize(bearer(token)));
    assert.equal(expired.code, 'token_expired');
    assert.equal(expired.status, 401);
  });

  it('shapes denials per RFC 6750 with a stable JSON body and no token material', async () => {
    const authorizer = make({ roles: ['admin'] });
    const missing = denied(await authorizer.authorize({ headers: {} }));
    assert.equal(missing.status, 401);
    assert.equal(missing.wwwAuthenticate, 'Bearer');
    assert.deepEqual(JSON.parse(missing.body!), { error: 'unauthorized', code: 'token_missing', message: 'No bearer token was presented.' });

    const expiredToken = await mintToken(key, { exp: now() - 100 });
    const expired = denied(await authorizer.authorize(bearer(expiredToken)));
    assert.equal(expired.code, 'token_expired');
    assert.equal(expired.wwwAuthenticate, 'Bearer error="invalid_token", error_description="The token has expired."');
    assert.ok(!expired.body!.includes(expiredToken.split('.')[2]!));

    const weak = denied(await authorizer.authorize(bearer(await mintToken(key, { exp: now() + 60, roles: ['reader'] }))));
    assert.equal(weak.status, 403);
    assert.equal(weak.wwwAuthenticate, 'Bearer error="insufficient_scope", error_description="The token lacks a required role."');
    assert.equal(JSON.parse(weak.body!).error, 'insufficient_scope');
  });

  it('switches the body and the challenge off for strict KrakenD parity', async () => {
    const authorizer = make({ error_body: false, www_authenticate: false });
    const decision = denied(await authorizer.authorize({ headers: {} }));
    assert.equal(decision.body, undefined);
    assert.equal(decision.wwwAuthenticate, undefined);
  });

  it('accepts every Descope issuer form when listed, and only those', async () => {
    const forms = [PID, `https://api.descope.com/${PID}`, `https://api.descope.com/v1/apps/${PID}`];
    const authorizer = make({ issuer: forms });
    for (const iss of forms) allowed(await authorizer.authorize(bearer(await mintToken(key, { iss, exp: now() + 60 }))));
    for (const iss of [`https://api.descope.com/${PID}/`, `https://evil.example/${PID}`, 'P2other']) {
      assert.equal(denied(await authorizer.authorize(bearer(await mintToken(key, { iss, exp: now() + 60 })))).code, 'issuer_mismatch');
    }
  });

  it('matches audiences with all (KrakenD) or any', async () => {
    const all = make({ audience: ['a', 'b'] });
    const any = make({ audience: ['a', 'b'], audience_matcher: 'any' });
    const onlyA = await mintToken(key, { aud: ['a'], exp: now() + 60 });
    const both = await mintToken(key, { aud: ['b', 'a', 'c'], exp: now() + 60 });
    assert.equal(denied(await all.authorize(bearer(onlyA))).code, 'audience_mismatch');
    allowed(await all.authorize(bearer(both)));
    allowed(await any.authorize(bearer(onlyA)));
    assert.equal(denied(await any.authorize(bearer(await mintToken(key, { aud: 'c', exp: now() + 60 })))).code, 'audience_mismatch');
  });

  it('requires exp unless switched off, and bounds the lifetime', async () => {
    const noExp = await mintToken(key, { sub: 'x' });
    assert.equal(denied(await make({}).authorize(bearer(noExp))).code, 'expiry_missing');
    allowed(await make({ require_exp: false }).authorize(bearer(noExp)));
    const capped = make({ max_token_lifetime: '1h' });
    allowed(await capped.authorize(bearer(await mintToken(key, { iat: now(), exp: now() + 3600 }))));
    assert.equal(denied(await capped.authorize(bearer(await mintToken(key, { iat: now(), exp: now() + 3602 })))).code, 'lifetime_exceeded');
    assert.equal(denied(await capped.authorize(bearer(await mintToken(key, { exp: now() + 7200 })))).code, 'lifetime_exceeded');
  });

  it('checks sub, typ, nbf and iat', async () => {
    const authorizer = make({ subject: ['svc-a', 'svc-b'], typ: 'at+jwt' });
    allowed(await authorizer.authorize(bearer(await mintToken(key, { sub: 'svc-a', exp: now() + 60 }, { typ: 'AT+JWT' }))));
    assert.equal(denied(await authorizer.authorize(bearer(await mintToken(key, { sub: 'svc-c', exp: now() + 60 }, { typ: 'at+jwt' })))).code, 'subject_mismatch');
    assert.equal(denied(await authorizer.authorize(bearer(await mintToken(key, { sub: 'svc-a', exp: now() + 60 }, { typ: 'JWT' })))).code, 'type_not_allowed');
    const plain = make({});
    assert.equal(denied(await plain.authorize(bearer(await mintToken(key, { nbf: now() + 30, exp: now() + 60 })))).code, 'token_not_yet_valid');
    assert.equal(denied(await plain.authorize(bearer(await mintToken(key, { iat: now() + 30, exp: now() + 60 })))).code, 'token_not_yet_valid');
    allowed(await plain.authorize(bearer(await mintToken(key, { nbf: now(), exp: now() + 60 }))));
  });

  it('reads the token from a custom header, the Descope DS cookie and the query, in that order', async () => {
    const authorizer = make({ auth_header_name: 'X-Session', cookie_key: 'DS', query_key: 'access_token' });
    const token = await mintToken(key, { exp: now() + 60 });
    assert.equal(allowed(await authorizer.authorize({ headers: { 'x-session': token } })).tokenLocation, 'header');
    assert.equal(allowed(await authorizer.authorize({ headers: { cookie: `a=b; DS=${token}; DSR=zzz` } })).tokenLocation, 'cookie');
    assert.equal(allowed(await authorizer.authorize({ headers: {}, query: `x=1&access_token=${token}` })).tokenLocation, 'query');
    // A bad header token is not rescued by a good cookie.
    const decision = denied(await authorizer.authorize({ headers: { 'x-session': 'garbage', cookie: `DS=${token}` } }));
    assert.equal(decision.code, 'token_malformed');
  });

  it('applies Descope tenant roles with the tenant id from a path parameter', async () => {
    const authorizer = make({ tenant: { from: 'param', name: 'tenant', roles: ['owner'] } }, { routeParams: ['tenant'] });
    const token = await mintToken(key, { exp: now() + 60, tenants: { T1: { roles: ['owner', 'viewer'] }, T2: { roles: ['viewer'] } } });
    allowed(await authorizer.authorize({ ...bearer(token), params: { tenant: 'T1' } }));
    assert.equal(denied(await authorizer.authorize({ ...bearer(token), params: { tenant: 'T2' } })).code, 'insufficient_roles');
    assert.equal(denied(await authorizer.authorize({ ...bearer(token), params: { tenant: 'T3' } })).code, 'tenant_not_allowed');
  });

  it('refetches once for an unknown kid, then accepts a key published since', async () => {
    let clockMs = Date.now();
    const authorizer = make({ failed_jwk_key_cooldown: '10s' }, { clock: { now: () => clockMs } });
    await authorizer.ready();
    const before = server.requestCount('/jwks');
    const fresh = await mintToken(other, { exp: Math.floor(clockMs / 1000) + 600 });
    // Within the cooldown of the first download: no further download, key_not_found.
    assert.equal(denied(await authorizer.authorize(bearer(fresh))).code, 'key_not_found');
    assert.equal(server.requestCount('/jwks'), before);
    server.setKeys(jwksOf(key, other));
    clockMs += 11_000;
    allowed(await authorizer.authorize(bearer(fresh)));
    assert.equal(server.requestCount('/jwks'), before + 1);
    server.setKeys(jwksOf(key));
  });

  it('drops cached tokens whose key left the key set', async () => {
    let clockMs = Date.now();
    const rotating = await generateSigningKey('k-rotating');
    server.setKeys(jwksOf(key, rotating));
    const authorizer = make({ failed_jwk_key_cooldown: '1s' }, { clock: { now: () => clockMs } });
    const token = await mintToken(rotating, { exp: Math.floor(clockMs / 1000) + 600 });
    allowed(await authorizer.authorize(bearer(token)));
    assert.equal(allowed(await authorizer.authorize(bearer(token))).cached, true);
    server.setKeys(jwksOf(key));
    clockMs += 2_000;
    // Any unknown kid after the cooldown refreshes the set; the rotated-out key is retired.
    denied(await authorizer.authorize(bearer(await mintToken(other, { exp: Math.floor(clockMs / 1000) + 60 }))));
    clockMs += 2_000;
    const decision = denied(await authorizer.authorize(bearer(token)));
    assert.equal(decision.code, 'key_not_found');
  });

  it('answers 503 while no keys have ever loaded, and recovers without a restart', async () => {
    const outage = await startJwksServer();
    outage.setKeys(jwksOf(key));
    await outage.setMode('down');
    const clock = new ManualClock();
    const authorizer = createAuthorizer({ alg: 'RS256', jwk_url: outage.url('/jwks'), jwk_fetch_timeout: '500ms' }, { clock });
    open.push(authorizer);
    await authorizer.ready();
    const token = await mintToken(key, { exp: now() + 60 });
    const decision = denied(await authorizer.authorize(bearer(token)));
    assert.equal(decision.code, 'keys_unavailable');
    assert.equal(decision.status, 503);
    assert.equal(decision.wwwAuthenticate, undefined);
    await outage.setMode('ok');
    // While no keys are loaded, a request may start a download once per second.
    clock.advance(1000);
    allowed(await authorizer.authorize(bearer(token)));
    await outage.close();
  });

  it('stops honouring cached verifications once the key set is past its stale bound', async () => {
    let clockMs = Date.now();
    const flaky = await startJwksServer();
    flaky.setKeys(jwksOf(key));
    const authorizer = createAuthorizer(
      { alg: 'RS256', jwk_url: flaky.url('/jwks'), jwk_max_stale: '1m', failed_jwk_key_cooldown: '1s' },
      { clock: { now: () => clockMs } },
    );
    open.push(authorizer);
    const token = await mintToken(key, { exp: Math.floor(clockMs / 1000) + 3600 });
    allowed(await authorizer.authorize(bearer(token)));
    assert.equal(allowed(await authorizer.authorize(bearer(token))).cached, true);
    await flaky.setMode('status500');
    clockMs += 120_000;
    // An unknown kid makes the set try (and fail) a download past its stale bound.
    denied(await authorizer.authorize(bearer(await mintToken(other, { exp: Math.floor(clockMs / 1000) + 60 }))));
    const decision = denied(await authorizer.authorize(bearer(token)));
    assert.equal(decision.code, 'keys_unavailable');
    assert.equal(decision.status, 503);
    await flaky.close();
  });

  it('hands out frozen claims, so a caller cannot change what later cache hits see', async () => {
    const registry = createKeySetRegistry();
    const cache = createVerifiedTokenCache(10);
    open.push(registry);
    const anyone = make({}, { keySets: registry, cache });
    const admins = make({ roles: ['admin'] }, { keySets: registry, cache });
    const token = await mintToken(key, { exp: now() + 60, roles: ['reader'] });
    const decision = allowed(await anyone.authorize(bearer(token)));
    assert.ok(Object.isFrozen(decision.claims) && Object.isFrozen(decision.claims.roles));
    assert.throws(() => (decision.claims.roles as string[]).push('admin'), TypeError);
    assert.equal(denied(await admins.authorize(bearer(token))).code, 'insufficient_roles');
  });

  it('never accepts a token signed by a key outside the set, nor alg none', async () => {
    const authorizer = make({});
    const forged = await mintToken(other, { exp: now() + 60 }, { kid: 'k1' });
    assert.equal(denied(await authorizer.authorize(bearer(forged))).code, 'signature_invalid');
    const payload = Buffer.from(JSON.stringify({ exp: now() + 60 })).toString('base64url');
    // A genuine RS256 signature by the trusted key over the token's own input: only the alg can be wrong.
    const signedAs = async (alg: string) => {
      const input = `${Buffer.from(JSON.stringify({ alg, kid: 'k1' })).toString('base64url')}.${payload}`;
      const signature = Buffer.from(await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key.privateKey, Buffer.from(input))).toString('base64url');
      return `${input}.${signature}`;
    };
    allowed(await authorizer.authorize(bearer(await signedAs('RS256'))));
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      const decision = denied(await authorizer.authorize(bearer(await signedAs(alg))));
      assert.equal(decision.code, 'alg_not_allowed', `alg ${alg}: ${decision.detail}`);
    }
  });
});

describe('createAuthorizer configuration errors', () => {
  const expectConfigError = (config: unknown, path: string, pattern: RegExp) => {
    assert.throws(
      () => createAuthorizer(config as ValidatorConfig, { path: '$.v', routeParams: ['id'] }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        const issue = error.issues.find((i) => i.path === path);
        assert.ok(issue, `no issue at ${path}: ${JSON.stringify(error.issues)}`);
        assert.match(issue.message, pattern);
        return true;
      },
    );
  };

  it('names the JSON path of each mistake', () => {
    expectConfigError({ alg: 'none', jwk_url: 'https://x.example/jwks' }, '$.v.alg', /must be one of/);
    expectConfigError({ alg: 'RS256' }, '$.v.jwk_url', /one key source is required/);
    expectConfigError({ alg: 'RS256', jwk_url: 'https://a.example/k', jwk_local_path: 'k.json' }, '$.v.jwk_local_path', /only one key source/);
    expectConfigError({ alg: 'RS256', jwk_url: 'http://idp.example/keys' }, '$.v.jwk_url', /https/);
    expectConfigError({ alg: 'RS256', jwk_url: 'https://a.example/k', scopes: ['read'] }, '$.v.scopes', /scopes_key/);
    expectConfigError({ alg: 'RS256', jwk_url: 'https://a.example/k', leeway: 'soon' }, '$.v.leeway', /duration/);
    expectConfigError({ alg: 'RS256', jwk_url: 'https://a.example/k', propagate_claims: [['sub']] }, '$.v.propagate_claims[0]', /pair/);
    expectConfigError({ alg: 'RS256', jwk_url: 'https://a.example/k', claims: [{ claim: 'drn' }] }, '$.v.claims[0]', /exactly one of/);
    expectConfigError({ alg: 'RS256', oidc_discovery: true }, '$.v.oidc_discovery', /exactly one issuer/);
    expectConfigError({ alg: 'RS256', jwk_local_path: 'missing-file.json' }, '$.v.jwk_local_path', /cannot read JWKS file/);
    expectConfigError({ alg: 'RS256', jwk_local_path: 'k.json', cache: true }, '$.v.cache', /cache could not be used with jwk_local_path/);
    expectConfigError({ alg: 'RS256', jwk_url: 'https://a.example/k', tenant: { from: 'param' } }, '$.v.tenant.name', /no \{tenant\} path parameter/);
    expectConfigError(
      { alg: ['RS256', 'HS256'], jwk_keys: [{ kty: 'oct', k: Buffer.alloc(32, 1).toString('base64url') }, { kty: 'oct', k: 'c2VjcmV0' }] },
      '$.v.jwk_keys',
      /unusable key: key #1: HMAC key is shorter than the hash output/,
    );
    expectConfigError({ alg: 'HS256', jwk_keys: [{ kty: 'oct', k: Buffer.alloc(16).toString('base64url') }] }, '$.v.jwk_keys', /shorter than the hash/);

  });
});
