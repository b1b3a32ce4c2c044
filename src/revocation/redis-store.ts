/**
 * Revocations shared by a fleet through Redis, enforced from memory.
 *
 * In Redis: a hash `<prefix>revocations` (field `kind:claim:value`, value the
 * entry as JSON) and a sorted set `<prefix>revocations:expiry` (same fields,
 * scored by `expiresAt`) for purging. `revoke` runs one Lua script that merges
 * the entry with the one already stored, writes both keys and PUBLISHes the
 * merged entry on the channel `<prefix>revocations`, atomically: no instance
 * can see the write without the message or the message without the write.
 *
 * Every instance holds two connections: commands, and a subscriber. Each
 * time the subscriber (re)connects it SUBSCRIBEs first and only then reloads
 * the whole hash (HGETALL). A revocation written before the reload read is in
 * the hash; one written after it arrives as a message, because the
 * subscription was already in place. Messages that arrive while the reload is
 * in flight are applied at once and again after the reloaded set replaces the
 * old one, so the swap cannot drop them. Only then is the state `synced`.
 *
 * The reloaded set is what Redis holds merged with what this instance already
 * enforces: entries are only ever added and expire on their own, so a Redis
 * that comes back with less (restarted without persistence, a replica behind)
 * must not un-revoke a token. That is logged; instances started after the loss
 * do not know those entries, so Redis should run with persistence.
 *
 * When the subscriber is lost the last set keeps being enforced, the state
 * becomes `stale` and `staleSince` records when; `isFresh` lets `fail_closed`
 * refuse requests once that is longer ago than a bound. A PING on the
 * subscriber every few seconds turns a silently dead connection (no FIN, a
 * frozen server) into a reconnect, so `synced` cannot outlive the connection
 * by more than the health-check interval plus the command timeout.
 */
import type { Redis } from 'ioredis';
import { systemClock, type Clock } from '../lib/clock.js';
import { silentLogger, type Logger } from '../lib/logger.js';
import { createRedisClient, redisClientOptions, type RedisClient, type RedisClientOptions } from '../redis/client.js';
import { entryKey, parseRevocationEntry, RevocationEntryError, type RevocationEntry } from './entry.js';
import { createRevocationSet } from './revocation-set.js';
import { DEFAULT_MAX_STALENESS_MS, type RevocationStatus, type RevocationStore, type RevocationStoreState } from './store.js';

export { DEFAULT_MAX_STALENESS_MS } from './store.js';

export const DEFAULT_HEALTH_CHECK_INTERVAL_MS = 5000;
export const DEFAULT_REDIS_PURGE_INTERVAL_MS = 60_000;
const RELOAD_RETRY_FIRST_MS = 100;
const RELOAD_RETRY_MAX_MS = 5000;
const PURGE_BATCH = 1000;

export interface RedisRevocationStoreOptions {
  /** Connection settings, or just a URL (2 s connect timeout, 500 ms command timeout). */
  readonly redis: RedisClientOptions | string;
  /** Prefix of the keys and the channel; default the client's (`portcullis:`). */
  readonly keyPrefix?: string;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Default bound for `isFresh` (fail_closed). Default 30 s. */
  readonly maxStalenessMs?: number;
  /** PING on the subscriber; 0 turns it off. Default 5 s. */
  readonly healthCheckIntervalMs?: number;
  /** Purge of expired entries, in memory and in Redis. Default 60 s; 0 turns it off. */
  readonly purgeIntervalMs?: number;
}

export type RevocationEvent =
  | { readonly type: 'state'; readonly status: RevocationStatus }
  | { readonly type: 'applied'; readonly entry: RevocationEntry; readonly source: 'message' | 'revoke' }
  | { readonly type: 'reloaded'; readonly size: number; readonly skipped: number };

export interface RedisRevocationStore extends RevocationStore {
  /** Calls `listener` on state changes, applied entries and reloads (metrics, tests). Returns an unsubscribe. */
  watch(listener: (event: RevocationEvent) => void): () => void;
  /** Drops expired entries in Redis now (the timer does it every `purgeIntervalMs`); returns how many. */
  purgeRedis(): Promise<number>;
}

// Merges with the stored entry exactly as mergeEntries (entry.ts) does, so every
// instance converges on the same entry whatever order messages arrive in.
const REVOKE_LUA = `
local function num(v) if type(v) == 'number' then return v end return nil end
local entry = cjson.decode(ARGV[2])
local before = num(entry.before)
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local ok, old = pcall(cjson.decode, current)
  if ok and type(old) == 'table' then
    local oldBefore = num(old.before)
    if oldBefore == nil or before == nil then before = nil elseif oldBefore > before then before = oldBefore end
    local oldExpires = num(old.expiresAt)
    if oldExpires ~= nil and oldExpires > entry.expiresAt then entry.expiresAt = oldExpires end
  end
end
if entry.kind == 'jti' then before = nil end
entry.before = before
local encoded = cjson.encode(entry)
redis.call('HSET', KEYS[1], ARGV[1], encoded)
redis.call('ZADD', KEYS[2], entry.expiresAt, ARGV[1])
redis.call('PUBLISH', ARGV[3], encoded)
return encoded
`;

const PURGE_LUA = `
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #expired > 0 then
  redis.call('HDEL', KEYS[1], unpack(expired))
  redis.call('ZREM', KEYS[2], unpack(expired))
end
return #expired
`;

interface RevocationCommands {
  portcullisRevoke(hash: string, expiry: string, field: string, json: string, channel: string): Promise<string>;
  portcullisPurge(hash: string, expiry: string, nowSeconds: number, limit: number): Promise<number>;
}

const commandsOf = (connection: Redis): RevocationCommands => connection as unknown as RevocationCommands;

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function createRedisRevocationStore(options: RedisRevocationStoreOptions): RedisRevocationStore {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const clientOptions = typeof options.redis === 'string' ? redisClientOptions(options.redis, 'revocation', logger) : options.redis;
  const command: RedisClient = createRedisClient(clientOptions);
  const subscriber: RedisClient = command.duplicate(`${clientOptions.name}-subscriber`);
  const prefix = options.keyPrefix ?? command.keyPrefix;
  const hashKey = `${prefix}revocations`;
  const expiryKey = `${prefix}revocations:expiry`;
  const channel = `${prefix}revocations`;
  const maxStalenessMs = options.maxStalenessMs ?? DEFAULT_MAX_STALENESS_MS;
  const address = command.address;

  command.connection.defineCommand('portcullisRevoke', { numberOfKeys: 2, lua: REVOKE_LUA });
  command.connection.defineCommand('portcullisPurge', { numberOfKeys: 2, lua: PURGE_LUA });

  const set = createRevocationSet();
  const listeners = new Set<(event: RevocationEvent) => void>();
  let state: RevocationStoreState = 'connecting';
  let lastSyncAt: number | undefined;
  let staleSince: number | undefined;
  let lastError: string | undefined;
  let closed = false;
  // Bumped on every subscriber loss and reconnect: a reload of an older connection must not finish.
  let generation = 0;
  // Messages received while a reload is in flight, applied again after its swap.
  let pending: RevocationEntry[] | undefined;
  // One health probe at a time; after a failed one, none until the connection is replaced.
  let probing = false;

  let resolveReady!: () => void;
  let rejectReady!: (error: Error) => void;
  const readyPromise = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  // Nobody may be waiting; a rejection at close must not be unhandled.
  readyPromise.catch(() => undefined);

  const status = (): RevocationStatus => ({
    store: 'redis',
    state,
    size: set.size,
    address,
    ...(lastSyncAt !== undefined ? { lastSyncAt } : {}),
    ...(staleSince !== undefined ? { staleSince } : {}),
    ...(lastError !== undefined ? { lastError } : {}),
  });

  const emit = (event: RevocationEvent): void => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        logger.error({ err: errorText(error) }, 'revocation listener failed');
      }
    }
  };

  const setState = (next: RevocationStoreState): void => {
    if (state === next) return;
    state = next;
    emit({ type: 'state', status: status() });
  };

  const onMessage = (from: string, message: string): void => {
    if (from !== channel) return;
    let entry: RevocationEntry;
    try {
      entry = parseRevocationEntry(JSON.parse(message));
    } catch (error) {
      // Someone else publishing on our channel; never let it crash or revoke by accident.
      logger.warn({ redis: address, err: error instanceof RevocationEntryError ? error.message : 'not JSON' }, 'ignored a malformed revocation message');
      return;
    }
    set.apply(entry);
    pending?.push(entry);
    emit({ type: 'applied', entry, source: 'message' });
  };

  const parseHash = (hash: Record<string, string>): { entries: RevocationEntry[]; skipped: number } => {
    const entries: RevocationEntry[] = [];
    let skipped = 0;
    for (const json of Object.values(hash)) {
      try {
        entries.push(parseRevocationEntry(JSON.parse(json)));
      } catch {
        skipped++;
      }
    }
    return { entries, skipped };
  };

  const reload = async (own: number): Promise<void> => {
    let delayMs = RELOAD_RETRY_FIRST_MS;
    while (own === generation && !closed) {
      pending = [];
      try {
        const hash = await command.run((connection) => connection.hgetall(hashKey));
        if (own !== generation || closed) return;
        const { entries, skipped } = parseHash(hash);
        if (skipped > 0) logger.warn({ redis: address, skipped }, 'skipped malformed revocation entries in Redis');
        const held = set.entries().filter((entry) => entry.expiresAt > clock.now() / 1000);
        const inRedis = new Set(entries.map(entryKey));
        const lost = held.filter((entry) => !inRedis.has(entryKey(entry))).length;
        if (lost > 0) logger.warn({ redis: address, lost }, 'redis holds fewer revocations than this instance enforces (restarted without persistence?); they stay enforced here');
        set.replaceAll([...held, ...entries]);
        for (const entry of pending) set.apply(entry);
        pending = undefined;
        set.purgeExpired(clock.now() / 1000);
        lastSyncAt = clock.now();
        staleSince = undefined;
        lastError = undefined;
        setState('synced');
        emit({ type: 'reloaded', size: set.size, skipped });
        resolveReady();
        logger.info({ redis: address, size: set.size }, 'revocations loaded from redis');
        return;
      } catch (error) {
        pending = undefined;
        lastError = errorText(error);
        logger.debug({ redis: address, err: lastError }, 'revocation reload failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
        delayMs = Math.min(delayMs * 2, RELOAD_RETRY_MAX_MS);
      }
    }
  };

  const onSubscriberReady = (): void => {
    const own = ++generation;
    probing = false;
    void (async () => {
      try {
        await subscriber.run((connection) => connection.subscribe(channel));
      } catch (error) {
        lastError = errorText(error);
        logger.warn({ redis: address, err: lastError }, 'revocation subscribe failed; reconnecting');
        if (own === generation && !closed) subscriber.connection.disconnect(true);
        return;
      }
      await reload(own);
    })();
  };

  const onSubscriberLost = (): void => {
    if (closed) return;
    generation++;
    pending = undefined;
    if (state === 'synced') {
      staleSince = clock.now();
      setState('stale');
      logger.warn({ redis: address, size: set.size }, 'revocation subscription lost; enforcing the last known set');
    }
  };

  subscriber.connection.on('message', onMessage);
  subscriber.connection.on('ready', onSubscriberReady);
  subscriber.connection.on('close', onSubscriberLost);
  subscriber.connection.on('error', (error: Error) => {
    lastError = error.message;
  });

  const healthCheckIntervalMs = options.healthCheckIntervalMs ?? DEFAULT_HEALTH_CHECK_INTERVAL_MS;
  const healthTimer =
    healthCheckIntervalMs > 0
      ? setInterval(() => {
          if (probing || !subscriber.isReady()) return;
          probing = true;
          subscriber.run((connection) => connection.ping()).then(
            () => void (probing = false),
            (error: unknown) => {
              lastError = errorText(error);
              logger.warn({ redis: address, err: lastError }, 'revocation subscriber did not answer PING; reconnecting');
              if (!closed) subscriber.connection.disconnect(true);
            },
          );
        }, healthCheckIntervalMs).unref()
      : undefined;

  const purgeRedis = async (): Promise<number> => {
    const nowSeconds = clock.now() / 1000;
    let total = 0;
    for (;;) {
      const dropped = await command.run((connection) => commandsOf(connection).portcullisPurge(hashKey, expiryKey, nowSeconds, PURGE_BATCH));
      total += dropped;
      if (dropped < PURGE_BATCH) return total;
    }
  };

  const purgeIntervalMs = options.purgeIntervalMs ?? DEFAULT_REDIS_PURGE_INTERVAL_MS;
  const purgeTimer =
    purgeIntervalMs > 0
      ? setInterval(() => {
          set.purgeExpired(clock.now() / 1000);
          // Every instance purges; the script is idempotent, so no coordination is needed.
          if (command.isReady()) purgeRedis().catch((error: unknown) => logger.debug({ redis: address, err: errorText(error) }, 'revocation purge failed'));
        }, purgeIntervalMs).unref()
      : undefined;

  return {
    set,
    async revoke(input) {
      const entry = parseRevocationEntry(input);
      if (entry.expiresAt <= clock.now() / 1000) return;
      const merged = await command.run((connection) =>
        commandsOf(connection).portcullisRevoke(hashKey, expiryKey, entryKey(entry), JSON.stringify(entry), channel),
      );
      // Enforced here at once, before this instance's own message comes back.
      const held = parseRevocationEntry(JSON.parse(merged));
      set.apply(held);
      emit({ type: 'applied', entry: held, source: 'revoke' });
    },
    async list() {
      const hash = await command.run((connection) => connection.hgetall(hashKey));
      return parseHash(hash).entries;
    },
    status,
    isFresh(nowMs, bound = maxStalenessMs) {
      if (state === 'synced') return true;
      return state === 'stale' && staleSince !== undefined && nowMs - staleSince <= bound;
    },
    ready: () => readyPromise,
    watch(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    purgeRedis,
    async close() {
      if (closed) return;
      closed = true;
      generation++;
      if (healthTimer !== undefined) clearInterval(healthTimer);
      if (purgeTimer !== undefined) clearInterval(purgeTimer);
      rejectReady(new Error('the revocation store was closed'));
      await Promise.all([subscriber.close(), command.close()]);
    },
  };
}
