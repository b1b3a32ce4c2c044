/**
 * `cache_ttl` through a running gateway: `Cache-Control: public, max-age=N`
 * on complete answers with data, as KrakenD sets it, and nothing on partial,
 * failed, empty or no-op answers. Answers that may depend on who asked (a
 * validated endpoint, or credentials the backend receives) are `private` and
 * vary on those credentials, so no shared cache hands one user's answer to
 * another, unless the endpoint opts in with `portcullis/cache`. Denials stay
 * `no-store`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { startBackendServer, type BackendServer } from '../support/backend-server.js';
import { nowSeconds } from '../support/clock.js';
import { planFrom } from '../support/plan.js';
import type { Gateway } from '../../src/gateway/server.js';
import { call, startTestGateway } from './harness.js';

describe('gateway: cache_ttl', () => {
  let jwks: JwksServer;
  let backend: BackendServer;
  let key: TestSigningKey;
  let gateway: Gateway;
  let token: string;

  function config(root: object = {}): object {
    const validator = { alg: 'RS256', jwk_url: jwks.url('/jwks') };
    const host = [backend.url];
    return {
      version: 3,
      cache_ttl: '1h',
      ...root,
      endpoints: [
        { endpoint: '/public', backend: [{ host, url_pattern: '/public' }] },
        { endpoint: '/short', cache_ttl: '90s', backend: [{ host, url_pattern: '/public' }] },
        { endpoint: '/off', cache_ttl: '0s', backend: [{ host, url_pattern: '/public' }] },
        { endpoint: '/partial', backend: [{ host, url_pattern: '/public' }, { host, url_pattern: '/fails' }] },
        { endpoint: '/failed', backend: [{ host, url_pattern: '/fails' }] },
        { endpoint: '/forbidden', backend: [{ host, url_pattern: '/forbidden', extra_config: { 'backend/http': { return_error_code: true } } }] },
        { endpoint: '/empty', backend: [{ host, url_pattern: '/empty' }] },
        { endpoint: '/raw', output_encoding: 'no-op', backend: [{ host, url_pattern: '/raw' }] },
        { endpoint: '/mine', extra_config: { 'auth/validator': validator }, backend: [{ host, url_pattern: '/public' }] },
        { endpoint: '/catalog', extra_config: { 'auth/validator': validator, 'portcullis/cache': { public_with_credentials: true } }, backend: [{ host, url_pattern: '/public' }] },
        { endpoint: '/forwarded', input_headers: ['Authorization', 'Cookie'], backend: [{ host, url_pattern: '/public' }] },
        { endpoint: '/dropped', input_headers: ['X-Other'], backend: [{ host, url_pattern: '/public' }] },
      ],
    };
  }

  before(async () => {
    jwks = await startJwksServer();
    key = await generateSigningKey('cache-1');
    jwks.setKeys(jwksOf(key));
    backend = await startBackendServer();
    backend.on('/fails', (_req, res) => void res.writeHead(500).end());
    backend.on('/forbidden', (_req, res) => void res.writeHead(403).end());
    backend.on('/empty', (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    backend.on('/raw', (_req, res) => void res.writeHead(200, { 'cache-control': 'max-age=5' }).end('raw'));
    ({ gateway } = await startTestGateway(config()));
    token = await mintToken(key, { sub: 'alice', exp: nowSeconds() + 300 });
  });

  after(async () => {
    await gateway.close();
    await backend.close();
    await jwks.close();
  });

  const get = (path: string, headers: Record<string, string> = {}) => call(`${gateway.url}${path}`, { headers });

  it('sets public, max-age from the endpoint or the root on complete answers with data, and nothing on the others', async () => {
    const root = await get('/public');
    assert.equal(root.status, 200);
    assert.equal(root.headers['x-krakend-completed'], 'true');
    assert.equal(root.headers['cache-control'], 'public, max-age=3600');
    assert.equal(root.headers.vary, undefined);
    assert.equal((await get('/short')).headers['cache-control'], 'public, max-age=90');
    assert.equal((await get('/off')).headers['cache-control'], undefined);

    // Nothing on partial, failed, backend-forbidden, empty or no-op answers.
    const partial = await get('/partial');
    assert.equal(partial.status, 200);
    assert.equal(partial.headers['x-krakend-completed'], 'false');
    assert.equal(partial.headers['cache-control'], undefined);
    const failed = await get('/failed');
    assert.equal(failed.status, 500);
    assert.equal(failed.headers['cache-control'], undefined);
    const forbidden = await get('/forbidden');
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.headers['cache-control'], undefined);
    const empty = await get('/empty');
    assert.equal(empty.text, '{}');
    assert.equal(empty.headers['cache-control'], undefined);
    // A no-op endpoint passes the backend's own header through, as KrakenD does.
    assert.equal((await get('/raw')).headers['cache-control'], 'max-age=5');
  });

  it('keeps a validated answer private and varying on the credentials; a denial is no-store', async () => {
    const mine = await get('/mine', { authorization: `Bearer ${token}` });
    assert.equal(mine.status, 200);
    assert.equal(mine.headers['cache-control'], 'private, max-age=3600');
    assert.equal(mine.headers.vary, 'Authorization, Cookie');
    const denied = await get('/mine');
    assert.equal(denied.status, 401);
    assert.equal(denied.headers['cache-control'], 'no-store');
    const shared = await get('/catalog', { authorization: `Bearer ${token}` });
    assert.equal(shared.headers['cache-control'], 'public, max-age=3600');
    assert.equal(shared.headers.vary, undefined);
  });

  it('on a public endpoint, is private only when the request carries credentials the backend receives', async () => {
    assert.equal((await get('/forwarded')).headers['cache-control'], 'public, max-age=3600');
    for (const headers of [{ authorization: 'Basic dTpw' }, { cookie: 'sid=1' }] as Record<string, string>[]) {
      const answer = await get('/forwarded', headers);
      assert.equal(answer.headers['cache-control'], 'private, max-age=3600', JSON.stringify(headers));
      assert.equal(answer.headers.vary, 'Authorization, Cookie');
    }
    // The backend never sees these, so its answer cannot depend on them.
    assert.equal((await get('/dropped', { authorization: 'Basic dTpw', cookie: 'sid=1' })).headers['cache-control'], 'public, max-age=3600');
  });

  it('adds its Vary to the one CORS set, and a reload applies a new cache_ttl', async () => {
    const { gateway: live } = await startTestGateway(config({ extra_config: { 'security/cors': { allow_origins: ['http://app.example'] } } }));
    try {
      const mine = await call(`${live.url}/mine`, { headers: { authorization: `Bearer ${token}`, origin: 'http://app.example' } });
      assert.equal(mine.headers.vary, 'Origin, Authorization, Cookie');
      assert.equal(mine.headers['access-control-allow-origin'], 'http://app.example');
      await live.reload(planFrom(config({ cache_ttl: '5m' })));
      assert.equal((await call(`${live.url}/public`)).headers['cache-control'], 'public, max-age=300');
      await live.reload(planFrom(config({ cache_ttl: '0s' })));
      assert.equal((await call(`${live.url}/public`)).headers['cache-control'], undefined);
    } finally {
      await live.close();
    }
  });
});
