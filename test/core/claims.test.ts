import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertRegisteredClaimTypes, checkIdentity, checkTimes, type IdentityRules, type TimeRules } from '../../src/jwt/claims.js';
import { AuthError, type FailureCode } from '../../src/jwt/errors.js';
import type { Claims } from '../../src/jwt/parse.js';

const NOW = 1_700_000_000;

function expectCode(action: () => void, code: FailureCode, detail?: RegExp): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof AuthError, String(error));
    assert.equal(error.code, code, error.detail);
    if (detail) assert.match(error.detail, detail);
    return true;
  });
}

/** Claims as JSON.parse would produce them from a token. */
const claims = (json: string): Claims => JSON.parse(json) as Claims;

describe('assertRegisteredClaimTypes', () => {
  for (const name of ['exp', 'nbf', 'iat']) {
    for (const value of ['"9999999999"', '"1700000000"', 'true', 'false', 'null', '{}', '[]', '[1700000000]', '-1', '-0.5', '1e99', '9007199254740992', '1.7976931348623157e308']) {
      test(`${name}: ${value} → token_malformed`, () => {
        expectCode(() => assertRegisteredClaimTypes(claims(`{"${name}":${value}}`)), 'token_malformed', new RegExp(name));
      });
    }
    test(`${name}: 0, integers, fractions and 2^53 − 1 are NumericDates`, () => {
      for (const value of ['0', '-0', '1700000000', '1700000000.5', '9007199254740991']) {
        assert.doesNotThrow(() => assertRegisteredClaimTypes(claims(`{"${name}":${value}}`)), value);
      }
    });
  }

  test('NaN and Infinity cannot come from JSON; constructed in code they are still refused', () => {
    assert.throws(() => JSON.parse('{"exp":NaN}'));
    assert.throws(() => JSON.parse('{"exp":Infinity}'));
    expectCode(() => assertRegisteredClaimTypes({ exp: Number.NaN }), 'token_malformed');
    expectCode(() => assertRegisteredClaimTypes({ nbf: Number.POSITIVE_INFINITY }), 'token_malformed');
  });

  test('iss, sub and jti must be strings', () => {
    for (const name of ['iss', 'sub', 'jti']) {
      for (const value of ['1', 'null', 'true', '["a"]', '{"a":1}']) {
        expectCode(() => assertRegisteredClaimTypes(claims(`{"${name}":${value}}`)), 'token_malformed', new RegExp(name));
      }
      assert.doesNotThrow(() => assertRegisteredClaimTypes(claims(`{"${name}":""}`)));
    }
  });

  test('aud is a string or an array of strings; a mixed array is refused', () => {
    for (const value of ['["a",1]', '["a",null]', '[["a"]]', '[{"a":1}]', '1', 'null', 'true', '{"0":"a"}']) {
      expectCode(() => assertRegisteredClaimTypes(claims(`{"aud":${value}}`)), 'token_malformed', /aud/);
    }
    for (const value of ['"a"', '[]', '["a"]', '["a","b"]']) assert.doesNotThrow(() => assertRegisteredClaimTypes(claims(`{"aud":${value}}`)));
  });

  test('absent claims and other claims are not checked', () => {
    assert.doesNotThrow(() => assertRegisteredClaimTypes({}));
    assert.doesNotThrow(() => assertRegisteredClaimTypes(claims('{"roles":1,"scope":null,"custom":{"exp":"x"}}')));
  });

  test('inherited names are not claims', () => {
    assert.doesNotThrow(() => assertRegisteredClaimTypes(Object.create({ exp: 'x', aud: 1 }) as Claims));
  });
});

describe('checkTimes', () => {
  const rules = (overrides: Partial<TimeRules> = {}): TimeRules => ({ leewaySeconds: 1, requireExp: true, maxLifetimeSeconds: undefined, ...overrides });

  test('exp: valid strictly before exp + leeway, expired from exp + leeway on', () => {
    assert.doesNotThrow(() => checkTimes({ exp: NOW }, NOW - 1, rules()));
    assert.doesNotThrow(() => checkTimes({ exp: NOW }, NOW, rules()), 'inside the 1 s leeway');
    assert.doesNotThrow(() => checkTimes({ exp: NOW }, NOW + 0.999, rules()));
    expectCode(() => checkTimes({ exp: NOW }, NOW + 1, rules()), 'token_expired');
    expectCode(() => checkTimes({ exp: NOW }, NOW, rules({ leewaySeconds: 0 })), 'token_expired');
    assert.doesNotThrow(() => checkTimes({ exp: NOW }, NOW + 59, rules({ leewaySeconds: 60 })));
    expectCode(() => checkTimes({ exp: NOW }, NOW + 60, rules({ leewaySeconds: 60 })), 'token_expired');
    expectCode(() => checkTimes({ exp: 0 }, NOW, rules()), 'token_expired');
  });

  test('nbf: not yet valid before nbf − leeway, valid from nbf − leeway on', () => {
    expectCode(() => checkTimes({ exp: NOW + 100, nbf: NOW + 2 }, NOW, rules()), 'token_not_yet_valid', /nbf/);
    assert.doesNotThrow(() => checkTimes({ exp: NOW + 100, nbf: NOW + 1 }, NOW, rules()));
    assert.doesNotThrow(() => checkTimes({ exp: NOW + 100, nbf: NOW }, NOW, rules({ leewaySeconds: 0 })));
    expectCode(() => checkTimes({ exp: NOW + 100, nbf: NOW + 1 }, NOW, rules({ leewaySeconds: 0 })), 'token_not_yet_valid');
  });

  test('iat in the future beyond the leeway is not yet valid', () => {
    expectCode(() => checkTimes({ exp: NOW + 100, iat: NOW + 2 }, NOW, rules()), 'token_not_yet_valid', /iat/);
    assert.doesNotThrow(() => checkTimes({ exp: NOW + 100, iat: NOW + 1 }, NOW, rules()));
    assert.doesNotThrow(() => checkTimes({ exp: NOW + 100, iat: 0 }, NOW, rules()));
  });

  test('exp is required unless switched off', () => {
    expectCode(() => checkTimes({}, NOW, rules()), 'expiry_missing');
    expectCode(() => checkTimes({ iat: NOW, nbf: NOW }, NOW, rules()), 'expiry_missing');
    assert.doesNotThrow(() => checkTimes({}, NOW, rules({ requireExp: false })));
    assert.doesNotThrow(() => checkTimes({ nbf: NOW - 10 }, NOW, rules({ requireExp: false })));
    expectCode(() => checkTimes({ nbf: NOW + 10 }, NOW, rules({ requireExp: false })), 'token_not_yet_valid');
  });

  test('a maximum lifetime needs exp even when exp is otherwise optional', () => {
    expectCode(() => checkTimes({ iat: NOW }, NOW, rules({ requireExp: false, maxLifetimeSeconds: 3600 })), 'expiry_missing');
  });

  test('maximum lifetime with iat: exp − iat', () => {
    const max = rules({ maxLifetimeSeconds: 3600 });
    assert.doesNotThrow(() => checkTimes({ iat: NOW - 100, exp: NOW - 100 + 3600 }, NOW, max));
    expectCode(() => checkTimes({ iat: NOW - 100, exp: NOW - 100 + 3601 }, NOW, max), 'lifetime_exceeded');
    // A long-lived token cannot hide behind an old iat: its remaining life is short but its lifetime is not.
    expectCode(() => checkTimes({ iat: NOW - 86_400, exp: NOW + 60 }, NOW, max), 'lifetime_exceeded');
  });

  test('maximum lifetime without iat: exp − now', () => {
    const max = rules({ maxLifetimeSeconds: 3600 });
    assert.doesNotThrow(() => checkTimes({ exp: NOW + 3600 }, NOW, max));
    expectCode(() => checkTimes({ exp: NOW + 3601 }, NOW, max), 'lifetime_exceeded');
    assert.doesNotThrow(() => checkTimes({ exp: NOW + 3601 }, NOW + 1, max));
  });

  test('expiry is checked before lifetime, nbf and iat', () => {
    expectCode(() => checkTimes({ exp: NOW - 10, nbf: NOW + 10, iat: NOW + 10 }, NOW, rules({ maxLifetimeSeconds: 1 })), 'token_expired');
  });
});

describe('checkIdentity', () => {
  const rules = (overrides: Partial<IdentityRules> = {}): IdentityRules => ({
    issuers: undefined,
    audiences: undefined,
    audienceMatcher: 'all',
    subjects: undefined,
    ...overrides,
  });

  test('issuer: exact, byte for byte', () => {
    const issuers = new Set(['https://issuer.example']);
    assert.doesNotThrow(() => checkIdentity({ iss: 'https://issuer.example' }, rules({ issuers })));
    for (const iss of ['https://issuer.example/', 'https://ISSUER.example', 'http://issuer.example', ' https://issuer.example', undefined]) {
      expectCode(() => checkIdentity({ iss }, rules({ issuers })), 'issuer_mismatch');
    }
  });

  test('audience: all (KrakenD) and any; string or array; no URL normalisation', () => {
    const audiences = ['a', 'b'];
    assert.doesNotThrow(() => checkIdentity({ aud: ['b', 'a', 'c'] }, rules({ audiences })));
    expectCode(() => checkIdentity({ aud: ['a'] }, rules({ audiences })), 'audience_mismatch');
    expectCode(() => checkIdentity({ aud: 'a' }, rules({ audiences })), 'audience_mismatch');
    assert.doesNotThrow(() => checkIdentity({ aud: 'a' }, rules({ audiences, audienceMatcher: 'any' })));
    assert.doesNotThrow(() => checkIdentity({ aud: ['x', 'b'] }, rules({ audiences, audienceMatcher: 'any' })));
    expectCode(() => checkIdentity({ aud: ['x'] }, rules({ audiences, audienceMatcher: 'any' })), 'audience_mismatch');
    expectCode(() => checkIdentity({}, rules({ audiences, audienceMatcher: 'any' })), 'audience_mismatch');
    expectCode(() => checkIdentity({ aud: [] }, rules({ audiences: ['https://x'], audienceMatcher: 'any' })), 'audience_mismatch');
    expectCode(() => checkIdentity({ aud: 'https://x' }, rules({ audiences: ['http://x/'] })), 'audience_mismatch');
  });

  test('subject: one of the accepted values', () => {
    const subjects = new Set(['alice']);
    assert.doesNotThrow(() => checkIdentity({ sub: 'alice' }, rules({ subjects })));
    expectCode(() => checkIdentity({ sub: 'Alice' }, rules({ subjects })), 'subject_mismatch');
    expectCode(() => checkIdentity({}, rules({ subjects })), 'subject_mismatch');
  });

  test('no rules, no checks', () => {
    assert.doesNotThrow(() => checkIdentity({}, rules()));
  });
});
