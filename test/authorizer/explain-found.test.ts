/**
 * `explain` shows, next to each failed check, what the token holds and what
 * the endpoint requires: scopes, permissions, claim rules, tenants (from a
 * header and from a claim), typ, lifetime and subject. Values come from the
 * claims; the token itself never appears. Tokens are minted with jose.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { explainRequest, formatExplanation, type ExplainLine } from '../../src/authorizer/explain.js';
import type { ValidatorConfig } from '../../src/config/validator-schema.js';
import { createAuthorizer } from '../../src/runtime/create-authorizer.js';
import { generateSigningKey, mintToken, type TestSigningKey } from '../support/jwks-server.js';

const NOW_MS = Date.UTC(2026, 10, 29, 12, 0, 0);
const NOW = NOW_MS / 1000;
const clock = { now: () => NOW_MS };

let key: TestSigningKey;
before(async () => {
  key = await generateSigningKey('k1');
});

async function failures(config: Record<string, unknown>, payload: Record<string, unknown>, headers: Record<string, string> = {}, typ?: string) {
  const authorizer = createAuthorizer({ alg: 'RS256', jwk_keys: [key.publicJwk], ...config } as unknown as ValidatorConfig, { clock, cacheSize: 0 });
  try {
    const token = await mintToken(key, { exp: NOW + 300, ...payload }, typ === undefined ? {} : { typ });
    const explained = await explainRequest(authorizer, { headers: { authorization: `Bearer ${token}`, ...headers } }, clock);
    const text = formatExplanation(explained);
    for (const part of token.split('.')) assert.ok(!text.includes(part), 'no part of the token is printed');
    const failed = explained.lines.filter((line) => line.outcome === 'fail');
    // By the check's first word: `roles`, `scopes`, `tenant`, `token` (typ), `max` (lifetime), `claim`.
    return { get: (word: string) => failed.find((line) => line.check.split(/[ :]/)[0] === word), all: (word: string) => failed.filter((line) => line.check.split(/[ :]/)[0] === word) };
  } finally {
    authorizer.close();
  }
}

describe('explain: found vs expected on failed checks', () => {
  test('scopes (either key), permissions and claim rules', async () => {
    const failed = await failures(
      {
        scopes: ['write'], scopes_key: ['scp', 'scope'], scopes_matcher: 'all',
        permissions: ['users:write'],
        claims: [{ claim: 'plan', equals: 'pro' }, { claim: 'org.tier', one_of: ['gold'] }],
      },
      { scope: 'read list', permissions: ['reports:read'], plan: 'free', org: { tier: 'bronze' } },
    );
    assert.deepEqual(pick(failed.get('scopes')), { found: '"read list" in "scope"', expected: 'all of ["write"]' });
    assert.deepEqual(pick(failed.get('permissions')), { found: '["reports:read"]', expected: 'all of ["users:write"]' });
    assert.deepEqual(failed.all('claim').map(pick), [{ found: '"free"', expected: 'equals "pro"' }, { found: '"bronze"', expected: 'one_of ["gold"]' }]);
  });

  test('tenants from a header and from a claim, and a token without the claims', async () => {
    const fromHeader = await failures({ tenant: { from: 'header', roles: ['admin'] } }, { tenants: { T1: { roles: ['viewer'], permissions: ['r'] } } }, { 'x-tenant-id': 'T1' });
    assert.equal(fromHeader.get('tenant')?.found, 'tenant "T1": roles ["viewer"], permissions ["r"]');
    const noHeader = await failures({ tenant: { from: 'header', roles: ['admin'] } }, { tenants: {} });
    assert.equal(noHeader.get('tenant')?.found, 'no tenant id in the request (from header)');
    const fromClaim = await failures({ tenant: { from: 'claim' } }, { dct: 'T9', tenants: { T1: {}, T2: {} } });
    assert.equal(fromClaim.get('tenant')?.found, 'tenant "T9"; the token\'s tenants: ["T1","T2"]');
    const noTenants = await failures({ tenant: { from: 'claim', name: 'org' } }, { org: 'T3', dct: 'T4' });
    assert.equal(noTenants.get('tenant')?.found, 'tenant "T3"; the token\'s tenants: none (dct "T4")');
    const absent = await failures({ roles: ['admin'], scopes: ['read'], scopes_key: 'scope' }, {});
    assert.deepEqual([absent.get('roles')?.found, absent.get('scopes')?.found], ['absent', 'absent']);
  });

  test('typ, lifetime, subject; a huge claim is cut at 200 characters', async () => {
    const failed = await failures(
      { typ: 'at+jwt', max_token_lifetime: '1h', subject: ['alice'], roles: ['admin'] },
      { iat: NOW - 10, exp: NOW + 7200, sub: 'bob', roles: ['x'.repeat(500)] },
      {},
      'JWT',
    );
    assert.deepEqual(pick(failed.get('token')), { found: '"JWT"', expected: 'one of ["at+jwt"]' });
    assert.deepEqual(pick(failed.get('max')), { found: '7210s', expected: 'exp - iat at most 3600s' });
    assert.deepEqual(pick(failed.get('sub')), { found: '"bob"', expected: 'one of ["alice"]' });
    const roles = failed.get('roles')!.found!;
    assert.equal(roles.length, 201);
    assert.ok(roles.startsWith('["xxx') && roles.endsWith('…'));
  });
});

function pick(line: ExplainLine | undefined): { found?: string | undefined; expected?: string | undefined } {
  assert.ok(line, 'the check failed');
  return { found: line.found, expected: line.expected };
}
