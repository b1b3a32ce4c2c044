/**
 * The Redis connection factory against a real redis-server: it never logs
 * the URL's password, fails at once while disconnected (no offline queue),
 * queues at most `maxOfflineQueue` commands when asked to, bounds every
 * command by the command timeout (a frozen server), and reconnects by itself
 * after a restart.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRedisClient, reconnectDelayMs, redisAddress, RedisUnavailableError, type RedisClient } from '../../src/redis/client.js';
import { createMemoryLogger } from '../support/logger.js';
import { redisSkip as skip, startRedisServer, type RedisServer } from '../support/redis-server.js';

const PASSWORD = 'pw-7f3e91c2-do-not-log';

function unavailable(code: RedisUnavailableError['code']) {
  return (error: unknown) => {
    assert.ok(error instanceof RedisUnavailableError, `expected RedisUnavailableError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

const readyOnce = (client: RedisClient): Promise<void> =>
  client.isReady() ? Promise.resolve() : new Promise((resolve) => client.connection.once('ready', () => resolve()));

describe('redisAddress and the reconnect backoff', () => {
  it('names the server as host:port and never repeats a password', () => {
    assert.equal(redisAddress(`redis://:${PASSWORD}@10.0.0.5:6380/2`), '10.0.0.5:6380');
    assert.equal(redisAddress('rediss://user:pw@cache.internal'), 'cache.internal:6379');
    assert.throws(() => redisAddress(`http://:${PASSWORD}@x`), (error: Error) => /redis:\/\/ or rediss:\/\//.test(error.message) && !error.message.includes(PASSWORD));
    assert.throws(() => redisAddress(`redis://:${PASSWORD}@[broken`), (error: Error) => !error.message.includes(PASSWORD));
  });

  it('backs off exponentially from 100 ms, with jitter, up to the cap', () => {
    const noJitter = () => 1;
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 50].map((n) => reconnectDelayMs(n, 5000, noJitter)), [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    assert.equal(reconnectDelayMs(3, 5000, () => 0), 320, 'at most 20% earlier');
  });
});

describe('createRedisClient against redis-server', { skip }, () => {
  let server: RedisServer;
  const clients: RedisClient[] = [];
  const logger = createMemoryLogger();
  const open = (overrides: { maxOfflineQueue?: number; commandTimeoutMs?: number } = {}) => {
    const client = createRedisClient({
      url: `redis://:${PASSWORD}@127.0.0.1:${server.port}`,
      connectTimeoutMs: 1000,
      commandTimeoutMs: overrides.commandTimeoutMs ?? 300,
      maxReconnectDelayMs: 100,
      logger,
      name: 'test',
      ...(overrides.maxOfflineQueue !== undefined ? { maxOfflineQueue: overrides.maxOfflineQueue } : {}),
    });
    clients.push(client);
    return client;
  };

  before(async () => {
    server = await startRedisServer({ password: PASSWORD });
  });
  after(async () => {
    for (const client of clients) await client.close();
    await server.close();
  });

  it('connects with the password, and logs host:port but never the password', async () => {
    const client = open();
    await readyOnce(client);
    assert.equal(await client.run((c) => c.ping()), 'PONG');
    assert.equal(client.address, `127.0.0.1:${server.port}`);
    assert.equal(client.keyPrefix, 'portcullis:');
    const wrong = createRedisClient({ url: `redis://:wrong-${PASSWORD}@127.0.0.1:${server.port}`, connectTimeoutMs: 1000, commandTimeoutMs: 300, logger, name: 'wrong' });
    clients.push(wrong);
    await new Promise((resolve) => wrong.connection.once('error', resolve));
    await wrong.close();
    assert.match(logger.text(), new RegExp(`127\\.0\\.0\\.1:${server.port}`));
    assert.equal(logger.text().includes(PASSWORD), false, 'the password is never logged');
  });

  it('a frozen server costs a command its timeout, no more: the command is rejected as a timeout', async () => {
    const client = open({ commandTimeoutMs: 200 });
    await readyOnce(client);
    server.pause();
    try {
      await assert.rejects(client.run((c) => c.ping()), unavailable('timeout'));
    } finally {
      server.resume();
    }
  });

  it('without an offline queue, fails at once while disconnected, then reconnects by itself after a restart', async () => {
    const client = open();
    await readyOnce(client);
    await server.stop();
    await assert.rejects(client.run((c) => c.ping()), unavailable('not_connected'));
    const back = new Promise<void>((resolve) => client.connection.once('ready', () => resolve()));
    await server.restart();
    await back;
    assert.equal(await client.run((c) => c.ping()), 'PONG');
  });

  it('with maxOfflineQueue 2, two commands wait for the reconnect and the third fails at once', async () => {
    const client = open({ maxOfflineQueue: 2, commandTimeoutMs: 10_000 });
    await readyOnce(client);
    await server.stop();
    // Wait until the client knows the connection is gone (otherwise the commands would be written to a dead socket).
    if (client.connection.status === 'ready') await new Promise((resolve) => client.connection.once('close', resolve));
    const first = client.run((c) => c.ping());
    const second = client.run((c) => c.ping());
    await assert.rejects(client.run((c) => c.ping()), unavailable('offline_queue_full'));
    await server.restart();
    assert.deepEqual(await Promise.all([first, second]), ['PONG', 'PONG']);
    // Closed here, while connected: left open through the later tests' restarts, ioredis kept a disconnect timer
    // (the 10 s command timeout) that held the test process open after the last test.
    await client.close();
  });

  it('queued commands are still bounded by the command timeout', async () => {
    const client = open({ maxOfflineQueue: 1, commandTimeoutMs: 200 });
    await readyOnce(client);
    await server.stop();
    if (client.connection.status === 'ready') await new Promise((resolve) => client.connection.once('close', resolve));
    try {
      await assert.rejects(client.run((c) => c.ping()), unavailable('timeout'));
    } finally {
      await server.restart();
    }
  });

  it('close() returns while the client waits between reconnect attempts', async () => {
    const client = open();
    await readyOnce(client);
    await server.stop();
    await new Promise((resolve) => client.connection.once('reconnecting', resolve));
    try {
      await client.close();
      assert.equal(client.connection.status === 'end' || client.connection.status === 'reconnecting', true);
      await assert.rejects(client.run((c) => c.ping()), unavailable('closed'));
    } finally {
      await server.restart();
    }
  });

  it('a closed client refuses commands', async () => {
    const client = open();
    await readyOnce(client);
    await client.close();
    await assert.rejects(client.run((c) => c.ping()), unavailable('closed'));
  });
});
