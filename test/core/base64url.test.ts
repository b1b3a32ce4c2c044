import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { decodeBase64url, encodeBase64url, isStrictBase64url } from '../../src/jwt/base64url.js';

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
