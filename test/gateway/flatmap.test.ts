/**
 * KrakenD's flatmap operations (del, move, append) with the behaviour of the
 * krakend flatmap tree they run on: wildcards over keys and indexes, indexes
 * as labels given once, emptied containers written as null, renames, lifts
 * and nestings, and what is left alone. Then as a backend shape (between
 * target and group) and on an endpoint's merged answer, numbers kept.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileResponseShape } from '../../src/config/compile-shape.js';
import type { FlatmapOp } from '../../src/config/plan.js';
import { applyFlatmap } from '../../src/gateway/flatmap.js';
import { decodeBackendBody, MergeState, mergedJson } from '../../src/gateway/merge.js';
import { shapeResponse } from '../../src/gateway/response-shape.js';

const split = (path: string) => path.split('.');
const del = (...paths: string[]): FlatmapOp => ({ type: 'del', args: paths.map(split) });
const move = (from: string, to: string): FlatmapOp => ({ type: 'move', args: [split(from), split(to)] });
const append = (from: string, to: string): FlatmapOp => ({ type: 'append', args: [split(from), split(to)] });

function run(ops: FlatmapOp[], data: unknown): unknown {
  return JSON.parse(JSON.stringify(applyFlatmap(ops, structuredClone(data) as Record<string, unknown>))) as unknown;
}

describe('flatmap del', () => {
  it('removes top-level, nested and wildcard-matched keys, in objects and in arrays', () => {
    assert.deepEqual(run([del('supu')], { supu: 42, tupu: false }), { tupu: false });
    assert.deepEqual(run([del('internal.supu')], { internal: { supu: 42, tupu: false }, tupu: false }), { internal: { tupu: false }, tupu: false });
    assert.deepEqual(run([del('internal')], { internal: { supu: 42 }, tupu: false }), { tupu: false });
    assert.deepEqual(run([del('a.*.supu')], { a: { first: { supu: 1, tupu: 2 }, 0: { supu: 1, tupu: 3 } } }), { a: { 0: { tupu: 3 }, first: { tupu: 2 } } });
    assert.deepEqual(run([del('a.*.password')], { a: [{ id: 1, password: 'x' }, { id: 2, password: 'y' }, { id: 3 }] }), { a: [{ id: 1 }, { id: 2 }, { id: 3 }] });
    assert.deepEqual(run([del('a.*.b.*.c')], { a: [{ b: [{ c: 1, aa: 1 }, { c: 2, aa: 2 }], aa: 1 }, { b: [{ c: 3, aa: 3 }] }] }), {
      a: [{ b: [{ aa: 1 }, { aa: 2 }], aa: 1 }, { b: [{ aa: 3 }] }],
    });
  });

  it('leaves unknown paths, scalars on the way and empty containers alone', () => {
    assert.deepEqual(run([del('abc', 'supu.x')], { supu: 42 }), { supu: 42 });
    assert.deepEqual(run([del('data.*.password')], { data: [] }), { data: [] });
    assert.deepEqual(run([del('data.*.password')], { data: {} }), { data: {} });
  });

  it('writes a container it emptied as null', () => {
    assert.deepEqual(run([del('a.b')], { a: { b: 1 } }), { a: null });
    assert.deepEqual(run([del('a.*')], { a: [1, 2] }), { a: null });
  });

  it('names items by their first index, even after an earlier delete closed the gap', () => {
    assert.deepEqual(run([del('a.0')], { a: [1, 2, 3] }), { a: [2, 3] });
    assert.deepEqual(run([del('a.0'), del('a.1')], { a: [1, 2, 3] }), { a: [3] });
  });
});

describe('flatmap move', () => {
  it('renames the last key when both paths have the same length', () => {
    assert.deepEqual(run([move('a', 'b')], { a: 42 }), { b: 42 });
    assert.deepEqual(run([move('b.a', 'b.c')], { a: 1, b: { a: 42 } }), { a: 1, b: { c: 42 } });
    assert.deepEqual(run([move('b.*.c', 'b.*.x')], { c: 42, b: [{ c: 42 }, { c: { d: 42 } }] }), { c: 42, b: [{ x: 42 }, { x: { d: 42 } }] });
    assert.deepEqual(run([move('a.*.b.*.c', 'a.*.b.*.x')], { a: [{ b: [{ c: 1 }, { c: 2 }] }, { b: [{ c: 3 }] }] }), { a: [{ b: [{ x: 1 }, { x: 2 }] }, { b: [{ x: 3 }] }] });
    // Only the last key: the middle of the destination is not read.
    assert.deepEqual(run([move('b.a', 'x.c')], { b: { a: 42 } }), { b: { c: 42 } });
  });

  it('lifts a value to a shorter path, leaving its emptied parent as null', () => {
    assert.deepEqual(run([move('b.a', 'c')], { a: 1, b: { a: 42 } }), { a: 1, b: null, c: 42 });
    assert.deepEqual(run([move('b.b', 'c')], { a: 42, b: { a: 42, bb: true, b: { a: 42 } } }), { a: 42, b: { a: 42, bb: true }, c: { a: 42 } });
    assert.deepEqual(run([move('a.0.b1.0.c', 'c')], { a: [{ b1: [{ c: 1, d: 'foo' }, { c: 2 }] }] }), { a: [{ b1: [{ d: 'foo' }, { c: 2 }] }], c: 1 });
    // A wildcard in the destination takes the index the source matched.
    assert.deepEqual(run([move('a.*.b.c', 'a.*.c')], { a: [{ b: { c: 1, d: 2 } }, { b: { c: 3 } }] }), { a: [{ b: { d: 2 }, c: 1 }, { b: null, c: 3 }] });
  });

  it('a key moved onto an existing one replaces it, the later in the answer winning, so a later del leaves neither', () => {
    // Renamed onto a key that comes first: the renamed value (later in the answer) wins, as writing the object keeps the last.
    assert.deepEqual(run([move('pwd', 'password')], { password: 'p1', pwd: 'p2' }), { password: 'p2' });
    assert.deepEqual(run([move('pwd', 'password'), del('password')], { password: 'p1', pwd: 'p2' }), {});
    assert.deepEqual(run([move('pwd', 'password'), del('password')], { pwd: 'p2', password: 'p1' }), {});
    // Lifted or nested onto an existing key: the moved value comes last and wins.
    assert.deepEqual(run([move('a.secret', 'secret'), del('secret')], { secret: 's1', a: { secret: 's2', x: 1 } }), { a: { x: 1 } });
    assert.deepEqual(run([move('a', 'b.a'), del('b.a')], { b: { a: 1 }, a: 2 }), { b: null });
    // In a list, labels are positions: an index renamed onto another one keeps both items, and del removes both.
    assert.deepEqual(run([move('l.0', 'l.1')], { l: ['x', 'y'] }), { l: ['x', 'y'] });
    assert.deepEqual(run([move('l.0', 'l.1'), del('l.1')], { l: ['x', 'y', 'z'] }), { l: ['z'] });
  });

  it('lifts a field out of each item of a long list, each to its own item', () => {
    // Its cost per item, which must not grow with the list, is measured by `npm run bench:flatmap`.
    const items = Array.from({ length: 20_000 }, (_, i) => ({ meta: { id: i }, name: `n${i}` }));
    const result = run([move('items.*.meta.id', 'items.*.id')], { items }) as { items: { id: number; meta: unknown; name: string }[] };
    assert.equal(result.items.length, 20_000);
    assert.deepEqual(result.items[19_999], { meta: null, name: 'n19999', id: 19_999 });
    assert.deepEqual(result.items[0], { meta: null, name: 'n0', id: 0 });
  });

  it('nests a value under new levels below its parent when the destination is longer', () => {
    assert.deepEqual(run([move('b.a', 'b.b.a.c')], { a: 1, b: { a: 42 } }), { a: 1, b: { b: { a: { c: 42 } } } });
    assert.deepEqual(run([move('b.*.c', 'b.*.c.b.x')], { b: { first: { c: { d: 42 } }, last: { m: 42, c: { d: 42 } } } }), {
      b: { first: { c: { b: { x: { d: 42 } } } }, last: { m: 42, c: { b: { x: { d: 42 } } } } },
    });
  });
});

describe('flatmap append', () => {
  it('appends the first array to the second and removes the first', () => {
    assert.deepEqual(run([append('a', 'b')], { a: [42], b: [1] }), { b: [1, 42] });
  });

  it('does nothing unless both are arrays', () => {
    assert.deepEqual(run([append('a', 'b')], { a: { x: 1 }, b: [1] }), { a: { x: 1 }, b: [1] });
    assert.deepEqual(run([append('a', 'missing')], { a: [1] }), { a: [1] });
  });
});

describe('flatmap in sequence', () => {
  it("runs KrakenD's documented example: append, extract, delete, mask, rename", () => {
    const data = {
      kindergarten: [{ PK_ID: 9, password: 'k' }],
      schools: [{ students: [{ PK_ID: 1, password: 'a' }] }, { students: [{ PK_ID: 2, password: 'b' }, { PK_ID: 3, password: 'c' }] }],
    };
    const ops = [append('kindergarten', 'schools'), move('schools.1.students', 'alumni'), del('schools'), del('alumni.*.password'), move('alumni.*.PK_ID', 'alumni.*.id')];
    assert.deepEqual(run(ops, data), { alumni: [{ id: 2 }, { id: 3 }] });
  });

  it('gives an empty object when nothing is left of the root', () => {
    assert.deepEqual(run([del('*')], { a: 1 }), {});
  });
});

describe('flatmap in the pipeline', () => {
  it('runs between target and group on a backend answer, keeping number literals', () => {
    const shape = compileResponseShape({
      url_pattern: '/',
      target: 'data',
      group: 'users',
      extra_config: { proxy: { flatmap_filter: [{ type: 'del', args: ['items.*.password'] }, { type: 'move', args: ['items.*.uid', 'items.*.id'] }] } },
    })!;
    const decoded = decodeBackendBody('{"data":{"items":[{"uid":12345678901234567890,"password":"x","price":1.10}]},"meta":1}', 'json');
    assert.ok(typeof decoded === 'object');
    const state = new MergeState(1);
    state.add(shapeResponse(shape, decoded.data), decoded.literals);
    // A rename keeps the key's place.
    assert.equal(mergedJson(state), '{"users":{"items":[{"id":12345678901234567890,"price":1.10}]}}');
  });

  it("runs an endpoint's operations on the merged answer", () => {
    const state = new MergeState(2);
    state.add({ users: [{ id: 1, token: 't' }] });
    state.add({ more: [{ id: 2, token: 'u' }] });
    assert.equal(mergedJson(state, [append('more', 'users'), del('users.*.token')]), '{"users":[{"id":1},{"id":2}]}');
  });
});
