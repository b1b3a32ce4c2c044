import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { isUtf8 } from 'node:buffer';
import {
  decodeBase64url,
  decodeBase64urlText,
  decodeStrictBase64url,
  decodeStrictBase64urlInto,
  encodeBase64url,
  isStrictBase64url,
  NOT_BASE64URL,
  NOT_UTF8,
} from '../../src/jwt/base64url.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('base64url', () => {
  test('every length round-trips and the encoding is strict', () => {
    for (let length = 0; length <= 70; length++) {
      const bytes = randomBytes(length);
      const text = encodeBase64url(bytes);
      assert.equal(isStrictBase64url(text), true, text);
      assert.deepEqual(decodeBase64url(text), bytes);
      assert.equal(text.includes('='), false);
    }
    assert.equal(encodeBase64url('{"alg":"HS256"}'), 'eyJhbGciOiJIUzI1NiJ9');
  });

  test('bytes that need - and _ use them, never + and /', () => {
    const bytes = Buffer.from([0xfb, 0xff, 0xbf]);
    assert.equal(encodeBase64url(bytes), '-_-_');
    assert.equal(isStrictBase64url('-_-_'), true);
    assert.equal(isStrictBase64url('+/+/'), false);
  });

  test('padding, foreign characters and impossible lengths are refused', () => {
    for (const text of ['QQ==', 'QQ=', 'QUI=', 'Q', 'QUJDR', 'QU JD', 'QUJD\n', ' QUJD', 'QUJ\u00e9', 'QU.D', 'QU%3D', 'QUJD\u0000', '\u{1F600}AA']) {
      assert.equal(isStrictBase64url(text), false, JSON.stringify(text));
    }
  });

  test('every non-zero value of the unused trailing bits is refused', () => {
    // "QQ" = 0x41 (4 unused bits), "QUI" = 0x41 0x42 (2 unused bits).
    for (const [canonical, unusedBits] of [['QQ', 4], ['QUI', 2]] as const) {
      const last = canonical.at(-1)!;
      const base = ALPHABET.indexOf(last);
      assert.equal(isStrictBase64url(canonical), true);
      for (let extra = 1; extra < 1 << unusedBits; extra++) {
        const variant = `${canonical.slice(0, -1)}${ALPHABET[base + extra]}`;
        assert.deepEqual(decodeBase64url(variant), decodeBase64url(canonical), 'same bytes for a lenient decoder');
        assert.equal(isStrictBase64url(variant), false, variant);
      }
    }
  });

  test('ranges are checked in place', () => {
    const text = 'xx.QUJD.QQ';
    assert.equal(isStrictBase64url(text, 3, 7), true);
    assert.equal(isStrictBase64url(text, 8, 10), true);
    assert.equal(isStrictBase64url(text, 0, 7), false);
    assert.equal(isStrictBase64url(text, 2, 7), false);
  });
});

describe('decodeStrictBase64url', () => {
  const runs = Number(process.env.FUZZ_RUNS ?? 200);

  test('decodes exactly what node decodes, for every length and at every offset', () => {
    for (let length = 0; length <= 70; length++) {
      const bytes = randomBytes(length);
      const text = encodeBase64url(bytes);
      assert.deepEqual(decodeStrictBase64url(text), bytes);
      const framed = `ab.${text}.cd`;
      assert.deepEqual(decodeStrictBase64url(framed, 3, 3 + text.length), bytes);
      const target = Buffer.alloc(length + 4, 0xee);
      assert.equal(decodeStrictBase64urlInto(framed, 3, 3 + text.length, target), length);
      assert.deepEqual(target.subarray(0, length), bytes);
    }
  });

  test('refuses everything isStrictBase64url refuses', () => {
    for (const text of ['QQ==', 'QQ=', 'QUI=', 'Q', 'QUJDR', 'QU JD', 'QUJD\n', ' QUJD', 'QUJ\u00e9', 'QU.D', 'QU%3D', 'QUJD\u0000', '\u{1F600}AA', '+/+/', 'QR', 'QUJ']) {
      assert.equal(decodeStrictBase64url(text), undefined, JSON.stringify(text));
      assert.equal(decodeStrictBase64urlInto(text, 0, text.length, Buffer.alloc(16)), -1, JSON.stringify(text));
    }
  });

  test('characters above U+00FF never alias the alphabet by their low or high byte', () => {
    // U+0141 has low byte 0x41 ("A"); U+4100 has high byte 0x41 (what a byte-swapped read would see).
    for (const alias of ['\u0141', '\u4100', '\u012d', '\u2d00', '\uff41', '\ud841']) {
      const text = `QUJD${alias}UJD`;
      assert.equal(decodeStrictBase64url(text), undefined, JSON.stringify(text));
      assert.equal(isStrictBase64url(text), false);
    }
  });

  test('a target too small is refused, not overrun', () => {
    const target = Buffer.alloc(5, 0xee);
    assert.equal(decodeStrictBase64urlInto('QUJDREVG', 0, 8, target), -1);
    assert.deepEqual(target, Buffer.alloc(5, 0xee));
  });

  test('text longer than the reusable unit buffer still decodes', () => {
    const bytes = randomBytes(30_000);
    assert.deepEqual(decodeStrictBase64url(encodeBase64url(bytes)), bytes);
  });

  test('on any string, accepts exactly what isStrictBase64url accepts and decodes as node does', () => {
    const alphabet = fc.constantFrom(...ALPHABET.split(''), '=', '+', '/', '.', ' ', '\u00e9', '\u0141', '\u4100', '\ud83d');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 40 }), fc.array(fc.constantFrom(...ALPHABET.split('')), { maxLength: 40 }), (noisy, clean) => {
        for (const text of [noisy.join(''), clean.join('')]) {
          const decoded = decodeStrictBase64url(text);
          assert.equal(decoded !== undefined, isStrictBase64url(text), JSON.stringify(text));
          if (decoded) assert.deepEqual(decoded, decodeBase64url(text));
        }
      }),
      { numRuns: runs },
    );
  });
});

describe('decodeBase64urlText', () => {
  const runs = Number(process.env.FUZZ_RUNS ?? 200);

  test('ASCII, multi-byte UTF-8 and U+FFFD itself come back as written', () => {
    for (const text of ['{"sub":"alice"}', '{"name":"Zoë","city":"Kraków","emoji":"😀"}', 'replacement \uFFFD is a character', '']) {
      assert.equal(decodeBase64urlText(encodeBase64url(text)), text);
      assert.equal(decodeBase64urlText(`x.${encodeBase64url(text)}.y`, 2, 2 + encodeBase64url(text).length), text);
    }
  });

  test('bytes that are not UTF-8 are NOT_UTF8, non-canonical text is NOT_BASE64URL', () => {
    for (const bytes of [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x7b, 0xe2, 0x82], [0x80]]) {
      assert.equal(decodeBase64urlText(encodeBase64url(Buffer.from(bytes))), NOT_UTF8, JSON.stringify(bytes));
    }
    for (const text of ['QQ==', 'QR', 'Q', 'QU\u0141D']) assert.equal(decodeBase64urlText(text), NOT_BASE64URL, JSON.stringify(text));
  });

  test('text longer than the reusable buffer decodes too', () => {
    const text = `{"pad":"${'é'.repeat(20_000)}"}`;
    assert.equal(decodeBase64urlText(encodeBase64url(text)), text);
  });

  test('any bytes: the UTF-8 text exactly when isUtf8 holds, else NOT_UTF8', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (array) => {
        const bytes = Buffer.from(array);
        const decoded = decodeBase64urlText(encodeBase64url(bytes));
        assert.equal(decoded, isUtf8(bytes) ? bytes.toString('utf8') : NOT_UTF8);
      }),
      { numRuns: runs * 5 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 32 }), (text) => {
        const bytes = Buffer.from(text, 'utf8');
        assert.equal(decodeBase64urlText(encodeBase64url(bytes)), bytes.toString('utf8'));
      }),
      { numRuns: runs * 5 },
    );
  });
});
