/**
 * The acceptance test for rate limits shared by a fleet: three
 * `portcullis run` processes with one `qos/ratelimit/router/redis` block
 * (100 per minute per `sub`, bucket of 100) on a validated endpoint, one real
 * redis-server. A user's quota is one quota however the load balancer spreads
 * her requests: 300 requests round-robin across the three gateways get 100
 * answers plus at most what the bucket refilled while they ran (not 300),
 * and the rest a 429 that says why and when to come back. Requests with
 * tokens that fail verification (forged for her `sub`, or expired) are
 * refused before the limit and spend nothing of her quota, and another
 * user's bucket is untouched.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackendServer, type BackendServer } from '../support/backend-server.js';
import { startGatewayProcess, type FleetAnswer, type GatewayProcess } from '../support/gateway-fleet.js';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { rawRedisCommand, redisSkip as skip, startRedisServer, type RedisServer } from '../support/redis-server.js';

const QUOTA = 100;
const WINDOW_MS = 60_000;
const REQUESTS = 300;
const CONCURRENCY = 10;
const POLICY = `"client";q=${QUOTA};w=60`;

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

interface Tally {
  answers: FleetAnswer[];
  /** Date.now() before the first request was sent and after the last answer arrived. */
  startedAt: number;
  endedAt: number;
}

const count = (answers: readonly FleetAnswer[], status: number): number => answers.filter((answer) => answer.status === status).length;

describe('a per-subject rate limit shared by three gateway processes through Redis', { skip }, () => {
  let dir: string;
  let redis: RedisServer;
  let jwks: JwksServer;
  let backend: BackendServer;
  let key: TestSigningKey;
  const fleet: GatewayProcess[] = [];

  const token = (sub: string, signer = key, iat = nowSeconds()): Promise<string> => mintToken(signer, { sub, iat, exp: iat + 600 });

  /** `total` requests, request i to gateway i mod 3, `CONCURRENCY` in flight at a time. */
  async function spread(total: number, bearer: (i: number) => string): Promise<Tally> {
    const answers: FleetAnswer[] = new Array(total);
    let next = 0;
    const startedAt = Date.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < total; i = next++) answers[i] = await fleet[i % fleet.length]!.get('/api', bearer(i));
      }),
    );
    return { answers, startedAt, endedAt: Date.now() };
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-fleet-ratelimit-'));
    [redis, jwks, backend, key] = await Promise.all([startRedisServer(), startJwksServer(), startBackendServer(), generateSigningKey('fleet-key')]);
    jwks.setKeys(jwksOf(key));
    const config = join(dir, 'fleet.json');
    writeFileSync(
      config,
      JSON.stringify({
        version: 3,
        host: [backend.url],
        extra_config: {
          // A generous command timeout: on a loaded machine a timeout would fail open and blur the count.
          redis: { connection_pools: [{ name: 'shared', address: `127.0.0.1:${redis.port}`, read_timeout: '2s' }] },
        },
        endpoints: [
          {
            endpoint: '/api',
            extra_config: {
              'auth/validator': { alg: 'RS256', jwk_url: jwks.url('/jwks') },
              'qos/ratelimit/router/redis': { client_max_rate: QUOTA, every: '1m', client_capacity: QUOTA, strategy: 'jwt', key: 'sub', connection_pool: 'shared' },
            },
            backend: [{ url_pattern: '/api' }],
          },
        ],
      }),
    );
    const started = await Promise.allSettled([startGatewayProcess(config), startGatewayProcess(config), startGatewayProcess(config)]);
    for (const result of started) if (result.status === 'fulfilled') fleet.push(result.value);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  });

  after(async () => {
    await Promise.all(fleet.map((gateway) => gateway.stop()));
    await Promise.all([redis?.close(), jwks?.close(), backend?.close()]);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("a flood of tokens that fail verification is refused with 401 and spends no one's quota", async (t: TestContext) => {
    const attacker = await generateSigningKey('fleet-key');
    const forged = await token('alice', attacker);
    const expired = await mintToken(key, { sub: 'alice', iat: nowSeconds() - 1200, exp: nowSeconds() - 600 });
    const flood = await spread(150, (i) => (i % 2 === 0 ? forged : expired));
    assert.equal(count(flood.answers, 401), 150, `every request refused: ${flood.answers.find((answer) => answer.status !== 401)?.text}`);
    for (const answer of flood.answers) {
      assert.ok(answer.code === 'signature_invalid' || answer.code === 'token_expired', answer.text);
      assert.equal(answer.headers['ratelimit'], undefined, 'refused before the limit: no quota is advertised or spent');
    }
    const keys = await rawRedisCommand(redis.port, 'KEYS', '*ratelimit*');
    assert.match(keys, /^\*0\r\n/, `no bucket was created in Redis: ${keys}`);
    t.diagnostic(`unauthenticated flood: ${count(flood.answers, 401)} × 401 of ${flood.answers.length}`);
  });

  it('300 requests for alice spread over the three gateways get her quota once, not three times', async (t: TestContext) => {
    const alice = await token('alice');
    const run = await spread(REQUESTS, () => alice);
    const elapsedMs = run.endedAt - run.startedAt;
    // The bucket starts full at the first take and refills 100 per minute after it.
    const refillBound = Math.floor((elapsedMs * QUOTA) / WINDOW_MS);
    const ok = count(run.answers, 200);
    const limited = count(run.answers, 429);
    t.diagnostic(`alice: ${ok} × 200, ${limited} × 429 of ${REQUESTS} in ${elapsedMs} ms (bound ${QUOTA} + ${refillBound} refilled)`);
    t.diagnostic(`per gateway 200s: ${fleet.map((_, g) => run.answers.filter((answer, i) => i % fleet.length === g && answer.status === 200).length).join(', ')}`);
    assert.equal(ok + limited, REQUESTS, `only 200 and 429: ${run.answers.find((answer) => answer.status !== 200 && answer.status !== 429)?.text}`);
    assert.ok(ok >= QUOTA, `the whole quota was served: ${ok}`);
    assert.ok(ok <= QUOTA + refillBound, `at most the quota plus the refill: ${ok} > ${QUOTA} + ${refillBound}`);
    assert.ok(fleet.every((_, g) => run.answers.some((answer, i) => i % fleet.length === g && answer.status === 429)), 'every gateway refused some: one bucket for all');

    for (const answer of run.answers) {
      assert.equal(answer.headers['ratelimit-policy'], POLICY);
      if (answer.status === 200) {
        assert.match(String(answer.headers['ratelimit']), /^"client";r=\d+;t=\d+$/);
        continue;
      }
      assert.equal(answer.text, '{"error":"rate_limited"}');
      assert.match(String(answer.headers['content-type']), /^application\/json/);
      const retryAfter = Number(answer.headers['retry-after']);
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After: ${answer.headers['retry-after']}`);
      const current = /^"client";r=0;t=(\d+)$/.exec(String(answer.headers['ratelimit']));
      assert.ok(current !== null, `RateLimit: ${answer.headers['ratelimit']}`);
      assert.ok(Number(current[1]) >= 1, 't points at the next token');
    }
  });

  it("carol's requests are unaffected by alice's exhausted quota", async (t: TestContext) => {
    const carol = await token('carol');
    const alice = await token('alice');
    const run = await spread(30, (i) => (i % 10 === 0 ? alice : carol));
    const carols = run.answers.filter((_, i) => i % 10 !== 0);
    assert.equal(count(carols, 200), carols.length, `carol: ${carols.find((answer) => answer.status !== 200)?.text}`);
    assert.deepEqual(
      carols.map((answer) => /r=(\d+)/.exec(String(answer.headers['ratelimit']))?.[1]).every((r) => r !== undefined && Number(r) >= QUOTA - carols.length),
      true,
      'her own bucket, counting down from her own quota',
    );
    t.diagnostic(`carol: ${count(carols, 200)} × 200 of ${carols.length}; alice meanwhile: ${count(run.answers.filter((_, i) => i % 10 === 0), 429)} × 429 of 3`);
  });
});
