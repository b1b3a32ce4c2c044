/**
 * Rate limits through a real gateway (and forward-auth) on 127.0.0.1, with a
 * clock the test moves: KrakenD's router semantics (client bucket 429,
 * endpoint bucket 503, missing key 429), where each limit runs (an IP limit
 * before the token is looked at, every other one after authorization), the
 * IETF RateLimit headers, the service-wide limit, buckets kept across a
 * reload, and the configs that are refused because they could not be keyed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startForwardAuth } from '../../src/adapters/forward-auth/server.js';
import { ConfigError } from '../../src/config/validate.js';
import { startGateway, type Gateway } from '../../src/gateway/server.js';
import { startBackendServer, type BackendServer } from '../support/backend-server.js';
import { ManualClock, nowSeconds } from '../support/clock.js';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { planFrom } from '../support/plan.js';

let jwks: JwksServer;
let backend: BackendServer;
let key: TestSigningKey;

before(async () => {
  jwks = await startJwksServer();
  key = await generateSigningKey('rl-1');
  jwks.setKeys(jwksOf(key));
  backend = await startBackendServer();
});
after(async () => {
  await backend.close();
  await jwks.close();
});

const token = (sub: string): Promise<string> => mintToken(key, { sub, iat: nowSeconds(), exp: nowSeconds() + 600 });

function validator(): Record<string, unknown> {
  return { alg: 'RS256', jwk_url: jwks.url('/jwks') };
}

function config(endpointExtra: Record<string, unknown>, serviceExtra: Record<string, unknown> = {}, path = '/orders/{id}'): unknown {
  return {
    version: 3,
    ...(Object.keys(serviceExtra).length > 0 ? { extra_config: serviceExtra } : {}),
    endpoints: [
      { endpoint: path, extra_config: endpointExtra, backend: [{ host: [backend.url], url_pattern: '/orders' }] },
      { endpoint: '/open', backend: [{ host: [backend.url], url_pattern: '/open' }] },
    ],
  };
}

async function call(gateway: Gateway, path: string, bearer?: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: string }> {
  const response = await fetch(`${gateway.url}${path}`, { headers: { ...headers, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) } });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

async function withGateway(cfg: unknown, run: (gateway: Gateway, clock: ManualClock) => Promise<void>): Promise<void> {
  const clock = new ManualClock();
  const gateway = await startGateway(planFrom(cfg, { strict: true }), { host: '127.0.0.1', port: 0, accessLog: false, clock });
  try {
    await gateway.ready();
    await run(gateway, clock);
  } finally {
    await gateway.close();
  }
}

describe('client limits after authorization (strategy jwt)', () => {
  test('each subject has its own bucket; over it: 429 with Retry-After and the IETF RateLimit fields; others unaffected', async () => {
    const cfg = config({
      'auth/validator': validator(),
      'qos/ratelimit/router': { client_max_rate: 3, every: '1m', client_capacity: 3, strategy: 'jwt', key: 'sub' },
    });
    await withGateway(cfg, async (gateway, clock) => {
      const alice = await token('alice');
      const statuses: number[] = [];
      let last;
      for (let i = 0; i < 4; i++) {
        last = await call(gateway, '/orders/1', alice);
        statuses.push(last.status);
        if (i === 0) {
          assert.equal(last.headers.get('ratelimit-policy'), '"client";q=3;w=60');
          assert.equal(last.headers.get('ratelimit'), '"client";r=2;t=20');
        }
      }
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      assert.deepEqual(JSON.parse(last!.body), { error: 'rate_limited' });
      assert.equal(last!.headers.get('retry-after'), '20');
      assert.equal(last!.headers.get('ratelimit'), '"client";r=0;t=20');
      assert.equal(last!.headers.get('cache-control'), 'no-store');
      assert.equal((await call(gateway, '/orders/1', await token('carol'))).status, 200);
      // One token back after a third of the window.
      clock.advance(20_000);
      assert.equal((await call(gateway, '/orders/1', alice)).status, 200);
      assert.equal((await call(gateway, '/orders/1', alice)).status, 429);
    });
  });

  test('a flood of bad tokens does not spend a user quota: denials happen before the limit', async () => {
    const cfg = config({
      'auth/validator': validator(),
      'qos/ratelimit/router': { client_max_rate: 2, every: '1m', strategy: 'jwt', key: 'sub', max_rate: 2 },
    });
    await withGateway(cfg, async (gateway) => {
      const forged = `${(await token('alice')).slice(0, -4)}AAAA`;
      for (let i = 0; i < 10; i++) assert.equal((await call(gateway, '/orders/1', forged)).status, 401);
      for (let i = 0; i < 5; i++) assert.equal((await call(gateway, '/orders/1')).status, 401);
      const alice = await token('alice');
      // The client bucket (capacity: 2 per minute, truncated to 1 per second → 1) and the endpoint bucket are both untouched.
      assert.equal((await call(gateway, '/orders/1', alice)).status, 200);
    });
  });
});

describe('the endpoint-wide limit', () => {
  test('max_rate over all clients: 503 endpoint_rate_limited, after authorization', async () => {
    const cfg = config({ 'auth/validator': validator(), 'qos/ratelimit/router': { max_rate: 2, capacity: 2, every: '1m' } });
    await withGateway(cfg, async (gateway) => {
      assert.equal((await call(gateway, '/orders/1')).status, 401, 'no token: refused before the limit');
      assert.equal((await call(gateway, '/orders/1', await token('a'))).status, 200);
      assert.equal((await call(gateway, '/orders/1', await token('b'))).status, 200);
      const third = await call(gateway, '/orders/1', await token('c'));
      assert.equal(third.status, 503);
      assert.deepEqual(JSON.parse(third.body), { error: 'endpoint_rate_limited' });
      assert.ok(Number(third.headers.get('retry-after')) >= 1);
      assert.equal(third.headers.get('ratelimit'), null, 'the endpoint-wide count is never advertised');
    });
  });
});

describe('client limits before authorization (strategy ip)', () => {
  test('bad tokens from one address are refused with 429 once its bucket is empty, without being verified', async () => {
    const cfg = config({ 'auth/validator': validator(), 'qos/ratelimit/router': { client_max_rate: 3, every: '1m', client_capacity: 3, strategy: 'ip' } });
    await withGateway(cfg, async (gateway) => {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await call(gateway, '/orders/1', 'not.a.token')).status);
      assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
      // A valid token from the same address is refused too: the address is over its limit.
      assert.equal((await call(gateway, '/orders/1', await token('alice'))).status, 429);
    });
  });

  test('with key, the address comes from the forwarding header the proxy sets', async () => {
    const cfg = config({ 'qos/ratelimit/router': { client_max_rate: 1, every: '1m', strategy: 'ip', key: 'X-Forwarded-For' } }, {}, '/orders/{id}');
    await withGateway(cfg, async (gateway) => {
      assert.equal((await call(gateway, '/orders/1', undefined, { 'x-forwarded-for': '203.0.113.5, 10.0.0.1' })).status, 200);
      assert.equal((await call(gateway, '/orders/1', undefined, { 'x-forwarded-for': '203.0.113.5' })).status, 429);
      assert.equal((await call(gateway, '/orders/1', undefined, { 'x-forwarded-for': '203.0.113.6' })).status, 200);
    });
  });
});

describe('header and param strategies', () => {
  test('a missing key is a 429 (KrakenD): a client cannot escape its limit by leaving the header out', async () => {
    const cfg = config({ 'qos/ratelimit/router': { client_max_rate: 1, every: '1m', strategy: 'header', key: 'X-Api-Key' } });
    await withGateway(cfg, async (gateway) => {
      assert.equal((await call(gateway, '/orders/1')).status, 429);
      assert.equal((await call(gateway, '/orders/1', undefined, { 'x-api-key': 'k1' })).status, 200);
      assert.equal((await call(gateway, '/orders/1', undefined, { 'x-api-key': 'k1' })).status, 429);
      assert.equal((await call(gateway, '/orders/1', undefined, { 'x-api-key': 'k2' })).status, 200);
    });
  });

  test('param: one bucket per value of the route parameter', async () => {
    const cfg = config({ 'qos/ratelimit/router': { client_max_rate: 1, every: '1m', strategy: 'param', key: 'id' } });
    await withGateway(cfg, async (gateway) => {
      assert.equal((await call(gateway, '/orders/1')).status, 200);
      assert.equal((await call(gateway, '/orders/1')).status, 429);
      assert.equal((await call(gateway, '/orders/2')).status, 200);
    });
  });
});

describe('the service-wide limit', () => {
  test('qos/ratelimit/service counts every request before routing, unknown paths included', async () => {
    const cfg = config({}, { 'qos/ratelimit/service': { max_rate: 2, capacity: 2, every: '1m' } });
    await withGateway(cfg, async (gateway) => {
      assert.equal((await call(gateway, '/open')).status, 200);
      assert.equal((await call(gateway, '/nowhere')).status, 404);
      const third = await call(gateway, '/open');
      assert.equal(third.status, 503);
      assert.deepEqual(JSON.parse(third.body), { error: 'endpoint_rate_limited' });
      // Health stays answerable: a load balancer must not take a busy instance for a dead one.
      assert.equal((await call(gateway, '/__health')).status, 200);
    });
  });
});

describe('reloads', () => {
  test('a reload that keeps a limit keeps its buckets; one that changes it starts fresh', async () => {
    const limit = { client_max_rate: 1, every: '1m', strategy: 'header', key: 'X-Api-Key' };
    const cfg = config({ 'qos/ratelimit/router': limit });
    await withGateway(cfg, async (gateway) => {
      const headers = { 'x-api-key': 'k' };
      assert.equal((await call(gateway, '/orders/1', undefined, headers)).status, 200);
      assert.equal((await call(gateway, '/orders/1', undefined, headers)).status, 429);
      await gateway.reload(planFrom(cfg, { strict: true }));
      assert.equal((await call(gateway, '/orders/1', undefined, headers)).status, 429, 'same limit: the empty bucket stays empty');
      await gateway.reload(planFrom(config({ 'qos/ratelimit/router': { ...limit, client_max_rate: 2 } }), { strict: true }));
      assert.equal((await call(gateway, '/orders/1', undefined, headers)).status, 200, 'a new limit is a new bucket');
    });
  });
});

describe('forward-auth', () => {
  test('the same limits answer 429 with the same headers to the proxy', async () => {
    const cfg = config({
      'auth/validator': validator(),
      'qos/ratelimit/router': { client_max_rate: 1, every: '1m', strategy: 'jwt', key: 'sub' },
    });
    const server = await startForwardAuth(planFrom(cfg, { strict: true }), { proxy: 'traefik', host: '127.0.0.1', port: 0, accessLog: false });
    try {
      await server.ready();
      const alice = await token('alice');
      const check = () =>
        fetch(`${server.url}/`, { headers: { 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/orders/1', authorization: `Bearer ${alice}` } });
      assert.equal((await check()).status, 200);
      const refused = await check();
      assert.equal(refused.status, 429);
      assert.deepEqual(await refused.json(), { error: 'rate_limited' });
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);
      assert.equal(refused.headers.get('ratelimit-policy'), '"client";q=1;w=60');
    } finally {
      await server.close();
    }
  });

  test('an ip limit without a forwarding header is refused: behind a proxy every check has the proxy address', () => {
    const cfg = config({ 'qos/ratelimit/router': { client_max_rate: 1, every: '1m' } });
    return assert.rejects(
      startForwardAuth(planFrom(cfg, { strict: true }), { proxy: 'nginx', host: '127.0.0.1', port: 0, accessLog: false }),
      (error: unknown) => error instanceof ConfigError && /\["qos\/ratelimit\/router"\]\.key/.test(error.issues[0]!.path) && /X-Forwarded-For/.test(error.issues[0]!.message),
    );
  });
});

describe('configs that could not be keyed are refused with their JSON path', () => {
  const refused = (cfg: unknown, path: RegExp, message: RegExp) =>
    assert.throws(
      () => planFrom(cfg, { strict: true }),
      (error: unknown) => error instanceof ConfigError && error.issues.some((issue) => path.test(issue.path) && message.test(issue.message)),
    );

  test('strategy jwt on an endpoint without auth/validator', () =>
    refused(config({ 'qos/ratelimit/router': { client_max_rate: 1, strategy: 'jwt', key: 'sub' } }), /router"\]\/strategy|router"\]\.strategy/, /validate tokens/));
  test('strategy param naming no route parameter', () =>
    refused(config({ 'qos/ratelimit/router': { client_max_rate: 1, strategy: 'param', key: 'tenant' } }), /key/, /\{id\}/));
  test('strategy header without key', () => refused(config({ 'qos/ratelimit/router': { client_max_rate: 1, strategy: 'header' } }), /key/, /header name/));
  test('neither max_rate nor client_max_rate', () => refused(config({ 'qos/ratelimit/router': { every: '1s' } }), /ratelimit\/router/, /max_rate/));
  test('a redis limit naming no pool', () =>
    refused(config({ 'qos/ratelimit/router/redis': { client_max_rate: 1, connection_pool: 'nope' } }), /connection_pool/, /names no pool/));
  test('a service limit keyed by a claim', () =>
    refused(config({}, { 'qos/ratelimit/service': { client_max_rate: 1, strategy: 'jwt', key: 'sub' } }), /strategy/, /not the service/));
});
