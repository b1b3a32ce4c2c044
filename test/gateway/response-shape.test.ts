/**
 * Each response manipulation operation on its own and in lura's order
 * (target → allow → deny → mapping → group), with the config compiled as the
 * gateway compiles it: nested paths, missing paths, arrays and scalars on the
 * way, collections, keys that exist on Object.prototype, `__proto__`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileResponseShape } from '../../src/config/compile-shape.js';
import type { BackendConfig } from '../../src/config/schema.js';
import { decodeBackendBody } from '../../src/gateway/merge.js';
import { shapeResponse, type JsonObject } from '../../src/gateway/response-shape.js';

/** Shapes `data` (a fresh copy) with the backend keys given, as a plain object for comparison. */
function shaped(keys: Partial<BackendConfig>, data: unknown): unknown {
  const shape = compileResponseShape({ url_pattern: '/', ...keys });
  assert.ok(shape, 'no shape compiled');
  return plain(shapeResponse(shape, structuredClone(data) as JsonObject));
}

/** Null-prototype objects compare like literals. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

const USER = {
  id: 7,
  name: 'Ada',
  password: 'hunter2',
  address: { city: 'London', street: 'St James', geo: { lat: '51.5', lng: '-0.1' } },
  roles: [{ name: 'admin', secret: 's1' }],
  plan: 'pro',
};

describe('target', () => {
  it('extracts a nested object', () => {
    assert.deepEqual(shaped({ target: 'address' }, USER), USER.address);
    assert.deepEqual(shaped({ target: 'address.geo' }, USER), USER.address.geo);
  });

  it('gives an empty object for a missing path, an array, a scalar or an inherited key', () => {
    for (const target of ['missing', 'address.missing', 'roles', 'name', 'address.city.x', 'constructor', 'toString', '__proto__']) {
      assert.deepEqual(shaped({ target }, USER), {}, target);
    }
  });
});

describe('allow', () => {
  it('keeps top-level and nested fields only', () => {
    assert.deepEqual(shaped({ allow: ['id', 'address.city', 'address.geo.lat'] }, USER), { id: 7, address: { city: 'London', geo: { lat: '51.5' } } });
  });

  it('ignores missing paths, and drops an object when nothing inside it is kept', () => {
    assert.deepEqual(shaped({ allow: ['id', 'nope', 'address.nope'] }, USER), { id: 7 });
    assert.deepEqual(shaped({ allow: ['nope'] }, USER), {});
  });

  it('does not enter arrays or scalars: the field is dropped', () => {
    assert.deepEqual(shaped({ allow: ['roles.name', 'name.first', 'plan'] }, USER), { plan: 'pro' });
    assert.deepEqual(shaped({ allow: ['roles'] }, USER), { roles: USER.roles });
  });

  it('lets a later overlapping entry win, as lura builds its tree', () => {
    assert.deepEqual(shaped({ allow: ['address', 'address.city'] }, USER), { address: { city: 'London' } });
    assert.deepEqual(shaped({ allow: ['address.city', 'address'] }, USER), { address: USER.address });
  });

  it('never takes inherited keys for fields', () => {
    assert.deepEqual(shaped({ allow: ['constructor', 'toString', 'hasOwnProperty'] }, USER), {});
  });
});

describe('deny', () => {
  it('removes top-level and nested fields and keeps the rest in order', () => {
    assert.deepEqual(shaped({ deny: ['password', 'address.geo.lng', 'address.street'] }, USER), {
      id: 7,
      name: 'Ada',
      address: { city: 'London', geo: { lat: '51.5' } },
      roles: USER.roles,
      plan: 'pro',
    });
  });

  it('ignores missing paths, and keeps an object it emptied', () => {
    assert.deepEqual(shaped({ deny: ['nope', 'address.nope.deeper', 'name.first'] }, USER), USER);
    assert.deepEqual(shaped({ deny: ['address.geo.lat', 'address.geo.lng'] }, { address: { geo: { lat: 1, lng: 2 } } }), { address: { geo: {} } });
  });

  it('does not enter arrays (flatmap territory in KrakenD)', () => {
    assert.deepEqual(shaped({ deny: ['roles.secret'] }, USER), USER);
  });

  it('removes the whole value for the shorter of two overlapping paths, in any order', () => {
    const expected = { id: 7, name: 'Ada', password: 'hunter2', roles: USER.roles, plan: 'pro' };
    assert.deepEqual(shaped({ deny: ['address', 'address.city'] }, USER), expected);
    assert.deepEqual(shaped({ deny: ['address.city', 'address'] }, USER), expected);
  });

  it('removes only own keys', () => {
    assert.deepEqual(shaped({ deny: ['constructor', 'toString.x'] }, USER), USER);
  });
});

describe('allow with deny', () => {
  it('applies allow, then deny (KrakenD would drop the deny list)', () => {
    assert.deepEqual(shaped({ allow: ['id', 'address'], deny: ['address.street', 'address.geo'] }, USER), { id: 7, address: { city: 'London' } });
  });
});

describe('mapping', () => {
  it('renames top-level fields and ignores missing ones', () => {
    assert.deepEqual(shaped({ mapping: { name: 'full_name', nope: 'x' } }, { id: 1, name: 'Ada' }), { id: 1, full_name: 'Ada' });
  });

  it('overwrites a field of the new name', () => {
    assert.deepEqual(shaped({ mapping: { a: 'b' } }, { a: 1, b: 2 }), { b: 1 });
  });

  it('applies all renames at once: a swap swaps, a chain takes the old values', () => {
    assert.deepEqual(shaped({ mapping: { a: 'b', b: 'a' } }, { a: 1, b: 2 }), { b: 1, a: 2 });
    assert.deepEqual(shaped({ mapping: { a: 'b', b: 'c' } }, { a: 1, b: 2 }), { b: 1, c: 2 });
  });

  it('does not rename nested fields: a dotted source is a literal key, a dotted target keeps its first part', () => {
    assert.deepEqual(shaped({ mapping: { 'address.city': 'town' } }, { address: { city: 'London' }, 'address.city': 'literal' }), { address: { city: 'London' }, town: 'literal' });
    assert.deepEqual(shaped({ mapping: { name: 'person.name' } }, { name: 'Ada' }), { person: 'Ada' });
  });

  it('writes __proto__ as a plain field, never as the prototype', () => {
    const shape = compileResponseShape({ url_pattern: '/', mapping: { name: '__proto__' } })!;
    const out = shapeResponse(shape, { name: { polluted: true } });
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(out, '__proto__')?.value, { polluted: true });
    assert.equal(JSON.stringify(out), '{"__proto__":{"polluted":true}}');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('group', () => {
  it('nests the whole answer under the key, an empty one too', () => {
    assert.deepEqual(shaped({ group: 'user' }, { id: 1 }), { user: { id: 1 } });
    assert.deepEqual(shaped({ group: 'user', target: 'missing' }, { id: 1 }), { user: {} });
  });

  it('keeps a group named __proto__ as a field', () => {
    const out = shapeResponse(compileResponseShape({ url_pattern: '/', group: '__proto__' })!, { id: 1 });
    assert.equal(Object.getPrototypeOf(out), null);
    assert.equal(JSON.stringify(out), '{"__proto__":{"id":1}}');
  });
});

describe('order of operations', () => {
  it('is target, allow, deny, mapping, group', () => {
    const answer = { status: 'ok', data: { id: 7, secret: 's', token: 't', name: 'Ada' } };
    assert.deepEqual(shaped({ target: 'data', allow: ['id', 'secret', 'name'], deny: ['secret'], mapping: { id: 'user_id' }, group: 'user' }, answer), {
      user: { user_id: 7, name: 'Ada' },
    });
  });

  it('filters by the names before mapping, inside the target', () => {
    // allow runs before mapping: the new name is not an allowed field.
    assert.deepEqual(shaped({ allow: ['user_id'], mapping: { id: 'user_id' } }, { id: 7 }), {});
    // target runs first: paths are relative to it.
    assert.deepEqual(shaped({ target: 'data', deny: ['data.id', 'id'] }, { data: { id: 7, n: 1 } }), { n: 1 });
  });
});

describe('collections', () => {
  it('wraps an is_collection answer under "collection", which mapping renames and group nests', () => {
    const decoded = decodeBackendBody('[{"id":1},{"id":2}]', 'json', true);
    assert.ok(typeof decoded === 'object');
    const shape = compileResponseShape({ url_pattern: '/', is_collection: true, mapping: { collection: 'items' }, group: 'page' })!;
    assert.deepEqual(plain(shapeResponse(shape, decoded.data)), { page: { items: [{ id: 1 }, { id: 2 }] } });
  });

  it('filters the collection as a whole field, never inside its items', () => {
    assert.deepEqual(shaped({ deny: ['collection.id'] }, { collection: [{ id: 1 }] }), { collection: [{ id: 1 }] });
    assert.deepEqual(shaped({ deny: ['collection'] }, { collection: [{ id: 1 }] }), {});
    assert.deepEqual(shaped({ target: 'collection' }, { collection: [{ id: 1 }] }), {});
  });
});
