/**
 * A key set that holds both an HMAC secret (oct) and public keys (RSA, EC,
 * OKP) is refused whole wherever it enters: inline keys and JWKS files stop
 * startup naming the JSON path, a JWKS handed to verifyJws/indexKeys throws,
 * and a loopback JWKS (the only remote source allowed to serve secrets) fails
 * its download. Sets of one family still load.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, type JWK } from 'jose';
import { createAuthorizer, ConfigError, type Decision, type ValidatorConfig } from '../../src/index.js';
import { importJwk, type Jwk } from '../../src/jwt/keys.js';
import { indexKeys, verifyJws } from '../../src/authorizer/verify-jws.js';
import { buildKeyIndex } from '../../src/keys/key-index.js';
import { generateSigningKey, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { nowSeconds } from '../support/clock.js';

const MIXED = /the key set mixes symmetric \(oct\) and asymmetric \(RSA, EC, OKP\) keys/;
const SECRET = Buffer.alloc(32, 0x5a);
const octJwk: JWK = { kty: 'oct', kid: 'hmac', k: SECRET.toString('base64url') };
const exp = (): number => nowSeconds() + 600;

let rsa: TestSigningKey;
let ec: TestSigningKey;
let ed: TestSigningKey;
let dir: string;

before(async () => {
  [rsa, ec, ed] = await Promise.all([generateSigningKey('rsa'), generateSigningKey('ec', 'ES256'), generateSigningKey('ed', 'EdDSA')]);
  dir = mkdtempSync(join(tmpdir(), 'portcullis-mixed-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function expectConfigError(config: unknown, path: string, pattern: RegExp): void {
  assert.throws(
    () => createAuthorizer(config as ValidatorConfig, { path: '$.v' }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.deepEqual(error.issues.map((issue) => issue.path), [path]);
      assert.match(error.issues[0]!.message, pattern);
      assert.equal(error.issues[0]!.message.includes(String(octJwk.k)), false, 'the secret is never echoed');
      return true;
    },
  );
}

describe('mixed key sets: configuration', () => {
  test('inline jwk_keys mixing an oct key with RSA, EC or OKP keys stop startup at $.jwk_keys', () => {
    const algs = ['HS256', 'RS256', 'ES256', 'EdDSA'];
    expectConfigError({ alg: algs, jwk_keys: [octJwk, rsa.publicJwk] }, '$.v.jwk_keys', /^inline keys: the key set mixes/);
    expectConfigError({ alg: algs, jwk_keys: [ec.publicJwk, octJwk] }, '$.v.jwk_keys', MIXED);
    expectConfigError({ alg: algs, jwk_keys: [ed.publicJwk, rsa.publicJwk, octJwk] }, '$.v.jwk_keys', MIXED);
    // Even when the allowlist would leave only one family usable, the set itself is wrong.
    expectConfigError({ alg: 'RS256', jwk_keys: [rsa.publicJwk, octJwk] }, '$.v.jwk_keys', MIXED);
  });

  test('a jwk_local_path file with a mixed set stops startup at $.jwk_local_path, naming the file', () => {
    const path = join(dir, 'mixed.json');
    writeFileSync(path, JSON.stringify({ keys: [rsa.publicJwk, octJwk] }));
    expectConfigError({ alg: ['RS256', 'HS256'], jwk_local_path: path }, '$.v.jwk_local_path', new RegExp(`^JWKS file ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the key set mixes`));
  });

  test('sets of one family still load: several secrets, or RSA + EC + OKP', async () => {
    const other = { kty: 'oct', kid: 'hmac2', k: Buffer.alloc(32, 7).toString('base64url') };
    const hmac = createAuthorizer({ alg: 'HS256', jwk_keys: [octJwk, other] } as ValidatorConfig);
    const token = await new SignJWT({ sub: 'h', exp: exp() }).setProtectedHeader({ alg: 'HS256', kid: 'hmac' }).sign(SECRET);
    assert.equal((await hmac.authorize({ headers: { authorization: `Bearer ${token}` } })).allowed, true);
    const path = join(dir, 'public.json');
    writeFileSync(path, JSON.stringify({ keys: [rsa.publicJwk, ec.publicJwk, ed.publicJwk] }));
    const publicKeys = createAuthorizer({ alg: ['RS256', 'ES256', 'EdDSA'], jwk_local_path: path } as ValidatorConfig);
    for (const signer of [rsa, ec, ed]) {
      assert.equal((await publicKeys.authorize({ headers: { authorization: `Bearer ${await mintToken(signer, { exp: exp() })}` } })).allowed, true);
    }
    hmac.close();
    publicKeys.close();
  });
});

describe('mixed key sets: the library', () => {
  test('verifyJws with a mixed JWKS object, or a mixed list of imported keys, throws TypeError; indexKeys too', async () => {
    const hsToken = await new SignJWT({ exp: exp() }).setProtectedHeader({ alg: 'HS256', kid: 'hmac' }).sign(SECRET);
    const rsToken = await mintToken(rsa, { exp: exp() });
    const algorithms = ['HS256', 'RS256'] as const;
    const imported = [importJwk(octJwk as Jwk, [...algorithms]), importJwk(rsa.publicJwk as Jwk, [...algorithms])];
    for (const token of [hsToken, rsToken]) {
      await assert.rejects(verifyJws(token, { keys: [octJwk, rsa.publicJwk] }, { algorithms: [...algorithms] }), (error: unknown) => {
        assert.ok(error instanceof TypeError, String(error));
        assert.match(error.message, MIXED);
        return true;
      });
      await assert.rejects(verifyJws(token, imported, { algorithms: [...algorithms] }), TypeError);
    }
    assert.throws(() => indexKeys(imported), (error: unknown) => error instanceof TypeError && MIXED.test(error.message));
    // One family at a time is fine.
    assert.equal((await verifyJws(hsToken, [imported[0]!], { algorithms: [...algorithms] })).key, imported[0]);
    assert.equal((await verifyJws(rsToken, { keys: [rsa.publicJwk] }, { algorithms: [...algorithms] })).claims.exp !== undefined, true);
  });

  test('a set from a non-loopback JWKS still drops oct keys one by one, so it never counts as mixed', () => {
    const built = buildKeyIndex([octJwk as Jwk, rsa.publicJwk as Jwk], undefined, { allowSymmetric: false });
    assert.deepEqual(built.index.keys.map((key) => key.kty), ['RSA']);
    assert.match(built.skipped.join(), /key #0 \(kid "hmac"\): symmetric \(oct\) keys are not accepted/);
    assert.throws(() => buildKeyIndex([octJwk as Jwk, rsa.publicJwk as Jwk]), MIXED);
  });
});

describe('mixed key sets: a loopback JWKS server', () => {
  let server: JwksServer;
  before(async () => {
    server = await startJwksServer();
  });
  after(() => server.close());

  test('a mixed document fails the download: no keys, 503, the reason in status', async () => {
    server.setKeys({ keys: [rsa.publicJwk, octJwk] });
    const authorizer = createAuthorizer({ alg: ['RS256', 'HS256'], jwk_url: server.url('/jwks') } as ValidatorConfig);
    try {
      await authorizer.ready();
      const status = authorizer.keySetStatus();
      assert.equal(status.loaded, false);
      assert.match(status.lastError ?? '', MIXED);
      const decision = (await authorizer.authorize({ headers: { authorization: `Bearer ${await mintToken(rsa, { exp: exp() })}` } })) as Extract<Decision, { allowed: false }>;
      assert.equal(decision.allowed, false);
      assert.equal(decision.status, 503);
      assert.equal(decision.code, 'keys_unavailable');
    } finally {
      authorizer.close();
    }
  });
});
