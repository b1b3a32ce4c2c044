/**
 * A key name (kid, x5t, x5t#S256, kid_x5t) that several different keys for the
 * token's alg share is refused as ambiguous, never resolved by JWKS order: in
 * the library's verifyJws, in the authorizer against a real JWKS server, in
 * `explain`, and for tokens cached before the name became ambiguous. Keys that
 * share a name but verify different algs (RSA + EC) still work.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { JWK } from 'jose';
import { createAuthorizer, createKeySetRegistry, type Decision, type ValidatorConfig } from '../../src/index.js';
import { explainRequest } from '../../src/authorizer/explain.js';
import { importJwk, type Jwk } from '../../src/jwt/keys.js';
import { indexKeys, verifyJws } from '../../src/authorizer/verify-jws.js';
import type { Alg } from '../../src/jwt/algorithms.js';
import { createMemoryLogger } from '../support/logger.js';
import { expectAuthError } from '../support/vectors.js';
import { generateSigningKey, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { nowSeconds } from '../support/clock.js';

const THUMB_A = Buffer.alloc(20, 1).toString('base64url');
const THUMB_256 = Buffer.alloc(32, 2).toString('base64url');
const exp = (): number => nowSeconds() + 600;

/** The key's public JWK under another name, without the alg and use generateSigningKey adds unless asked. */
function named(key: TestSigningKey, members: Record<string, string>, keepAlg = true): JWK {
  const { alg, use, kid: _kid, ...rest } = key.publicJwk;
  return { ...rest, ...(keepAlg ? { alg, use } : {}), ...members };
}

function bearer(token: string) {
  return { headers: { authorization: `Bearer ${token}` } };
}

function denied(decision: Decision) {
  assert.equal(decision.allowed, false, 'expected a denial');
  return decision as Extract<Decision, { allowed: false }>;
}

let rsaA: TestSigningKey;
let rsaB: TestSigningKey;
let ec: TestSigningKey;

before(async () => {
  [rsaA, rsaB, ec] = await Promise.all([generateSigningKey('dup'), generateSigningKey('dup'), generateSigningKey('dup', 'ES256')]);
});

describe('verifyJws: names shared by several keys', () => {
  const algorithms: Alg[] = ['RS256', 'PS256', 'ES256'];

  test('two different RS256 keys under one kid: refused as ambiguous, whichever of them signed', async () => {
    const jwks = { keys: [rsaA.publicJwk, rsaB.publicJwk] };
    const imported = jwks.keys.map((jwk) => importJwk(jwk as Jwk, algorithms));
    for (const signer of [rsaA, rsaB]) {
      const token = await mintToken(signer, { sub: 'U1', exp: exp() });
      await expectAuthError(() => verifyJws(token, jwks, { algorithms }), 'key_not_found', /kid:dup is ambiguous.*RS256/);
      await expectAuthError(() => verifyJws(token, imported, { algorithms }), 'key_not_found', /ambiguous/);
    }
    // The lookup maps still hold one key per name (one Map get); the shared name is listed beside them.
    const index = indexKeys(imported);
    assert.equal(index.byKid.get('dup'), imported[0]);
    assert.deepEqual(index.shared.get('kid:dup'), imported);
  });

  test('a set without shared names lists none, so lookups stay a single Map get', () => {
    const index = indexKeys([importJwk(rsaA.publicJwk as Jwk, algorithms), importJwk(named(ec, { kid: 'e' }) as Jwk, algorithms)]);
    assert.equal(index.shared.size, 0);
  });

  test('an RSA and an EC key under one kid: each token finds the key for its alg, in either order', async () => {
    const rsToken = await mintToken(rsaA, { sub: 'rsa', exp: exp() });
    const esToken = await mintToken(ec, { sub: 'ec', exp: exp() });
    for (const keys of [[rsaA.publicJwk, ec.publicJwk], [ec.publicJwk, rsaA.publicJwk]]) {
      assert.equal((await verifyJws(rsToken, { keys }, { algorithms })).claims.sub, 'rsa');
      assert.equal((await verifyJws(esToken, { keys }, { algorithms })).claims.sub, 'ec');
    }
  });

  test('two RSA keys under one kid bound to different algs (RS256, PS256): each alg finds its own key', async () => {
    const pss = await generateSigningKey('dup', 'PS256');
    const keys = [named(rsaA, { kid: 'dup', alg: 'RS256' }), named(pss, { kid: 'dup', alg: 'PS256' })];
    const rs = await mintToken(rsaA, { sub: 'rs', exp: exp() });
    const ps = await mintToken(pss, { sub: 'ps', exp: exp() });
    assert.equal((await verifyJws(rs, { keys }, { algorithms })).claims.sub, 'rs');
    assert.equal((await verifyJws(ps, { keys }, { algorithms })).claims.sub, 'ps');
  });

  test('the same key listed twice under one name is not ambiguous', async () => {
    const token = await mintToken(rsaA, { sub: 'twice', exp: exp() });
    const keys = [rsaA.publicJwk, named(rsaA, { kid: 'dup' }, false)];
    assert.equal((await verifyJws(token, { keys }, { algorithms })).claims.sub, 'twice');
  });

  test('when none of the keys under the name verifies the alg, the answer is the usual "does not verify"', async () => {
    const token = await mintToken(rsaA, { exp: exp() });
    const ecB = await generateSigningKey('dup', 'ES256');
    await expectAuthError(() => verifyJws(token, { keys: [ec.publicJwk, ecB.publicJwk] }, { algorithms }), 'key_not_found', /does not verify RS256/);
  });

  test('x5t, x5t#S256 and kid_x5t names shared by different keys are ambiguous too', async () => {
    const cases: [ValidatorConfig['key_identify_strategy'], JWK[], Record<string, string>][] = [
      ['x5t', [named(rsaA, { kid: 'a', x5t: THUMB_A }), named(rsaB, { kid: 'b', x5t: THUMB_A })], { x5t: THUMB_A }],
      ['x5t#S256', [named(rsaA, { 'x5t#S256': THUMB_256 }), named(rsaB, { 'x5t#S256': THUMB_256 })], { 'x5t#S256': THUMB_256 }],
      ['kid_x5t', [named(rsaA, { kid: 'k', x5t: THUMB_A }), named(rsaB, { kid: 'k', x5t: THUMB_A })], { kid: 'k', x5t: THUMB_A }],
      // KrakenD joins kid and x5t without a separator, so different pairs can spell the same name.
      ['kid_x5t', [named(rsaA, { kid: `a${THUMB_A[0]}`, x5t: THUMB_A.slice(1) }), named(rsaB, { kid: 'a', x5t: THUMB_A })], { kid: 'a', x5t: THUMB_A }],
    ];
    for (const [strategy, keys, header] of cases) {
      const token = await mintToken(rsaB, { exp: exp() }, { kid: undefined, ...header });
      await expectAuthError(() => verifyJws(token, { keys }, { algorithms, keyIdentifyStrategy: strategy }), 'key_not_found', /ambiguous/);
    }
    // The same keys looked up by kid alone go by two different names: no ambiguity.
    const token = await mintToken(rsaB, { sub: 'by-kid', exp: exp() }, { kid: 'a' });
    const keys = [named(rsaA, { kid: `a${THUMB_A[0]}`, x5t: THUMB_A.slice(1) }), named(rsaB, { kid: 'a', x5t: THUMB_A })];
    assert.equal((await verifyJws(token, { keys }, { algorithms })).claims.sub, 'by-kid');
  });

  test('a token without kid still uses the only key of a one-key set, and is refused by a larger set', async () => {
    const token = await mintToken(ec, { sub: 'nokid', exp: exp() }, { kid: undefined });
    assert.equal((await verifyJws(token, { keys: [ec.publicJwk] }, { algorithms })).claims.sub, 'nokid');
    // Even though only the EC key could verify ES256: the rule counts keys, not keys for the alg.
    await expectAuthError(() => verifyJws(token, { keys: [rsaA.publicJwk, named(ec, { kid: 'e' })] }, { algorithms }), 'key_not_found');
  });
});

describe('authorizer: names shared by several keys, with a real JWKS server', () => {
  let server: JwksServer;
  let solo: TestSigningKey;
  const open: { close(): void }[] = [];

  before(async () => {
    server = await startJwksServer();
    solo = await generateSigningKey('solo');
  });
  after(async () => {
    for (const item of open) item.close();
    await server.close();
  });

  test('two keys under one kid: 401 key_not_found (ambiguous) for tokens of either, one warning at load, no refetch', async () => {
    server.setKeys({ keys: [rsaA.publicJwk, rsaB.publicJwk, solo.publicJwk] });
    const logger = createMemoryLogger();
    const authorizer = createAuthorizer({ alg: 'RS256', jwk_url: server.url('/shared-kid') } as ValidatorConfig, { logger });
    open.push(authorizer);
    await authorizer.ready();

    for (const signer of [rsaA, rsaB, rsaA]) {
      const decision = denied(await authorizer.authorize(bearer(await mintToken(signer, { sub: 'U1', exp: exp() }))));
      assert.equal(decision.status, 401);
      assert.equal(decision.code, 'key_not_found');
      assert.match(decision.detail, /ambiguous/);
    }
    assert.equal((await authorizer.authorize(bearer(await mintToken(solo, { sub: 'U2', exp: exp() })))).allowed, true);

    const warnings = logger.lines.map((line) => line.text).filter((text) => text.includes('ambiguous'));
    assert.equal(warnings.length, 1, logger.text());
    assert.match(warnings[0]!, /kid "dup" names 2 different keys for RS256/);
    for (const key of [rsaA, rsaB]) assert.equal(warnings[0]!.includes(String(key.publicJwk.n).slice(0, 32)), false, 'no key material');
    assert.equal(server.requestCount('/shared-kid'), 1, 'an ambiguous kid is known: it never causes a download');
  });

  test('an RSA and an EC key under one kid both verify, and nothing is logged about it', async () => {
    server.setKeys({ keys: [rsaA.publicJwk, ec.publicJwk] });
    const logger = createMemoryLogger();
    const authorizer = createAuthorizer({ alg: ['RS256', 'ES256'], jwk_url: server.url('/rsa-ec') } as ValidatorConfig, { logger });
    open.push(authorizer);
    await authorizer.ready();
    for (const signer of [rsaA, ec]) {
      const decision = await authorizer.authorize(bearer(await mintToken(signer, { sub: signer.alg, exp: exp() })));
      assert.equal(decision.allowed, true, JSON.stringify(decision));
    }
    assert.deepEqual(logger.lines.filter((line) => line.text.includes('ambiguous')), []);
  });

  test('a token cached before its kid became ambiguous is refused once the refresh brings the second key', async () => {
    let nowMs = Date.now();
    const clock = { now: () => nowMs };
    server.setKeys({ keys: [rsaA.publicJwk] });
    const authorizer = createAuthorizer({ alg: 'RS256', jwk_url: server.url('/becomes-shared') } as ValidatorConfig, { clock });
    open.push(authorizer);
    await authorizer.ready();
    const token = await mintToken(rsaA, { sub: 'U3', exp: Math.floor(nowMs / 1000) + 3600 });
    assert.equal((await authorizer.authorize(bearer(token))).allowed, true);
    assert.equal((await authorizer.authorize(bearer(token)) as { cached?: boolean }).cached, true);

    server.setKeys({ keys: [rsaA.publicJwk, rsaB.publicJwk] });
    nowMs += 31_000; // past the unknown-kid cooldown: the next unknown kid downloads again
    const stranger = await generateSigningKey('stranger');
    denied(await authorizer.authorize(bearer(await mintToken(stranger, { exp: Math.floor(nowMs / 1000) + 60 }))));
    assert.equal(server.requestCount('/becomes-shared'), 2);

    const decision = denied(await authorizer.authorize(bearer(token)));
    assert.equal(decision.code, 'key_not_found');
    assert.match(decision.detail, /ambiguous/);
  });

  test('inline jwk_keys with a shared kid log the warning once at startup', async () => {
    const logger = createMemoryLogger();
    const registry = createKeySetRegistry({ logger });
    open.push(registry);
    const config = { alg: 'RS256', jwk_keys: [rsaA.publicJwk, rsaB.publicJwk] } as ValidatorConfig;
    const first = createAuthorizer(config, { keySets: registry, logger });
    const second = createAuthorizer(config, { keySets: registry, logger });
    const decision = denied(await second.authorize(bearer(await mintToken(rsaB, { exp: exp() }))));
    assert.match(decision.detail, /ambiguous/);
    assert.equal(first.keySet, second.keySet);
    const warnings = logger.lines.map((line) => line.text).filter((text) => text.includes('ambiguous'));
    assert.equal(warnings.length, 1, logger.text());
    assert.match(warnings[0]!, /"keySet":"inline"/);
    assert.match(warnings[0]!, /kid "dup" names 2 different keys/);
  });

  test('explain shows the ambiguity on the key lookup line', async () => {
    server.setKeys({ keys: [rsaA.publicJwk, rsaB.publicJwk] });
    const authorizer = createAuthorizer({ alg: 'RS256', jwk_url: server.url('/explain') } as ValidatorConfig);
    open.push(authorizer);
    await authorizer.ready();
    const request = bearer(await mintToken(rsaA, { exp: exp() }));
    const explanation = await explainRequest(authorizer, request, { now: () => Date.now() });
    const lookup = explanation.lines.find((line) => line.check === 'key lookup');
    assert.equal(lookup?.outcome, 'fail');
    assert.match(lookup.detail, /^key_not_found: kid:dup is ambiguous/);
    assert.equal(explanation.lines.some((line) => line.check === 'signature'), false, 'no signature check without a key');
    assert.equal(denied(explanation.decision).code, 'key_not_found');
  });
});
