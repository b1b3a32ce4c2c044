import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileGateway, type EndpointPlan } from '../../src/config/compile.js';
import type { GatewayConfig } from '../../src/config/schema.js';
import { createRouter, type RouteMatch } from '../../src/routing/router.js';

function routerFor(routes: readonly (readonly [method: string, path: string])[]) {
  const plan = compileGateway({
    version: 3,
    host: ['http://127.0.0.1:9'],
    endpoints: routes.map(([method, endpoint]) => ({ endpoint, method, backend: [{ url_pattern: '/' }] })),
  } as GatewayConfig);
  return { router: createRouter(plan.endpoints), endpoints: plan.endpoints };
}

/** The route a request reached, as "METHOD /path" plus its params, or the miss. */
function describeMatch(match: RouteMatch): unknown {
  if (match.kind === 'found') return { route: `${match.endpoint.method} ${match.endpoint.path}`, params: match.params };
  return match;
}

describe('router', () => {
  const { router, endpoints } = routerFor([
    ['GET', '/'],
    ['GET', '/users'],
    ['POST', '/users'],
    ['GET', '/users/me'],
    ['GET', '/users/{id}'],
    ['DELETE', '/users/{id}'],
    ['GET', '/users/{id}/orders/{order}'],
    ['GET', '/a/b/y'],
    ['GET', '/a/{p}/x'],
    ['PUT', '/files/{name}'],
    ['GET', '/slash/'],
  ]);
  const match = (method: string, path: string) => describeMatch(router.match(method, path));

  it('matches exact paths and returns the same plan objects', () => {
    assert.deepEqual(match('GET', '/users'), { route: 'GET /users', params: {} });
    assert.deepEqual(match('GET', '/'), { route: 'GET /', params: {} });
    assert.deepEqual(match('GET', '/slash/'), { route: 'GET /slash/', params: {} });
    const found = router.match('POST', '/users');
    assert.equal(found.kind === 'found' && found.endpoint, endpoints[2]);
  });

  it('matches parameters, one whole segment each', () => {
    assert.deepEqual(match('GET', '/users/42'), { route: 'GET /users/{id}', params: { id: '42' } });
    assert.deepEqual(match('GET', '/users/42/orders/7'), { route: 'GET /users/{id}/orders/{order}', params: { id: '42', order: '7' } });
    assert.deepEqual(match('GET', '/users/42/orders'), { kind: 'not_found' });
    assert.deepEqual(match('GET', '/users/42/orders/7/extra'), { kind: 'not_found' });
  });

  it('prefers a literal segment, and backtracks to a parameter when the literal branch dead-ends', () => {
    assert.deepEqual(match('GET', '/users/me'), { route: 'GET /users/me', params: {} });
    assert.deepEqual(match('GET', '/a/b/y'), { route: 'GET /a/b/y', params: {} });
    assert.deepEqual(match('GET', '/a/b/x'), { route: 'GET /a/{p}/x', params: { p: 'b' } });
  });

  it('ignores the query string', () => {
    assert.deepEqual(match('GET', '/users/42?x=/y&z'), { route: 'GET /users/{id}', params: { id: '42' } });
    assert.deepEqual(match('GET', '/users?page=2'), { route: 'GET /users', params: {} });
  });

  it('percent-decodes parameters', () => {
    assert.deepEqual(match('PUT', '/files/a%20b%C3%A9'), { route: 'PUT /files/{name}', params: { name: 'a bé' } });
    assert.deepEqual(match('PUT', '/files/a..b'), { route: 'PUT /files/{name}', params: { name: 'a..b' } });
  });

  it('never binds a parameter that a decoding backend would read as more than one segment', () => {
    // nginx decodes %2F and then resolves dot segments: /files/..%2Fadmin would become /admin.
    for (const value of ['dir%2Ffile', '..%2Fadmin', '%2e%2e%2fadmin', 'x%2F..%2F..%2Fadmin', '..%5Cadmin', 'a%5Cb', 'a\\b', 'a%00b', 'a%0Ab', 'a%0d%0ab', 'a%7Fb', 'a%C2%85b', '%09']) {
      assert.deepEqual(match('PUT', `/files/${value}`), { kind: 'not_found' }, value);
    }
  });

  it('decodes literal segments before matching, so an encoded path cannot dodge its route', () => {
    assert.deepEqual(match('GET', '/%75sers/m%65'), { route: 'GET /users/me', params: {} });
    assert.deepEqual(match('GET', '/%75sers'), { route: 'GET /users', params: {} });
    // One encoded segment is not two literal ones.
    const { router: exact } = routerFor([['GET', '/a/b']]);
    assert.deepEqual(describeMatch(exact.match('GET', '/a%2Fb')), { kind: 'not_found' });
  });

  it('answers 404 for malformed escapes, empty and dot-segment parameters', () => {
    assert.deepEqual(match('GET', '/users/%zz'), { kind: 'not_found' });
    assert.deepEqual(match('GET', '/users/%E0%A4%A'), { kind: 'not_found' });
    assert.deepEqual(match('GET', '/users/'), { kind: 'not_found' });
    assert.deepEqual(match('GET', '/users/..'), { kind: 'not_found' });
    assert.deepEqual(match('GET', '/users/%2e%2E'), { kind: 'not_found' });
    assert.deepEqual(match('GET', '/users/.'), { kind: 'not_found' });
  });

  it('answers 404 for unknown paths, paths without a leading "/" and trailing-slash variants', () => {
    assert.deepEqual(match('GET', '/nope'), { kind: 'not_found' });
    assert.deepEqual(match('GET', '*'), { kind: 'not_found' });
    assert.deepEqual(match('GET', ''), { kind: 'not_found' });
    assert.deepEqual(match('GET', '/users/'), { kind: 'not_found' });
    assert.deepEqual(match('GET', '/slash'), { kind: 'not_found' });
    assert.deepEqual(match('GET', '/USERS'), { kind: 'not_found' });
  });

  it('answers 405 with the sorted Allow list of the methods that do match', () => {
    assert.deepEqual(match('PATCH', '/users'), { kind: 'method_not_allowed', allow: ['GET', 'POST'] });
    assert.deepEqual(match('POST', '/users/42'), { kind: 'method_not_allowed', allow: ['DELETE', 'GET'] });
    // /users/me is GET only, but DELETE reaches it through /users/{id}.
    assert.deepEqual(match('DELETE', '/users/me'), { route: 'DELETE /users/{id}', params: { id: 'me' } });
    assert.deepEqual(match('get', '/users'), { kind: 'method_not_allowed', allow: ['GET', 'POST'] });
  });

  it('does not treat HEAD as GET', () => {
    assert.deepEqual(match('HEAD', '/users/me'), { kind: 'method_not_allowed', allow: ['DELETE', 'GET'] });
    assert.deepEqual(match('HEAD', '/a/b/x'), { kind: 'method_not_allowed', allow: ['GET'] });
  });

  it('has no routes at all when there are no endpoints', () => {
    assert.deepEqual(describeMatch(createRouter([] as EndpointPlan[]).match('GET', '/')), { kind: 'not_found' });
  });
});
