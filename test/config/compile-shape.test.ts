/**
 * Response manipulation compiled into the plan: dotted paths split once into
 * lura's trees (including its order rules for overlapping entries), nothing
 * compiled when nothing is asked, and the keys refused on a no-op backend,
 * where KrakenD would skip them silently.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileGateway } from '../../src/config/compile.js';
import { parseConfigText } from '../../src/config/load.js';
import type { KeyTree } from '../../src/config/plan.js';
import { assertIssues, configWith } from './helpers.js';

const compile = (config: unknown) => compileGateway(parseConfigText(JSON.stringify(config), 'test.json').config);
const backendWith = (fields: Record<string, unknown>, endpoint: Record<string, unknown> = {}) =>
  compile(configWith({ ...endpoint, backend: [{ host: ['http://127.0.0.1:9'], url_pattern: '/', ...fields }] })).endpoints[0]!.backends[0]!;

/** A KeyTree as a plain object, `true` for a whole-value leaf. */
function plain(tree: KeyTree | undefined): unknown {
  if (tree === undefined) return undefined;
  return Object.fromEntries([...tree].map(([key, sub]) => [key, sub === null ? true : plain(sub)]));
}

describe('compiled response shape', () => {
  it('is undefined without manipulation, or when every key is empty', () => {
    assert.equal(backendWith({}).shape, undefined);
    assert.equal(backendWith({ allow: [], deny: [], mapping: {}, group: '', target: '', is_collection: false }).shape, undefined);
    assert.equal(backendWith({ mapping: { same: 'same' } }).shape, undefined);
  });

  it('splits every dotted path once', () => {
    const { shape, isCollection } = backendWith({
      target: 'data.result',
      allow: ['id', 'user.name', 'user.address.city'],
      deny: ['user.password', 'token'],
      mapping: { id: 'user_id', collection: 'items' },
      group: 'profile',
      is_collection: true,
    });
    assert.equal(isCollection, true);
    assert.deepEqual(shape!.target, ['data', 'result']);
    assert.deepEqual(plain(shape!.allow), { id: true, user: { name: true, address: { city: true } } });
    assert.deepEqual(plain(shape!.deny), { user: { password: true }, token: true });
    assert.deepEqual(shape!.mapping, [
      ['id', 'user_id'],
      ['collection', 'items'],
    ]);
    assert.equal(shape!.group, 'profile');
    assert.ok(Object.isFrozen(shape));
  });

  it('builds the allow tree as lura does: a later overlapping entry wins', () => {
    assert.deepEqual(plain(backendWith({ allow: ['a', 'a.b'] }).shape!.allow), { a: { b: true } });
    assert.deepEqual(plain(backendWith({ allow: ['a.b', 'a'] }).shape!.allow), { a: true });
    assert.deepEqual(plain(backendWith({ allow: ['a.b', 'a.c.d'] }).shape!.allow), { a: { b: true, c: { d: true } } });
  });

  it('builds the deny tree as lura does: the shorter path removes the whole value in any order', () => {
    assert.deepEqual(plain(backendWith({ deny: ['a', 'a.b'] }).shape!.deny), { a: true });
    assert.deepEqual(plain(backendWith({ deny: ['a.b', 'a'] }).shape!.deny), { a: true });
    assert.deepEqual(plain(backendWith({ deny: ['a.b.c', 'a.b.d', 'a.e'] }).shape!.deny), { a: { b: { c: true, d: true }, e: true } });
  });

  it('keeps only the part of a mapping target before its first dot, as lura does', () => {
    assert.deepEqual(backendWith({ mapping: { a: 'b.c' } }).shape!.mapping, [['a', 'b']]);
  });

  it('refuses manipulation keys on a no-op backend, naming each', () => {
    assertIssues(
      () => compile(configWith({ output_encoding: 'no-op', backend: [{ host: ['http://127.0.0.1:9'], url_pattern: '/', encoding: 'no-op', deny: ['password'], group: 'g', is_collection: true }] })),
      ['deny', 'group', 'is_collection'].map((key) => ({
        path: `$.endpoints[0].backend[0].${key}`,
        message: 'cannot be applied to a "no-op" backend (its answer is passed through unchanged); use the "json" encoding to manipulate the answer',
      })),
    );
    // Empty keys change nothing and stay accepted.
    const backend = backendWith({ encoding: 'no-op', allow: [], is_collection: false }, { output_encoding: 'no-op' });
    assert.equal(backend.shape, undefined);
  });
});
