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
import { call, nowSeconds, rawCall, startTestGateway } from './harness.js';

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
          backend: [{ host: [backend.url], url_pattern: '/claims/{JWT.n}/{JWT.f}/{JWT.absent}/{JWT.obj}/{id}' }],
        },
      ],
    };
    ({ gateway } = await startTestGateway(config));
    token = await mintToken(key, { sub: 'user 1/ü', dct: 'T9', roles: ['a', 'b'], exp: nowSeconds() + 300, n: 42, f: 1.5, obj: { a: 1 } });
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
    assert.equal(seen.path, `/backend/${encodeURIComponent('user 1/ü')}/items/42`);
    assert.equal(seen.query, 'page=2&Limit=9', 'input_query_strings is case-sensitive');
    assert.equal(seen.headers['content-type'], 'application/json');
    assert.equal(seen.headers['x-user'], 'user 1/ü'.replace('ü', Buffer.from('ü').toString('latin1')));
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
  });

  it('forwards every header but hop-by-hop ones with input_headers ["*"], and appends to X-Forwarded-For', async () => {
    const answer = await rawCall(`${gateway.url}/open/a%20b?x=1&y=%C3%BC`, {
      headers: {
        'X-Anything': 'yes',
        'User-Agent': 'test-agent',
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

  it('fills {JWT.claim} with integer text, JSON text or an empty segment, percent-encoded', async () => {
    const answer = await call(`${gateway.url}/claims/7`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(answer.status, 200);
    assert.equal(last().path, `/claims/42/1.5//${encodeURIComponent('{"a":1}')}/7`);
  });

  it('percent-encodes decoded route parameters again', async () => {
    const answer = await call(`${gateway.url}/users/a%2Fb?page=1`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(answer.status, 200);
    assert.ok(last().path.endsWith('/items/a%2Fb'), last().path);
  });
});
