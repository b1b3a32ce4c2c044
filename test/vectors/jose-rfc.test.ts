/**
 * RFC 7520 (JOSE cookbook), RFC 7797, RFC 8037 and RFC 7515 examples.
 * The cookbook payloads are prose, not JWT claims: their signatures are checked
 * at the signature layer, and the tokens themselves must be refused as JWTs.
 * Positive end-to-end JWT cases re-sign a JSON claims payload with the
 * cookbook's own keys (they ship with their private members).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { importJWK, SignJWT, type JWK } from 'jose';
import { importJwk, type Jwk } from '../../src/jwt/keys.js';
import { verifySignature } from '../../src/jwt/verify.js';
import { verifyJws } from '../../src/authorizer/verify-jws.js';
import { parseCompactJws } from '../../src/jwt/parse.js';
import { SUPPORTED_ALGS, type Alg } from '../../src/jwt/algorithms.js';
import { createMintingKey, expectAuthError, loadCookbook, mintJwt, publicJwkOf, VECTORS_SKIP, type CookbookVector } from '../support/vectors.js';

type Signing = { 'sig-input': string; sig: string };

const b64u = (text: string): Buffer => Buffer.from(text, 'base64url');

function flipBit(bytes: Buffer, index = 0): Buffer {
  const copy = Buffer.from(bytes);
  copy[index] = copy[index]! ^ 0x01;
  return copy;
}

const COMPACT_COOKBOOK = [
  { file: 'jws/4_1.rsa_v15_signature.json', alg: 'RS256' },
  { file: 'jws/4_2.rsa-pss_signature.json', alg: 'PS384' },
  { file: 'jws/4_3.ecdsa_signature.json', alg: 'ES512' },
  { file: 'jws/4_4.hmac-sha2_integrity_protection.json', alg: 'HS256' },
  { file: 'curve25519/jws.json', alg: 'EdDSA' },
] as const satisfies readonly { file: string; alg: Alg }[];

// The cookbook and RFC 7797 files come from ../shared/vectors; the examples further down are inline.
describe('RFC 7520 and RFC 7797 vector files', { skip: VECTORS_SKIP }, () => {
  describe('RFC 7520 / RFC 8037 compact examples', () => {
    for (const { file, alg } of COMPACT_COOKBOOK) {
      describe(file, () => {
        const vector: CookbookVector = loadCookbook(file);
        const privateJwk = vector.input.key as JWK;
        const publicJwk = publicJwkOf(privateJwk);
        const signing = vector.signing as Signing;
        const token = vector.output.compact!;

        test('vector is what the table says', () => {
          assert.equal(vector.input.alg, alg);
          if (alg !== 'HS256') assert.equal(publicJwk.d, undefined, 'private members dropped');
        });

        test('signature layer: sig over sig-input verifies, and the compact form carries the same signing input', () => {
          const key = importJwk(publicJwk as Jwk, [alg]);
          const signature = b64u(signing.sig);
          assert.equal(verifySignature(key, alg, Buffer.from(signing['sig-input'], 'ascii'), signature), true);
          const [h, p, s] = token.split('.') as [string, string, string];
          assert.equal(`${h}.${p}`, signing['sig-input']);
          assert.equal(verifySignature(key, alg, Buffer.from(`${h}.${p}`, 'ascii'), b64u(s)), true);
          // The check can fail: one flipped bit in the signature or the input is refused.
          assert.equal(verifySignature(key, alg, Buffer.from(`${h}.${p}`, 'ascii'), flipBit(b64u(s), 5)), false);
          assert.equal(verifySignature(key, alg, flipBit(Buffer.from(`${h}.${p}`, 'ascii'), 40), b64u(s)), false);
        });

        test('as a JWT the token is refused: the payload is prose, not a claims object', async () => {
          assert.throws(() => parseCompactJws(token), (error: unknown) => {
            assert.equal((error as { code?: string }).code, 'token_malformed');
            assert.match((error as { detail: string }).detail, /payload/);
            return true;
          });
          await expectAuthError(() => verifyJws(token, { keys: [publicJwk] }, { algorithms: [alg] }), 'token_malformed', /payload/);
          await expectAuthError(() => verifyJws(token, { keys: [publicJwk] }, { algorithms: SUPPORTED_ALGS }), 'token_malformed', /payload/);
        });

        test('end to end: a JWT signed with the same key verifies through verifyJws', async () => {
          const kid = typeof privateJwk.kid === 'string' ? privateJwk.kid : undefined;
          const signingKey = await importJWK(privateJwk, alg);
          const jwt = await new SignJWT({ sub: 'frodo', aud: 'mordor' })
            .setProtectedHeader({ alg, ...(kid ? { kid } : {}) })
            .sign(signingKey);
          const verified = await verifyJws(jwt, { keys: [publicJwk] }, { algorithms: [alg] });
          assert.deepEqual(verified.claims, { sub: 'frodo', aud: 'mordor' });
          assert.equal(verified.protectedHeader.alg, alg);
          assert.equal(verified.protectedHeader.kid, kid);
          // The same token is refused when the endpoint does not allow its algorithm.
          const other: Alg = alg === 'HS256' ? 'RS256' : 'HS256';
          await expectAuthError(() => verifyJws(jwt, { keys: [publicJwk] }, { algorithms: [other] }), 'alg_not_allowed');
          const [h, p, s] = jwt.split('.') as [string, string, string];
          const tampered = `${h}.${p}.${flipBit(b64u(s), 3).toString('base64url')}`;
          await expectAuthError(() => verifyJws(tampered, { keys: [publicJwk] }, { algorithms: [alg] }), 'signature_invalid');
        });
      });
    }
  });

  describe('RFC 7520 examples that are not compact JWS', () => {
    test('4.5 detached content (header..signature) is refused', async () => {
      const vector = loadCookbook('jws/4_5.signature_with_detached_content.json');
      const token = vector.output.compact!;
      assert.match(token, /^[^.]+\.\.[^.]+$/);
      await expectAuthError(() => verifyJws(token, { keys: [vector.input.key as JWK] }, { algorithms: ['HS256'] }), 'token_malformed', /detached/);
    });

    for (const file of ['jws/4_6.protecting_specific_header_fields.json', 'jws/4_7.protecting_content_only.json', 'jws/4_8.multiple_signatures.json']) {
      test(`${file}: JSON serialisations are refused as tokens`, async () => {
        const vector = loadCookbook(file);
        assert.equal(vector.output.compact, undefined);
        const keys = (Array.isArray(vector.input.key) ? vector.input.key : [vector.input.key]).map(publicJwkOf);
        const forms = [vector.output.json, vector.output.json_flat].filter((form) => form !== undefined);
        assert.ok(forms.length > 0);
        for (const form of forms) {
          await expectAuthError(() => verifyJws(JSON.stringify(form), { keys }, { algorithms: ['HS256', 'RS256', 'ES512'] }), 'token_malformed');
        }
      });
    }

    test('4.7 squeezed into compact form (empty protected header) is refused', async () => {
      const vector = loadCookbook('jws/4_7.protecting_content_only.json');
      const signing = vector.signing as Signing;
      const token = `${signing['sig-input']}.${signing.sig}`;
      await expectAuthError(() => verifyJws(token, { keys: [vector.input.key as JWK] }, { algorithms: ['HS256'] }), 'token_malformed', /empty header/);
    });
  });

  describe('RFC 7797 unencoded payloads (b64:false)', () => {
    const RFC7797_HEADER = 'eyJhbGciOiJIUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19';
    const RFC7797_SIG = 'A5dxf2s96_n5FLueVuW1Z_vh161FwXZC4YLPff6dmDY';
    const vector42 = loadCookbook('rfc7797/4.2.hmac-sha2_b64_false.json');
    const octJwk = vector42.input.key as JWK;

    test('the §4.2 signature is genuine over the unencoded signing input', () => {
      assert.equal(b64u(RFC7797_HEADER).toString(), '{"alg":"HS256","b64":false,"crit":["b64"]}');
      const key = importJwk(octJwk as Jwk, ['HS256']);
      assert.equal(verifySignature(key, 'HS256', Buffer.from(`${RFC7797_HEADER}.$.02`), b64u(RFC7797_SIG)), true);
    });

    test('the §4.2 compact form is refused', async () => {
      await expectAuthError(() => verifyJws(`${RFC7797_HEADER}.$.02.${RFC7797_SIG}`, { keys: [octJwk] }, { algorithms: ['HS256'] }), 'token_malformed');
    });

    test('hmac-sha2_b64_false.json output.compact is refused', async () => {
      const vector = loadCookbook('rfc7797/hmac-sha2_b64_false.json');
      await expectAuthError(() => verifyJws(vector.output.compact!, { keys: [vector.input.key as JWK] }, { algorithms: ['HS256'] }), 'token_malformed');
    });

    test('4.2.hmac-sha2_b64_false.json JSON forms are refused', async () => {
      for (const form of [vector42.output.json, vector42.output.json_flat]) {
        await expectAuthError(() => verifyJws(JSON.stringify(form), { keys: [octJwk] }, { algorithms: ['HS256'] }), 'token_malformed');
      }
    });

    test('b64:false is refused for the header alone, even with a base64url JSON payload and a correct HMAC', async () => {
      const secret = b64u(octJwk.k!);
      for (const header of [RFC7797_HEADER, 'eyJhbGciOiJIUzI1NiIsImI2NCI6ZmFsc2V9' /* without crit */]) {
        const input = `${header}.${Buffer.from('{"sub":"x"}').toString('base64url')}`;
        const token = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
        await expectAuthError(() => verifyJws(token, { keys: [octJwk] }, { algorithms: ['HS256'] }), 'token_malformed', /b64|crit/);
      }
    });
  });
});

describe('RFC 8037 A.4 (Ed25519)', () => {
  const token =
    'eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg';
  const jwk = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' };

  test('signature layer verifies; a flipped bit does not', () => {
    const key = importJwk(jwk, ['EdDSA']);
    const dot = token.lastIndexOf('.');
    const signature = b64u(token.slice(dot + 1));
    assert.equal(verifySignature(key, 'EdDSA', Buffer.from(token.slice(0, dot)), signature), true);
    assert.equal(verifySignature(key, 'EdDSA', Buffer.from(token.slice(0, dot)), flipBit(signature, 63)), false);
  });

  test('as a JWT it is refused (prose payload)', async () => {
    await expectAuthError(() => verifyJws(token, { keys: [jwk] }, { algorithms: ['EdDSA'] }), 'token_malformed', /payload/);
  });
});

describe('RFC 7515 appendix A', () => {
  const a1Key = { kty: 'oct', k: 'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow' };
  const a1Token =
    'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';

  test('A.1 HS256 verifies, with the URL-style claim intact (time checks are the caller’s)', async () => {
    const verified = await verifyJws(a1Token, [importJwk(a1Key, ['HS256'])], { algorithms: ['HS256'] });
    assert.deepEqual(verified.claims, { iss: 'joe', exp: 1300819380, 'http://example.com/is_root': true });
    assert.equal(verified.protectedHeader.typ, 'JWT');
    await expectAuthError(() => verifyJws(a1Token, [importJwk(a1Key, ['HS256'])], { algorithms: ['HS384', 'RS256'] }), 'alg_not_allowed');
  });

  test('A.5 unsecured JWS (alg none, empty signature) is refused with every allowlist', async () => {
    const a5 = 'eyJhbGciOiJub25lIn0.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.';
    // The empty signature is caught by the parser before the algorithm is looked at.
    for (const algorithms of [['HS256'], SUPPORTED_ALGS] as const) {
      await expectAuthError(() => verifyJws(a5, [importJwk(a1Key, ['HS256'])], { algorithms }), 'token_malformed', /empty signature/);
    }
    // With the A.1 signature pasted on, the parser passes it and the algorithm check refuses it.
    const withSignature = `${a5}${a1Token.split('.')[2]}`;
    await expectAuthError(() => verifyJws(withSignature, [importJwk(a1Key, ['HS256'])], { algorithms: SUPPORTED_ALGS }), 'alg_not_allowed');
  });
});

describe('message-independent bad ECDSA signatures spliced onto a valid ES256 token', async () => {
  const P256_N = BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551');
  const minting = await createMintingKey('ES256');
  const token = await mintJwt(minting, { sub: 'alice' }, { kid: 'k1' });
  const publicJwk = { ...minting.publicJwk, kid: 'k1' };
  const [h, p, s] = token.split('.') as [string, string, string];
  const signature = b64u(s);
  const r = BigInt(`0x${signature.subarray(0, 32).toString('hex')}`);
  const sValue = BigInt(`0x${signature.subarray(32).toString('hex')}`);
  const int = (value: bigint, bytes = 32): Buffer => Buffer.from(value.toString(16).padStart(bytes * 2, '0'), 'hex');
  const rs = (rr: bigint, ss: bigint): Buffer => Buffer.concat([int(rr), int(ss)]);
  const withSignature = (bytes: Buffer): string => `${h}.${p}.${bytes.toString('base64url')}`;
  const verify = (candidate: string) => verifyJws(candidate, { keys: [publicJwk] }, { algorithms: ['ES256'] });

  test('the unmodified token verifies (the splices below are the only difference)', async () => {
    assert.deepEqual((await verify(token)).claims, { sub: 'alice' });
  });

  test('high-s (s replaced by n - s) is not rejected, as Wycheproof tcId 1 requires', async () => {
    assert.deepEqual((await verify(withSignature(rs(r, P256_N - sValue)))).claims, { sub: 'alice' });
  });

  const derInteger = (value: bigint): Buffer => {
    let bytes = Buffer.from(value.toString(16).padStart(64, '0'), 'hex');
    while (bytes.length > 1 && bytes[0] === 0 && bytes[1]! < 0x80) bytes = bytes.subarray(1);
    if (bytes[0]! >= 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
  };
  const der = Buffer.concat([derInteger(r), derInteger(sValue)]);
  const derSignature = Buffer.concat([Buffer.from([0x30, der.length]), der]);

  const cases: [string, Buffer][] = [
    ['r = 0, s = 0 (psychic signature)', Buffer.alloc(64)],
    ['r = 0', rs(0n, sValue)],
    ['s = 0', rs(r, 0n)],
    ['r = n', rs(P256_N, sValue)],
    ['s = n', rs(r, P256_N)],
    ['r = s = n', rs(P256_N, P256_N)],
    ['r = n - r', rs(P256_N - r, sValue)],
    ['r = 1, s = 1', rs(1n, 1n)],
    ['r = s = 2^256 - 1', Buffer.alloc(64, 0xff)],
    ['63 bytes (leading byte dropped)', signature.subarray(1)],
    ['65 bytes (zero byte prepended)', Buffer.concat([Buffer.alloc(1), signature])],
    ['128 bytes (r and s widened to 64 bytes each)', Buffer.concat([Buffer.alloc(32), int(r), Buffer.alloc(32), int(sValue)])],
    ['DER (ASN.1 SEQUENCE) encoding of the valid signature', derSignature],
    ['DER encoding truncated or padded to 64 bytes', Buffer.concat([derSignature, Buffer.alloc(8)]).subarray(0, 64)],
  ];
  for (const [name, bytes] of cases) {
    test(`${name} → signature_invalid`, async () => {
      await expectAuthError(() => verify(withSignature(bytes)), 'signature_invalid');
    });
  }

  test('a DER signature is valid for node:crypto but still refused: only raw r‖s is a JWS signature', async () => {
    // Guards the test itself: the DER form above really is the same signature.
    const keyObject = createPublicKey({ key: minting.publicJwk as never, format: 'jwk' });
    assert.equal(nodeVerify('sha256', Buffer.from(`${h}.${p}`), keyObject, derSignature), true);
    await expectAuthError(() => verify(withSignature(derSignature)), 'signature_invalid');
  });

  test('r = s = 0 is refused for ES384 and ES512 too', async () => {
    for (const [alg, bytes] of [['ES384', 96], ['ES512', 132]] as const) {
      const key = await createMintingKey(alg);
      const jwt = await mintJwt(key, { sub: 'alice' });
      const [hh, pp] = jwt.split('.') as [string, string];
      assert.deepEqual((await verifyJws(jwt, { keys: [key.publicJwk] }, { algorithms: [alg] })).claims, { sub: 'alice' });
      await expectAuthError(
        () => verifyJws(`${hh}.${pp}.${Buffer.alloc(bytes).toString('base64url')}`, { keys: [key.publicJwk] }, { algorithms: [alg] }),
        'signature_invalid',
      );
    }
  });

  test('a fresh DER signature from node:crypto never verifies (only the ieee-p1363 form is read)', async () => {
    const derSig = nodeSign('sha256', Buffer.from(`${h}.${p}`), minting.signingKey as KeyObject);
    await expectAuthError(() => verify(withSignature(derSig)), 'signature_invalid');
  });
});

