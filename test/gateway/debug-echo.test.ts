/**
 * `/__debug/` and `/__echo/` (debug_endpoint, echo_endpoint): off by default;
 * when on, answered as KrakenD does, so a config whose backend is the
 * gateway's own `/__debug/` works; `/__echo/` returns the request in lura's
 * shape with every credential value redacted, and `/__debug/` never logs one.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { nowSeconds } from '../support/clock.js';
import { planFrom } from '../support/plan.js';
import type { Gateway } from '../../src/gateway/server.js';
import type { MemoryLogger } from '../support/logger.js';
import { call, rawCall, startTestGateway } from './harness.js';

interface Echo {
  req_uri: string;
  req_uri_details: Record<string, string>;
  req_method: string;
  req_querystring: Record<string, string[]>;
  req_body: string;
  req_headers: Record<string, string[]>;
}

describe('gateway: /__debug/ and /__echo/', () => {
  let jwks: JwksServer;
  let key: TestSigningKey;
  let gateway: Gateway;
  let logger: MemoryLogger;
  let token: string;

  /** The gateway calling itself: its own URL is known only once it listens, so the endpoints arrive by reload. */
  function selfConfig(url: string): object {
    const validator = { alg: 'RS256', jwk_url: jwks.url('/jwks'), query_key: 'access_token', propagate_claims: [['sub', 'X-User']] };
    return {
      version: 3,
      debug_endpoint: true,
      echo_endpoint: true,
      endpoints: [
        { endpoint: '/', backend: [{ host: [url], url_pattern: '/__debug/' }] },
        { endpoint: '/static', backend: [{ host: [url], url_pattern: '/__debug' }] },
        { endpoint: '/whoami', input_headers: ['*'], extra_config: { 'auth/validator': validator }, backend: [{ host: [url], url_pattern: '/__echo/whoami' }] },
      ],
    };
  }

  before(async () => {
    jwks = await startJwksServer();
    key = await generateSigningKey('echo-1');
    jwks.setKeys(jwksOf(key));
    ({ gateway, logger } = await startTestGateway({ version: 3, endpoints: [] }, { limits: { maxBodySize: 64 } }));
    token = await mintToken(key, { sub: 'alice', exp: nowSeconds() + 300 });
  });

  after(async () => {
    await gateway.close();
    await jwks.close();
  });

  it('are off by default (404); switched on by a reload, they serve KrakenD configs whose backend is the gateway itself', async () => {
    for (const path of ['/__debug/', '/__echo/', '/__debug']) {
      const answer = await call(`${gateway.url}${path}`);
      assert.equal(answer.status, 404, path);
      assert.deepEqual(answer.json(), { error: 'not_found' });
    }
    await gateway.reload(planFrom(selfConfig(gateway.url), { limits: { maxBodySize: 64 } }));
    for (const path of ['/', '/static']) {
      const answer = await call(`${gateway.url}${path}`);
      assert.equal(answer.status, 200, path);
      assert.equal(answer.headers['x-krakend-completed'], 'true');
      assert.deepEqual(answer.json(), { message: 'pong' });
    }
    const whoami = await call(`${gateway.url}/whoami`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(whoami.status, 200);
    const echo = whoami.json<Echo>();
    // The backend request, as the gateway built it: the claim propagated, the token not echoed.
    assert.deepEqual(echo.req_headers['X-User'], ['alice']);
    assert.deepEqual(echo.req_headers.Authorization, ['Bearer [redacted]']);
    assert.ok(!whoami.text.includes(token.split('.')[2]!));
  });

  it('/__debug/ answers pong to any method and path under it, and logs no header value', async () => {
    for (const [method, path] of [['GET', '/__debug/'], ['POST', '/__debug/a/b?x=1'], ['DELETE', '/__debug']] as const) {
      const answer = await call(`${gateway.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'x-secret': 'sesame' }, ...(method === 'POST' ? { body: 'hello' } : {}) });
      assert.equal(answer.status, 200, `${method} ${path}`);
      assert.equal(answer.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(answer.text, '{"message":"pong"}');
    }
    const logged = logger.lines.filter((line) => line.msg === '[ENDPOINT: /__debug/*] request');
    assert.ok(logged.length >= 3);
    assert.ok(!logger.text().includes(token) && !logger.text().includes('sesame'));
    assert.equal((await call(`${gateway.url}/__debugger`)).status, 404);
  });

  it("/__echo/ returns the request in lura's shape, with credential values redacted", async () => {
    const answer = await call(`${gateway.url}/__echo/a%20b?b=2&a=1&a=3&access_token=${token}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'proxy-authorization': 'Basic c2VydmljZTpzZWNyZXQ=',
        cookie: 'sid=s3cr3t; theme=dark',
        'x-custom': 'visible',
        'content-type': 'text/plain',
      },
      body: 'ping',
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['cache-control'], 'no-store');
    const echo = answer.json<Echo>();
    assert.equal(echo.req_uri, '/__echo/a%20b?b=2&a=1&a=3&access_token=%5Bredacted%5D');
    assert.deepEqual(echo.req_uri_details, {
      fragment: '',
      host: `127.0.0.1:${gateway.port}`,
      path: '/__echo/a b',
      query: 'a=1&a=3&access_token=%5Bredacted%5D&b=2',
      user: '',
    });
    assert.equal(echo.req_method, 'POST');
    assert.deepEqual(echo.req_querystring, { a: ['1', '3'], access_token: ['[redacted]'], b: ['2'] });
    assert.equal(echo.req_body, 'ping');
    assert.deepEqual(Object.keys(echo.req_headers), [...Object.keys(echo.req_headers)].sort());
    assert.equal(echo.req_headers.Host, undefined);
    assert.deepEqual(echo.req_headers.Authorization, ['Bearer [redacted]']);
    assert.deepEqual(echo.req_headers['Proxy-Authorization'], ['Basic [redacted]']);
    assert.deepEqual(echo.req_headers.Cookie, ['sid=[redacted]; theme=[redacted]']);
    assert.deepEqual(echo.req_headers['X-Custom'], ['visible']);
    assert.deepEqual(echo.req_headers['Content-Type'], ['text/plain']);
    for (const secret of [token, 's3cr3t', 'dark', 'c2VydmljZTpzZWNyZXQ=']) assert.ok(!answer.text.includes(secret), secret);
  });

  it('/__echo/ keeps header names that are object keys as data, echoes malformed escapes as sent, and refuses a body over the limit', async () => {
    const odd = await rawCall(`${gateway.url}/__echo/`, { headers: Object.fromEntries([['__proto__', 'x'], ['authorization', 'opaque']]) as Record<string, string> });
    assert.equal(odd.status, 200);
    const echo = odd.json<Echo>();
    assert.deepEqual(echo.req_headers.__proto__, ['x']);
    assert.deepEqual(echo.req_headers.Authorization, ['[redacted]']);
    // Malformed escapes are echoed as sent, never a 500.
    const malformed = await call(`${gateway.url}/__echo/%E0%A4%A?%E0%A4%A=1`);
    assert.equal(malformed.status, 200);
    assert.equal(malformed.json<Echo>().req_uri_details.path, '/__echo/%E0%A4%A');
    assert.equal(malformed.json<Echo>().req_uri, '/__echo/%E0%A4%A?%E0%A4%A=1');
    const big = await call(`${gateway.url}/__echo/`, { method: 'POST', body: 'x'.repeat(65) });
    assert.equal(big.status, 413);
    assert.deepEqual(big.json(), { error: 'request_body_too_large' });
  });
});
