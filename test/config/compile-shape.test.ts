/**
 * Response manipulation compiled into the plan: dotted paths split once into
 * lura's trees (including its order rules for overlapping entries), flatmap
 * operations checked for arity, nothing compiled when nothing is asked, and
 * the keys refused where KrakenD would skip them silently: on a no-op
 * backend, and allow/deny/mapping beside a flatmap_filter.
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

  it('splits flatmap arguments once, treats an empty list as none, and checks the arity of move and append', () => {
    const ops = [
      { type: 'del', args: ['a.*.password', 'b'] },
      { type: 'move', args: ['a.*.PK_ID', 'a.*.id'] },
      { type: 'append', args: ['kindergarten', 'schools'] },
    ];
    const { shape } = backendWith({ target: 'data', group: 'g', extra_config: { proxy: { flatmap_filter: ops } } });
    assert.deepEqual(shape!.flatmap, [
      { type: 'del', args: [['a', '*', 'password'], ['b']] },
      { type: 'move', args: [['a', '*', 'PK_ID'], ['a', '*', 'id']] },
      { type: 'append', args: [['kindergarten'], ['schools']] },
    ]);
    assert.deepEqual(shape!.target, ['data']);
    assert.equal(backendWith({ extra_config: { proxy: { flatmap_filter: [] } } }).shape, undefined);
    const endpoint = compile(configWith({ extra_config: { proxy: { flatmap_filter: [{ type: 'del', args: ['x'] }] } } })).endpoints[0]!;
    assert.deepEqual(endpoint.flatmap, [{ type: 'del', args: [['x']] }]);
    assertIssues(
      () => compile(configWith({ extra_config: { proxy: { flatmap_filter: [{ type: 'move', args: ['a'] }, { type: 'append', args: ['a', 'b', 'c'] }] } } })),
      [
        { path: '$.endpoints[0].extra_config.proxy.flatmap_filter[0].args', message: '"move" takes two arguments, [from, to] (found 1)' },
        { path: '$.endpoints[0].extra_config.proxy.flatmap_filter[1].args', message: '"append" takes two arguments, [from, to] (found 3)' },
      ],
    );
  });

  it('refuses allow, deny and mapping beside a backend flatmap_filter, which KrakenD would skip', () => {
    const message = 'is ignored by KrakenD when extra_config.proxy.flatmap_filter is set; remove it, or write it as a flatmap operation (del, move)';
    assertIssues(
      () =>
        compile(
          configWith({
            backend: [{ host: ['http://127.0.0.1:9'], url_pattern: '/', allow: ['a'], deny: ['password'], mapping: { a: 'b' }, extra_config: { proxy: { flatmap_filter: [{ type: 'del', args: ['x'] }] } } }],
          }),
        ),
      ['allow', 'deny', 'mapping'].map((key) => ({ path: `$.endpoints[0].backend[0].${key}`, message })),
    );
  });

  it('refuses manipulation keys on a no-op backend, naming each', () => {
    assertIssues(
      () => compile(configWith({ output_encoding: 'no-op', backend: [{ host: ['http://127.0.0.1:9'], url_pattern: '/', encoding: 'no-op', deny: ['password'], group: 'g', is_collection: true }] })),
      ['deny', 'group', 'is_collection'].map((key) => ({
        path: `$.endpoints[0].backend[0].${key}`,
        message: 'cannot be applied to a "no-op" backend (its answer is passed through unchanged); use the "json" encoding on the endpoint and the backend to manipulate the answer',
      })),
    );
    assertIssues(
      () =>
        compile(
          configWith({
            output_encoding: 'no-op',
            extra_config: { proxy: { flatmap_filter: [{ type: 'del', args: ['x'] }] } },
            backend: [{ host: ['http://127.0.0.1:9'], url_pattern: '/', encoding: 'no-op', extra_config: { proxy: { flatmap_filter: [{ type: 'del', args: ['x'] }] } } }],
          }),
        ),
      [
        {
          path: '$.endpoints[0].extra_config.proxy.flatmap_filter',
          message: 'cannot be applied to a "no-op" endpoint (its answer is passed through unchanged); use the "json" output_encoding to manipulate the answer',
        },
        {
          path: '$.endpoints[0].backend[0].extra_config.proxy.flatmap_filter',
          message: 'cannot be applied to a "no-op" backend (its answer is passed through unchanged); use the "json" encoding on the endpoint and the backend to manipulate the answer',
        },
      ],
    );
    // Empty keys change nothing and stay accepted.
    const backend = backendWith({ encoding: 'no-op', allow: [], is_collection: false }, { output_encoding: 'no-op' });
    assert.equal(backend.shape, undefined);
  });

  it('refuses a deny that can never match: inside a string answer or the items of an is_collection answer', () => {
    const host = { host: ['http://127.0.0.1:9'], url_pattern: '/' };
    assertIssues(
      () => compile(configWith({ backend: [{ ...host, encoding: 'string', deny: ['password', 'content'] }, { ...host, is_collection: true, deny: ['collection', 'password', 'collection.secret'] }] })),
      [
        {
          path: '$.endpoints[0].backend[0].deny[0]',
          message:
            'can never match: a "string" answer is {"content": "<the body as text>"}, and deny does not reach inside the text; deny "content" to hide the whole body, or read the answer as "json"',
        },
        ...['password', 'secret'].map((field, k) => ({
          path: `$.endpoints[0].backend[1].deny[${k + 1}]`,
          message: `can never match: an is_collection answer is {"collection": [items]}, and deny does not enter lists; remove it and use extra_config.proxy.flatmap_filter [{"type": "del", "args": ["collection.*.${field}"]}]`,
        })),
      ],
    );
    // The whole wrapper may be denied, and a target replaces the wrapper before deny runs.
    assert.notEqual(backendWith({ encoding: 'string', deny: ['content'] }).shape, undefined);
    assert.notEqual(backendWith({ is_collection: true, target: 'x', deny: ['password'] }).shape, undefined);
  });
});
