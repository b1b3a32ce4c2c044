/**
 * The Redis revocation store against a real redis-server, with several store
 * instances in this process (each with its own two connections, as separate
 * gateway processes would have): a revocation made on one reaches the others
 * by pub/sub (the propagation time is measured and reported, not asserted),
 * revoke-before-T, jti and tenant semantics hold on every instance, entries
 * merge and expire in Redis, and a Redis restart in the middle leaves the
 * last set enforced (state `stale`), then reloads everything Redis holds,
 * including what was written while the instance was away.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { RedisUnavailableError } from '../../src/redis/client.js';
import { createRedisRevocationStore, type RedisRevocationStore, type RevocationEvent } from '../../src/revocation/redis-store.js';
import type { RevocationEntry } from '../../src/revocation/entry.js';
import type { RevocationStoreState } from '../../src/revocation/store.js';
import { createMemoryLogger, type MemoryLogger } from '../support/logger.js';
import { rawRedisCommand, redisSkip as skip, startRedisServer, type RedisServer } from '../support/redis-server.js';

const nowSeconds = () => Math.floor(Date.now() / 1000);

function waitFor(store: RedisRevocationStore, predicate: (event: RevocationEvent) => boolean): Promise<RevocationEvent> {
  return new Promise((resolve) => {
    const stop = store.watch((event) => {
      if (predicate(event)) {
        stop();
        resolve(event);
      }
    });
  });
}

const applied = (store: RedisRevocationStore, value: string) =>
  waitFor(store, (event) => event.type === 'applied' && event.source === 'message' && event.entry.value === value);

async function reachState(store: RedisRevocationStore, state: RevocationStoreState): Promise<void> {
  if (store.status().state === state) return;
  await waitFor(store, (event) => event.type === 'state' && event.status.state === state);
}

/**
 * A TCP proxy to Redis that, on the connection that sends HGETALL (the reload),
 * holds Redis's answers until `release()`: the reload is then in flight for as
 * long as the test wants, while the subscriber connection keeps flowing.
 */
async function startReloadHoldingProxy(redisPort: number): Promise<{ port: number; holding: Promise<void>; release(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let markHolding!: () => void;
  const holding = new Promise<void>((resolve) => (markHolding = resolve));
  const server: Server = createServer((client) => {
    const upstream = connect(redisPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let hold = false;
    const held: Buffer[] = [];
    client.on('data', (chunk: Buffer) => {
      if (!hold && /hgetall/i.test(chunk.toString('latin1'))) {
        hold = true;
        markHolding();
        void released.then(() => {
          for (const part of held) client.write(part);
          hold = false;
        });
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => (hold ? held.push(chunk) : client.write(chunk)));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    holding,
    release: () => release(),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe('Redis revocation store', { skip }, () => {
  let server: RedisServer;
  let logger: MemoryLogger;
  const stores: RedisRevocationStore[] = [];
  let prefixCounter = 0;

  before(async () => {
    server = await startRedisServer();
    logger = createMemoryLogger();
  });
  after(async () => {
    for (const store of stores) await store.close();
    await server.close();
  });

  /** `count` instances sharing one key prefix (a fleet), all synced. */
  async function fleet(count: number, overrides: { clock?: { now(): number }; prefix?: string } = {}): Promise<RedisRevocationStore[]> {
    const prefix = overrides.prefix ?? `t${++prefixCounter}:`;
    const created = Array.from({ length: count }, (_, i) =>
      createRedisRevocationStore({
        redis: { url: server.url, connectTimeoutMs: 1000, commandTimeoutMs: 500, maxReconnectDelayMs: 100, logger, name: `instance-${i}` },
        keyPrefix: prefix,
        logger,
        ...(overrides.clock ? { clock: overrides.clock } : {}),
        purgeIntervalMs: 0,
      }),
    );
    stores.push(...created);
    await Promise.all(created.map((store) => store.ready()));
    return created;
  }

  it('a revocation on one instance reaches three others by pub/sub (propagation measured)', async (t: TestContext) => {
    const [a, ...subscribers] = await fleet(4);
    const samples: number[] = [];
    for (let i = 0; i < 20; i++) {
      const value = `U-prop-${i}`;
      const started = performance.now();
      const seen = subscribers.map((store) => applied(store, value).then(() => performance.now() - started));
      await a!.revoke({ kind: 'sub', value, expiresAt: nowSeconds() + 600 });
      samples.push(...(await Promise.all(seen)));
      for (const store of subscribers) assert.equal(store.set.isRevoked({ sub: value, iat: nowSeconds() }), true);
    }
    samples.sort((x, y) => x - y);
    const median = percentile(samples, 50);
    const p95 = percentile(samples, 95);
    // Reported, not asserted: wall-clock figures do not belong in assertions on a shared machine.
    t.diagnostic(`propagation over ${samples.length} deliveries (20 revocations × 3 subscribers): median ${median.toFixed(2)} ms, p95 ${p95.toFixed(2)} ms, max ${samples.at(-1)!.toFixed(2)} ms`);
    console.log(`revocation propagation: median ${median.toFixed(2)} ms, p95 ${p95.toFixed(2)} ms, max ${samples.at(-1)!.toFixed(2)} ms (n=${samples.length})`);
  });

  it('a revocation published while a reload is in flight is not lost when the reloaded set replaces the old one', async () => {
    const prefix = `race${++prefixCounter}:`;
    const [a] = await fleet(1, { prefix });
    await a!.revoke({ kind: 'jti', value: 'J-before-reload', expiresAt: nowSeconds() + 600 });
    const proxy = await startReloadHoldingProxy(server.port);
    const b = createRedisRevocationStore({
      redis: { url: `redis://127.0.0.1:${proxy.port}`, connectTimeoutMs: 1000, commandTimeoutMs: 5000, logger, name: 'reloading' },
      keyPrefix: prefix,
      logger,
      purgeIntervalMs: 0,
    });
    stores.push(b);
    try {
      await proxy.holding;
      // B is subscribed and its HGETALL has been answered by Redis, but the answer is held back.
      const arrived = applied(b, 'J-during-reload');
      await a!.revoke({ kind: 'jti', value: 'J-during-reload', expiresAt: nowSeconds() + 600 });
      await arrived;
      assert.equal(b.status().state, 'connecting', 'the reload has not finished');
      proxy.release();
      await b.ready();
      assert.equal(b.set.isRevoked({ jti: 'J-before-reload' }), true, 'from the reload');
      assert.equal(b.set.isRevoked({ jti: 'J-during-reload' }), true, 'from the message, kept across the swap');
    } finally {
      await b.close();
      await proxy.close();
    }
  });

  it('revoke-before-T, jti and tenant semantics hold on every instance', async () => {
    const [a, b, c] = await fleet(3);
    const T = nowSeconds();
    const expiresAt = T + 3600;
    const arrivals = [b!, c!].flatMap((store) => ['U-T', 'J-1', 'T-acme', 'S-1'].map((value) => applied(store, value)));
    await a!.revoke({ kind: 'sub', value: 'U-T', before: T, expiresAt });
    await b!.revoke({ kind: 'jti', value: 'J-1', expiresAt });
    await c!.revoke({ kind: 'tenant', value: 'T-acme', before: T, expiresAt });
    await a!.revoke({ kind: 'claim', claim: 'sid', value: 'S-1', expiresAt });
    await Promise.all(arrivals);
    for (const store of [a!, b!, c!]) {
      assert.equal(store.set.isRevoked({ sub: 'U-T', iat: T - 1 }), true, 'issued before T');
      assert.equal(store.set.isRevoked({ sub: 'U-T', iat: T }), false, 'issued at T or later');
      assert.equal(store.set.isRevoked({ sub: 'U-T' }), true, 'no iat counts as before');
      assert.equal(store.set.isRevoked({ sub: 'U-other', jti: 'J-1', iat: T + 5 }), true);
      assert.equal(store.set.isRevoked({ sub: 'U-other', jti: 'J-2', iat: T - 5 }), false);
      assert.equal(store.set.isRevoked({ dct: 'T-acme', iat: T - 1 }), true);
      assert.equal(store.set.isRevoked({ tenants: { 'T-acme': {} }, iat: T - 1 }), true);
      assert.equal(store.set.isRevoked({ tenants: { 'T-acme': {} }, iat: T + 1 }), false);
      assert.equal(store.set.isRevoked({ sid: 'S-1', iat: T + 99 }), true);
      assert.equal(store.set.size, 4);
    }
    assert.deepEqual(
      (await b!.list()).sort((x, y) => x.value.localeCompare(y.value)),
      [
        { kind: 'jti', value: 'J-1', expiresAt },
        { kind: 'claim', claim: 'sid', value: 'S-1', expiresAt },
        { kind: 'tenant', value: 'T-acme', before: T, expiresAt },
        { kind: 'sub', value: 'U-T', before: T, expiresAt },
      ],
    );
  });

  it('entries for the same token property merge atomically in Redis: the later before and expiry win everywhere', async () => {
    const [a, b] = await fleet(2);
    const T = nowSeconds();
    const later = waitFor(b!, (event) => event.type === 'applied' && event.source === 'message' && event.entry.before === T);
    await a!.revoke({ kind: 'sub', value: 'U-merge', before: T, expiresAt: T + 100 });
    await later;
    const merged = waitFor(a!, (event) => event.type === 'applied' && event.source === 'message' && event.entry.value === 'U-merge' && event.entry.expiresAt === T + 500);
    await b!.revoke({ kind: 'sub', value: 'U-merge', before: T - 50, expiresAt: T + 500 });
    const expected: RevocationEntry = { kind: 'sub', value: 'U-merge', before: T, expiresAt: T + 500 };
    assert.deepEqual((await merged).type === 'applied' && (await merged as Extract<RevocationEvent, { type: 'applied' }>).entry, expected);
    assert.deepEqual(await a!.list(), [expected]);
    assert.deepEqual(a!.set.entries(), [expected]);
    assert.deepEqual(b!.set.entries(), [expected]);
  });

  it('expired entries are purged from Redis and from memory, and never come back with a reload', async () => {
    let nowMs = nowSeconds() * 1000;
    const clock = { now: () => nowMs };
    const prefix = `purge${++prefixCounter}:`;
    const [a, b] = await fleet(2, { clock, prefix });
    const T = nowMs / 1000;
    const arrival = applied(b!, 'J-short');
    await a!.revoke({ kind: 'jti', value: 'J-short', expiresAt: T + 10 });
    await a!.revoke({ kind: 'jti', value: 'J-long', expiresAt: T + 1000 });
    await a!.revoke({ kind: 'jti', value: 'J-dead', expiresAt: T - 1 });
    await arrival;
    assert.equal(await rawRedisCommand(server.port, 'HLEN', `${prefix}revocations`), ':2\r\n', 'an entry already expired is not stored');

    nowMs += 11_000;
    assert.equal(await b!.purgeRedis(), 1);
    assert.equal(await rawRedisCommand(server.port, 'HLEN', `${prefix}revocations`), ':1\r\n');
    assert.equal(await rawRedisCommand(server.port, 'ZCARD', `${prefix}revocations:expiry`), ':1\r\n');
    assert.equal(await b!.purgeRedis(), 0, 'idempotent: every instance may run it');
    assert.equal(b!.set.purgeExpired(nowMs / 1000), 1);
    assert.equal(b!.set.isRevoked({ jti: 'J-short' }), false);
    assert.equal(b!.set.isRevoked({ jti: 'J-long' }), true);

    // An entry expired by the instance's clock but not yet purged in Redis is not loaded.
    await rawRedisCommand(server.port, 'HSET', `${prefix}revocations`, 'jti::J-stale', JSON.stringify({ kind: 'jti', value: 'J-stale', expiresAt: T + 1 }));
    const [c] = await fleet(1, { clock, prefix });
    assert.equal(c!.set.isRevoked({ jti: 'J-stale' }), false);
    assert.equal(c!.set.isRevoked({ jti: 'J-long' }), true);
  });

  it('ignores malformed messages and skips malformed entries on reload, without crashing or revoking', async () => {
    const prefix = `bad${++prefixCounter}:`;
    const [a] = await fleet(1, { prefix });
    await rawRedisCommand(server.port, 'PUBLISH', `${prefix}revocations`, 'not json');
    await rawRedisCommand(server.port, 'PUBLISH', `${prefix}revocations`, JSON.stringify({ kind: 'email', value: 'x', expiresAt: nowSeconds() + 60 }));
    // A good message after the bad ones: once it is applied, the bad ones were handled before it.
    const good = applied(a!, 'J-good');
    await rawRedisCommand(server.port, 'PUBLISH', `${prefix}revocations`, JSON.stringify({ kind: 'jti', value: 'J-good', expiresAt: nowSeconds() + 60 }));
    await good;
    assert.equal(a!.set.size, 1);
    assert.match(logger.text(), /ignored a malformed revocation message/);

    await rawRedisCommand(server.port, 'HSET', `${prefix}revocations`, 'junk', '{"kind":"sub"');
    const [b] = await fleet(1, { prefix });
    assert.equal(b!.set.size, 0, 'J-good was only published, never stored');
    assert.match(logger.text(), /skipped malformed revocation entries in Redis.*"skipped":1/);
    assert.equal(b!.status().state, 'synced');
  });

  it('survives a Redis restart: the last set is enforced while stale, then everything Redis holds is reloaded', async () => {
    const prefix = `restart${++prefixCounter}:`;
    const [a, b] = await fleet(2, { prefix });
    const expiresAt = nowSeconds() + 3600;
    const seen = applied(b!, 'U-before-outage');
    await a!.revoke({ kind: 'sub', value: 'U-before-outage', expiresAt });
    await seen;
    const syncedAt = b!.status().lastSyncAt!;
    assert.equal(b!.status().state, 'synced');
    assert.equal(b!.isFresh(Date.now(), 1), true, 'synced is fresh whatever the bound');
    await server.save();

    const stale = reachState(b!, 'stale');
    await server.stop();
    await stale;
    const down = b!.status();
    assert.equal(down.state, 'stale');
    assert.equal(down.lastSyncAt, syncedAt, 'lastSyncAt stays put while Redis is away');
    assert.equal(b!.set.isRevoked({ sub: 'U-before-outage', iat: nowSeconds() }), true, 'the last known set is still enforced');
    assert.equal(b!.isFresh(down.staleSince! + 5000, 5000), true, 'within the staleness bound');
    assert.equal(b!.isFresh(down.staleSince! + 5001, 5000), false, 'past it: fail_closed refuses');
    await assert.rejects(a!.revoke({ kind: 'sub', value: 'U-during-outage', expiresAt }), RedisUnavailableError);

    // While the fleet is away, something is written to Redis's data set behind its back (another
    // region, an operator, a replica promoted with more data): a second server on the same data
    // dir and another port, so the instances cannot see it until they reload.
    const offline = await startRedisServer({ dir: server.dir });
    const entry = JSON.stringify({ kind: 'jti', value: 'J-written-while-away', expiresAt });
    await rawRedisCommand(offline.port, 'HSET', `${prefix}revocations`, 'jti::J-written-while-away', entry);
    await rawRedisCommand(offline.port, 'ZADD', `${prefix}revocations:expiry`, String(expiresAt), 'jti::J-written-while-away');
    await offline.save();
    await offline.close();

    const synced = reachState(b!, 'synced');
    await server.restart();
    await synced;
    await reachState(a!, 'synced');
    const up = b!.status();
    assert.equal(up.staleSince, undefined);
    assert.ok(up.lastSyncAt! >= syncedAt);
    for (const store of [a!, b!]) {
      assert.equal(store.set.isRevoked({ sub: 'U-before-outage', iat: nowSeconds() }), true, 'nothing lost');
      assert.equal(store.set.isRevoked({ jti: 'J-written-while-away' }), true, 'picked up by the reload');
      assert.equal(store.set.isRevoked({ sub: 'U-during-outage', iat: nowSeconds() }), false, 'that revoke was refused, not silently dropped');
    }

    // And the subscription works again.
    const after = applied(b!, 'U-after-outage');
    await a!.revoke({ kind: 'sub', value: 'U-after-outage', expiresAt });
    await after;
    assert.equal(b!.set.isRevoked({ sub: 'U-after-outage' }), true);
  });

  it('a Redis that comes back empty does not un-revoke: every instance keeps enforcing what it held, and says Redis lost it', async () => {
    const prefix = `lost${++prefixCounter}:`;
    const [a, b] = await fleet(2, { prefix });
    const seen = applied(b!, 'U-lost');
    await a!.revoke({ kind: 'sub', value: 'U-lost', expiresAt: nowSeconds() + 3600 });
    await seen;
    const stale = Promise.all([reachState(a!, 'stale'), reachState(b!, 'stale')]);
    // No save: the server comes back without the entry, as after a crash without persistence.
    await server.stop();
    await stale;
    const reloaded = Promise.all([a!, b!].map((store) => waitFor(store, (event) => event.type === 'reloaded')));
    await server.restart();
    await reloaded;
    assert.equal(await rawRedisCommand(server.port, 'HLEN', `${prefix}revocations`), ':0\r\n', 'Redis lost the entry');
    for (const store of [a!, b!]) {
      assert.equal(store.status().state, 'synced');
      assert.equal(store.set.isRevoked({ sub: 'U-lost', iat: nowSeconds() }), true, 'a revocation seen once stays enforced');
    }
    assert.match(logger.text(), /redis holds fewer revocations than this instance enforces/);
  });

  it('a frozen Redis is noticed by the health check: the store turns stale, and synced again once Redis answers', async () => {
    const store = createRedisRevocationStore({
      redis: { url: server.url, connectTimeoutMs: 300, commandTimeoutMs: 200, maxReconnectDelayMs: 100, logger, name: 'health' },
      keyPrefix: `health${++prefixCounter}:`,
      logger,
      healthCheckIntervalMs: 50,
      purgeIntervalMs: 0,
    });
    stores.push(store);
    await store.ready();
    const stale = reachState(store, 'stale');
    server.pause();
    try {
      await stale;
    } finally {
      server.resume();
    }
    await reachState(store, 'synced');
    assert.match(logger.text(), /did not answer PING/);
  });

  it('before the first sync the state is connecting and nothing is fresh; close() rejects ready()', async () => {
    const nowhere = await startRedisServer();
    const port = nowhere.port;
    await nowhere.close();
    const store = createRedisRevocationStore({
      redis: { url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 300, commandTimeoutMs: 200, logger, name: 'nowhere' },
      logger,
    });
    assert.equal(store.status().state, 'connecting');
    assert.equal(store.isFresh(Date.now(), 10 ** 9), false);
    const ready = store.ready();
    await store.close();
    await assert.rejects(ready, /closed/);
  });
});
