/**
 * The revocation check in an authorizer's check list (bindPolicy
 * `boundChecks`), with tokens minted by jose and keys served by a real JWKS
 * server: a revoked token gets 401 `token_revoked` with the RFC 6750
 * challenge, also when it is already in the verified-token cache; it runs
 * before the policy rules; with `failClosed` an unrevoked token gets 503
 * `revocation_unavailable` while the store is not fresh.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createVerifiedTokenCache } from '../../src/authorizer/cache.js';
import type { Decision } from '../../src/authorizer/decision.js';
import type { NamedCheck } from '../../src/authorizer/policy.js';
import { compileValidator } from '../../src/config/compile-validator.js';
import { createKeySetRegistry, type KeySetRegistry } from '../../src/keys/registry.js';
import { bindPolicy, type Authorizer } from '../../src/runtime/bind.js';
import { revocationCheck } from '../../src/revocation/check.js';
import { createMemoryRevocationStore } from '../../src/revocation/memory-store.js';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';

const now = () => Math.floor(Date.now() / 1000);
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

function denied(decision: Decision) {
  assert.equal(decision.allowed, false, `expected a denial, got ${JSON.stringify(decision)}`);
  return decision as Extract<Decision, { allowed: false }>;
}

describe('revocationCheck in the check list', () => {
  let server: JwksServer;
  let key: TestSigningKey;
  let registry: KeySetRegistry;
  const open: Authorizer[] = [];

  before(async () => {
    server = await startJwksServer();
    key = await generateSigningKey('k1');
    server.setKeys(jwksOf(key));
    registry = createKeySetRegistry();
  });
  after(async () => {
    for (const authorizer of open) authorizer.close();
    registry.close();
    await server.close();
  });

  const bind = (checks: readonly NamedCheck[], config: Record<string, unknown> = {}) => {
    const policy = compileValidator({ alg: 'RS256', jwk_url: server.url('/jwks'), ...config }, { path: '$' });
    const authorizer = bindPolicy(policy, { keySets: registry, cache: createVerifiedTokenCache(100), boundChecks: checks });
    open.push(authorizer);
    return authorizer;
  };

  it('refuses a revoked token with 401 token_revoked, also once it is cached, and lets a token issued later through', async () => {
    const store = createMemoryRevocationStore({ purgeIntervalMs: 0 });
    const authorizer = bind([revocationCheck(store.set)]);
    const issuedAt = now() - 30;
    const old = await mintToken(key, { sub: 'U1', iat: issuedAt, exp: now() + 600 });
    assert.equal((await authorizer.authorize(bearer(old))).allowed, true);
    const cached = await authorizer.authorize(bearer(old));
    assert.equal(cached.allowed && cached.cached, true, 'the token is now served from the verified-token cache');

    await store.revoke({ kind: 'sub', value: 'U1', before: issuedAt + 1, expiresAt: now() + 3600 });
    const deny = denied(await authorizer.authorize(bearer(old)));
    assert.equal(deny.code, 'token_revoked');
    assert.equal(deny.status, 401);
    assert.equal(deny.wwwAuthenticate, 'Bearer error="invalid_token", error_description="The token has been revoked."');
    assert.deepEqual(JSON.parse(deny.body!), { error: 'invalid_token', code: 'token_revoked', message: 'The token has been revoked.' });

    const fresh = await mintToken(key, { sub: 'U1', iat: issuedAt + 1, exp: now() + 600 });
    const allowed = await authorizer.authorize(bearer(fresh));
    assert.equal(allowed.allowed, true, 'a token issued at the cut-off or later is not revoked');
  });

  it('revokes by jti and by a configured claim (sid)', async () => {
    const store = createMemoryRevocationStore({ purgeIntervalMs: 0 });
    const authorizer = bind([revocationCheck(store.set)]);
    const byJti = await mintToken(key, { sub: 'U2', jti: 'J-1', iat: now(), exp: now() + 600 });
    const bySid = await mintToken(key, { sub: 'U3', sid: 'S-9', iat: now(), exp: now() + 600 });
    await store.revoke({ kind: 'jti', value: 'J-1', expiresAt: now() + 600 });
    await store.revoke({ kind: 'claim', claim: 'sid', value: 'S-9', expiresAt: now() + 600 });
    assert.equal(denied(await authorizer.authorize(bearer(byJti))).code, 'token_revoked');
    assert.equal(denied(await authorizer.authorize(bearer(bySid))).code, 'token_revoked');
  });

  it('runs after the token checks and before the policy rules', async () => {
    const store = createMemoryRevocationStore({ purgeIntervalMs: 0 });
    await store.revoke({ kind: 'sub', value: 'U4', expiresAt: now() + 600 });
    const authorizer = bind([revocationCheck(store.set)], { roles: ['admin'] });
    assert.deepEqual(
      authorizer.checks.map((check) => check.kind),
      [...authorizer.checks.filter((c) => c.kind === 'token').map(() => 'token'), 'request', 'policy'],
    );
    const noRole = await mintToken(key, { sub: 'U4', roles: ['viewer'], iat: now(), exp: now() + 600 });
    assert.equal(denied(await authorizer.authorize(bearer(noRole))).code, 'token_revoked', 'revoked beats insufficient_roles');
    const expired = await mintToken(key, { sub: 'U4', iat: now() - 100, exp: now() - 10 });
    assert.equal(denied(await authorizer.authorize(bearer(expired))).code, 'token_expired', 'token checks come first');
  });

  it('fail closed: 503 revocation_unavailable while the store is not fresh; a revoked token still gets 401', async () => {
    let fresh = false;
    const store = createMemoryRevocationStore({ purgeIntervalMs: 0 });
    const source = { isFresh: (_nowMs: number, bound?: number) => fresh && bound === 5000 };
    const authorizer = bind([revocationCheck(store.set, { failClosed: { source, maxStalenessMs: 5000 } })]);
    const token = await mintToken(key, { sub: 'U5', iat: now(), exp: now() + 600 });
    const deny = denied(await authorizer.authorize(bearer(token)));
    assert.equal(deny.code, 'revocation_unavailable');
    assert.equal(deny.status, 503);
    assert.equal(deny.wwwAuthenticate, undefined);
    assert.deepEqual(JSON.parse(deny.body!), { error: 'temporarily_unavailable', code: 'revocation_unavailable', message: 'Revocation state is not available; try again shortly.' });

    await store.revoke({ kind: 'sub', value: 'U6', expiresAt: now() + 600 });
    const revoked = await mintToken(key, { sub: 'U6', iat: now(), exp: now() + 600 });
    assert.equal(denied(await authorizer.authorize(bearer(revoked))).code, 'token_revoked');

    fresh = true;
    assert.equal((await authorizer.authorize(bearer(token))).allowed, true);
  });

  it('describes itself for explain', () => {
    const store = createMemoryRevocationStore({ purgeIntervalMs: 0 });
    const check = revocationCheck(store.set);
    assert.equal(check.name, 'revocation');
    assert.equal(check.kind, 'request');
    assert.equal(check.describe!({ alg: 'RS256', header: { alg: 'RS256' }, claims: {} }, 0), 'not revoked (0 entries enforced)');
  });
});
