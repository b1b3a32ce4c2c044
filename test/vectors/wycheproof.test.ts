/**
 * Wycheproof raw-primitive vectors against verifySignature. `msg` is arbitrary
 * bytes, not a JWS signing input, so these drive the verify-bytes layer that
 * every token goes through. Each file's tally is asserted, so a vector that is
 * silently skipped fails the test.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { importJwk, KeyImportError, MIN_RSA_MODULUS_BITS, type Jwk } from '../../src/jwt/keys.js';
import { verifySignature } from '../../src/jwt/verify.js';
import type { Alg } from '../../src/jwt/algorithms.js';
import { hexBytes, loadWycheproof, VECTORS_SKIP, wycheproofGroupJwk, type WycheproofTest } from '../support/vectors.js';

interface Tally {
  valid: number;
  invalid: number;
  acceptable: number;
}

/**
 * Outcomes pinned for `acceptable` vectors (tcId → accepted?). security.md
 * says a strict JWT validator rejects them.
 * RS256 tcId 8 (MissingNull): the DigestInfo lacks the ASN.1 NULL after the
 * hash OID. OpenSSL compares the whole encoded DigestInfo, so node:crypto
 * rejects it, which is the strict outcome we want.
 */
const PINNED_ACCEPTABLE: Record<string, Record<number, boolean>> = {
  RS256: { 8: false },
};

function expectedOutcome(alg: Alg, vector: WycheproofTest): boolean {
  if (vector.result === 'valid') return true;
  if (vector.result === 'invalid') return false;
  const pinned = PINNED_ACCEPTABLE[alg]?.[vector.tcId];
  assert.notEqual(pinned, undefined, `${alg} tcId ${vector.tcId} is "acceptable" but has no pinned outcome`);
  return pinned!;
}

function runAsymmetricFile(fileName: string, alg: Alg, expected: Tally): void {
  test(`Wycheproof ${fileName} (${alg})`, (t) => {
    const file = loadWycheproof(fileName);
    const tally: Tally = { valid: 0, invalid: 0, acceptable: 0 };
    const mismatches: string[] = [];
    let total = 0;
    for (const group of file.testGroups) {
      const jwk = wycheproofGroupJwk(group) as Jwk;
      if (group.keySize !== undefined && jwk.kty === 'RSA' && group.keySize < MIN_RSA_MODULUS_BITS) {
        // Small RSA moduli are refused at import by design; none of their vectors can reach verification.
        assert.throws(() => importJwk(jwk, [alg]), KeyImportError);
        continue;
      }
      if (alg.startsWith('PS')) {
        // The PSS verifier fixes salt length and MGF hash to the JWA values; a group with other
        // parameters would need different expectations.
        assert.equal(group.sLen, 32);
        assert.equal(group.mgfSha, 'SHA-256');
      }
      const key = importJwk(jwk, [alg]);
      for (const vector of group.tests) {
        total++;
        const want = expectedOutcome(alg, vector);
        const got = verifySignature(key, alg, hexBytes(vector.msg), hexBytes(vector.sig!));
        if (got !== want) mismatches.push(`tcId ${vector.tcId} (${vector.result}, ${vector.comment}): got ${got}`);
        tally[vector.result]++;
      }
    }
    assert.deepEqual(mismatches, []);
    assert.equal(total, file.numberOfTests, 'every vector in the file was checked');
    assert.deepEqual(tally, expected);
    t.diagnostic(`${alg}: ${tally.valid} valid, ${tally.invalid} invalid, ${tally.acceptable} acceptable checked`);
  });
}

function runHmacFile(): void {
  test('Wycheproof hmac_sha256_test.json (HS256)', (t) => {
    const file = loadWycheproof('hmac_sha256_test.json');
    const counts = { valid: 0, invalid: 0, truncatedTagRejected: 0, shortKeyRefused: 0 };
    const mismatches: string[] = [];
    let total = 0;
    for (const group of file.testGroups) {
      for (const vector of group.tests) {
        total++;
        const secret = hexBytes(vector.key!);
        const jwk: Jwk = { kty: 'oct', k: secret.toString('base64url') };
        if (secret.length < 32) {
          // RFC 7518 §3.2: an HS256 key shorter than the hash output is refused when it is configured,
          // so these vectors never reach verification.
          assert.throws(() => importJwk(jwk, ['HS256']), KeyImportError, `tcId ${vector.tcId}`);
          counts.shortKeyRefused++;
          continue;
        }
        const key = importJwk(jwk, ['HS256']);
        const got = verifySignature(key, 'HS256', hexBytes(vector.msg), hexBytes(vector.tag!));
        if (group.tagSize === 128) {
          // A JWS HS256 tag is always the full 32 bytes; a truncated tag is never accepted,
          // even where Wycheproof calls the truncated MAC valid.
          if (got) mismatches.push(`tcId ${vector.tcId} (truncated tag): accepted`);
          counts.truncatedTagRejected++;
          continue;
        }
        assert.equal(group.tagSize, 256);
        const want = vector.result === 'valid';
        assert.notEqual(vector.result, 'acceptable');
        if (got !== want) mismatches.push(`tcId ${vector.tcId} (${vector.result}, ${vector.comment}): got ${got}`);
        counts[want ? 'valid' : 'invalid']++;
      }
    }
    assert.deepEqual(mismatches, []);
    assert.equal(total, file.numberOfTests);
    // 256-bit keys: 27 valid + 54 invalid full tags; 520-bit keys: 3 valid. 128-bit keys: 6 refused.
    assert.deepEqual(counts, { valid: 30, invalid: 54, truncatedTagRejected: 84, shortKeyRefused: 6 });
    t.diagnostic(
      `HS256: ${counts.valid} valid, ${counts.invalid} invalid, 0 acceptable checked; ` +
        `${counts.truncatedTagRejected} truncated-tag vectors rejected; ${counts.shortKeyRefused} short keys refused at import`,
    );
  });
}

describe('Wycheproof vectors', { skip: VECTORS_SKIP }, () => {
  runAsymmetricFile('ecdsa_secp256r1_sha256_p1363_test.json', 'ES256', { valid: 173, invalid: 89, acceptable: 0 });
  runAsymmetricFile('ecdsa_secp384r1_sha384_p1363_test.json', 'ES384', { valid: 193, invalid: 87, acceptable: 0 });
  runAsymmetricFile('ecdsa_secp521r1_sha512_p1363_test.json', 'ES512', { valid: 231, invalid: 87, acceptable: 0 });
  runAsymmetricFile('rsa_signature_2048_sha256_test.json', 'RS256', { valid: 9, invalid: 249, acceptable: 1 });
  runAsymmetricFile('rsa_pss_2048_sha256_mgf1_32_test.json', 'PS256', { valid: 63, invalid: 45, acceptable: 0 });
  runAsymmetricFile('ed25519_test.json', 'EdDSA', { valid: 88, invalid: 63, acceptable: 0 });
  runHmacFile();
});
