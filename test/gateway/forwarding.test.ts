/**
 * What a backend sees (krakend-compat.md §4): zero-trust headers, propagated
 * claims overwriting client spoofs, query allowlists, and url_pattern filled
 * from route parameters and claims.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { startBackendServer, type BackendServer, type ReceivedRequest } from '../support/backend-server.js';
import type { Gateway } from '../../src/gateway/server.js';
import { nowSeconds } from '../support/clock.js';
import { call, rawCall, startTestGateway } from './harness.js';

describe('gateway: forwarding', () => {
  let jwks: JwksServer;
  let backend: BackendServer;
  let gateway: Gateway;
  let key: TestSigningKey;
  let token: string;

  before(async () => {
    jwks = await startJwksServer();
    key = await generateSigningKey('fw-1');
    jwks.setKeys(jwksOf(key));
    backend = await startBackendServer();
    const validator = {
      alg: 'RS256',
      jwk_url: jwks.url('/jwks'),
      propagate_claims: [
        ['sub', 'X-User'],
        ['dct', 'X-Tenant'],
        ['roles', 'X-Roles'],
        ['missing', 'X-Missing'],
      ],
    };
    const config = {
      version: 3,
      endpoints: [
        {
          endpoint: '/users/{id}',
          input_headers: ['X-User', 'x-tenant', 'X-Missing', 'X-Custom'],
          input_query_strings: ['page', 'Limit'],
          extra_config: { 'auth/validator': validator },
          backend: [{ host: [backend.url], url_pattern: '/backend/{JWT.sub}/items/{id}' }],
        },
        {
          endpoint: '/open/{name}',
          input_headers: ['*'],
          input_query_strings: ['*'],
          backend: [{ host: [backend.url], url_pattern: '/open/{name}?fixed=1' }],
        },
        {
          endpoint: '/minimal',
          backend: [{ host: [backend.url], url_pattern: '/minimal' }],
        },
        {
          endpoint: '/claims/{id}',
          input_headers: ['*'],
          extra_config: { 'auth/validator': validator },
          backend: [{ host: [backend.url], url_pattern: '/claims/{JWT.n}/{JWT.f}/{id}' }],
        },
        {
          endpoint: '/claims-absent',
          extra_config: { 'auth/validator': validator },
          backend: [{ host: [backend.url], url_pattern: '/claims/{JWT.absent}' }],
        },
        {
          endpoint: '/claims-object',
          extra_config: { 'auth/validator': validator },
          backend: [{ host: [backend.url], url_pattern: '/claims/{JWT.obj}' }],
        },
        {
          endpoint: '/claims-slash',
          extra_config: { 'auth/validator': validator },
          backend: [{ host: [backend.url], url_pattern: '/claims/{JWT.path}' }],
        },
        {
          endpoint: '/orders',
          input_query_strings: ['*'],
          extra_config: { 'auth/validator': validator },
          backend: [{ host: [backend.url], url_pattern: '/orders?user={JWT.sub}&view=own' }],
        },
        {
          endpoint: '/orders-by-path',
          input_query_strings: ['*'],
          extra_config: { 'auth/validator': validator },
          backend: [{ host: [backend.url], url_pattern: '/orders?user={JWT.path}' }],
        },
        {
          endpoint: '/paged',
          input_query_strings: ['page'],
          backend: [{ host: [backend.url], url_pattern: '/paged' }],
        },
      ],
    };
    ({ gateway } = await startTestGateway(config));
    token = await mintToken(key, { sub: 'user 1ü', dct: 'T9', roles: ['a', 'b'], exp: nowSeconds() + 300, n: 42, f: 1.5, obj: { a: 1 }, path: 'a/../b' });
  });

  after(async () => {
    await gateway?.close();
    await backend?.close();
    await jwks?.close();
  });

  function last(): ReceivedRequest {
    const request = backend.requests.at(-1);
    assert.ok(request, 'the backend was called');
    return request;
  }

  it('forwards only Content-Type and input_headers, adds X-Forwarded-*, and sets propagated claims over client spoofs', async () => {
    const answer = await rawCall(`${gateway.url}/users/42?page=2&limit=5&Limit=9&debug=1`, {
      method: 'GET',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'X-User': 'spoofed-admin',
        'X-Tenant': 'spoofed-tenant',
        'X-Missing': 'spoofed-missing',
        'X-Roles': 'spoofed-roles',
        'X-Custom': 'kept',
        'X-Other': 'dropped',
        'X-Forwarded-For': '6.6.6.6',
        cookie: 'session=1',
      },
    });
    assert.equal(answer.status, 200);
    const seen = last();
    assert.equal(seen.path, `/backend/${encodeURIComponent('user 1ü')}/items/42`);
    assert.equal(seen.query, 'page=2&Limit=9', 'input_query_strings is case-sensitive');
    assert.equal(seen.headers['content-type'], 'application/json');
    assert.equal(seen.headers['x-user'], 'user 1ü'.replace('ü', Buffer.from('ü').toString('latin1')));
    assert.equal(seen.headers['x-tenant'], 'T9');
    assert.equal(seen.headers['x-missing'], '', 'a missing claim overwrites the client value with an empty header');
    assert.equal(seen.headers['x-roles'], undefined, 'X-Roles is propagated but not in input_headers');
    assert.equal(seen.headers['x-custom'], 'kept');
    assert.equal(seen.headers['x-other'], undefined);
    assert.equal(seen.headers.authorization, undefined);
    assert.equal(seen.headers.cookie, undefined);
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1', 'an untrusted client chain is replaced');
    assert.equal(seen.headers['x-forwarded-host'], new URL(gateway.url).host);
    assert.equal(seen.headers['user-agent'], 'portcullis');
    assert.equal(seen.headers['x-forwarded-via'], undefined);
  });

  it('forwards every header but hop-by-hop ones with input_headers ["*"], and appends to X-Forwarded-For', async () => {
    const answer = await rawCall(`${gateway.url}/open/a%20b?x=1&y=%C3%BC`, {
      headers: {
        'X-Anything': 'yes',
        'User-Agent': 'test-agent',
        'X-Forwarded-Via': 'client-made',
        // What CGI-style backends read as X-Forwarded-For, X-Forwarded-Via and X-Request-Id: the gateway's own, in any spelling.
        X_Forwarded_For: '10.9.9.9',
        X_Forwarded_Via: 'client-made',
        X_Request_Id: 'forged',
        Connection: 'keep-alive, X-Hop',
        'X-Hop': 'hop-by-hop',
        'Proxy-Authorization': 'Basic Zm9vOmJhcg==',
        'X-Forwarded-For': '10.0.0.1',
      },
    });
    assert.equal(answer.status, 200);
    const seen = last();
    assert.equal(seen.path, '/open/a%20b');
    assert.equal(seen.query, 'fixed=1&x=1&y=%C3%BC');
    assert.equal(seen.headers['x-anything'], 'yes');
    assert.equal(seen.headers['user-agent'], 'test-agent');
    // The client's User-Agent went through, so the gateway names itself here instead, as lura does; never the client's value.
    assert.equal(seen.headers['x-forwarded-via'], 'portcullis');
    assert.equal(seen.headers.x_forwarded_for, undefined);
    assert.equal(seen.headers.x_forwarded_via, undefined);
    assert.equal(seen.headers.x_request_id, undefined);
    assert.equal(seen.headers['x-hop'], undefined);
    assert.equal(seen.headers['proxy-authorization'], undefined);
    assert.equal(seen.headers['x-forwarded-for'], '10.0.0.1, 127.0.0.1');
  });

  it('drops every query string and extra header when no allowlist is configured', async () => {
    const answer = await call(`${gateway.url}/minimal?a=1`, { headers: { 'x-test': '1', 'content-type': 'text/plain' } });
    assert.equal(answer.status, 200);
    const seen = last();
    assert.equal(seen.url, '/minimal');
    assert.equal(seen.headers['x-test'], undefined);
    assert.equal(seen.headers['content-type'], 'text/plain');
  });

  it('fills {JWT.claim} with integer text or the shortest number text, percent-encoded', async () => {
    const answer = await call(`${gateway.url}/claims/7`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(answer.status, 200);
    assert.equal(last().path, '/claims/42/1.5/7');
  });

  it('refuses with 403 unroutable_claim a claim that is missing, an object, or holds "/" in a path, and calls no backend', async () => {
    for (const endpoint of ['/claims-absent', '/claims-object', '/claims-slash']) {
      const before = backend.requests.length;
      const answer = await call(`${gateway.url}${endpoint}`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(answer.status, 403, endpoint);
      assert.equal(answer.json<{ code: string }>().code, 'unroutable_claim', endpoint);
      assert.match(String(answer.headers['www-authenticate']), /insufficient_scope/);
      assert.equal(backend.requests.length, before, `${endpoint} reached the backend`);
    }
  });

  it('lets the url_pattern own its query keys: a client value for them is dropped, never appended', async () => {
    const answer = await call(`${gateway.url}/orders?user=alice&x=1&view=all;user=eve&us%65r=mallory&user%3D=kept`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(answer.status, 200);
    assert.equal(last().query, `user=${encodeURIComponent('user 1ü')}&view=own&x=1&user%3D=kept`);
  });

  it('fills a claim into a url_pattern query value, where "/" and dots are harmless once encoded', async () => {
    const answer = await call(`${gateway.url}/orders-by-path`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(answer.status, 200);
    assert.equal(last().query, 'user=a%2F..%2Fb');
  });

  it('reads ";" as a pair separator for the allowlist, so it cannot carry a key past it', async () => {
    const answer = await call(`${gateway.url}/paged?page=2;admin=1&admin=2;page=3`);
    assert.equal(answer.status, 200);
    assert.equal(last().query, 'page=2&page=3');
  });

  it('never binds a route parameter that holds an encoded "/": 404, backend not called', async () => {
    const before = backend.requests.length;
    const answer = await call(`${gateway.url}/users/a%2Fb?page=1`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(answer.status, 404);
    assert.equal(backend.requests.length, before);
  });
});
