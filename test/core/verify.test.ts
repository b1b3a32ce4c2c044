import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createHash, generateKeyPairSync, privateEncrypt, verify, type KeyObject } from 'node:crypto';
import { importJwk, type Jwk, type VerificationKey } from '../../src/jwt/keys.js';
import { signingInput, verifySignature } from '../../src/jwt/verify.js';
import { indexKeys, verifyJws } from '../../src/authorizer/verify-jws.js';
import { SUPPORTED_ALGS, algSpec, type Alg } from '../../src/jwt/algorithms.js';
import { createMintingKey, expectAuthError, mintJwt, type MintingKey } from '../support/vectors.js';

const CLAIMS = { sub: 'alice', iss: 'https://issuer.example', aud: ['api'], exp: 4_000_000_000, roles: ['admin'] };

let rsaPair: { privateKey: KeyObject; publicKey: KeyObject };
const minting = new Map<Alg, MintingKey>();
const others = new Map<Alg, MintingKey>();

before(async () => {
  rsaPair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  for (const alg of SUPPORTED_ALGS) {
    minting.set(alg, await createMintingKey(alg, rsaPair));
    others.set(alg, await createMintingKey(alg, otherRsa));
  }
});

const b64u = (text: string): Buffer => Buffer.from(text, 'base64url');
const parts = (token: string): [string, string, string] => token.split('.') as [string, string, string];
const withSignature = (token: string, signature: Buffer): string => {
  const [h, p] = parts(token);
  return `${h}.${p}.${signature.toString('base64url')}`;
};
const flip = (bytes: Buffer, index: number, bit = 0x01): Buffer => {
  const copy = Buffer.from(bytes);
  copy[index] = copy[index]! ^ bit;
  return copy;
};
const keyFor = (alg: Alg, kid = 'k1'): VerificationKey => importJwk({ ...minting.get(alg)!.publicJwk, kid } as Jwk, [alg]);

for (const alg of SUPPORTED_ALGS) {
  describe(`${alg} with jose-minted tokens`, () => {
    test('a valid token verifies and yields its claims and header', async () => {
      const token = await mintJwt(minting.get(alg)!, CLAIMS, { kid: 'k1', typ: 'JWT' });
      const verified = await verifyJws(token, [keyFor(alg)], { algorithms: [alg] });
      assert.deepEqual(verified.claims, CLAIMS);
      assert.deepEqual(verified.protectedHeader, { alg, kid: 'k1', typ: 'JWT' });
      assert.equal(verified.key.kid, 'k1');
      // The same token through a JWKS object.
      const viaJwks = await verifyJws(token, { keys: [{ ...minting.get(alg)!.publicJwk, kid: 'k1' }] }, { algorithms: [alg] });
      assert.deepEqual(viaJwks.claims, CLAIMS);
    });

    test('one flipped bit anywhere in the signature fails', async () => {
      const token = await mintJwt(minting.get(alg)!, CLAIMS, { kid: 'k1' });
      const signature = b64u(parts(token)[2]);
      const key = keyFor(alg);
      for (const index of [0, Math.floor(signature.length / 2), signature.length - 1]) {
        for (const bit of [0x01, 0x80]) {
          await expectAuthError(() => verifyJws(withSignature(token, flip(signature, index, bit)), [key], { algorithms: [alg] }), 'signature_invalid');
        }
      }
    });

    test('a changed claim fails', async () => {
      const token = await mintJwt(minting.get(alg)!, CLAIMS, { kid: 'k1' });
      const [h, , s] = parts(token);
      const forged = Buffer.from(JSON.stringify({ ...CLAIMS, roles: ['admin', 'root'] })).toString('base64url');
      await expectAuthError(() => verifyJws(`${h}.${forged}.${s}`, [keyFor(alg)], { algorithms: [alg] }), 'signature_invalid');
    });

    test('a changed header fails (same key, re-encoded header)', async () => {
      const token = await mintJwt(minting.get(alg)!, CLAIMS, { kid: 'k1' });
      const [, p, s] = parts(token);
      const header = Buffer.from(JSON.stringify({ kid: 'k1', alg })).toString('base64url');
      await expectAuthError(() => verifyJws(`${header}.${p}.${s}`, [keyFor(alg)], { algorithms: [alg] }), 'signature_invalid');
    });

    test('a signature one byte too long or too short fails', async () => {
      const token = await mintJwt(minting.get(alg)!, CLAIMS, { kid: 'k1' });
      const signature = b64u(parts(token)[2]);
      const key = keyFor(alg);
      for (const wrong of [Buffer.concat([signature, Buffer.alloc(1)]), Buffer.concat([Buffer.alloc(1), signature]), signature.subarray(1), signature.subarray(0, -1)]) {
        await expectAuthError(() => verifyJws(withSignature(token, wrong), [key], { algorithms: [alg] }), 'signature_invalid');
      }
    });

    test('another key of the same type fails', async () => {
      const token = await mintJwt(others.get(alg)!, CLAIMS, { kid: 'k1' });
      await expectAuthError(() => verifyJws(token, [keyFor(alg)], { algorithms: [alg] }), 'signature_invalid');
    });

    test('verifySignature on raw bytes agrees, and never throws on garbage of the right length', async () => {
      const token = await mintJwt(minting.get(alg)!, CLAIMS);
      const [h, p, s] = parts(token);
      const key = keyFor(alg);
      const data = Buffer.from(`${h}.${p}`);
      const signature = b64u(s);
      assert.equal(verifySignature(key, alg, data, signature), true);
      assert.equal(verifySignature(key, alg, data.subarray(1), signature), false);
      for (const fill of [0x00, 0xff, 0x80]) assert.equal(verifySignature(key, alg, data, Buffer.alloc(signature.length, fill)), false);
      assert.equal(verifySignature(key, alg, data, Buffer.alloc(0)), false);
    });
  });
}

describe('algorithm families never cross', () => {
  test('a key verifies only the algorithms it is bound to', async () => {
    for (const tokenAlg of SUPPORTED_ALGS) {
      const token = await mintJwt(minting.get(tokenAlg)!, CLAIMS);
      const [h, p, s] = parts(token);
      for (const keyAlg of SUPPORTED_ALGS) {
        if (keyAlg === tokenAlg) continue;
        const key = keyFor(keyAlg);
        const sameFamily = algSpec(keyAlg).kty === algSpec(tokenAlg).kty;
        // RSA keys are bound to RS* and PS*, HMAC keys to HS*, but the wrong hash or padding never verifies.
        assert.equal(verifySignature(key, tokenAlg, Buffer.from(`${h}.${p}`), b64u(s)), false, `${tokenAlg} token, ${keyAlg} key`);
        const code = key.algs.has(tokenAlg) ? 'signature_invalid' : 'key_not_found';
        await expectAuthError(() => verifyJws(token, [key], { algorithms: [tokenAlg] }), code);
        if (!sameFamily) assert.equal(key.algs.has(tokenAlg), false);
      }
    }
  });

  test('an RSA key bound to RS256 only does not verify a PS256 token made with the same key pair', async () => {
    const token = await mintJwt(minting.get('PS256')!, CLAIMS);
    const rs256Only = importJwk({ ...minting.get('RS256')!.publicJwk, alg: 'RS256' } as Jwk, ['RS256', 'PS256']);
    await expectAuthError(() => verifyJws(token, [rs256Only], { algorithms: ['RS256', 'PS256'] }), 'key_not_found');
    const both = importJwk(minting.get('RS256')!.publicJwk as Jwk, ['RS256', 'PS256']);
    assert.equal((await verifyJws(token, [both], { algorithms: ['RS256', 'PS256'] })).claims.sub, 'alice');
  });

  test('a 3072-bit RSA key expects 384-byte signatures', async () => {
    const big = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const mintingKey = await createMintingKey('RS256', big);
    const token = await mintJwt(mintingKey, CLAIMS);
    const key = importJwk(mintingKey.publicJwk as Jwk, ['RS256']);
    assert.equal(key.modulusBytes, 384);
    assert.equal((await verifyJws(token, [key], { algorithms: ['RS256'] })).claims.sub, 'alice');
    const small = await mintJwt(minting.get('RS256')!, CLAIMS);
    await expectAuthError(() => verifyJws(withSignature(token, b64u(parts(small)[2])), [key], { algorithms: ['RS256'] }), 'signature_invalid');
  });
});

describe('verifyJws: key selection', () => {
  test('kid picks the key; an unknown kid is key_not_found, never a default key', async () => {
    const token = await mintJwt(minting.get('ES256')!, CLAIMS, { kid: 'k1' });
    const right = keyFor('ES256', 'k1');
    const wrong = importJwk({ ...others.get('ES256')!.publicJwk, kid: 'k2' } as Jwk, ['ES256']);
    assert.equal((await verifyJws(token, [wrong, right], { algorithms: ['ES256'] })).key, right);
    await expectAuthError(() => verifyJws(token, [wrong], { algorithms: ['ES256'] }), 'key_not_found');
    await expectAuthError(() => verifyJws(token, [], { algorithms: ['ES256'] }), 'key_not_found');
  });

  test('a token without kid may use the only key, but not pick among several', async () => {
    const token = await mintJwt(minting.get('ES256')!, CLAIMS);
    const right = keyFor('ES256', 'k1');
    const wrong = importJwk({ ...others.get('ES256')!.publicJwk, kid: 'k2' } as Jwk, ['ES256']);
    assert.equal((await verifyJws(token, right, { algorithms: ['ES256'] })).key, right);
    await expectAuthError(() => verifyJws(token, [right, wrong], { algorithms: ['ES256'] }), 'key_not_found');
  });

  test('x5t strategy picks by thumbprint and falls back to kid', async () => {
    const thumb = Buffer.alloc(20, 7).toString('base64url'); // a SHA-1 thumbprint is 20 bytes: 27 characters
    const key = importJwk({ ...minting.get('ES256')!.publicJwk, kid: 'k1', x5t: thumb } as Jwk, ['ES256']);
    const byThumb = await mintJwt(minting.get('ES256')!, CLAIMS, { x5t: thumb, kid: 'other' });
    assert.equal((await verifyJws(byThumb, [key], { algorithms: ['ES256'], keyIdentifyStrategy: 'x5t' })).key, key);
    await expectAuthError(() => verifyJws(byThumb, [key], { algorithms: ['ES256'] }), 'key_not_found');
    const byKid = await mintJwt(minting.get('ES256')!, CLAIMS, { kid: 'k1' });
    assert.equal((await verifyJws(byKid, [key], { algorithms: ['ES256'], keyIdentifyStrategy: 'x5t' })).key, key);
  });

  test('indexKeys keeps the first key of a repeated kid', () => {
    const a = keyFor('ES256', 'dup');
    const b = importJwk({ ...others.get('ES256')!.publicJwk, kid: 'dup' } as Jwk, ['ES256']);
    assert.equal(indexKeys([a, b]).byKid.get('dup'), a);
  });

  test('the payload is read only after the signature holds, and its claim types are then checked', async () => {
    const token = await mintJwt(minting.get('HS256')!, { exp: '9999999999' } as never);
    await expectAuthError(() => verifyJws(token, [], { algorithms: ['HS256'] }), 'key_not_found');
    await expectAuthError(() => verifyJws(token, [keyFor('HS256')], { algorithms: ['HS256'] }), 'token_malformed', /exp/);
  });

  test('a thumbprint header that is not a thumbprint is malformed', async () => {
    const token = await mintJwt(minting.get('ES256')!, CLAIMS, { x5t: 'x'.repeat(7000) });
    await expectAuthError(() => verifyJws(token, [keyFor('ES256')], { algorithms: ['ES256'], keyIdentifyStrategy: 'x5t' }), 'token_malformed', /thumbprint/);
  });

  test('limits must be positive integers and depths stay bounded', async () => {
    const token = await mintJwt(minting.get('HS256')!, CLAIMS);
    await assert.rejects(verifyJws(token, [keyFor('HS256')], { algorithms: ['HS256'], limits: { maxPayloadDepth: 1e6 } }), TypeError);
    await assert.rejects(verifyJws(token, [keyFor('HS256')], { algorithms: ['HS256'], limits: { maxTokenLength: Infinity } }), TypeError);
    await expectAuthError(() => verifyJws(token, { keys: [] }, { algorithms: ['HS256'] }), 'key_not_found');
    await expectAuthError(() => verifyJws(token, null as never, { algorithms: ['HS256'] }), 'key_not_found');
  });

  test('parse limits pass through', async () => {
    const token = await mintJwt(minting.get('HS256')!, CLAIMS);
    await expectAuthError(() => verifyJws(token, [keyFor('HS256')], { algorithms: ['HS256'], limits: { maxTokenLength: 20 } }), 'token_too_large');
  });
});

describe('signingInput', () => {
  test('returns the token prefix as bytes, also beyond the scratch buffer', () => {
    assert.equal(signingInput('abc.def.ghi', 7).toString(), 'abc.def');
    const long = `${'a'.repeat(70_000)}.b.c`;
    assert.equal(signingInput(long, 70_002).toString(), `${'a'.repeat(70_000)}.b`);
  });
});

// verifySignature checks RS* by recovering the encoded message and comparing it with the one valid
// encoding (RFC 8017 §8.2.2). Each encoding below is made by hand and signed with the raw RSA private
// operation, so the test can offer every near-miss a lenient verifier would accept; the answer must be
// the one crypto.verify gives, and the one the RFC gives.
describe('RSASSA-PKCS1-v1_5: hand-made encodings', () => {
  const DIGEST_INFO: Record<'RS256' | 'RS384' | 'RS512', { hash: string; prefix: string }> = {
    RS256: { hash: 'sha256', prefix: '3031300d060960864801650304020105000420' },
    RS384: { hash: 'sha384', prefix: '3041300d060960864801650304020205000430' },
    RS512: { hash: 'sha512', prefix: '3051300d060960864801650304020305000440' },
  };
  const message = Buffer.from('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9');
  const encode = (k: number, digestInfo: Buffer, options: { blockType?: number; padByte?: (i: number) => number } = {}): Buffer => {
    const padLength = k - 3 - digestInfo.length;
    const padding = Buffer.alloc(padLength, 0xff);
    if (options.padByte) for (let i = 0; i < padLength; i++) padding[i] = options.padByte(i);
    return Buffer.concat([Buffer.from([0x00, options.blockType ?? 0x01]), padding, Buffer.from([0x00]), digestInfo]);
  };

  // One key per size: the signature length, and so the padding length, follows the modulus.
  const pairs = new Map<number, { publicKey: KeyObject; privateKey: KeyObject }>();
  const pairOf = (bits: number) => {
    if (bits === 2048) return rsaPair;
    if (!pairs.has(bits)) pairs.set(bits, generateKeyPairSync('rsa', { modulusLength: bits }));
    return pairs.get(bits)!;
  };
  for (const bits of [2048, 3072, 4096]) {
    for (const alg of ['RS256', 'RS384', 'RS512'] as const) {
      test(`${alg}, ${bits}-bit key: only the exact encoding verifies, as with crypto.verify`, () => {
        const { publicKey, privateKey } = pairOf(bits);
        const key = importJwk({ ...publicKey.export({ format: 'jwk' }), kid: 'k', alg } as Jwk, [alg]);
        const k = bits / 8;
        const { hash, prefix } = DIGEST_INFO[alg];
        const digest = createHash(hash).update(message).digest();
        const digestInfo = Buffer.concat([Buffer.from(prefix, 'hex'), digest]);
        const otherAlg = alg === 'RS256' ? 'RS384' : 'RS256';
        const otherHash = createHash(DIGEST_INFO[otherAlg].hash).update(message).digest();
        const withoutNull = Buffer.concat([Buffer.from(prefix.replace('0500', ''), 'hex'), digest]);
        withoutNull[1] = withoutNull[1]! - 2; // outer SEQUENCE length
        withoutNull[3] = withoutNull[3]! - 2; // AlgorithmIdentifier length
        const cases: [string, Buffer, boolean][] = [
          ['the exact encoding', encode(k, digestInfo), true],
          ['DigestInfo without the NULL parameters', encode(k, withoutNull), false],
          ['the other hash and its OID', encode(k, Buffer.concat([Buffer.from(DIGEST_INFO[otherAlg].prefix, 'hex'), otherHash])), false],
          ['this OID with the other hash', encode(k, Buffer.concat([Buffer.from(prefix, 'hex'), otherHash.subarray(0, digest.length)])), false],
          ['a byte after the digest', encode(k, Buffer.concat([digestInfo, Buffer.from([0x00])])), false],
          ['garbage between the padding and DigestInfo', encode(k, Buffer.concat([Buffer.from([0x00, 0x42]), digestInfo])), false],
          ['a zero inside the padding, garbage after it', encode(k, digestInfo, { padByte: (i) => (i === 8 ? 0x00 : 0xff) }), false],
          ['a non-FF padding byte', encode(k, digestInfo, { padByte: (i) => (i === 20 ? 0xfe : 0xff) }), false],
          ['block type 2 (encryption padding)', encode(k, digestInfo, { blockType: 0x02 }), false],
          ['the digest with one bit flipped', encode(k, flip(digestInfo, digestInfo.length - 1)), false],
        ];
        for (const [label, encoded, expected] of cases) {
          const signature = privateEncrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, encoded);
          assert.equal(verify(hash, message, publicKey, signature), expected, `crypto.verify on ${label}`);
          assert.equal(verifySignature(key, alg, message, signature), expected, `${alg} ${bits}: ${label}`);
        }
        // A signature at or above the modulus is refused before any padding is read.
        assert.equal(verifySignature(key, alg, message, Buffer.alloc(k, 0xff)), false);
        assert.equal(verifySignature(key, alg, message, Buffer.alloc(k, 0x00)), false);
      });
    }
  }
});
