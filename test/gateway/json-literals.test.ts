/**
 * Number fidelity of merged answers (krakend-compat review C15): every number
 * literal leaves the gateway as the backend wrote it (big integers, trailing
 * zeros, exponents, negative zero), through decoding, manipulation and
 * merging, and nothing else about the JSON changes. Also the edges of the
 * scanner that makes this possible: strings that look like numbers, escapes,
 * invalid input it must not turn valid, and the nesting limit.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isKeptNumber, MAX_JSON_DEPTH, parseKeepingNumbers, stringifyKeepingNumbers } from '../../src/gateway/json-literals.js';
import { decodeBackendBody, MergeState, mergedJson, type Merged } from '../../src/gateway/merge.js';
import { shapeResponse } from '../../src/gateway/response-shape.js';

/** Decode and encode again, as a single-backend endpoint does. */
function roundTrip(text: string): string {
  const decoded = parseKeepingNumbers(text);
  assert.ok(decoded.ok, `not decoded: ${text}`);
  return stringifyKeepingNumbers(decoded.value, decoded.literals);
}

describe('number literals', () => {
  it('keeps the literals a double would change', () => {
    for (const literal of ['12345678901234567890', '-9007199254740993', '1.10', '0.500', '1e2', '1E+2', '2.50e-10', '-0', '-0.0', '0.0', '1E400', '100000000000000000000000', '0.1000000000000000055511', '0.0000001', '-0.00000012']) {
      assert.equal(roundTrip(`{"n":${literal},"a":[${literal}, ${literal}]}`), `{"n":${literal},"a":[${literal},${literal}]}`, literal);
    }
  });

  it('leaves plain numbers to JSON.parse: no markers, same text', () => {
    const decoded = parseKeepingNumbers('{"a":1,"b":-2.5,"c":1e+21,"d":123456789012345,"e":0}');
    assert.deepEqual(decoded, { ok: true, value: { a: 1, b: -2.5, c: 1e21, d: 123456789012345, e: 0 }, literals: false });
  });

  it('does not touch numbers inside strings, whatever the escapes around them', () => {
    const text = '{"s":"x: 1.10, y","t":"q\\"1.10","u":"\\\\","v":2.0,"w":"\\\\\\"","x":"1e2"}';
    const decoded = parseKeepingNumbers(text);
    assert.ok(decoded.ok);
    const value = decoded.value as Record<string, unknown>;
    assert.equal(value.s, 'x: 1.10, y');
    assert.equal(value.t, 'q"1.10');
    assert.equal(value.u, '\\');
    assert.equal(value.w, '\\"');
    assert.equal(value.x, '1e2');
    assert.ok(isKeptNumber(value.v));
    assert.equal(stringifyKeepingNumbers(decoded.value, decoded.literals), text);
  });

  it('never turns invalid JSON into valid JSON by rewriting a literal', () => {
    for (const text of ['{1.10:2}', '{"a":1, 1.10:2}', '{"a":01.10}', '{"a":1.}', '{"a":-}', '{"a":1.10', '{"a":"1.10}', '[1.10 2]', '{"a" 1.10}', ']', '{"a":1.10}}']) {
      assert.deepEqual(parseKeepingNumbers(text), { ok: false, reason: 'invalid' }, text);
    }
  });

  it('cannot be fooled by a backend string shaped like a marker', () => {
    const text = '{"a":"\\u00000123456789abcdef1.5","b":1.50}';
    assert.equal(roundTrip(text), text);
    const decoded = parseKeepingNumbers(text);
    assert.ok(decoded.ok);
    assert.equal(isKeptNumber((decoded.value as Record<string, unknown>).a), false);
  });

  it(`fails answers nested deeper than ${MAX_JSON_DEPTH} levels, objects or arrays, and accepts exactly the limit`, () => {
    const arrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const objects = (depth: number) => `${'{"a":'.repeat(depth)}1.10${'}'.repeat(depth)}`;
    assert.deepEqual(parseKeepingNumbers(arrays(MAX_JSON_DEPTH + 1)), { ok: false, reason: 'too_deep' });
    assert.deepEqual(parseKeepingNumbers(objects(MAX_JSON_DEPTH + 1)), { ok: false, reason: 'too_deep' });
    assert.deepEqual(parseKeepingNumbers(arrays(100_000)), { ok: false, reason: 'too_deep' });
    assert.equal(roundTrip(objects(MAX_JSON_DEPTH)), objects(MAX_JSON_DEPTH));
    // Brackets inside strings are not nesting.
    assert.equal(roundTrip(`{"s":"${'['.repeat(5000)}"}`), `{"s":"${'['.repeat(5000)}"}`);
  });
});

// ------------------------------------------------------------ property

/** A number literal in JSON's grammar, biased towards the ones a double changes. */
const literalArb = fc.oneof(
  fc.stringMatching(/^-?(0|[1-9][0-9]{0,24})(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?$/),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String),
  fc.tuple(fc.integer({ min: -1000, max: 1000 }), fc.stringMatching(/^[0-9]{0,6}0{1,4}$/)).map(([whole, fraction]) => `${whole}.${fraction}`),
  fc.constantFrom('-0', '-0.0', '0', '1e2', '1E2', '1e-7', '9007199254740993', '1.10'),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
);

/** The expected side: a number leaf is its literal text. */
class Literal {
  constructor(readonly text: string) {}
}

type Value = Literal | string | boolean | null | Value[] | { [key: string]: Value };

const { value: valueArb } = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    literalArb.map((text) => new Literal(text)),
    fc.string({ unit: 'binary' }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.uniqueArray(fc.tuple(fc.string(), tie('value')), { maxLength: 4, selector: ([key]) => key }).map(objectOf),
  ),
}));

const rootArb = fc.uniqueArray(fc.tuple(fc.string(), valueArb), { maxLength: 6, selector: ([key]) => key }).map(objectOf);

function objectOf(entries: [string, Value][]): { [key: string]: Value } {
  const object = Object.create(null) as { [key: string]: Value };
  for (const [key, value] of entries) Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
  return object;
}

/** JSON text with each literal as written; keys in the order JavaScript keeps them, as JSON.stringify writes them. */
function textOf(value: Value): string {
  if (value instanceof Literal) return value.text;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(textOf).join(',')}]`;
  return `{${Object.keys(value)
    .map((key) => `${JSON.stringify(key)}:${textOf(value[key]!)}`)
    .join(',')}}`;
}

describe('number literals (property)', () => {
  it('survive decode, manipulation and merge of random JSON, and the rest of the text is unchanged', () => {
    fc.assert(
      fc.property(rootArb, rootArb, fc.string(), (first, second, group) => {
        // Two backends: the first merged as it is, the second grouped under a key; later answers win collisions.
        const state = new MergeState(2);
        for (const [root, shape] of [
          [first, undefined],
          [second, { target: undefined, allow: undefined, deny: undefined, mapping: [], group, flatmap: undefined }],
        ] as const) {
          const decoded = decodeBackendBody(textOf(root), 'json');
          assert.ok(typeof decoded === 'object', textOf(root));
          state.add(shape === undefined ? decoded.data : shapeResponse(shape, decoded.data), decoded.literals);
        }
        const expected = objectOf([]);
        Object.assign(expected, first);
        Object.defineProperty(expected, group, { value: second, writable: true, enumerable: true, configurable: true });
        assert.equal(mergedJson(state), textOf(expected));
      }),
      { numRuns: 500 },
    );
  });

  it('are kept one by one, short decimals included (those skip the check by their shape)', () => {
    const shortDecimal = fc.stringMatching(/^-?(0|[1-9][0-9]{0,8})(\.[0-9]{1,8})?$/);
    const smallDecimal = fc
      .tuple(fc.constantFrom('', '-'), fc.nat(9), fc.stringMatching(/^[1-9][0-9]{0,6}$/))
      .map(([sign, zeros, digits]) => `${sign}0.${'0'.repeat(zeros)}${digits}`);
    fc.assert(
      fc.property(fc.oneof(literalArb, shortDecimal, smallDecimal), (literal) => {
        assert.equal(roundTrip(`{"n":${literal}}`), `{"n":${literal}}`);
      }),
      { numRuns: 5000 },
    );
  });

  it('are kept in arrays answered with is_collection', () => {
    fc.assert(
      fc.property(fc.array(valueArb, { maxLength: 6 }), (items) => {
        const decoded = decodeBackendBody(textOf(items), 'json', true);
        assert.ok(typeof decoded === 'object');
        const state = new MergeState(1);
        state.add(decoded.data as Merged, decoded.literals);
        assert.equal(mergedJson(state), `{"collection":${textOf(items)}}`);
      }),
      { numRuns: 300 },
    );
  });
});
