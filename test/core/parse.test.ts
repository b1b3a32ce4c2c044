import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PARSE_LIMITS, parseCompactJws } from '../../src/jwt/parse.js';
import { verifyJws } from '../../src/authorizer/verify-jws.js';
import { importJwk } from '../../src/jwt/keys.js';
import { SUPPORTED_ALGS } from '../../src/jwt/algorithms.js';
import { compact, createMintingKey, expectAuthError, mintJwt } from '../support/vectors.js';

const HEADER = { alg: 'HS256', typ: 'JWT' };
const PAYLOAD = { sub: 'alice', exp: 2_000_000_000 };
const good = compact(HEADER, PAYLOAD);
const [goodH, goodP, goodS] = good.split('.') as [string, string, string];
const b64 = (text: string | Buffer): string => Buffer.from(text).toString('base64url');

const malformed = (token: string, detail?: RegExp) => expectAuthError(() => parseCompactJws(token), 'token_malformed', detail);

/** `depth` nested arrays around a value, as a JSON text. */
const nestedArrays = (depth: number): string => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

describe('parseCompactJws: accepted shape', () => {
  test('a well-formed token parses into header, payload, signature and signing input', () => {
    const parsed = parseCompactJws(good);
    assert.deepEqual(parsed.header, HEADER);
    assert.deepEqual(parsed.payload, PAYLOAD);
    assert.deepEqual(parsed.signature, Buffer.alloc(32, 1));
    assert.equal(parsed.signingInputLength, goodH.length + 1 + goodP.length);
    assert.equal(good.slice(0, parsed.signingInputLength), `${goodH}.${goodP}`);
  });

  test('header members that carry keys or key URLs are tolerated but never used (jku, x5u, jwk, x5c)', () => {
    const parsed = parseCompactJws(compact({ alg: 'RS256', jku: 'https://evil.example/jwks', x5u: 'https://evil.example/x', jwk: { kty: 'oct', k: 'AA' }, x5c: ['AA=='] }, PAYLOAD));
    assert.equal(parsed.header.alg, 'RS256');
  });
});

describe('parseCompactJws: size', () => {
  test('a token over the length limit is token_too_large, checked before anything else', async () => {
    const limit = DEFAULT_PARSE_LIMITS.maxTokenLength;
    await expectAuthError(() => parseCompactJws('x'.repeat(limit + 1)), 'token_too_large');
    await expectAuthError(() => parseCompactJws('.'.repeat(limit + 1)), 'token_too_large');
    await expectAuthError(() => parseCompactJws(good, { ...DEFAULT_PARSE_LIMITS, maxTokenLength: good.length - 1 }), 'token_too_large');
    assert.ok(parseCompactJws(good, { ...DEFAULT_PARSE_LIMITS, maxTokenLength: good.length }));
  });

  test('a token of exactly the limit parses', () => {
    const base = compact(HEADER, { pad: '' });
    const filler = 'x'.repeat(Math.floor(((DEFAULT_PARSE_LIMITS.maxTokenLength - base.length) * 3) / 4));
    let token = compact(HEADER, { pad: filler });
    while (token.length > DEFAULT_PARSE_LIMITS.maxTokenLength) token = compact(HEADER, { pad: filler.slice(0, filler.length - (token.length - DEFAULT_PARSE_LIMITS.maxTokenLength)) });
    assert.ok(token.length <= DEFAULT_PARSE_LIMITS.maxTokenLength);
    assert.ok(token.length > DEFAULT_PARSE_LIMITS.maxTokenLength - 8);
    assert.equal(typeof parseCompactJws(token).payload.pad, 'string');
  });

  test('a decoded header over 8 KiB is refused', async () => {
    await malformed(compact({ alg: 'HS256', x: 'a'.repeat(8 * 1024) }, PAYLOAD), /header too large/);
    assert.ok(parseCompactJws(compact({ alg: 'HS256', x: 'a'.repeat(8 * 1024 - 30) }, PAYLOAD)));
  });
});

describe('parseCompactJws: segments', () => {
  for (const [name, token] of [
    ['no dot', `${goodH}${goodP}${goodS}`],
    ['two parts', `${goodH}.${goodP}`],
    ['four parts', `${goodH}.${goodP}.${goodS}.${goodS}`],
    ['five parts (JWE)', `${goodH}.${goodP}.${goodP}.${goodP}.${goodS}`],
    ['many dots', `${goodH}.${goodP}.${goodS}${'.'.repeat(1000)}`],
    ['empty string', ''],
    ['only dots', '..'],
    ['empty header', `.${goodP}.${goodS}`],
    ['empty payload (detached)', `${goodH}..${goodS}`],
    ['empty signature', `${goodH}.${goodP}.`],
    ['trailing dot after signature', `${good}.`],
  ] as const) {
    test(`${name} → token_malformed`, async () => {
      await malformed(token);
    });
  }
});

describe('parseCompactJws: strict base64url', () => {
  const padded = (segment: string): string => segment + '='.repeat((4 - (segment.length % 4)) % 4 || 1);
  for (const [name, token] of [
    ['padding "=" on the header', `${padded(goodH)}.${goodP}.${goodS}`],
    ['padding "=" on the payload', `${goodH}.${padded(goodP)}.${goodS}`],
    ['padding "=" on the signature', `${goodH}.${goodP}.${padded(goodS)}`],
    ['"+" (standard base64)', `${goodH}.${goodP}.${goodS.slice(0, -2)}+${goodS.slice(-1)}`],
    ['"/" (standard base64)', `${goodH}.${goodP}.${goodS.slice(0, -2)}/${goodS.slice(-1)}`],
    ['leading space', ` ${good}`],
    ['trailing newline', `${good}\n`],
    ['space inside the payload', `${goodH}.${goodP.slice(0, 4)} ${goodP.slice(4)}.${goodS}`],
    ['tab inside the signature', `${goodH}.${goodP}.${goodS.slice(0, 4)}\t${goodS.slice(4)}`],
    ['non-ASCII character', `${goodH}.${goodP}é.${goodS}`],
    ['NUL character', `${goodH}.${goodP}.${goodS}\u0000`],
    ['segment length ≡ 1 (mod 4)', `${goodH}.${goodP}.${goodS}AA`],
  ] as const) {
    test(`${name} → token_malformed`, async () => {
      await malformed(token, /base64url/);
    });
  }

  test('non-canonical trailing bits (same bytes, different text) are refused', async () => {
    // A 43-character signature (32 bytes) has 2 unused bits in its last character.
    assert.equal(goodS.length % 4, 3);
    const last = goodS.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) + 1]!;
    const variant = `${goodS.slice(0, -1)}${sibling}`;
    assert.deepEqual(Buffer.from(variant, 'base64url'), Buffer.from(goodS, 'base64url'), 'Node decodes both to the same bytes');
    await malformed(`${goodH}.${goodP}.${variant}`, /base64url/);
    // Two-character tails carry four unused bits: a 16-byte header ends in one.
    const header16 = b64('{"alg":"HS256" }');
    assert.equal(header16.length % 4, 2);
    const h16Variant = `${header16.slice(0, -1)}${alphabet[alphabet.indexOf(header16.at(-1)!) + 1]}`;
    assert.ok(parseCompactJws(`${header16}.${goodP}.${goodS}`));
    await malformed(`${h16Variant}.${goodP}.${goodS}`, /base64url/);
  });
});

describe('parseCompactJws: JSON', () => {
  test('non-UTF-8 header or payload', async () => {
    const bad = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]); // {"a":"\xff\xfe"}
    await malformed(`${b64(bad)}.${goodP}.${goodS}`, /header is not UTF-8/);
    await malformed(`${goodH}.${b64(bad)}.${goodS}`, /payload is not UTF-8/);
    // An overlong encoding of "/" is not UTF-8 either.
    await malformed(`${goodH}.${b64(Buffer.from([0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d]))}.${goodS}`, /UTF-8/);
  });

  for (const header of ['[]', '"HS256"', '1', 'null', 'true', '{', '{"alg":"HS256"', '{"alg":"HS256"}x', '\ufeff{"alg":"HS256"}']) {
    test(`header ${JSON.stringify(header)} → token_malformed`, async () => {
      await malformed(`${b64(header)}.${goodP}.${goodS}`, /header/);
    });
  }

  for (const payload of ['[]', '[{"sub":"a"}]', '"a string"', 'null', '42', 'true', '{"sub":', 'It’s prose']) {
    test(`payload ${JSON.stringify(payload)} → token_malformed`, async () => {
      await malformed(`${goodH}.${b64(payload)}.${goodS}`, /payload/);
    });
  }

  test('duplicate members are refused in the header and the payload, including escaped names', async () => {
    await malformed(compact('{"alg":"HS256","alg":"RS256"}', PAYLOAD), /header has duplicate members/);
    await malformed(compact('{"alg":"HS256","kid":"a","kid":"b"}', PAYLOAD), /duplicate/);
    await malformed(compact('{"alg":"HS256","\\u0061lg":"RS256"}', PAYLOAD), /duplicate/);
    await malformed(compact(HEADER, '{"exp":1,"exp":2000000000}'), /payload has duplicate members/);
    await malformed(compact(HEADER, '{"a":1,"\\u0061":2}'), /duplicate/);
    await malformed(compact(HEADER, '{"a\\/b":1,"a/b":2}'), /duplicate/);
    await malformed(compact(HEADER, '{"aud":"x","sub":"y","aud":["x"]}'), /duplicate/);
    await malformed(compact(HEADER, '{"outer":{"roles":["a"],"roles":["admin"]}}'), /duplicate/);
    await malformed(compact(HEADER, '{"list":[{"a":1,"a":2}]}'), /duplicate/);
  });

  test('the same name at different levels or as a value is not a duplicate', () => {
    const parsed = parseCompactJws(compact(HEADER, '{"a":{"a":"a"},"b":["a","a"],"c":[{"a":1},{"a":2}],"d":"a"}'));
    assert.deepEqual(parsed.payload, { a: { a: 'a' }, b: ['a', 'a'], c: [{ a: 1 }, { a: 2 }], d: 'a' });
  });

  test('nesting depth: header 4, payload 32', async () => {
    assert.ok(parseCompactJws(compact(`{"alg":"HS256","x":${nestedArrays(3)}}`, PAYLOAD)));
    await malformed(compact(`{"alg":"HS256","x":${nestedArrays(4)}}`, PAYLOAD), /header is nested too deeply/);
    assert.ok(parseCompactJws(compact(HEADER, `{"x":${nestedArrays(31)}}`)));
    await malformed(compact(HEADER, `{"x":${nestedArrays(32)}}`), /payload is nested too deeply/);
    await malformed(compact(HEADER, `{"x":${'{"y":'.repeat(40)}1${'}'.repeat(40)}}`), /nested too deeply/);
    // Deep enough to matter for a recursive parser: still a clean token_malformed.
    const deep = compact(HEADER, `{"x":${nestedArrays(5000)}}`);
    await malformed(deep, /nested too deeply/);
  });

  test('depth limits are configurable', async () => {
    const limits = { ...DEFAULT_PARSE_LIMITS, maxPayloadDepth: 2 };
    assert.ok(parseCompactJws(compact(HEADER, '{"x":[1]}'), limits));
    await expectAuthError(() => parseCompactJws(compact(HEADER, '{"x":[[1]]}'), limits), 'token_malformed', /nested/);
  });
});

describe('parseCompactJws: header members', () => {
  for (const [name, header] of [
    ['crit (unknown extension)', { alg: 'HS256', crit: ['exp'], exp: 1 }],
    ['crit (empty list)', { alg: 'HS256', crit: [] }],
    ['crit (not a list)', { alg: 'HS256', crit: 'b64' }],
    ['b64 false', { alg: 'HS256', b64: false }],
    ['b64 true', { alg: 'HS256', b64: true }],
    ['enc (JWE header)', { alg: 'dir', enc: 'A256GCM' }],
    ['enc with a JWS alg', { alg: 'HS256', enc: 'A256GCM' }],
    ['zip', { alg: 'HS256', zip: 'DEF' }],
  ] as const) {
    test(`${name} → token_malformed`, async () => {
      await malformed(compact(header, PAYLOAD), /not supported/);
    });
  }

  for (const [name, header] of [
    ['no alg', { typ: 'JWT' }],
    ['alg not a string', { alg: 256 }],
    ['alg null', { alg: null }],
    ['alg empty', { alg: '' }],
    ['kid empty', { alg: 'HS256', kid: '' }],
    ['kid a number', { alg: 'HS256', kid: 1 }],
    ['kid null', { alg: 'HS256', kid: null }],
    ['kid a list', { alg: 'HS256', kid: ['a'] }],
    ['kid an object', { alg: 'HS256', kid: { toString: 'x' } }],
    ['kid too long (257)', { alg: 'HS256', kid: 'k'.repeat(257) }],
    ['typ a number', { alg: 'HS256', typ: 1 }],
    ['typ null', { alg: 'HS256', typ: null }],
    ['typ a list', { alg: 'HS256', typ: ['JWT'] }],
    ['x5t not a string', { alg: 'HS256', x5t: 1 }],
    ['x5t#S256 not a string', { alg: 'HS256', 'x5t#S256': {} }],
  ] as const) {
    test(`${name} → token_malformed`, async () => {
      await malformed(compact(header, PAYLOAD));
    });
  }

  test('kid at the length limit and kid-injection strings are plain opaque strings', () => {
    assert.equal(parseCompactJws(compact({ alg: 'HS256', kid: 'k'.repeat(256) }, PAYLOAD)).header.kid, 'k'.repeat(256));
    for (const kid of ['../../dev/null', "' OR 1=1 --", '$(rm -rf /)', 'bilbo.baggins@hobbiton.example']) {
      assert.equal(parseCompactJws(compact({ alg: 'HS256', kid }, PAYLOAD)).header.kid, kid);
    }
  });

  test('header limits are configurable, even for a header already parsed (and cached) under the defaults', async () => {
    const token = compact({ alg: 'HS256', kid: 'abcd', x: [[1]] }, PAYLOAD);
    assert.equal(parseCompactJws(token).header.kid, 'abcd');
    await expectAuthError(() => parseCompactJws(token, { ...DEFAULT_PARSE_LIMITS, maxKidLength: 3 }), 'token_malformed', /kid/);
    await expectAuthError(() => parseCompactJws(token, { ...DEFAULT_PARSE_LIMITS, maxHeaderDepth: 2 }), 'token_malformed', /nested/);
    await expectAuthError(() => parseCompactJws(token, { ...DEFAULT_PARSE_LIMITS, maxHeaderBytes: 10 }), 'token_malformed', /too large/);
    assert.equal(parseCompactJws(token).header.kid, 'abcd');
  });

  test('a parsed header cannot be changed by its caller, so a shared (cached) header stays as signed', () => {
    const token = compact({ alg: 'HS256', kid: 'shared', extra: { list: ['a'] } }, PAYLOAD);
    const first = parseCompactJws(token).header as Record<string, unknown>;
    assert.throws(() => {
      first.alg = 'none';
    }, TypeError);
    assert.throws(() => {
      (first.extra as { list: string[] }).list.push('b');
    }, TypeError);
    assert.deepEqual(parseCompactJws(token).header, { alg: 'HS256', kid: 'shared', extra: { list: ['a'] } });
  });

  test('an invalid header is never cached as valid', async () => {
    const token = compact({ alg: 'HS256', crit: ['x'] }, PAYLOAD);
    await malformed(token);
    await malformed(token);
  });

  test('a __proto__ member cannot smuggle refused members through the prototype', () => {
    const parsed = parseCompactJws(compact('{"alg":"HS256","__proto__":{"crit":["b64"],"b64":false}}', PAYLOAD));
    assert.equal(Object.hasOwn(parsed.header, 'crit'), false);
    assert.equal(Object.getPrototypeOf(parsed.header), Object.prototype);
  });
});

describe('alg none and case variants through verifyJws', () => {
  const key = importJwk({ kty: 'oct', k: Buffer.alloc(64, 9).toString('base64url') }, ['HS256', 'HS384', 'HS512']);
  for (const alg of ['none', 'None', 'NONE', 'nOnE', 'hs256', 'Hs256', 'HS256 ', 'rs256', 'ES256K', 'RSA1_5', 'dir']) {
    test(`alg ${JSON.stringify(alg)} → alg_not_allowed with any allowlist`, async () => {
      const token = compact({ alg }, PAYLOAD, Buffer.alloc(32, 3));
      for (const algorithms of [['HS256'], [...SUPPORTED_ALGS], []] as const) {
        await expectAuthError(() => verifyJws(token, [key], { algorithms }), 'alg_not_allowed');
      }
    });
  }

  test('alg none with an empty signature is refused by the parser (token_malformed)', async () => {
    await expectAuthError(() => verifyJws(`${b64('{"alg":"none"}')}.${goodP}.`, [key], { algorithms: [...SUPPORTED_ALGS] }), 'token_malformed');
  });

  test('an embedded jwk header never supplies the key', async () => {
    const attacker = await createMintingKey('ES256');
    const configured = await createMintingKey('ES256');
    const token = await mintJwt(attacker, { sub: 'mallory' }, { jwk: attacker.publicJwk });
    await expectAuthError(() => verifyJws(token, { keys: [configured.publicJwk] }, { algorithms: ['ES256'] }), 'signature_invalid');
  });
});
