import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePropagation, formatClaim, formatGoValue, propagatedHeaders } from '../../src/authorizer/propagate.js';
import type { Claims } from '../../src/jwt/parse.js';

/** Claims exactly as a token delivers them. */
const claims = (json: string): Claims => JSON.parse(json) as Claims;

describe('formatClaim (krakend-compat.md §8.5)', () => {
  for (const [json, expected] of [
    ['"alice"', 'alice'],
    ['""', ''],
    ['1651529725', '1651529725'],
    ['4.0000001', '4'],
    ['3.9999999', '4'],
    ['-42.42', '-42.420000'],
    ['0.1', '0.100000'],
    ['1e-6', '0'],
    ['0.0000011', '0.000001'],
    ['-0.0000001', '0'],
    ['1e21', '1000000000000000000000'],
    ['["one","two"]', 'one,two'],
    ['[]', ''],
    ['["a",1,true,null]', 'a,1,true,<nil>'],
    ['[1651529725]', '1.651529725e+09'],
    ['[1.5]', '1.5'],
    ['[100000, 1000000, 0.0001, 0.00001, -0]', '100000,1e+06,0.0001,1e-05,-0'],
    ['[["a","b"],{"k":"v","a":1}]', '[a b],map[a:1 k:v]'],
    ['{"a":1,"b":"foo"}', '{"a":1,"b":"foo"}'],
    ['{"b":"foo","a":1}', '{"a":1,"b":"foo"}'],
    ['{"b":1,"10":2,"9":3}', '{"10":2,"9":3,"b":1}'],
    ['{"z":{"y":[{"b":1,"a":2}]}}', '{"z":{"y":[{"a":2,"b":1}]}}'],
    ['{"html":"<b>&</b>","sep":"\u2028"}', '{"html":"\\u003cb\\u003e\\u0026\\u003c/b\\u003e","sep":"\\u2028"}'],
    ['{"n":-0,"f":1.5,"e":1e-7,"big":1e21}', '{"big":1e+21,"e":1e-7,"f":1.5,"n":-0}'],
    ['{"__proto__":{"x":1}}', '{"__proto__":{"x":1}}'],
    ['{}', '{}'],
    ['true', 'true'],
    ['false', 'false'],
    ['null', 'null'],
  ] as const) {
    test(`${json} → ${JSON.stringify(expected)}`, () => {
      assert.equal(formatClaim(JSON.parse(json)), expected);
    });
  }

  test('a missing claim is the empty string', () => {
    assert.equal(formatClaim(undefined), '');
  });

  test('Go %v for array elements', () => {
    assert.equal(formatGoValue(1651529725), '1.651529725e+09');
    assert.equal(formatGoValue(1.5), '1.5');
    assert.equal(formatGoValue(123456), '123456');
    assert.equal(formatGoValue(1e-5), '1e-05');
    assert.equal(formatGoValue(1e100), '1e+100');
    assert.equal(formatGoValue(0), '0');
    assert.equal(formatGoValue({ b: [1, 'x'], a: null }), 'map[a:<nil> b:[1 x]]');
  });
});

describe('propagatedHeaders', () => {
  const token = claims(
    '{"sub":"alice","exp":1651529725,"roles":["one","two"],"realm":{"roles":["r1"]},"realm.roles":"flat","http://example.com/x.y":"url","scope":[1651529725,1.5],"flag":true,"meta":{"b":2,"a":1}}',
  );

  test('each configured pair yields one header, missing claims yield empty values', () => {
    const propagation = compilePropagation(
      [
        ['sub', 'X-User'],
        ['exp', 'X-Exp'],
        ['roles', 'X-Roles'],
        ['missing', 'X-Missing'],
        ['flag', 'X-Flag'],
        ['meta', 'X-Meta'],
        ['scope', 'X-Scope'],
      ],
      false,
      undefined,
    );
    assert.deepEqual(propagatedHeaders(propagation, token, 'PAYLOAD'), [
      { name: 'X-User', value: 'alice' },
      { name: 'X-Exp', value: '1651529725' },
      { name: 'X-Roles', value: 'one,two' },
      { name: 'X-Missing', value: '' },
      { name: 'X-Flag', value: 'true' },
      { name: 'X-Meta', value: '{"a":1,"b":2}' },
      { name: 'X-Scope', value: '1.651529725e+09,1.5' },
    ]);
    assert.deepEqual(propagation.headerNames, ['x-user', 'x-exp', 'x-roles', 'x-missing', 'x-flag', 'x-meta', 'x-scope']);
  });

  test('preserve arrays: one value per element (Go %v), scalars unchanged, empty arrays stay empty lists', () => {
    const propagation = compilePropagation([['roles', 'X-Roles'], ['scope', 'X-Scope'], ['sub', 'X-User'], ['none', 'X-None']], true, undefined);
    assert.deepEqual(propagatedHeaders(propagation, { ...token, none: [] }, ''), [
      { name: 'X-Roles', value: ['one', 'two'] },
      { name: 'X-Scope', value: ['1.651529725e+09', '1.5'] },
      { name: 'X-User', value: 'alice' },
      { name: 'X-None', value: [] },
    ]);
  });

  test('dotted claims are paths, except URL-style claims which stay flat', () => {
    const propagation = compilePropagation([['realm.roles', 'X-Realm'], ['http://example.com/x.y', 'X-Url'], ['realm.missing.deep', 'X-Deep']], false, undefined);
    assert.deepEqual(propagatedHeaders(propagation, token, ''), [
      { name: 'X-Realm', value: 'r1' },
      { name: 'X-Url', value: 'url' },
      { name: 'X-Deep', value: '' },
    ]);
  });

  test('prototype names read nothing', () => {
    const propagation = compilePropagation([['constructor', 'X-A'], ['__proto__', 'X-B'], ['toString', 'X-C'], ['realm.constructor', 'X-D']], false, undefined);
    assert.deepEqual(
      propagatedHeaders(propagation, token, '').map((h) => h.value),
      ['', '', '', ''],
    );
  });

  test('the payload header carries the payload segment, and header names are de-duplicated case-insensitively', () => {
    const propagation = compilePropagation([['sub', 'X-User'], ['sub', 'x-user']], false, 'X-JWT-Payload');
    assert.deepEqual(propagatedHeaders(propagation, token, 'eyJzdWIiOiJhbGljZSJ9').at(-1), { name: 'X-JWT-Payload', value: 'eyJzdWIiOiJhbGljZSJ9' });
    assert.deepEqual(propagation.headerNames, ['x-user', 'x-jwt-payload']);
    assert.ok(Object.isFrozen(propagation));
  });
});
