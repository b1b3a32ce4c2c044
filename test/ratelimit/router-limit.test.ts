/**
 * KrakenD's `qos/ratelimit/router` semantics: who a client limit counts
 * (strategies ip, header, param and jwt), the order of the two limits (client
 * first, so a refused client spends no endpoint token), the statuses (429 for
 * a client, 503 for the endpoint, 429 with no client key), and the headers,
 * seen through a real node:http server on 127.0.0.1 as a front door would
 * use it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { clientKeyReader } from '../../src/ratelimit/client-key.js';
import type { Decision, Limiter } from '../../src/ratelimit/limiter.js';
import { createMemoryLimiter } from '../../src/ratelimit/memory-limiter.js';
import { createRouterRateLimit, ENDPOINT_KEY, type RouterRateLimit } from '../../src/ratelimit/router-limit.js';

const T0 = 1_800_000_000_000;

describe('client keys', () => {
  it('ip: the peer address, IPv4-mapped addresses unmapped', () => {
    const read = clientKeyReader('ip');
    assert.equal(read({ remoteAddress: '::ffff:10.1.2.3', headers: {} }), '10.1.2.3');
    assert.equal(read({ remoteAddress: '2001:db8::1', headers: { 'x-forwarded-for': '1.1.1.1' } }), '2001:db8::1', 'no key: headers are ignored');
    assert.equal(read({ headers: {} }), undefined);
  });

  it('ip with a key: the first address of that header when it is one, else the peer', () => {
    const read = clientKeyReader('ip', 'X-Forwarded-For');
    assert.equal(read({ remoteAddress: '10.0.0.9', headers: { 'x-forwarded-for': '203.0.113.7, 10.0.0.1' } }), '203.0.113.7');
    assert.equal(read({ remoteAddress: '10.0.0.9', headers: { 'x-forwarded-for': '203.0.113.7:5123' } }), '203.0.113.7');
    assert.equal(read({ remoteAddress: '10.0.0.9', headers: { 'x-forwarded-for': '2001:db8::7' } }), '2001:db8::7');
    assert.equal(read({ remoteAddress: '10.0.0.9', headers: { 'x-forwarded-for': 'unknown' } }), '10.0.0.9');
    assert.equal(read({ remoteAddress: '10.0.0.9', headers: {} }), '10.0.0.9');
  });

  it('header and param: the value; absent, empty or repeated is no key', () => {
    const header = clientKeyReader('header', 'X-Api-Key');
    assert.equal(header({ headers: { 'x-api-key': 'k1' } }), 'k1');
    assert.equal(header({ headers: { 'x-api-key': '' } }), undefined);
    assert.equal(header({ headers: { 'x-api-key': ['a', 'b'] } }), undefined);
    assert.equal(header({ headers: {} }), undefined);
    const param = clientKeyReader('param', 'tenant');
    assert.equal(param({ headers: {}, params: { tenant: 'acme' } }), 'acme');
    assert.equal(param({ headers: {}, params: {} }), undefined);
    assert.equal(clientKeyReader('param', 'constructor')({ headers: {}, params: {} }), undefined, 'never Object.prototype');
    assert.throws(() => clientKeyReader('header'), /needs the header name/);
  });

  it('jwt: a claim by name or dot path, as text; objects, arrays and empty values are no key', () => {
    assert.equal(clientKeyReader('jwt', 'sub')({ headers: {}, claims: { sub: 'U1' } }), 'U1');
    assert.equal(clientKeyReader('jwt', 'org.id')({ headers: {}, claims: { org: { id: 42 } } }), '42');
    assert.equal(clientKeyReader('jwt', 'dct')({ headers: {}, claims: { dct: '' } }), undefined);
    assert.equal(clientKeyReader('jwt', 'roles')({ headers: {}, claims: { roles: ['a'] } }), undefined);
    assert.equal(clientKeyReader('jwt', 'sub')({ headers: {} }), undefined, 'no verified token');
    assert.equal(clientKeyReader('jwt', 'https://x.example/org')({ headers: {}, claims: { 'https://x.example/org': 'o1' } }), 'o1');
    assert.throws(() => clientKeyReader('cookie' as 'ip', 'x'), /unknown rate-limit strategy/);
  });
});

describe('router rate limit through a real HTTP server', () => {
  let server: Server;
  let base: string;
  let limit: RouterRateLimit;
  let endpointTakes = 0;
  let nowMs = T0;

  before(async () => {
    const endpointBucket = createMemoryLimiter({ rate: 3, everyMs: 60_000, capacity: 3 });
    const endpoint: Limiter = {
      take(key, at) {
        endpointTakes++;
        assert.equal(key, ENDPOINT_KEY);
        return endpointBucket.take(key, at);
      },
    };
    limit = createRouterRateLimit({
      endpoint,
      client: { limiter: createMemoryLimiter({ rate: 2, everyMs: 60_000, capacity: 2 }), keyOf: clientKeyReader('header', 'X-Client') },
      headers: { policy: { name: 'client', quota: 2, windowMs: 60_000 } },
    });
    server = createServer((req, res) => {
      const outcome = limit.check({ remoteAddress: req.socket.remoteAddress, headers: req.headers }, nowMs);
      assert.ok(!(outcome instanceof Promise), 'memory limiters answer synchronously');
      if (outcome.allowed) res.writeHead(200, outcome.headers).end('ok');
      else res.writeHead(outcome.status, { ...outcome.headers, 'x-reason': outcome.reason }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const get = async (client?: string) => {
    const answer = await request(`${base}/limited`, { headers: client === undefined ? {} : { 'x-client': client } });
    await answer.body.dump();
    return { status: answer.statusCode, headers: answer.headers };
  };

  it('client limit 429 first, endpoint limit 503 after, no key 429; a refused client spends no endpoint token', async () => {
    const a1 = await get('alice');
    assert.equal(a1.status, 200);
    assert.equal(a1.headers['ratelimit-policy'], '"client";q=2;w=60');
    assert.equal(a1.headers['ratelimit'], '"client";r=1;t=30');
    assert.equal((await get('alice')).status, 200);
    const a3 = await get('alice');
    assert.equal(a3.status, 429);
    assert.equal(a3.headers['x-reason'], 'client_limit');
    assert.equal(a3.headers['retry-after'], '30');
    assert.equal(a3.headers['ratelimit'], '"client";r=0;t=30');
    assert.equal(endpointTakes, 2, 'the refused request did not reach the endpoint bucket');

    const none = await get();
    assert.equal(none.status, 429);
    assert.equal(none.headers['x-reason'], 'no_client_key');
    assert.equal(none.headers['ratelimit'], undefined);

    assert.equal((await get('bob')).status, 200, 'the endpoint bucket (3) has one token left');
    const b2 = await get('bob');
    assert.equal(b2.status, 503);
    assert.equal(b2.headers['x-reason'], 'endpoint_limit');
    assert.equal(b2.headers['retry-after'], '20');
    assert.equal(b2.headers['ratelimit'], '"client";r=0;t=60', "bob's own count, not the endpoint's");

    nowMs += 20_000;
    assert.equal((await get('carol')).status, 200, 'one endpoint token is back after 20 s');
  });
});

describe('router rate limit with limiters that could not decide', () => {
  const degraded = (allowed: boolean): Limiter => ({
    take: async (): Promise<Decision> =>
      allowed
        ? { allowed: true, limit: 5, remaining: 5, resetSeconds: 0, degraded: true, reason: 'redis_timeout' }
        : { allowed: false, limit: 5, remaining: 0, resetSeconds: 0, retryAfterSeconds: 1, degraded: true, reason: 'redis_timeout' },
  });

  it('fail-open passes with the reason noted; fail-closed answers 503 limiter_unavailable with Retry-After', async () => {
    const keyOf = clientKeyReader('jwt', 'sub');
    const open = createRouterRateLimit({ client: { limiter: degraded(true), keyOf } });
    assert.deepEqual(await open.check({ headers: {}, claims: { sub: 'U1' } }, T0), { allowed: true, headers: {}, degraded: 'redis_timeout' });
    const closed = createRouterRateLimit({ client: { limiter: degraded(false), keyOf } });
    assert.deepEqual(await closed.check({ headers: {}, claims: { sub: 'U1' } }, T0), {
      allowed: false,
      status: 503,
      reason: 'limiter_unavailable',
      detail: 'redis_timeout',
      headers: { 'retry-after': '1' },
    });
    const endpointClosed = createRouterRateLimit({ endpoint: degraded(false) });
    const outcome = await endpointClosed.check({ headers: {} }, T0);
    assert.equal(outcome.allowed === false && outcome.status, 503);
    assert.throws(() => createRouterRateLimit({}), /needs max_rate or client_max_rate/);
  });
});
