import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, createHash, type KeyObject } from 'node:crypto';
import { SignJWT, exportJWK, type JWK } from 'jose';
import { importJwk, KeyImportError, type Jwk } from '../../src/jwt/keys.js';
import { verifyJws } from '../../src/authorizer/verify-jws.js';
import { verifySignature } from '../../src/jwt/verify.js';
import { SUPPORTED_ALGS, type Alg } from '../../src/jwt/algorithms.js';
import { expectAuthError } from '../support/vectors.js';

const HS_ALGS: Alg[] = ['HS256', 'HS384', 'HS512'];
const oct = (bytes: number, fill = 7): Jwk => ({ kty: 'oct', k: Buffer.alloc(bytes, fill).toString('base64url') });
const refused = (jwk: unknown, algs: readonly Alg[], message?: RegExp): void => {
  assert.throws(() => importJwk(jwk as Jwk, algs), (error: unknown) => {
    assert.ok(error instanceof KeyImportError, String(error));
    if (message) assert.match(error.message, message);
    return true;
  });
};

let rsa: { privateKey: KeyObject; publicKey: KeyObject };
let rsaJwk: JWK;
let rsaPrivateJwk: JWK;
let ecJwks: Record<'P-256' | 'P-384' | 'P-521', JWK>;
let edJwk: JWK;

before(async () => {
  rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  rsaJwk = await exportJWK(rsa.publicKey);
  rsaPrivateJwk = await exportJWK(rsa.privateKey);
  ecJwks = {
    'P-256': await exportJWK(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey),
    'P-384': await exportJWK(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey),
    'P-521': await exportJWK(generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey),
  };
  edJwk = await exportJWK(generateKeyPairSync('ed25519').publicKey);
});

describe('importJwk: each key type', () => {
  test('RSA binds to RS* and PS*, filtered by the allowlist', () => {
    const key = importJwk(rsaJwk as Jwk, SUPPORTED_ALGS);
    assert.equal(key.kty, 'RSA');
    assert.deepEqual([...key.algs].sort(), ['PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512']);
    assert.equal(key.modulusBytes, 256);
    assert.equal(key.keyObject.type, 'public');
    assert.deepEqual([...importJwk(rsaJwk as Jwk, ['RS256', 'ES256', 'HS256']).algs], ['RS256']);
  });

  test('EC binds to the one algorithm of its curve', () => {
    for (const [crv, alg] of [['P-256', 'ES256'], ['P-384', 'ES384'], ['P-521', 'ES512']] as const) {
      const key = importJwk(ecJwks[crv] as Jwk, SUPPORTED_ALGS);
      assert.equal(key.kty, 'EC');
      assert.deepEqual([...key.algs], [alg]);
      assert.equal(key.modulusBytes, 0);
    }
  });

  test('OKP Ed25519 binds to EdDSA', () => {
    const key = importJwk(edJwk as Jwk, SUPPORTED_ALGS);
    assert.equal(key.kty, 'OKP');
    assert.deepEqual([...key.algs], ['EdDSA']);
  });

  test('oct binds to every HS algorithm whose hash it is long enough for', () => {
    assert.deepEqual([...importJwk(oct(32), SUPPORTED_ALGS).algs], ['HS256']);
    assert.deepEqual([...importJwk(oct(48), SUPPORTED_ALGS).algs], ['HS256', 'HS384']);
    assert.deepEqual([...importJwk(oct(64), SUPPORTED_ALGS).algs], HS_ALGS);
    assert.deepEqual([...importJwk(oct(64), ['HS384']).algs], ['HS384']);
    assert.equal(importJwk(oct(32), ['HS256']).keyObject.type, 'secret');
  });

  test('kid, x5t and x5t#S256 are carried over', () => {
    const key = importJwk({ ...rsaJwk, kid: 'k1', x5t: 'abc', 'x5t#S256': 'def' } as Jwk, ['RS256']);
    assert.equal(key.kid, 'k1');
    assert.equal(key.x5t, 'abc');
    assert.equal(key.x5tS256, 'def');
    assert.equal(key.retired, false);
  });
});

describe('importJwk: refusals', () => {
  test('RSA moduli below 2048 bits are refused', async () => {
    for (const bits of [1024, 2040]) {
      const small = await exportJWK(generateKeyPairSync('rsa', { modulusLength: bits }).publicKey);
      refused(small, ['RS256'], new RegExp(`${bits} bits`));
    }
  });

  test('RSA keys whose public exponent is 1 or even are refused; 3 and 65537 are accepted', () => {
    // With e = 1 a signature is the encoded message itself: anyone could sign for such a key.
    for (const e of ['AQ', 'Ag', 'BA', 'AAE']) refused({ ...rsaJwk, e }, ['RS256'], /public exponent must be odd and at least 3/);
    for (const e of ['Aw', 'AQAB']) assert.equal(importJwk({ ...rsaJwk, e } as Jwk, ['RS256']).kty, 'RSA');
  });

  test('HMAC keys shorter than the hash output are refused per algorithm', () => {
    refused(oct(31), ['HS256'], /shorter than the hash/);
    refused(oct(47), ['HS384'], /shorter/);
    refused(oct(63), ['HS512'], /shorter/);
    refused(oct(48), ['HS512'], /shorter/);
    refused(oct(0), HS_ALGS, /shorter/);
    refused({ kty: 'oct', k: 'AAAA' }, HS_ALGS);
    refused({ kty: 'oct' }, HS_ALGS, /"k"/);
    refused({ kty: 'oct', k: 42 }, HS_ALGS, /"k"/);
    refused({ kty: 'oct', k: `${Buffer.alloc(32, 1).toString('base64')}=` }, HS_ALGS, /base64url/);
    refused({ kty: 'oct', k: Buffer.alloc(33, 0xff).toString('base64') }, HS_ALGS, /base64url/);
  });

  test('a JWK alg that does not fit its kty or crv is refused', () => {
    refused({ ...rsaJwk, alg: 'ES256' }, SUPPORTED_ALGS, /does not fit kty/);
    refused({ ...rsaJwk, alg: 'HS256' }, SUPPORTED_ALGS, /does not fit kty/);
    refused({ ...rsaJwk, alg: 'EdDSA' }, SUPPORTED_ALGS, /does not fit kty/);
    refused({ ...ecJwks['P-256'], alg: 'ES384' }, SUPPORTED_ALGS, /curve/);
    refused({ ...ecJwks['P-521'], alg: 'ES256' }, SUPPORTED_ALGS, /curve/);
    refused({ ...ecJwks['P-256'], alg: 'RS256' }, SUPPORTED_ALGS, /kty/);
    refused({ ...edJwk, alg: 'ES256' }, SUPPORTED_ALGS, /kty/);
    refused({ ...oct(64), alg: 'RS256' }, SUPPORTED_ALGS, /kty/);
    refused({ ...oct(64), alg: 'EdDSA' }, SUPPORTED_ALGS, /kty/);
    for (const alg of ['none', 'rs256', 'RS256 ', 'ES256K', 'Ed25519', 1]) refused({ ...rsaJwk, alg }, SUPPORTED_ALGS, /unsupported JWK alg/);
  });

  test('a key whose type or alg fits no allowed algorithm is refused', () => {
    refused(rsaJwk, ['ES256', 'HS256'], /fits no allowed/);
    refused({ ...rsaJwk, alg: 'RS256' }, ['RS384'], /fits no allowed/);
    refused(ecJwks['P-256'], ['ES384'], /fits no allowed/);
    refused(oct(64), ['RS256'], /fits no allowed/);
    refused(edJwk, [], /fits no allowed/);
  });

  test('unsupported types and curves are refused', () => {
    refused({ kty: 'OKP', crv: 'Ed448', x: Buffer.alloc(57).toString('base64url') }, SUPPORTED_ALGS);
    refused({ kty: 'OKP', crv: 'X25519', x: Buffer.alloc(32).toString('base64url') }, SUPPORTED_ALGS);
    refused({ ...ecJwks['P-256'], crv: 'secp256k1' }, SUPPORTED_ALGS);
    for (const kty of ['rsa', 'ec', 'AKP', '', undefined, null, 1]) refused({ ...rsaJwk, kty }, SUPPORTED_ALGS, /kty/);
    for (const jwk of [null, [], 'RSA', 1]) refused(jwk, SUPPORTED_ALGS, /object/);
  });

  test('use other than "sig" and key_ops without "verify" are refused', () => {
    refused({ ...rsaJwk, use: 'enc' }, ['RS256'], /use/);
    refused({ ...rsaJwk, use: '' }, ['RS256'], /use/);
    refused({ ...rsaJwk, key_ops: ['sign'] }, ['RS256'], /key_ops/);
    refused({ ...rsaJwk, key_ops: 'verify' }, ['RS256'], /key_ops/);
    assert.ok(importJwk({ ...rsaJwk, use: 'sig', key_ops: ['verify'] } as Jwk, ['RS256']));
  });

  test('kid and thumbprints must be non-empty strings', () => {
    for (const member of ['kid', 'x5t', 'x5t#S256']) {
      refused({ ...rsaJwk, [member]: '' }, ['RS256'], new RegExp(member));
      refused({ ...rsaJwk, [member]: 7 }, ['RS256'], new RegExp(member));
    }
  });

  test('broken key material is refused without echoing it', () => {
    const broken = { ...rsaJwk, n: 'AQAB' + 'A'.repeat(10) };
    refused(broken, ['RS256']);
    const offCurve = { ...ecJwks['P-256'], y: ecJwks['P-256'].x };
    refused(offCurve, ['ES256'], /invalid EC key/);
    try {
      importJwk(offCurve as Jwk, ['ES256']);
    } catch (error) {
      assert.equal((error as Error).message.includes(String(offCurve.x)), false);
    }
    try {
      importJwk(oct(16, 0x41), ['HS256']);
    } catch (error) {
      assert.equal((error as Error).message.includes(String(oct(16, 0x41).k)), false);
      assert.equal((error as Error).message.includes('AAAA'), false);
    }
  });
});

describe('importJwk: private members and fingerprints', () => {
  test('private members are ignored: a leaked private JWK yields only a public key', async () => {
    const key = importJwk(rsaPrivateJwk as Jwk, ['RS256']);
    assert.equal(key.keyObject.type, 'public');
    assert.deepEqual(key.keyObject.export({ format: 'jwk' }), { kty: 'RSA', n: rsaJwk.n, e: rsaJwk.e });
    const ecPrivate = await exportJWK(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    assert.equal(importJwk(ecPrivate as Jwk, ['ES256']).keyObject.type, 'public');
    const edPrivate = await exportJWK(generateKeyPairSync('ed25519').privateKey);
    assert.equal(importJwk(edPrivate as Jwk, ['EdDSA']).keyObject.type, 'public');
  });

  test('fingerprints are short, stable, distinct, and never the raw hash of a secret', () => {
    const a = importJwk(rsaJwk as Jwk, ['RS256']);
    assert.match(a.fingerprint, /^[0-9a-f]{12}$/);
    assert.equal(importJwk(rsaPrivateJwk as Jwk, ['RS256']).fingerprint, a.fingerprint);
    assert.notEqual(importJwk(ecJwks['P-256'] as Jwk, ['ES256']).fingerprint, a.fingerprint);
    const secret = Buffer.alloc(32, 7);
    const hmac = importJwk(oct(32), ['HS256']);
    assert.notEqual(hmac.fingerprint, createHash('sha256').update(secret).digest('hex').slice(0, 12));
  });
});

describe('RS256 → HS256 key confusion', () => {
  async function hs256With(secret: Uint8Array): Promise<string> {
    return new SignJWT({ sub: 'mallory', admin: true }).setProtectedHeader({ alg: 'HS256' }).sign(secret);
  }

  test('an HS256 token keyed with the RSA public key (PEM, PKCS#1 PEM, JWK text) never verifies against the RSA key', async () => {
    const spkiPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const pkcs1Pem = rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    const secrets: Buffer[] = [
      spkiPem,
      spkiPem.trim(),
      spkiPem.replace(/\n/g, '\r\n'),
      pkcs1Pem,
      JSON.stringify(rsaJwk),
      JSON.stringify({ kty: 'RSA', n: rsaJwk.n, e: rsaJwk.e }),
      '/etc/portcullis/keys/rsa.pub',
    ].map((text) => Buffer.from(text));
    secrets.push(rsa.publicKey.export({ type: 'spki', format: 'der' }));
    const algorithms: Alg[] = ['RS256', 'HS256'];
    const verificationKey = importJwk(rsaJwk as Jwk, algorithms);
    assert.deepEqual([...verificationKey.algs], ['RS256'], 'the RSA key is never bound to HS256');
    for (const secret of secrets) {
      const token = await hs256With(secret);
      await expectAuthError(() => verifyJws(token, verificationKey, { algorithms }), 'key_not_found');
      await expectAuthError(() => verifyJws(token, [verificationKey], { algorithms }), 'key_not_found');
      await expectAuthError(() => verifyJws(token, { keys: [rsaJwk] }, { algorithms }), 'key_not_found');
      await expectAuthError(() => verifyJws(token, { keys: [{ ...rsaJwk, kid: 'r' }] }, { algorithms: [...SUPPORTED_ALGS] }), 'key_not_found');
      const [h, p, s] = token.split('.') as [string, string, string];
      assert.equal(verifySignature(verificationKey, 'HS256', Buffer.from(`${h}.${p}`), Buffer.from(s, 'base64url')), false);
    }
  });

  test('the check can fail: the same secret as a configured oct key does verify', async () => {
    const spkiPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const token = await hs256With(Buffer.from(spkiPem));
    const octKey = importJwk({ kty: 'oct', k: Buffer.from(spkiPem).toString('base64url') }, ['HS256']);
    assert.equal((await verifyJws(token, octKey, { algorithms: ['HS256'] })).claims.sub, 'mallory');
  });
});

describe('key sets from the network', () => {
  test('a symmetric key is refused when the source may not hold secrets', async () => {
    const { buildKeyIndex } = await import('../../src/keys/key-index.js');
    const secret = { kty: 'oct', kid: 'o', k: Buffer.alloc(32, 9).toString('base64url') };
    assert.throws(() => buildKeyIndex([secret], undefined, { allowSymmetric: false }), /symmetric \(oct\) keys are not accepted/);
    assert.equal(buildKeyIndex([secret]).index.keys.length, 1);
  });
});
