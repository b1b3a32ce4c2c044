import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cookieValue, extractToken, type ExtractionSpec, type QuerySource } from '../../src/authorizer/extract.js';
import { AuthError, type FailureCode } from '../../src/jwt/errors.js';
import type { HeaderBag } from '../../src/lib/headers.js';

const SPEC: ExtractionSpec = { headerName: 'authorization', cookieName: 'access_token', queryKey: 'token', maxTokenLength: 64 };
const TOKEN = 'aaa.bbb.ccc';

const extract = (headers: HeaderBag, source: QuerySource = {}, spec: ExtractionSpec = SPEC) => extractToken(headers, source, spec);
const fails = (headers: HeaderBag, code: FailureCode, source: QuerySource = {}, spec: ExtractionSpec = SPEC): void => {
  assert.throws(
    () => extract(headers, source, spec),
    (error: unknown) => error instanceof AuthError && error.code === code,
  );
};

describe('extractToken: header', () => {
  test('"Bearer " in any case is stripped', () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      assert.deepEqual(extract({ authorization: `${scheme} ${TOKEN}` }), { token: TOKEN, location: 'header' });
    }
  });

  test('a bare token is used as is (KrakenD)', () => {
    assert.deepEqual(extract({ authorization: TOKEN }), { token: TOKEN, location: 'header' });
  });

  test('"Bearer" of 6 or 7 characters is not stripped: the value itself becomes the (bad) token', () => {
    assert.deepEqual(extract({ authorization: 'Bearer' }), { token: 'Bearer', location: 'header' });
    assert.deepEqual(extract({ authorization: 'Bearer ' }), { token: 'Bearer ', location: 'header' });
    assert.deepEqual(extract({ authorization: 'Bearer x' }), { token: 'x', location: 'header' });
    // No fallback to the cookie either: the header was present.
    assert.equal(extract({ authorization: 'Bearer', cookie: `access_token=${TOKEN}` }).location, 'header');
  });

  test('other schemes and odd spacing are kept whole, to fail later as malformed', () => {
    assert.equal(extract({ authorization: `Basic ${TOKEN}` }).token, `Basic ${TOKEN}`);
    assert.equal(extract({ authorization: `Bearer  ${TOKEN}` }).token, ` ${TOKEN}`);
    assert.equal(extract({ authorization: `Bearer\t${TOKEN}` }).token, `Bearer\t${TOKEN}`);
  });

  test('a custom header name', () => {
    const spec = { ...SPEC, headerName: 'x-auth-token' };
    assert.deepEqual(extract({ 'x-auth-token': `Bearer ${TOKEN}`, authorization: 'Bearer other' }, {}, spec), { token: TOKEN, location: 'header' });
    fails({ authorization: `Bearer ${TOKEN}` }, 'token_missing', {}, { ...spec, cookieName: undefined, queryKey: undefined });
  });

  test('a repeated token header is malformed and does not fall through to the cookie', () => {
    fails({ authorization: [`Bearer ${TOKEN}`, 'Bearer other'], cookie: `access_token=${TOKEN}` }, 'token_malformed');
    fails({ authorization: [`Bearer ${TOKEN}`] }, 'token_malformed');
    // An empty list is no header at all.
    assert.equal(extract({ authorization: [], cookie: `access_token=${TOKEN}` }).location, 'cookie');
  });

  test('an empty header falls through to the cookie', () => {
    assert.deepEqual(extract({ authorization: '', cookie: `access_token=${TOKEN}` }), { token: TOKEN, location: 'cookie' });
  });
});

describe('extractToken: cookie and query', () => {
  test('the named cookie among several, quoted or not', () => {
    assert.deepEqual(extract({ cookie: `a=1; access_token=${TOKEN}; b=2` }), { token: TOKEN, location: 'cookie' });
    assert.equal(extract({ cookie: `access_token="${TOKEN}"` }).token, TOKEN);
    assert.equal(extract({ cookie: `  access_token = ${TOKEN} ;x=y` }).token, TOKEN);
    assert.equal(extract({ cookie: `access_token=${TOKEN}; access_token=second` }).token, TOKEN, 'the first one wins');
  });

  test('cookies with similar names do not match', () => {
    fails({ cookie: `xaccess_token=${TOKEN}; access_token_2=${TOKEN}; access_tokens=${TOKEN}` }, 'token_missing', {}, { ...SPEC, queryKey: undefined });
    assert.equal(extract({ cookie: `xaccess_token=nope; access_token=${TOKEN}` }).token, TOKEN);
  });

  test('a token from the query string (string, URLSearchParams or decoded pairs)', () => {
    assert.deepEqual(extract({}, { query: `a=1&token=${TOKEN}` }), { token: TOKEN, location: 'query' });
    assert.deepEqual(extract({}, { query: new URLSearchParams({ token: TOKEN }) }), { token: TOKEN, location: 'query' });
    assert.deepEqual(extract({}, { query: { token: TOKEN } }), { token: TOKEN, location: 'query' });
    assert.deepEqual(extract({}, { query: { token: [TOKEN, 'second'] } }), { token: TOKEN, location: 'query' });
    fails({}, 'token_missing', { query: { token: '' } });
    fails({}, 'token_missing', { query: `token=${TOKEN}` }, { ...SPEC, queryKey: undefined });
  });

  test('nothing anywhere is token_missing', () => {
    fails({}, 'token_missing');
    fails({ cookie: 'other=1' }, 'token_missing', { query: 'other=1' });
  });
});

describe('extractToken: precedence', () => {
  test('header > cookie > query', () => {
    const all = { authorization: 'Bearer from-header', cookie: 'access_token=from-cookie' };
    assert.equal(extract(all, { query: 'token=from-query' }).token, 'from-header');
    assert.equal(extract({ cookie: 'access_token=from-cookie' }, { query: 'token=from-query' }).token, 'from-cookie');
    assert.equal(extract({}, { query: 'token=from-query' }).token, 'from-query');
  });

  test('a malformed header token is returned, never rescued by a valid cookie', () => {
    const result = extract({ authorization: 'Bearer not-a-jwt', cookie: `access_token=${TOKEN}` });
    assert.deepEqual(result, { token: 'not-a-jwt', location: 'header' });
  });

  test('an oversized header token fails; it does not fall through to the cookie', () => {
    fails({ authorization: `Bearer ${'a'.repeat(65)}`, cookie: `access_token=${TOKEN}` }, 'token_too_large');
  });
});

describe('extractToken: size cap', () => {
  test('token length is capped per location, with room for the "Bearer " prefix only', () => {
    assert.equal(extract({ authorization: `Bearer ${'a'.repeat(64)}` }).token.length, 64);
    fails({ authorization: `Bearer ${'a'.repeat(65)}` }, 'token_too_large');
    assert.equal(extract({ authorization: 'a'.repeat(64) }).token.length, 64);
    fails({ authorization: 'a'.repeat(65) }, 'token_too_large');
    fails({ authorization: 'a'.repeat(1_000_000) }, 'token_too_large');
    fails({ cookie: `access_token=${'a'.repeat(65)}` }, 'token_too_large');
    fails({}, 'token_too_large', { query: `token=${'a'.repeat(65)}` });
  });
});

describe('cookieValue', () => {
  test('edge cases', () => {
    assert.equal(cookieValue(undefined, 'a'), undefined);
    assert.equal(cookieValue('', 'a'), undefined);
    assert.equal(cookieValue('a', 'a'), undefined);
    assert.equal(cookieValue('a=', 'a'), '');
    assert.equal(cookieValue('b; a=1', 'a'), '1');
    assert.equal(cookieValue('a="', 'a'), '"');
    assert.equal(cookieValue('a=""', 'a'), '');
    assert.equal(cookieValue('a=x=y', 'a'), 'x=y');
    assert.equal(cookieValue('=1; a=2', 'a'), '2');
    assert.equal(cookieValue(';;;a=3;;', 'a'), '3');
  });
});

/**
 * A string stand-in that counts the characters the parser looks at: each
 * charCodeAt is one, an indexOf costs the distance it scanned, a slice its
 * length. The count is the parser's work, independent of how busy the machine is.
 */
function countingString(text: string): { value: string; work: () => number } {
  let work = 0;
  const counted = {
    length: text.length,
    charCodeAt(index: number) {
      work++;
      return text.charCodeAt(index);
    },
    indexOf(search: string, from = 0) {
      const found = text.indexOf(search, from);
      work += (found === -1 ? text.length : found + 1) - from;
      return found;
    },
    slice(start?: number, end?: number) {
      const part = text.slice(start, end);
      work += part.length;
      return part;
    },
  };
  return { value: counted as unknown as string, work: () => work };
}

describe('cookieValue work is linear in the header size', () => {
  const runs = Math.max(1, Number(process.env.FUZZ_RUNS ?? 150) || 150);

  test('crafted headers of ordinary size (many pairs without "=") cost a bounded number of character visits', () => {
    // Quadratic before: every pair searched for "=" up to the end of the header.
    const header = 'a;'.repeat(4000);
    const counted = countingString(header);
    assert.equal(cookieValue(counted.value, 'session'), undefined);
    assert.ok(counted.work() <= 4 * header.length, `${counted.work()} character visits for ${header.length} characters`);
  });

  test('any header: at most a small constant times its length', () => {
    const piece = fc.constantFrom('a', ';', '=', ' ', '"', 'session', 'x=1', ';;', '==');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 3000 }), fc.constantFrom('session', 'a', 'x'), (pieces, name) => {
        const header = pieces.join('');
        const counted = countingString(header);
        const value = cookieValue(counted.value, name);
        assert.equal(value, cookieValue(header, name));
        assert.ok(counted.work() <= 4 * header.length + 8, `${counted.work()} visits for ${header.length} characters`);
      }),
      { numRuns: runs },
    );
  });
});

