/**
 * The stateful parts a plan binds to that must outlive a reload: Redis
 * connections, the revocation store and rate-limit buckets. A reload that
 * keeps a limit keeps its buckets (a client cannot reset its quota by
 * waiting for a SIGHUP) and a reload that keeps the revocation store does not
 * drop and re-read the set. Parts are keyed by everything that shapes them, so
 * a changed setting gets a new part; `retainOnly` closes the ones the running
 * plan no longer names, as the key-set registry does for key sets.
 */
import { systemClock, type Clock } from '../lib/clock.js';
import { silentLogger, type Logger } from '../lib/logger.js';
import type { BucketPlan, RateLimitPlan, RedisPoolPlan, RevocationPlan } from '../config/plan.js';
import { createMemoryLimiter, type MemoryLimiter } from '../ratelimit/memory-limiter.js';
import { createRedisLimiter, type RedisLimiter } from '../ratelimit/redis-limiter.js';
import type { Limiter } from '../ratelimit/limiter.js';
import { createRedisClient, type RedisClient } from '../redis/client.js';
import { createMemoryRevocationStore } from '../revocation/memory-store.js';
import { createRedisRevocationStore } from '../revocation/redis-store.js';
import type { RevocationStore } from '../revocation/store.js';

/** Idle memory buckets are full again after a while; forgetting them then changes nothing. */
const SWEEP_INTERVAL_MS = 60_000;

export interface FleetStateOptions {
  readonly logger?: Logger;
  readonly clock?: Clock;
}

export interface FleetState {
  /** The revocation store the plan describes (shared with earlier plans that described the same one). */
  revocationStore(plan: RevocationPlan, pools: readonly RedisPoolPlan[]): RevocationStore;
  /** The limiter of one bucket of a rate-limit block; `scope` names the endpoint (or `service`). */
  limiter(limit: RateLimitPlan, which: 'client' | 'endpoint', bucket: BucketPlan, scope: string, pools: readonly RedisPoolPlan[]): Limiter;
  /** Redis limiters made so far (metrics: answered and failed takes). */
  redisLimiters(): readonly { readonly scope: string; readonly limiter: RedisLimiter }[];
  /** The part keys a plan used; pass them to `retainOnly`. */
  readonly used: Set<string>;
  /** Starts recording the keys the next binding uses. */
  beginBinding(): Set<string>;
  /** Closes every part whose key is not in `keep`. */
  retainOnly(keep: ReadonlySet<string>): Promise<void>;
  close(): Promise<void>;
}

interface Part {
  readonly close: () => Promise<void>;
}

export function createFleetState(options: FleetStateOptions = {}): FleetState {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const parts = new Map<string, Part & { readonly value: unknown }>();
  const redisByScope: { scope: string; limiter: RedisLimiter; key: string }[] = [];
  let used = new Set<string>();
  const memoryLimiters = new Set<MemoryLimiter>();
  const sweep = setInterval(() => {
    const now = clock.now();
    for (const limiter of memoryLimiters) limiter.sweep(now);
  }, SWEEP_INTERVAL_MS).unref();

  function part<T>(key: string, make: () => { value: T; close: () => Promise<void> }): T {
    used.add(key);
    const existing = parts.get(key);
    if (existing !== undefined) return existing.value as T;
    const made = make();
    parts.set(key, made);
    return made.value;
  }

  function poolNamed(name: string, pools: readonly RedisPoolPlan[]): RedisPoolPlan {
    const pool = pools.find((candidate) => candidate.name === name);
    // compile-fleet.ts refuses a config whose connection_pool names no pool.
    if (pool === undefined) throw new Error(`no redis pool named "${name}"`);
    return pool;
  }

  function redisClient(pool: RedisPoolPlan): RedisClient {
    const key = `redis|${poolIdentity(pool)}`;
    return part(key, () => {
      const client = createRedisClient({
        url: pool.url,
        name: `portcullis-ratelimit`,
        logger,
        keyPrefix: pool.keyPrefix,
        connectTimeoutMs: pool.connectTimeoutMs,
        commandTimeoutMs: pool.commandTimeoutMs,
        maxReconnectDelayMs: pool.maxReconnectDelayMs,
        maxOfflineQueue: pool.maxOfflineQueue,
      });
      return { value: client, close: () => client.close() };
    });
  }

  return {
    revocationStore(plan, pools) {
      if (plan.pool === undefined) {
        return part('revocation|memory', () => {
          const store = createMemoryRevocationStore({ clock });
          return { value: store, close: () => store.close() };
        });
      }
      const pool = poolNamed(plan.pool, pools);
      const keyPrefix = plan.keyPrefix ?? pool.keyPrefix;
      const key = `revocation|${poolIdentity(pool)}|${keyPrefix}|${plan.maxStalenessMs}`;
      return part(key, () => {
        const store = createRedisRevocationStore({
          redis: {
            url: pool.url,
            name: 'portcullis-revocation',
            logger,
            keyPrefix,
            connectTimeoutMs: pool.connectTimeoutMs,
            commandTimeoutMs: pool.commandTimeoutMs,
            maxReconnectDelayMs: pool.maxReconnectDelayMs,
          },
          keyPrefix,
          logger,
          clock,
          maxStalenessMs: plan.maxStalenessMs,
        });
        return { value: store, close: () => store.close() };
      });
    },

    limiter(limit, which, bucket, scope, pools) {
      const spec = `${bucket.rate}/${bucket.everyMs}/${bucket.capacity}`;
      if (limit.pool === undefined) {
        return part(`memory|${scope}|${which}|${spec}`, () => {
          const limiter = createMemoryLimiter(bucket);
          memoryLimiters.add(limiter);
          return {
            value: limiter,
            close: async () => {
              memoryLimiters.delete(limiter);
            },
          };
        });
      }
      const pool = poolNamed(limit.pool, pools);
      // Asked for on every binding, so a kept limiter keeps its connection open too.
      const client = redisClient(pool);
      const key = `redis-limit|${poolIdentity(pool)}|${scope}|${which}|${spec}|${limit.failOpen}`;
      return part(key, () => {
        // Every instance with the same config shares these buckets; the scope keeps endpoints apart.
        const limiter = createRedisLimiter({ ...bucket, client, keyPrefix: `${pool.keyPrefix}ratelimit:${scope}:${which}:`, failOpen: limit.failOpen, logger });
        const entry = { scope, limiter, key };
        redisByScope.push(entry);
        return {
          value: limiter,
          close: async () => {
            redisByScope.splice(redisByScope.indexOf(entry), 1);
          },
        };
      });
    },

    redisLimiters: () => redisByScope.filter((entry) => parts.has(entry.key)).map(({ scope, limiter }) => ({ scope, limiter })),

    get used() {
      return used;
    },

    beginBinding() {
      used = new Set();
      return used;
    },

    async retainOnly(keep) {
      // Redis clients go last: a limiter being dropped may share one with a kept limiter.
      const drop = [...parts.keys()].filter((key) => !keep.has(key)).sort((a, b) => Number(a.startsWith('redis|')) - Number(b.startsWith('redis|')));
      for (const key of drop) {
        const dropped = parts.get(key)!;
        parts.delete(key);
        await dropped.close().catch((error: unknown) => logger.warn(`[SERVICE: Fleet] closing ${key.split('|')[0]}: ${(error as Error)?.message}`));
      }
    },

    async close() {
      clearInterval(sweep);
      await this.retainOnly(new Set());
    },
  };
}

/** What makes two pools the same connection: everything but the name. */
function poolIdentity(pool: RedisPoolPlan): string {
  return JSON.stringify([pool.url, pool.connectTimeoutMs, pool.commandTimeoutMs, pool.maxReconnectDelayMs, pool.maxOfflineQueue, pool.keyPrefix]);
}
