import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { findJsonHazard, parseJsonStrict } from '../../src/jwt/json-guard.js';

const strict = (text: string, depth = 32) => parseJsonStrict(text, depth);

describe('parseJsonStrict: duplicates', () => {
  for (const text of [
    '{"a":1,"a":2}',
    '{ "a" : 1 , "a" : 2 }',
    '{"a":{"x":1},"a":{"x":1}}',
    '{"a":1,"\\u0061":2}',
    '{"\\u00e9":1,"é":2}',
    '{"\\ud83d\\ude00":1,"😀":2}',
    '{"a\\/b":1,"a/b":2}',
    '{"x\\"":1,"x\\"":2}',
    '{"a\\\\":1,"a\\\\":2}',
    '{"__proto__":1,"__proto__":2}',
    '{"constructor":1,"constructor":2}',
    '{"o":{"k":1,"k":2}}',
    '[{"k":1},{"k":1,"k":2}]',
    '{"a":[1,2,{"b":[{"c":1,"c":1}]}]}',
  ]) {
    test(`${text} → duplicate_member`, () => {
      assert.deepEqual(strict(text), { ok: false, hazard: 'duplicate_member' });
      assert.equal(findJsonHazard(text, 32), 'duplicate_member');
    });
  }
});

describe('parseJsonStrict: strings that look like structure', () => {
  for (const [text, value] of [
    ['{"a":"{\\"a\\":1,\\"a\\":2}"}', { a: '{"a":1,"a":2}' }],
    ['{"a":"}","b":"{","c":"[","d":"]"}', { a: '}', b: '{', c: '[', d: ']' }],
    ['{"a":",\\"a\\":"}', { a: ',"a":' }],
    ['{"a\\\\":1,"a":2}', { 'a\\': 1, a: 2 }],
    ['{"a\\\\\\"":1,"a\\"":2}', { 'a\\"': 1, 'a"': 2 }],
    ['{"a":"b","b":"a"}', { a: 'b', b: 'a' }],
    ['{"a":{"a":{"a":"a"}}}', { a: { a: { a: 'a' } } }],
    ['{"list":["a","a",{"a":1},{"a":2}]}', { list: ['a', 'a', { a: 1 }, { a: 2 }] }],
    ['{"\\u0061":1,"b":"\\u0061"}', { a: 1, b: 'a' }],
    ['{"__proto__":{"polluted":true}}', JSON.parse('{"__proto__":{"polluted":true}}') as unknown],
    ['{}', {}],
    ['[]', []],
    ['"just a string with { and ["', 'just a string with { and ['],
  ] as const) {
    test(`${text} parses to its JSON.parse value`, () => {
      assert.deepEqual(strict(text), { ok: true, value });
      assert.equal(findJsonHazard(text, 32), undefined);
    });
  }

  test('brackets inside strings do not count towards depth', () => {
    assert.equal(strict(`{"a":"${'['.repeat(100)}","b":"${'{'.repeat(100)}"}`, 1).ok, true);
  });

  test('__proto__ stays an own member and does not reach Object.prototype', () => {
    const result = strict('{"__proto__":{"polluted":true}}');
    assert.equal(result.ok, true);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    if (result.ok) assert.equal(Object.hasOwn(result.value as object, '__proto__'), true);
  });
});

describe('parseJsonStrict: depth and syntax', () => {
  test('objects and arrays both count; exactly the limit passes', () => {
    assert.equal(strict('{"a":[{"b":[1]}]}', 4).ok, true);
    assert.deepEqual(strict('{"a":[{"b":[[1]]}]}', 4), { ok: false, hazard: 'too_deep' });
    assert.equal(strict('1', 0).ok, true);
    assert.deepEqual(strict('{}', 0), { ok: false, hazard: 'too_deep' });
  });

  test('very deep input is refused by the scan, before any recursive parse', () => {
    assert.deepEqual(strict('['.repeat(1_000_000)), { ok: false, hazard: 'too_deep' });
    assert.deepEqual(strict(`${'{"a":'.repeat(200_000)}1${'}'.repeat(200_000)}`), { ok: false, hazard: 'too_deep' });
  });

  test('unterminated strings and non-JSON', () => {
    assert.deepEqual(strict('{"a'), { ok: false, hazard: 'bad_string' });
    assert.deepEqual(strict('{"a":"\\"}'), { ok: false, hazard: 'bad_string' });
    assert.equal(findJsonHazard('{"a"', 4), undefined, 'syntax errors other than strings are left to the parser');
    for (const text of ['{', '{"a":1,}', "{'a':1}", '{"a":01}', '{"a":NaN}', '{"a":1}{"a":1}', '', '\ufeff{}', '{"a":undefined}']) {
      const result = strict(text);
      assert.equal(result.ok, false, text);
    }
  });

  test('a large flat object without duplicates passes', () => {
    const object = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i]));
    assert.deepEqual(strict(JSON.stringify(object)), { ok: true, value: object });
  });
});

describe('parseJsonStrict: properties', () => {
  const runs = Number(process.env.FUZZ_RUNS ?? 200);

  test('any JSON text within the depth limit parses to what JSON.parse gives', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const text = JSON.stringify(value);
        const result = strict(text, 64);
        assert.equal(result.ok, true, text);
        if (result.ok) assert.deepEqual(result.value, JSON.parse(text));
      }),
      { numRuns: runs },
    );
  });

  test('repeating a member of any object is always found, however the name is spelled', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { minKeys: 1 }), fc.nat(), fc.boolean(), (object, pick, escape) => {
        const keys = Object.keys(object);
        const name = keys[pick % keys.length]!;
        const spelled = escape
          ? `"${name.split('').map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`
          : JSON.stringify(name);
        const text = `${JSON.stringify(object).slice(0, -1)},${spelled}:null}`;
        assert.deepEqual(strict(text, 64), { ok: false, hazard: 'duplicate_member' }, text);
      }),
      { numRuns: runs },
    );
  });
});
