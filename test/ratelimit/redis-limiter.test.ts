/**
 * The shared limiter against a real redis-server: three limiter instances,
 * each with its own connection (three gateway processes' worth), share one
 * 100-per-minute bucket per key and let exactly 100 requests through in total
 * (one atomic script per request, so there is nothing to tolerate); the
 * script gives the memory limiter's answers; and when Redis is down or frozen
 * the limiter answers by `failOpen` within the command timeout, counted and
 * with few log lines.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogLimiter } from '../../src/lib/log-limiter.js';
import { createRedisClient, type RedisClient } from '../../src/redis/client.js';
import { createMemoryLimiter } from '../../src/ratelimit/memory-limiter.js';
import { createRedisLimiter } from '../../src/ratelimit/redis-limiter.js';
import { createMemoryLogger } from '../support/logger.js';
import { rawRedisCommand, redisSkip as skip, startRedisServer, type RedisServer } from '../support/redis-server.js';

const T0 = 1_800_000_000_000;
const PER_MINUTE = { rate: 100, everyMs: 60_000, capacity: 100 } as const;

describe('Redis limiter', { skip }, () => {
  let server: RedisServer;
  const clients: RedisClient[] = [];
  const logger = createMemoryLogger();
  let prefixCounter = 0;

  const client = (overrides: { commandTimeoutMs?: number; maxOfflineQueue?: number } = {}): RedisClient => {
    const created = createRedisClient({
      url: server.url,
      connectTimeoutMs: 1000,
      commandTimeoutMs: overrides.commandTimeoutMs ?? 500,
      maxReconnectDelayMs: 100,
      logger,
      name: `limiter-${clients.length}`,
      ...(overrides.maxOfflineQueue !== undefined ? { maxOfflineQueue: overrides.maxOfflineQueue } : {}),
    });
    clients.push(created);
    return created;
  };
  const ready = (c: RedisClient) => (c.isReady() ? Promise.resolve() : new Promise<void>((resolve) => c.connection.once('ready', () => resolve())));

  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    for (const c of clients) await c.close();
    await server.close();
  });

  it('three instances sharing a 100/min key let exactly 100 of 300 concurrent requests through', async () => {
    const keyPrefix = `rl${++prefixCounter}:`;
    const instances = [client(), client(), client()].map((c) => createRedisLimiter({ client: c, keyPrefix, ...PER_MINUTE }));
    await Promise.all(clients.slice(-3).map(ready));
    // Interleaved across the three connections, all in flight at once, at one frozen instant.
    const decisions = await Promise.all(Array.from({ length: 300 }, (_, i) => instances[i % 3]!.take('user-1', T0)));
    const allowed = decisions.filter((d) => d.allowed).length;
    assert.equal(allowed, 100, 'exactly the bucket: the script reads, refills, takes and writes atomically');
    assert.deepEqual(
      [0, 1, 2].map((i) => decisions.filter((d, j) => j % 3 === i && d.allowed).length).reduce((a, b) => a + b),
      100,
    );
    const remaining = decisions.filter((d) => d.allowed).map((d) => d.remaining).sort((a, b) => a - b);
    assert.deepEqual(remaining, Array.from({ length: 100 }, (_, i) => i), 'each token was handed out once');
    for (const denied of decisions.filter((d) => !d.allowed)) assert.deepEqual(denied, { allowed: false, limit: 100, remaining: 0, resetSeconds: 60, retryAfterSeconds: 1 });

    // 600 ms later exactly one more token is back, for the fleet as a whole.
    const later = await Promise.all(Array.from({ length: 30 }, (_, i) => instances[i % 3]!.take('user-1', T0 + 600)));
    assert.equal(later.filter((d) => d.allowed).length, 1);
    // Other keys have buckets of their own.
    assert.equal((await instances[1]!.take('user-2', T0)).remaining, 99);
    assert.deepEqual(instances.map((l) => l.stats().answered).reduce((a, b) => a + b), 331);
  });

  it('gives the same decisions as the memory limiter for the same requests', async () => {
    const spec = { rate: 7, everyMs: 3000, capacity: 10 };
    const shared = createRedisLimiter({ client: client(), keyPrefix: `rl${++prefixCounter}:`, ...spec });
    await ready(clients.at(-1)!);
    const local = createMemoryLimiter(spec);
    let now = T0;
    let state = 12345;
    // A fixed pseudo-random walk of gaps between 0 and 900 ms.
    const next = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) % 901);
    for (let i = 0; i < 200; i++) {
      now += next();
      assert.deepEqual(await shared.take('k', now), local.take('k', now), `request ${i} at +${now - T0} ms`);
    }
  });

  it('namespaces keys, hashes long client keys, and lets idle buckets expire', async () => {
    const keyPrefix = `rl${++prefixCounter}:endpoint-a:`;
    const limiter = createRedisLimiter({ client: client(), keyPrefix, ...PER_MINUTE });
    await ready(clients.at(-1)!);
    assert.equal(limiter.redisKey('U1'), `${keyPrefix}U1`);
    const long = 'x'.repeat(5000);
    assert.match(limiter.redisKey(long), new RegExp(`^${keyPrefix}sha256:[A-Za-z0-9_-]{43}$`));
    await limiter.take(long, T0);
    await limiter.take('U1', T0);
    const ttl = Number((await rawRedisCommand(server.port, 'PTTL', limiter.redisKey('U1'))).slice(1));
    // One token spent refills in 600 ms; the key lives that long plus a second, then the bucket is full anyway.
    assert.ok(ttl > 0 && ttl <= 1600, `PTTL ${ttl}`);
    assert.equal(await rawRedisCommand(server.port, 'EXISTS', limiter.redisKey(long)), ':1\r\n');
  });

  it('Redis down: fail-open allows and fail-closed refuses, at once, counted, with few log lines', async () => {
    const c = client();
    await ready(c);
    const keyPrefix = `rl${++prefixCounter}:`;
    const frozen = { now: () => T0 };
    const logLimiter = createLogLimiter({ ratePerSecond: 1, burst: 3, clock: frozen, schedule: () => undefined, onSuppressed: () => undefined });
    const open = createRedisLimiter({ client: c, keyPrefix, ...PER_MINUTE, failOpen: true, logger, logLimiter });
    const closed = createRedisLimiter({ client: c, keyPrefix, ...PER_MINUTE, failOpen: false, logger });
    const linesBefore = logger.text().split('\n').filter((line) => line.includes('rate limiter: redis unavailable')).length;
    await server.stop();
    if (c.connection.status === 'ready') await new Promise((resolve) => c.connection.once('close', resolve));
    try {
      for (let i = 0; i < 20; i++) {
        assert.deepEqual(await open.take('k', T0), { allowed: true, limit: 100, remaining: 100, resetSeconds: 0, degraded: true, reason: 'redis_not_connected' });
      }
      assert.deepEqual(await closed.take('k', T0), { allowed: false, limit: 100, remaining: 0, resetSeconds: 0, retryAfterSeconds: 1, degraded: true, reason: 'redis_not_connected' });
      assert.deepEqual(open.stats(), { answered: 0, failures: { redis_not_connected: 20 }, failedOpen: 20, failedClosed: 0 });
      assert.deepEqual(closed.stats(), { answered: 0, failures: { redis_not_connected: 1 }, failedOpen: 0, failedClosed: 1 });
      const lines = logger.text().split('\n').filter((line) => line.includes('rate limiter: redis unavailable')).length - linesBefore;
      assert.equal(lines, 3 + 1, 'the log limiter let 3 of the 20 fail-open lines through, plus the fail-closed one');
    } finally {
      await server.restart();
    }
  });

  it('a frozen Redis costs a request the command timeout, then the failOpen answer (reason redis_timeout)', { timeout: 10_000 }, async () => {
    const c = client({ commandTimeoutMs: 150 });
    await ready(c);
    const open = createRedisLimiter({ client: c, keyPrefix: `rl${++prefixCounter}:`, ...PER_MINUTE, failOpen: true });
    const closed = createRedisLimiter({ client: c, keyPrefix: `rl${prefixCounter}:`, ...PER_MINUTE, failOpen: false });
    server.pause();
    try {
      const [a, b] = await Promise.all([open.take('k', T0), closed.take('k', T0)]);
      assert.equal(a.allowed, true);
      assert.equal(a.reason, 'redis_timeout');
      assert.equal(b.allowed, false);
      assert.equal(b.reason, 'redis_timeout');
    } finally {
      server.resume();
    }
  });

  it('with a bounded offline queue, requests past the bound are answered at once (redis_offline_queue_full)', async () => {
    const c = client({ maxOfflineQueue: 1, commandTimeoutMs: 200 });
    await ready(c);
    const limiter = createRedisLimiter({ client: c, keyPrefix: `rl${++prefixCounter}:`, ...PER_MINUTE, failOpen: false });
    await server.stop();
    if (c.connection.status === 'ready') await new Promise((resolve) => c.connection.once('close', resolve));
    try {
      const [queued, overflow] = await Promise.all([limiter.take('k', T0), limiter.take('k', T0)]);
      assert.equal(overflow.reason, 'redis_offline_queue_full');
      assert.equal(queued.reason, 'redis_timeout', 'the queued one waited for the reconnect, bounded by the command timeout');
      assert.equal(queued.allowed || overflow.allowed, false);
    } finally {
      await server.restart();
    }
  });
});
