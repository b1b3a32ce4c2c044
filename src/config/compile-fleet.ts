/**
 * The parts of a config that can be shared by a fleet: Redis connection
 * pools, token revocation (`auth/revoker`) and rate limits
 * (`qos/ratelimit/router`, `…/router/redis`, `…/service`). Compiled here,
 * pure like the rest of src/config; src/runtime opens the connections.
 *
 * Every cross-reference the schema cannot see is checked with its JSON path:
 * a `connection_pool` must name a pool, a `param` strategy a route parameter,
 * a `jwt` strategy an endpoint that validates tokens. A limit that could not
 * be keyed would refuse every request (KrakenD answers 429 when the key is
 * missing), so such configs stop at startup instead.
 */
import { parseDurationMs } from '../lib/duration.js';
import {
  GATEWAY_DEFAULTS,
  type BucketPlan,
  type ClientStrategy,
  type RateLimitPlan,
  type RedisPoolPlan,
  type RevocationAdminPlan,
  type RevocationPlan,
} from './plan.js';
import type { GatewayConfig } from './schema.js';
import type { ConfigIssue } from './validate.js';

type Static<T> = NonNullable<T>;
type ServiceExtra = Static<GatewayConfig['extra_config']>;
type PoolConfig = Static<ServiceExtra['redis']>['connection_pools'][number];
type RevokerConfig = Static<ServiceExtra['auth/revoker']>;
type RateLimitConfig = Static<ServiceExtra['qos/ratelimit/service']> & { connection_pool?: string; fail_open?: boolean };

/** KrakenD refills at most once a second: a shorter `every` counts as one second. */
const MIN_EVERY_MS = 1000;

export function compileRedisPools(config: GatewayConfig, at: (pointer: string) => string, issues: ConfigIssue[]): RedisPoolPlan[] {
  const pools = config.extra_config?.redis?.connection_pools ?? [];
  const seen = new Set<string>();
  return pools.flatMap((pool, i) => {
    const pointer = `/extra_config/redis/connection_pools/${i}`;
    if (seen.has(pool.name)) {
      issues.push({ path: at(`${pointer}/name`), message: `another pool is already named "${pool.name}"` });
      return [];
    }
    seen.add(pool.name);
    const compiled = compilePool(pool, pointer, at, issues);
    return compiled === undefined ? [] : [compiled];
  });
}

function compilePool(pool: PoolConfig, pointer: string, at: (pointer: string) => string, issues: ConfigIssue[]): RedisPoolPlan | undefined {
  const defaults = GATEWAY_DEFAULTS.redis;
  let url: string;
  if ((pool.url === undefined) === (pool.address === undefined)) {
    issues.push({ path: at(pointer), message: 'needs exactly one of "address" (host:port) and "url"' });
    return undefined;
  }
  if (pool.url !== undefined) {
    for (const key of ['username', 'password', 'db'] as const) {
      if (pool[key] !== undefined) issues.push({ path: at(`${pointer}/${key}`), message: `put it in "url" instead (it would be ignored next to a url)` });
    }
    url = pool.url;
  } else {
    const address = pool.address!;
    if (!/^[^\s/@]+:\d{1,5}$/.test(address)) {
      issues.push({ path: at(`${pointer}/address`), message: 'must be host:port, e.g. "redis:6379"' });
      return undefined;
    }
    const auth =
      pool.password !== undefined ? `${encodeURIComponent(pool.username ?? '')}:${encodeURIComponent(pool.password)}@` : pool.username !== undefined ? `${encodeURIComponent(pool.username)}@` : '';
    url = `redis://${auth}${address}${pool.db !== undefined ? `/${pool.db}` : ''}`;
  }
  let address: string;
  try {
    const parsed = new URL(url);
    if (parsed.hostname === '') throw new Error('no host');
    address = `${parsed.hostname}:${parsed.port === '' ? '6379' : parsed.port}`;
  } catch {
    // Never echo the URL: it may hold a password.
    issues.push({ path: at(`${pointer}/${pool.url !== undefined ? 'url' : 'address'}`), message: 'is not a valid Redis address' });
    return undefined;
  }
  const duration = (key: 'dial_timeout' | 'read_timeout' | 'max_retry_backoff', fallback: number): number => {
    const text = pool[key];
    if (text === undefined) return fallback;
    const ms = parseDurationMs(text);
    if (ms === undefined || ms <= 0) {
      issues.push({ path: at(`${pointer}/${key}`), message: 'must be a positive duration' });
      return fallback;
    }
    return Math.ceil(ms);
  };
  return Object.freeze({
    name: pool.name,
    url,
    address,
    connectTimeoutMs: duration('dial_timeout', defaults.connectTimeoutMs),
    commandTimeoutMs: duration('read_timeout', defaults.commandTimeoutMs),
    maxReconnectDelayMs: duration('max_retry_backoff', defaults.maxReconnectDelayMs),
    maxOfflineQueue: pool.max_offline_queue ?? defaults.maxOfflineQueue,
    keyPrefix: pool.key_prefix ?? defaults.keyPrefix,
    path: at(pointer),
  });
}

const REVOKER_POINTER = '/extra_config/auth~1revoker';

export function compileRevocation(
  config: GatewayConfig,
  pools: readonly RedisPoolPlan[],
  at: (pointer: string) => string,
  issues: ConfigIssue[],
): RevocationPlan | undefined {
  const revoker: RevokerConfig | undefined = config.extra_config?.['auth/revoker'];
  if (revoker === undefined) return undefined;
  const pool = revoker.connection_pool;
  if (pool !== undefined) checkPool(pool, pools, at(`${REVOKER_POINTER}/connection_pool`), issues);
  let maxStalenessMs: number = GATEWAY_DEFAULTS.revocationMaxStalenessMs;
  if (revoker.max_staleness !== undefined) {
    const ms = parseDurationMs(revoker.max_staleness);
    if (ms === undefined || ms <= 0) issues.push({ path: at(`${REVOKER_POINTER}/max_staleness`), message: 'must be a positive duration' });
    else maxStalenessMs = ms;
  }
  const tokenKeys = [...new Set(revoker.token_keys)];
  return Object.freeze({
    tokenKeys: Object.freeze(tokenKeys),
    ttlSeconds: revoker.TTL,
    pool,
    keyPrefix: revoker.key_prefix,
    failClosed: revoker.fail_closed ?? false,
    maxStalenessMs,
    admin: compileAdmin(revoker, config, at, issues),
    path: at(REVOKER_POINTER),
  });
}

function compileAdmin(revoker: RevokerConfig, config: GatewayConfig, at: (pointer: string) => string, issues: ConfigIssue[]): RevocationAdminPlan | undefined {
  const admin = revoker.admin;
  if (admin === undefined) return undefined;
  const pointer = `${REVOKER_POINTER}/admin`;
  if ((admin.token_env === undefined) === (admin.token_file === undefined)) {
    // No credential would leave revocation (and its listing) open to anyone who reaches the port.
    issues.push({ path: at(pointer), message: 'needs exactly one of "token_env" and "token_file": the admin endpoint always requires a bearer token' });
  }
  if (admin.port !== 0 && admin.port === (config.port ?? GATEWAY_DEFAULTS.port)) {
    issues.push({ path: at(`${pointer}/port`), message: 'must differ from the public port: the admin endpoint is never served on it' });
  }
  return Object.freeze({
    port: admin.port,
    listenIp: admin.listen_ip ?? GATEWAY_DEFAULTS.revocationAdminListenIp,
    tokenEnv: admin.token_env,
    tokenFile: admin.token_file,
    path: at(pointer),
  });
}

export interface RateLimitScope {
  /** JSON pointer of the block. */
  readonly pointer: string;
  /** Route parameters (`param` strategy); undefined at service level. */
  readonly params: readonly string[] | undefined;
  /** Whether the endpoint validates tokens (`jwt` strategy). */
  readonly validated: boolean;
}

export function compileRateLimit(
  limit: RateLimitConfig | undefined,
  scope: RateLimitScope,
  pools: readonly RedisPoolPlan[],
  at: (pointer: string) => string,
  issues: ConfigIssue[],
): RateLimitPlan | undefined {
  if (limit === undefined) return undefined;
  const path = at(scope.pointer);
  if (limit.max_rate === undefined && limit.client_max_rate === undefined) {
    issues.push({ path, message: 'needs "max_rate" (the whole endpoint), "client_max_rate" (each client) or both' });
    return undefined;
  }
  let everyMs = MIN_EVERY_MS;
  if (limit.every !== undefined) {
    const ms = parseDurationMs(limit.every);
    if (ms === undefined || ms <= 0) issues.push({ path: at(`${scope.pointer}/every`), message: 'must be a positive duration' });
    else everyMs = Math.max(MIN_EVERY_MS, Math.round(ms));
  }
  if (limit.capacity !== undefined && limit.max_rate === undefined) {
    issues.push({ path: at(`${scope.pointer}/capacity`), message: 'sizes the max_rate bucket, and max_rate is not set' });
  }
  if (limit.client_capacity !== undefined && limit.client_max_rate === undefined) {
    issues.push({ path: at(`${scope.pointer}/client_capacity`), message: 'sizes the client_max_rate bucket, and client_max_rate is not set' });
  }
  const bucket = (rate: number, capacity: number | undefined): BucketPlan => Object.freeze({ rate, everyMs, capacity: capacity ?? defaultCapacity(rate, everyMs) });
  const strategy: ClientStrategy = limit.strategy ?? 'ip';
  if (limit.client_max_rate !== undefined) checkStrategy(strategy, limit.key, scope, at, issues);
  else if (limit.strategy !== undefined || limit.key !== undefined) {
    issues.push({ path: at(`${scope.pointer}/${limit.strategy !== undefined ? 'strategy' : 'key'}`), message: 'only applies to client_max_rate, which is not set' });
  }
  const pool = limit.connection_pool;
  if (pool !== undefined) checkPool(pool, pools, at(`${scope.pointer}/connection_pool`), issues);
  return Object.freeze({
    endpoint: limit.max_rate === undefined ? undefined : bucket(limit.max_rate, limit.capacity),
    client:
      limit.client_max_rate === undefined
        ? undefined
        : Object.freeze({ ...bucket(limit.client_max_rate, limit.client_capacity), strategy, key: limit.key === '' ? undefined : limit.key }),
    headers: limit.ratelimit_headers ?? true,
    pool,
    failOpen: limit.fail_open ?? true,
    path,
  });
}

/** KrakenD's default bucket: the rate per second, truncated, at least 1 (so 100 every 1m holds 1). */
function defaultCapacity(rate: number, everyMs: number): number {
  return Math.max(1, Math.floor((rate * 1000) / everyMs));
}

function checkStrategy(strategy: ClientStrategy, key: string | undefined, scope: RateLimitScope, at: (pointer: string) => string, issues: ConfigIssue[]): void {
  const keyPath = at(`${scope.pointer}/key`);
  const strategyPath = at(`${scope.pointer}/strategy`);
  switch (strategy) {
    case 'ip':
      return;
    case 'header':
      if (key === undefined) issues.push({ path: keyPath, message: 'strategy "header" needs the header name in "key"' });
      return;
    case 'param':
      if (scope.params === undefined) {
        issues.push({ path: strategyPath, message: 'strategy "param" needs a route: use it on an endpoint, not the service' });
      } else if (key === undefined || !scope.params.includes(key)) {
        const known = scope.params.length > 0 ? ` (the route has ${scope.params.map((p) => `{${p}}`).join(', ')})` : ' (the route has none)';
        issues.push({ path: keyPath, message: `strategy "param" needs a parameter of the route in "key"${known}` });
      }
      return;
    case 'jwt':
      if (scope.params === undefined) {
        issues.push({ path: strategyPath, message: 'strategy "jwt" runs after the token is verified: use it on an endpoint with auth/validator, not the service' });
      } else if (!scope.validated) {
        issues.push({ path: strategyPath, message: 'strategy "jwt" needs the endpoint to validate tokens (auth/validator): without a token every request would be refused' });
      }
      if (key === undefined) issues.push({ path: keyPath, message: 'strategy "jwt" needs the claim in "key", e.g. "sub" or "dct"' });
      return;
  }
}

function checkPool(name: string, pools: readonly RedisPoolPlan[], path: string, issues: ConfigIssue[]): void {
  if (pools.some((pool) => pool.name === name)) return;
  const known = pools.map((pool) => `"${pool.name}"`).join(', ');
  issues.push({ path, message: `names no pool of redis.connection_pools${known === '' ? ' (there are none)' : ` (there are ${known})`}` });
}
