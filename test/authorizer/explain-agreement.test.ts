/**
 * `explain` and `authorize` run the same verification and the same check list,
 * so they must always reach the same decision. This property test generates
 * validator configs (algorithms, issuer, audience with either matcher, expiry
 * rules, lifetime, typ, roles, scopes, tenant and claim rules) and tokens that
 * pass or break each of them (times, identity, roles, typ, alg, kid, signature,
 * structure), and compares the two answers: both allow, or both deny with the
 * same code. It also compares against a second, cached authorize call.
 *
 * FUZZ_RUNS sets the runs per property (CI default 150).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { explainRequest } from '../../src/authorizer/explain.js';
import type { Decision } from '../../src/authorizer/decision.js';
import type { ValidatorConfig } from '../../src/config/validator-schema.js';
import { createAuthorizer } from '../../src/runtime/create-authorizer.js';
import { createMaterial, type Material } from '../security/fixtures.js';
import { forge, unsigned } from '../security/support.js';

const RUNS = Math.max(1, Number(process.env.FUZZ_RUNS ?? 150) || 150);
const NOW_MS = Date.UTC(2026, 10, 29, 12, 0, 0);
const NOW = NOW_MS / 1000;
const clock = { now: () => NOW_MS };

let material: Material;
before(async () => {
  material = await createMaterial();
});

const ISSUERS = ['https://a.example', 'https://b.example'];
const AUDIENCES = ['api', 'admin-api', 'other'];
const ROLES = ['admin', 'reader', 'writer'];

const configArb = fc.record(
  {
    alg: fc.subarray(['RS256', 'ES256', 'PS256'] as const, { minLength: 1 }),
    issuer: fc.option(fc.subarray(ISSUERS, { minLength: 1 }), { nil: undefined }),
    audience: fc.option(fc.subarray(AUDIENCES, { minLength: 1 }), { nil: undefined }),
    audience_matcher: fc.option(fc.constantFrom('any' as const, 'all' as const), { nil: undefined }),
    require_exp: fc.option(fc.boolean(), { nil: undefined }),
    max_token_lifetime: fc.option(fc.constantFrom('5m', '1h'), { nil: undefined }),
    typ: fc.option(fc.constantFrom('at+jwt', 'JWT'), { nil: undefined }),
    leeway: fc.option(fc.constantFrom('1s', '30s'), { nil: undefined }),
    roles: fc.option(fc.subarray(ROLES, { minLength: 1 }), { nil: undefined }),
    scopes: fc.option(fc.subarray(['read', 'write'], { minLength: 1 }), { nil: undefined }),
    scopes_matcher: fc.option(fc.constantFrom('any' as const, 'all' as const), { nil: undefined }),
    tenant: fc.option(fc.record({ from: fc.constant('claim' as const), roles: fc.subarray(ROLES) }), { nil: undefined }),
    claims: fc.option(fc.constant([{ claim: 'drn', not_equals: 'DSR' }]), { nil: undefined }),
  },
  { requiredKeys: ['alg'] },
);

type Config = typeof configArb extends fc.Arbitrary<infer C> ? C : never;

/** One thing to get wrong, or nothing: a token is first made to pass the config, then broken in at most one way. */
const BREAKAGES = [
  'none', 'none', 'none', 'none', 'none',
  'alg', 'kid', 'no-kid', 'signature', 'structure', 'expired', 'no-exp', 'exp-string', 'nbf-future', 'iat-future', 'long-lifetime',
  'issuer', 'audience', 'typ', 'roles', 'scope', 'tenant', 'drn',
] as const;
type Breakage = (typeof BREAKAGES)[number];

function tokenFor(config: Config, breakage: Breakage, pick: number): string {
  const algs = config.alg;
  let alg: string = algs[pick % algs.length]!;
  if (breakage === 'alg') alg = ['RS256', 'ES256', 'PS256', 'EdDSA'].find((candidate) => !(algs as readonly string[]).includes(candidate))!;
  const key = alg === 'ES256' ? material.ec : alg === 'EdDSA' ? material.ed : material.rsa;
  const header: Record<string, unknown> = { alg, kid: key.kid };
  if (breakage === 'kid') header.kid = 'no-such-key';
  if (breakage === 'no-kid') delete header.kid;
  if (config.typ !== undefined) header.typ = breakage === 'typ' ? 'id+jwt' : pick % 2 === 0 ? config.typ : config.typ.toUpperCase();
  const payload: Record<string, unknown> = { sub: 'alice', dct: 'T1', iat: NOW - 60, exp: NOW + 240 };
  if (breakage === 'expired') payload.exp = NOW - 120;
  if (breakage === 'no-exp') delete payload.exp;
  if (breakage === 'exp-string') payload.exp = String(NOW + 240);
  if (breakage === 'nbf-future') payload.nbf = NOW + 600;
  if (breakage === 'iat-future') payload.iat = NOW + 600;
  if (breakage === 'long-lifetime') payload.exp = NOW + 7200;
  payload.iss = config.issuer && breakage !== 'issuer' ? config.issuer[pick % config.issuer.length] : 'https://evil.example';
  if (config.audience) payload.aud = breakage === 'audience' ? ['nobody'] : [...config.audience];
  payload.roles = config.roles && breakage !== 'roles' ? [config.roles[pick % config.roles.length]] : ['nobody'];
  if (config.scopes) payload.scope = breakage === 'scope' ? 'none' : config.scopes.join(' ');
  if (config.tenant) payload.tenants = { T1: { roles: breakage === 'tenant' ? [] : [...config.tenant.roles] } };
  payload.drn = breakage === 'drn' ? 'DSR' : 'DS';
  if (breakage === 'structure') return unsigned(header, payload, '');
  const token = forge(header, payload, alg as never, key.privateKey);
  if (breakage === 'signature') return `${token.slice(0, -6)}${token.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA'}`;
  return token;
}

function validatorFor(config: Config): ValidatorConfig {
  const { scopes, ...rest } = config;
  return {
    ...rest,
    ...(scopes ? { scopes, scopes_key: 'scope' } : {}),
    jwk_keys: [material.rsa.publicJwk, material.ec.publicJwk, material.ed.publicJwk],
  } as unknown as ValidatorConfig;
}

const outcome = (decision: Decision): string => (decision.allowed ? 'allow' : `deny ${decision.status} ${decision.code}`);

describe('explain and authorize agree', () => {
  test('on generated configs and tokens: the same decision, fresh and cached', async () => {
    let allowed = 0;
    const codes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(configArb, fc.constantFrom(...BREAKAGES), fc.nat(), async (config, breakage, pick) => {
        const fresh = createAuthorizer(validatorFor(config), { clock, cacheSize: 0 });
        const cached = createAuthorizer(validatorFor(config), { clock, cacheSize: 16 });
        try {
          const request = { headers: { authorization: `Bearer ${tokenFor(config, breakage, pick)}` } };
          const explained = await explainRequest(fresh, request, clock);
          const authorized = await fresh.authorize(request);
          const first = await cached.authorize(request);
          const second = await cached.authorize(request);
          assert.equal(outcome(explained.decision), outcome(authorized), `explain vs authorize\n${explained.lines.map((l) => `${l.outcome} ${l.check} ${l.detail}`).join('\n')}`);
          assert.equal(outcome(first), outcome(authorized));
          assert.equal(outcome(second), outcome(authorized), 'a cached answer differs from a fresh one');
          // The first failing line names the decision's code.
          const failure = explained.lines.find((line) => line.outcome === 'fail');
          if (authorized.allowed) assert.equal(failure, undefined);
          else assert.ok(failure?.detail.startsWith(authorized.code), `${failure?.check}: ${failure?.detail} vs ${authorized.code}`);
          if (authorized.allowed) allowed++;
          else codes.add(authorized.code);
        } finally {
          fresh.close();
          cached.close();
        }
      }),
      { numRuns: RUNS },
    );
    // The generators must reach both sides, or the agreement proves little.
    assert.ok(allowed > 0, 'no generated token was allowed');
    assert.ok(codes.size >= 5, `only these denials were generated: ${[...codes].join(', ')}`);
  });
});
