/**
 * ROCA (CVE-2017-15361): RSA keys built the way Infineon's RSALib builds them
 * are refused by importJwk, stop startup when written inline, and are skipped
 * with a warning when a remote JWKS serves them. Ordinary keys and the keys of
 * the public test vectors are never flagged.
 *
 * The weak keys are made here, from the published structure of RSALib primes:
 * p = k·M + (65537^a mod M) with M the product of the first 126 primes (the
 * parameter RSALib uses for 2048-bit keys), found with checkPrimeSync.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPrimeSync, createHash, createPrivateKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { SignJWT, type JWK } from 'jose';
import { importJwk, KeyImportError, type Jwk } from '../../src/jwt/keys.js';
import { hasRocaFingerprint } from '../../src/jwt/roca.js';
import { createAuthorizer, ConfigError, type Decision, type ValidatorConfig } from '../../src/index.js';
import { createMemoryLogger } from '../support/logger.js';
import { generateSigningKey, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { loadCookbook, loadWycheproof, publicJwkOf, VECTORS_SKIP, wycheproofGroupJwk } from '../support/vectors.js';
import { nowSeconds } from '../support/clock.js';

const E = 65537n;

function firstPrimes(count: number): bigint[] {
  const primes: bigint[] = [];
  for (let n = 2n; primes.length < count; n++) if (primes.every((p) => p * p > n || n % p !== 0n)) primes.push(n);
  return primes;
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
  }
  return result;
}

function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [((a % m) + m) % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const quotient = oldR / r;
    [oldR, r] = [r, oldR - quotient * r];
    [oldS, s] = [s, oldS - quotient * s];
  }
  assert.equal(oldR, 1n, 'not invertible');
  return ((oldS % m) + m) % m;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function bytesOf(value: bigint): Buffer {
  const hex = value.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
}

const b64u = (value: bigint): string => bytesOf(value).toString('base64url');

const M = firstPrimes(126).reduce((a, b) => a * b, 1n);

/** The first prime k·M + (65537^a mod M) with k from `kStart`: an RSALib-style prime. */
function rsalibPrime(a: bigint, kStart: bigint): bigint {
  const residue = modPow(E, a, M);
  for (let k = kStart; ; k++) {
    const candidate = k * M + residue;
    if (checkPrimeSync(candidate)) return candidate;
  }
}

interface WeakKey {
  publicJwk: Jwk;
  privateKey: KeyObject;
  modulus: bigint;
}

function rsalibKey(): WeakKey {
  // Both primes at least 1.5·2^1023, so the modulus has exactly 2048 bits.
  const kMin = (3n << 1022n) / M + 1n;
  const p = rsalibPrime(123_456_789n, kMin + 1000n);
  const q = rsalibPrime(987_654_321n, kMin + 5000n);
  const n = p * q;
  assert.equal(n.toString(2).length, 2048);
  const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
  const d = modInverse(E, lambda);
  const publicJwk = { kty: 'RSA', n: b64u(n), e: b64u(E) };
  const privateKey = createPrivateKey({
    key: { ...publicJwk, d: b64u(d), p: b64u(p), q: b64u(q), dp: b64u(d % (p - 1n)), dq: b64u(d % (q - 1n)), qi: b64u(modInverse(q, p)) },
    format: 'jwk',
  });
  return { publicJwk, privateKey, modulus: n };
}

const refusedAsRoca = (jwk: unknown): void => {
  assert.throws(() => importJwk(jwk as Jwk, ['RS256', 'PS256']), (error: unknown) => {
    assert.ok(error instanceof KeyImportError, String(error));
    assert.match(error.message, /ROCA fingerprint \(CVE-2017-15361/);
    return true;
  });
};

let weak: WeakKey;

before(() => {
  weak = rsalibKey();
});

describe('ROCA: the fingerprint', () => {
  test('an RSALib-style modulus has it, and importJwk refuses the key', () => {
    assert.equal(hasRocaFingerprint(bytesOf(weak.modulus)), true);
    assert.equal(hasRocaFingerprint(Buffer.concat([Buffer.alloc(1), bytesOf(weak.modulus)])), true, 'a leading zero byte changes nothing');
    refusedAsRoca(weak.publicJwk);
    refusedAsRoca({ ...weak.publicJwk, kid: 'weak', alg: 'RS256', use: 'sig' });
    // The key itself is sound RSA: only the fingerprint refuses it.
    assert.equal(createPrivateKey({ key: weak.privateKey.export({ format: 'jwk' }), format: 'jwk' }).asymmetricKeyDetails?.modulusLength, 2048);
  });

  test('a modulus that fails the test for any single prime up to 167 is not flagged', () => {
    // n ≡ 1 (a power of 65537) modulo every tested prime except `prime`, where it is a non-power.
    const primes = firstPrimes(39).slice(1);
    const product = primes.reduce((a, b) => a * b, 1n);
    const base = product * ((1n << 2047n) / product + 12345n); // 2048 bits, ≡ 0 modulo every tested prime
    assert.equal(hasRocaFingerprint(bytesOf(base + 1n)), true, '≡ 1 modulo every tested prime: flagged');
    let tested = 0;
    for (const prime of primes) {
      const powers = new Set<bigint>();
      let r = 1n;
      do {
        powers.add(r);
        r = (r * E) % prime;
      } while (r !== 1n);
      const outside = [...Array(Number(prime)).keys()].map(BigInt).find((value) => value !== 0n && !powers.has(value));
      if (outside === undefined) continue; // 65537 generates every residue modulo this prime: nothing can fail it
      const others = product / prime;
      // CRT: x ≡ 1 modulo the other primes, x ≡ `outside` modulo `prime`.
      const x = (others * modInverse(others, prime) * outside + prime * modInverse(prime, others)) % product;
      assert.equal(hasRocaFingerprint(bytesOf(base + x)), false, `prime ${prime}`);
      tested += 1;
    }
    assert.equal(tested, 17, 'the tested primes modulo which 65537 generates only part of the group');
    assert.equal(hasRocaFingerprint(bytesOf(3n * (weak.modulus / 3n))), false, 'a residue of 0 is no power of 65537');
  });

  test('agrees with a direct big-integer computation at every modulus length, including past the fast path', () => {
    const primes = firstPrimes(39).slice(1);
    const powers = new Map(
      primes.map((prime) => {
        const set = new Set<bigint>();
        let r = 1n;
        do {
          set.add(r);
          r = (r * E) % prime;
        } while (r !== 1n);
        return [prime, set];
      }),
    );
    const reference = (n: bigint): boolean => primes.every((prime) => powers.get(prime)!.has(n % prime));
    const product = primes.reduce((a, b) => a * b, 1n);
    // Deterministic pseudo-random bytes, so a failure reproduces.
    let seed = Buffer.from('roca');
    const bytes = (length: number): Buffer => {
      const chunks: Buffer[] = [];
      for (let total = 0; total < length; total += 32) chunks.push((seed = createHash('sha256').update(seed).digest()));
      return Buffer.concat(chunks).subarray(0, length);
    };
    let flagged = 0;
    for (const length of [1, 2, 3, 255, 256, 257, 384, 512, 2047, 2048, 2049, 2050, 3000]) {
      for (let i = 0; i < 20; i++) {
        const random = BigInt(`0x${bytes(length).toString('hex')}`);
        // The same magnitude made ≡ a power of 65537 (flagged) or that power times 2 (a non-power modulo 11) everywhere.
        const base = length > 40 ? (random / product) * product : 0n;
        for (const n of [random, base + modPow(E, BigInt(i), product), base + ((2n * modPow(E, BigInt(i), product)) % product)]) {
          const expected = reference(n);
          assert.equal(hasRocaFingerprint(bytesOf(n)), expected, `length ${length}, value #${i}`);
          if (expected) flagged += 1;
        }
      }
    }
    assert.ok(flagged >= 13 * 20, 'the flagged side was exercised');
  });

  test('ordinary keys from node (2048, 3072, 4096 bits) are not flagged', async () => {
    const generate = promisify(generateKeyPair);
    const sizes = [2048, 2048, 2048, 3072, 3072, 4096];
    const pairs = await Promise.all(sizes.map((modulusLength) => generate('rsa', { modulusLength })));
    for (const [i, { publicKey }] of pairs.entries()) {
      const jwk = publicKey.export({ format: 'jwk' });
      assert.equal(hasRocaFingerprint(Buffer.from(jwk.n!, 'base64url')), false, `${sizes[i]}-bit key`);
      assert.equal(importJwk(jwk as Jwk, ['RS256']).modulusBytes, sizes[i]! / 8);
    }
  });

  test('the RSA keys of the Wycheproof and RFC 7520 vectors are not flagged', { skip: VECTORS_SKIP }, () => {
    const jwks: JWK[] = [];
    for (const file of ['rsa_signature_2048_sha256_test.json', 'rsa_pss_2048_sha256_mgf1_32_test.json']) {
      for (const group of loadWycheproof(file).testGroups) jwks.push(wycheproofGroupJwk(group));
    }
    for (const file of ['jws/4_1.rsa_v15_signature.json', 'jws/4_2.rsa-pss_signature.json', 'jws/4_8.multiple_signatures.json']) {
      for (const key of [loadCookbook(file).input.key].flat()) if (key.kty === 'RSA') jwks.push(publicJwkOf(key));
    }
    assert.ok(jwks.length >= 6, `found ${jwks.length} RSA keys`);
    for (const jwk of jwks) {
      assert.equal(jwk.kty, 'RSA');
      assert.equal(hasRocaFingerprint(Buffer.from(jwk.n!, 'base64url')), false, String(jwk.kid));
      assert.ok(importJwk({ kty: 'RSA', n: jwk.n, e: jwk.e }, ['RS256', 'PS256']));
    }
  });
});

describe('ROCA: key sets', () => {
  let server: JwksServer;
  let good: TestSigningKey;
  const open: { close(): void }[] = [];

  before(async () => {
    server = await startJwksServer();
    good = await generateSigningKey('good');
  });
  after(async () => {
    for (const item of open) item.close();
    await server.close();
  });

  test('an inline jwk_keys entry with the fingerprint stops startup, naming the JSON path', () => {
    assert.throws(
      () => createAuthorizer({ alg: 'RS256', jwk_keys: [good.publicJwk, { ...weak.publicJwk, kid: 'weak' }] } as ValidatorConfig, { path: '$.endpoints[0].extra_config["auth/validator"]' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.equal(error.issues.length, 1);
        assert.equal(error.issues[0]!.path, '$.endpoints[0].extra_config["auth/validator"].jwk_keys');
        assert.match(error.issues[0]!.message, /key #1 \(kid "weak"\): RSA key has the ROCA fingerprint/);
        assert.equal(error.issues[0]!.message.includes(String(weak.publicJwk.n).slice(0, 40)), false, 'no key material');
        return true;
      },
    );
  });

  test('a remote JWKS serving such a key: the key is skipped with a warning, its tokens are refused, the others still verify', async () => {
    server.setKeys({ keys: [{ ...weak.publicJwk, kid: 'weak', alg: 'RS256', use: 'sig' } as JWK, good.publicJwk] });
    const logger = createMemoryLogger();
    const authorizer = createAuthorizer({ alg: 'RS256', jwk_url: server.url('/jwks') } as ValidatorConfig, { logger });
    open.push(authorizer);
    await authorizer.ready();
    assert.equal(authorizer.keySetStatus().keyCount, 1);
    const warnings = logger.lines.map((line) => line.text).filter((text) => text.includes('ROCA'));
    assert.equal(warnings.length, 1, logger.text());
    assert.match(warnings[0]!, /skipped key #0 \(kid "weak"\): RSA key has the ROCA fingerprint \(CVE-2017-15361/);
    assert.equal(warnings[0]!.includes(String(weak.publicJwk.n).slice(0, 40)), false, 'no key material');

    const exp = nowSeconds() + 600;
    // Signed for real with the weak key: without the check this token would be accepted.
    const forged = await new SignJWT({ sub: 'U-weak', exp }).setProtectedHeader({ alg: 'RS256', kid: 'weak' }).sign(weak.privateKey);
    const denied = (await authorizer.authorize({ headers: { authorization: `Bearer ${forged}` } })) as Extract<Decision, { allowed: false }>;
    assert.equal(denied.allowed, false);
    assert.equal(denied.status, 401);
    assert.equal(denied.code, 'key_not_found');

    const fine = await authorizer.authorize({ headers: { authorization: `Bearer ${await mintToken(good, { sub: 'U-good', exp })}` } });
    assert.equal(fine.allowed, true);
  });
});
