/**
 * Token buckets shared by a fleet through Redis: one hash per client key,
 * updated by ONE Lua script per request (EVALSHA, one round trip). Redis runs
 * a script to completion before any other command, so the read-refill-take-
 * write of two instances can never interleave: however many instances share
 * a key, a bucket of 100 lets exactly 100 requests through before it refills.
 *
 * The time is the caller's `nowMs` (not Redis TIME), so tests can freeze it
 * and the memory limiter gives the same answers; instance clocks must be NTP
 * synced. A clock behind the last writer's refills nothing (never drains);
 * one ahead by δ refills δ·rate early, at most.
 *
 * When Redis cannot answer within the command timeout (or is not connected)
 * the limiter answers by `failOpen`: allow (default; a Redis outage must not
 * take the API down) or refuse. Either way the decision is marked `degraded`
 * with the reason, counted in `stats()`, and logged at most a few lines per
 * second (a log limiter), never per request.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { createLogLimiter, type LogLimiter } from '../lib/log-limiter.js';
import { silentLogger, type Logger } from '../lib/logger.js';
import { RedisUnavailableError, type RedisClient } from '../redis/client.js';
import { decisionFor, validateBucketSpec, type BucketSpec, type Decision, type Limiter } from './limiter.js';

/** Client keys longer than this are hashed: a header value must not choose the size of Redis keys. */
export const MAX_RAW_KEY_LENGTH = 128;

export interface RedisLimiterOptions extends BucketSpec {
  readonly client: RedisClient;
  /**
   * Prefix of this limiter's keys; include the endpoint so two endpoints never share buckets.
   * Default `<client prefix>ratelimit:`.
   */
  readonly keyPrefix?: string;
  /** On Redis errors: true (default) allows the request, false refuses it. */
  readonly failOpen?: boolean;
  readonly logger?: Logger;
  /** For tests: the log limiter's timer and clock (see lib/log-limiter.ts). */
  readonly logLimiter?: LogLimiter;
}

export interface RedisLimiterStats {
  /** Takes answered by Redis. */
  readonly answered: number;
  /** Takes Redis did not answer, by reason (`redis_timeout`, `redis_not_connected`, …). */
  readonly failures: Readonly<Record<string, number>>;
  readonly failedOpen: number;
  readonly failedClosed: number;
}

export interface RedisLimiter extends Limiter {
  take(key: string, nowMs: number): Promise<Decision>;
  stats(): RedisLimiterStats;
  /** The Redis key of a client key (for tests and operators). */
  redisKey(key: string): string;
}

// KEYS[1] bucket; ARGV rate, everyMs, capacity×everyMs (units), now (ms). The same
// arithmetic as takeToken in limiter.ts. Integers are written with %.0f: Lua's
// default number formatting keeps 14 digits only.
const TAKE_LUA = `
local rate = tonumber(ARGV[1])
local every = tonumber(ARGV[2])
local full = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'l', 't')
local level = tonumber(state[1])
local updated = tonumber(state[2])
if level == nil or updated == nil then
  level = full
  updated = now
elseif now > updated then
  level = math.min(full, level + (now - updated) * rate)
  updated = now
end
local allowed = 0
if level >= every then
  level = level - every
  allowed = 1
end
redis.call('HSET', KEYS[1], 'l', string.format('%.0f', level), 't', string.format('%.0f', updated))
redis.call('PEXPIRE', KEYS[1], math.ceil((full - level) / rate) + 1000)
return {allowed, level}
`;

interface LimiterCommands {
  portcullisTake(key: string, rate: number, everyMs: number, full: number, nowMs: number): Promise<[number, number]>;
}

const REASONS: Readonly<Record<RedisUnavailableError['code'], string>> = {
  timeout: 'redis_timeout',
  not_connected: 'redis_not_connected',
  offline_queue_full: 'redis_offline_queue_full',
  closed: 'redis_closed',
  error: 'redis_error',
};

export function createRedisLimiter(options: RedisLimiterOptions): RedisLimiter {
  const spec = validateBucketSpec(options);
  const { client } = options;
  const prefix = options.keyPrefix ?? `${client.keyPrefix}ratelimit:`;
  const failOpen = options.failOpen ?? true;
  const logger = options.logger ?? silentLogger;
  const full = spec.capacity * spec.everyMs;
  // Defining twice on a shared connection is harmless: same name, same script.
  client.connection.defineCommand('portcullisTake', { numberOfKeys: 1, lua: TAKE_LUA });
  const commands = (connection: Redis): LimiterCommands => connection as unknown as LimiterCommands;

  let answered = 0;
  let failedOpen = 0;
  let failedClosed = 0;
  const failures: Record<string, number> = {};
  const logLimiter =
    options.logLimiter ??
    createLogLimiter({
      ratePerSecond: 1,
      burst: 5,
      onSuppressed: (suppressed, total) => logger.warn({ redis: client.address, suppressed, total }, 'rate limiter: more redis failures not logged'),
    });

  const redisKey = (key: string): string =>
    key.length > MAX_RAW_KEY_LENGTH ? `${prefix}sha256:${createHash('sha256').update(key).digest('base64url')}` : `${prefix}${key}`;

  const degraded = (reason: string): Decision => {
    failures[reason] = (failures[reason] ?? 0) + 1;
    if (logLimiter.take(reason)) {
      logger.warn({ redis: client.address, reason, failOpen }, failOpen ? 'rate limiter: redis unavailable, request allowed' : 'rate limiter: redis unavailable, request refused');
    }
    if (failOpen) {
      failedOpen++;
      return { allowed: true, limit: spec.capacity, remaining: spec.capacity, resetSeconds: 0, degraded: true, reason };
    }
    failedClosed++;
    return { allowed: false, limit: spec.capacity, remaining: 0, resetSeconds: 0, retryAfterSeconds: 1, degraded: true, reason };
  };

  return {
    async take(key, nowMs) {
      let reply: [number, number];
      try {
        reply = await client.run((connection) => commands(connection).portcullisTake(redisKey(key), spec.rate, spec.everyMs, full, Math.floor(nowMs)));
      } catch (error) {
        return degraded(error instanceof RedisUnavailableError ? REASONS[error.code] : 'redis_error');
      }
      answered++;
      return decisionFor(spec, Number(reply[1]), Number(reply[0]) === 1);
    },
    stats: () => ({ answered, failures: { ...failures }, failedOpen, failedClosed }),
    redisKey,
  };
}
