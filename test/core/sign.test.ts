/**
 * JWS signing (src/jwt/sign.ts), checked by an independent library: every
 * algorithm's compact and JSON-serialized output verifies with jose, ES*
 * signatures are raw r||s, and keys that could not sign what the config says
 * (or that portcullis would not accept for verification) are refused.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compactVerify, exportJWK, flattenedVerify, generateKeyPair, generateSecret, importJWK, type JWK } from 'jose';
import { importSigningJwk, signJws, SigningKeyError } from '../../src/jwt/sign.js';
import type { Alg } from '../../src/jwt/algorithms.js';

const ASYMMETRIC: Alg[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const HMAC: Alg[] = ['HS256', 'HS384', 'HS512'];

async function keyPair(alg: Alg): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateJwk: await exportJWK(privateKey), publicJwk: await exportJWK(publicKey) };
}

describe('signJws', () => {
  for (const alg of ASYMMETRIC) {
    it(`${alg}: compact and flattened JSON verify with jose, header {alg, kid}`, async () => {
      const { privateJwk, publicJwk } = await keyPair(alg);
      const key = importSigningJwk({ ...privateJwk, kid: 'k1' }, alg);
      const payload = JSON.stringify({ sub: 'alice', n: 1 });
      const verifier = await importJWK(publicJwk, alg);

      const compact = signJws(key, payload);
      const verified = await compactVerify(compact, verifier, { algorithms: [alg] });
      assert.deepEqual(verified.protectedHeader, { alg, kid: 'k1' });
      assert.equal(new TextDecoder().decode(verified.payload), payload);
      if (alg.startsWith('ES')) {
        // Raw r||s: 2 × the curve size, never DER.
        assert.equal(Buffer.from(compact.split('.')[2]!, 'base64url').length, { ES256: 64, ES384: 96, ES512: 132 }[alg as 'ES256']);
      }

      const full = JSON.parse(signJws(key, payload, true)) as { payload: string; protected: string; signature: string };
      assert.deepEqual(Object.keys(full), ['payload', 'protected', 'signature']);
      const flat = await flattenedVerify(full, verifier, { algorithms: [alg] });
      assert.equal(new TextDecoder().decode(flat.payload), payload);
    });
  }

  for (const alg of HMAC) {
    it(`${alg}: verifies with jose`, async () => {
      const secret = (await generateSecret(alg, { extractable: true })) as Parameters<typeof exportJWK>[0];
      const jwk = await exportJWK(secret);
      const token = signJws(importSigningJwk({ ...jwk, kid: 'sim2' }, alg), '{"a":1}');
      const verified = await compactVerify(token, await importJWK(jwk, alg), { algorithms: [alg] });
      assert.deepEqual(verified.protectedHeader, { alg, kid: 'sim2' });
    });
  }

  it('refuses keys that cannot sign the configured algorithm, naming no key material', async () => {
    const rsa = await keyPair('RS256');
    const other = await keyPair('RS256');
    const ec = await keyPair('ES256');
    const cases: [JWK, Alg, RegExp][] = [
      [rsa.publicJwk, 'RS256', /public key: the signer needs the private key/],
      [rsa.privateJwk, 'ES256', /the RSA key cannot sign ES256 \(it needs kty EC\)/],
      [ec.privateJwk, 'ES384', /ES384 needs curve P-384/],
      [{ ...rsa.privateJwk, alg: 'RS512' }, 'RS256', /the key is for RS512, not RS256/],
      [{ ...rsa.privateJwk, use: 'enc' }, 'RS256', /"use" is not "sig"/],
      [{ ...rsa.privateJwk, key_ops: ['verify'] }, 'RS256', /key_ops does not include "sign"/],
      [{ kty: 'oct', k: Buffer.alloc(31).toString('base64url') }, 'HS256', /needs at least 32 bytes/],
      [{ ...other.privateJwk, n: rsa.publicJwk.n }, 'RS256', /the private key does not match the public members of its JWK/],
    ];
    for (const [jwk, alg, message] of cases) {
      assert.throws(() => importSigningJwk(jwk, alg), (error: unknown) => {
        assert.ok(error instanceof SigningKeyError);
        assert.match(error.message, message);
        assert.ok(!error.message.includes(String(rsa.privateJwk.d).slice(0, 12)));
        return true;
      });
    }
    const smallJwk = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'jwk' });
    assert.throws(() => importSigningJwk(smallJwk, 'RS256'), /below 2048/);
  });
});
