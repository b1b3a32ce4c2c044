/**
 * `security/cors` at the HTTP level (rs/cors as KrakenD runs it): preflights
 * answered before routing and before the validator, the exact headers for
 * allowed and refused origins, methods and headers, KrakenD's defaults,
 * options_passthrough, a no-op backend's own CORS headers giving way, and a
 * reload switching CORS on and changing it. What a browser makes of these
 * answers is in cors-browser.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { startBackendServer, type BackendServer } from '../support/backend-server.js';
import { nowSeconds } from '../support/clock.js';
import type { Gateway } from '../../src/gateway/server.js';
import { planFrom } from '../support/plan.js';
import type { MemoryLogger } from '../support/logger.js';
import { call, startTestGateway, type Answer } from './harness.js';

const APP = 'http://app.example';
const PREFLIGHT_VARY = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';

describe('gateway: CORS', () => {
  let jwks: JwksServer;
  let backend: BackendServer;
  let key: TestSigningKey;
  let gateway: Gateway;
  let logger: MemoryLogger;
  const started: Gateway[] = [];

  function config(cors: unknown, extra: object = {}): object {
    const validator = { alg: 'RS256', jwk_url: jwks.url('/jwks') };
    return {
      version: 3,
      ...extra,
      extra_config: { 'security/cors': cors },
      endpoints: [
        { endpoint: '/orders', extra_config: { 'auth/validator': validator }, backend: [{ host: [backend.url], url_pattern: '/orders' }] },
        { endpoint: '/orders', method: 'PUT', extra_config: { 'auth/validator': validator }, backend: [{ host: [backend.url], url_pattern: '/orders' }] },
        { endpoint: '/public', backend: [{ host: [backend.url], url_pattern: '/public' }] },
        { endpoint: '/raw', output_encoding: 'no-op', backend: [{ host: [backend.url], url_pattern: '/raw' }] },
        { endpoint: '/options', method: 'OPTIONS', backend: [{ host: [backend.url], url_pattern: '/options' }] },
      ],
    };
  }

  const CORS = {
    allow_origins: [APP, 'https://*.example.com', 'http://localhost:*'],
    allow_methods: ['GET', 'POST', 'PUT'],
    allow_headers: ['Authorization', 'X-Custom'],
    expose_headers: ['X-Total', 'X-Request-Id'],
    allow_credentials: true,
    max_age: '10m',
    allow_private_network: true,
    debug: true,
  };

  before(async () => {
    jwks = await startJwksServer();
    key = await generateSigningKey('cors-1');
    jwks.setKeys(jwksOf(key));
    backend = await startBackendServer();
    backend.on('/raw', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'access-control-allow-origin': '*', 'access-control-expose-headers': 'X-Secret', vary: 'Accept-Encoding', 'x-total': '7' });
      res.end('raw');
    });
    ({ gateway, logger } = await startTestGateway(config(CORS)));
    started.push(gateway);
  });

  after(async () => {
    for (const one of started) await one.close();
    await backend.close();
    await jwks.close();
  });

  const preflight = (path: string, headers: Record<string, string>, target = gateway) => call(`${target.url}${path}`, { method: 'OPTIONS', headers });
  const corsHeaders = (answer: Answer) =>
    Object.fromEntries(Object.entries(answer.headers).filter(([name]) => name.startsWith('access-control-') || name === 'vary'));

  it('answers a preflight to a validated endpoint before the validator runs: 204, the request echoed, the backend never called', async () => {
    const before = backend.requests.length;
    const answer = await preflight('/orders', { origin: APP, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization,x-custom' });
    assert.equal(answer.status, 204);
    assert.equal(answer.text, '');
    assert.deepEqual(corsHeaders(answer), {
      vary: `${PREFLIGHT_VARY}, Access-Control-Request-Private-Network`,
      'access-control-allow-origin': APP,
      'access-control-allow-methods': 'PUT',
      'access-control-allow-headers': 'authorization, x-custom',
      'access-control-allow-credentials': 'true',
      'access-control-max-age': '600',
    });
    assert.equal(answer.headers['www-authenticate'], undefined);
    assert.equal(backend.requests.length, before);
  });

  it('answers a preflight before routing: a path no endpoint has gets the same answer', async () => {
    const answer = await preflight('/nowhere/at/all', { origin: APP, 'access-control-request-method': 'GET' });
    assert.equal(answer.status, 204);
    assert.equal(answer.headers['access-control-allow-origin'], APP);
    assert.equal(answer.headers['access-control-allow-methods'], 'GET');
    assert.equal(answer.headers['access-control-allow-headers'], undefined);
  });

  it('refuses by leaving the headers out, never by an error status: origin, method, header, and an Origin that is a list', async () => {
    const refused: Record<string, string>[] = [
      { origin: 'http://evil.example', 'access-control-request-method': 'GET' },
      { origin: 'https://example.com.evil.net', 'access-control-request-method': 'GET' },
      { origin: `${APP}, https://a.example.com`, 'access-control-request-method': 'GET' },
      { origin: APP, 'access-control-request-method': 'DELETE' },
      { origin: APP, 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-custom, x-other' },
      { origin: APP, 'access-control-request-method': 'GET', 'access-control-request-headers': 'x custom' },
      { 'access-control-request-method': 'GET' },
    ];
    for (const headers of refused) {
      const answer = await preflight('/orders', headers);
      assert.equal(answer.status, 204, JSON.stringify(headers));
      assert.deepEqual(corsHeaders(answer), { vary: `${PREFLIGHT_VARY}, Access-Control-Request-Private-Network` }, JSON.stringify(headers));
    }
    assert.ok(logger.lines.some((line) => line.level === 'debug' && line.msg === '[CORS] preflight asking for headers not allowed: no CORS headers'));
  });

  it('matches wildcard origins by prefix and suffix, case-insensitively, and answers Private Network Access only when asked', async () => {
    for (const origin of ['https://a.example.com', 'https://deep.b.EXAMPLE.com', 'http://localhost:5173']) {
      const answer = await preflight('/public', { origin, 'access-control-request-method': 'GET' });
      assert.equal(answer.headers['access-control-allow-origin'], origin);
      assert.equal(answer.headers['access-control-allow-private-network'], undefined);
    }
    const pna = await preflight('/public', { origin: APP, 'access-control-request-method': 'GET', 'access-control-request-private-network': 'true' });
    assert.equal(pna.headers['access-control-allow-private-network'], 'true');
  });

  it('adds Vary: Origin to every other answer, and the allow headers for an allowed origin, including on a 401', async () => {
    const allowed = await call(`${gateway.url}/public`, { headers: { origin: APP } });
    assert.equal(allowed.status, 200);
    assert.deepEqual(corsHeaders(allowed), {
      vary: 'Origin',
      'access-control-allow-origin': APP,
      'access-control-expose-headers': 'X-Total, X-Request-Id',
      'access-control-allow-credentials': 'true',
    });
    // CORS decides what the page may read, not who may call: a simple request from elsewhere is served, unreadable.
    const from = backend.requests.length;
    const elsewhere = await call(`${gateway.url}/public`, { headers: { origin: 'http://evil.example' } });
    assert.equal(elsewhere.status, 200);
    assert.deepEqual(corsHeaders(elsewhere), { vary: 'Origin' });
    assert.equal(backend.requests.length, from + 1);
    const noOrigin = await call(`${gateway.url}/public`);
    assert.deepEqual(corsHeaders(noOrigin), { vary: 'Origin' });
    const notAllowedMethod = await call(`${gateway.url}/orders`, { method: 'DELETE', headers: { origin: APP } });
    assert.equal(notAllowedMethod.status, 405);
    assert.deepEqual(corsHeaders(notAllowedMethod), { vary: 'Origin' });

    const denied = await call(`${gateway.url}/orders`, { headers: { origin: APP } });
    assert.equal(denied.status, 401);
    assert.equal(denied.headers['access-control-allow-origin'], APP);
    assert.equal(denied.headers['cache-control'], 'no-store');
    const token = await mintToken(key, { sub: 'alice', exp: nowSeconds() + 300 });
    const ok = await call(`${gateway.url}/orders`, { method: 'PUT', headers: { origin: APP, authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['access-control-allow-origin'], APP);
  });

  it('keeps the gateway CORS headers over a no-op backend\'s, and both Vary values', async () => {
    const answer = await call(`${gateway.url}/raw`, { headers: { origin: APP } });
    assert.equal(answer.text, 'raw');
    assert.equal(answer.headers['x-total'], '7');
    assert.equal(answer.headers['access-control-allow-origin'], APP);
    assert.equal(answer.headers['access-control-expose-headers'], 'X-Total, X-Request-Id');
    assert.deepEqual(answer.headers.vary, ['Origin', 'Accept-Encoding']);
  });

  it('uses KrakenD\'s defaults for an empty block: any origin as "*", any header, GET/POST/HEAD, no max-age, 204', async () => {
    const { gateway: plain } = await startTestGateway(config({}));
    started.push(plain);
    const get = await preflight('/public', { origin: 'http://anyone.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-anything' }, plain);
    assert.equal(get.status, 204);
    assert.deepEqual(corsHeaders(get), {
      vary: PREFLIGHT_VARY,
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': 'x-anything',
    });
    const put = await preflight('/orders', { origin: 'http://anyone.example', 'access-control-request-method': 'PUT' }, plain);
    assert.equal(put.headers['access-control-allow-origin'], undefined);
    const simple = await call(`${plain.url}/public`, { headers: { origin: 'http://anyone.example' } });
    assert.deepEqual(corsHeaders(simple), { vary: 'Origin', 'access-control-allow-origin': '*' });
  });

  it('with options_passthrough routes the preflight after setting the headers; options_success_status sets the status', async () => {
    const { gateway: through } = await startTestGateway(config({ allow_origins: [APP], options_passthrough: true }));
    started.push(through);
    const routed = await preflight('/options', { origin: APP, 'access-control-request-method': 'GET' }, through);
    assert.equal(routed.status, 200);
    assert.equal(routed.json<{ method: string }>().method, 'OPTIONS');
    assert.equal(routed.headers['access-control-allow-origin'], APP);
    const unrouted = await preflight('/public', { origin: APP, 'access-control-request-method': 'GET' }, through);
    assert.equal(unrouted.status, 405);
    assert.equal(unrouted.headers['access-control-allow-origin'], APP);

    const { gateway: ok200 } = await startTestGateway(config({ options_success_status: 200 }));
    started.push(ok200);
    const answer = await preflight('/public', { origin: APP, 'access-control-request-method': 'GET' }, ok200);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['content-length'], '0');
  });

  it('a reload switches CORS on, and a changed origin list applies to the next request', async () => {
    const { gateway: live } = await startTestGateway({ ...config({}), extra_config: {} });
    started.push(live);
    const off = await preflight('/public', { origin: APP, 'access-control-request-method': 'GET' }, live);
    assert.equal(off.status, 405);
    assert.equal(off.headers.vary, undefined);

    await live.reload(planFrom(config({ allow_origins: [APP] })));
    const on = await preflight('/public', { origin: APP, 'access-control-request-method': 'GET' }, live);
    assert.equal(on.status, 204);
    assert.equal(on.headers['access-control-allow-origin'], APP);

    await live.reload(planFrom(config({ allow_origins: ['http://other.example'] })));
    const changed = await preflight('/public', { origin: APP, 'access-control-request-method': 'GET' }, live);
    assert.equal(changed.status, 204);
    assert.equal(changed.headers['access-control-allow-origin'], undefined);
  });
});
