/**
 * The one way portcullis opens a Redis connection (revocation, shared rate
 * limits). Redis is on the request path, so a slow or dead Redis must cost a
 * request at most one command timeout and never queue it behind a reconnect:
 *
 * - every command has a timeout (`commandTimeoutMs`), queued ones included;
 * - while the connection is down commands fail at once (no offline queue),
 *   or wait in a queue of at most `maxOfflineQueue` commands, each still
 *   bounded by the command timeout; the next one fails at once;
 * - a command that was sent but not answered when the connection broke is not
 *   sent again after the reconnect (a rate-limit take must not count twice);
 * - reconnects back off exponentially up to `maxReconnectDelayMs`, forever.
 *
 * Logs name the server as host:port only: the URL may hold a password.
 *
 * Key prefixes are applied by the callers, not by ioredis' `keyPrefix`, which
 * prefixes keys but not pub/sub channels; one rule for both is easier to audit.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../lib/logger.js';

export const DEFAULT_KEY_PREFIX = 'portcullis:';
export const DEFAULT_MAX_RECONNECT_DELAY_MS = 5000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 2000;
export const DEFAULT_COMMAND_TIMEOUT_MS = 500;
const FIRST_RECONNECT_DELAY_MS = 100;

export interface RedisClientOptions {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://…` for TLS. */
  readonly url: string;
  /** Prepended by stores and limiters to every key and channel name. Default `portcullis:`. */
  readonly keyPrefix?: string;
  /** Bound on opening the TCP (and TLS) connection, per attempt. */
  readonly connectTimeoutMs: number;
  /** Bound on every command, from the moment it is issued until its answer. */
  readonly commandTimeoutMs: number;
  /** Commands that may wait for a reconnect; default 0: fail at once while disconnected. */
  readonly maxOfflineQueue?: number;
  /** Cap of the exponential reconnect backoff. Default 5 s. */
  readonly maxReconnectDelayMs?: number;
  readonly logger: Logger;
  /** Shown in logs and as the Redis CLIENT name (`CLIENT LIST`), e.g. `revocation`. */
  readonly name: string;
}

/** Why a command was not run; `code` is stable for logs and metrics. */
export class RedisUnavailableError extends Error {
  readonly code: 'offline_queue_full' | 'not_connected' | 'timeout' | 'closed' | 'error';
  constructor(code: RedisUnavailableError['code'], message: string) {
    super(message);
    this.name = 'RedisUnavailableError';
    this.code = code;
  }
}

export interface RedisClient {
  /** The ioredis connection; send commands through `run` so the offline bound holds. */
  readonly connection: Redis;
  readonly name: string;
  readonly keyPrefix: string;
  /** host:port, for logs and status (never the password). */
  readonly address: string;
  readonly options: RedisClientOptions;
  isReady(): boolean;
  /**
   * Runs one command (or script) under the offline bound. Rejects with
   * RedisUnavailableError, whose `code` says why (timeout, not connected, queue full).
   */
  run<T>(command: (connection: Redis) => Promise<T>): Promise<T>;
  /** A second connection with the same settings (a subscriber needs its own). */
  duplicate(name: string): RedisClient;
  /** Closes the connection and stops reconnecting. */
  close(): Promise<void>;
}

/** Options for `url` with the defaults filled in (2 s connect, 500 ms per command, no offline queue). */
export function redisClientOptions(url: string, name: string, logger: Logger, overrides: Partial<RedisClientOptions> = {}): RedisClientOptions {
  return { url, name, logger, connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS, commandTimeoutMs: DEFAULT_COMMAND_TIMEOUT_MS, ...overrides };
}

/** host:port of a Redis URL, for logs. Throws on a URL that is not redis:// or rediss://. */
export function redisAddress(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The text may be a password-bearing URL that failed to parse: never echo it.
    throw new TypeError('the Redis URL is not a valid URL');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new TypeError(`the Redis URL must start with redis:// or rediss://, not ${parsed.protocol}//`);
  }
  if (parsed.hostname === '') throw new TypeError('the Redis URL has no host');
  return `${parsed.hostname}:${parsed.port === '' ? '6379' : parsed.port}`;
}

/** Exponential backoff with jitter, capped; never gives up (Redis may come back at any time). */
export function reconnectDelayMs(attempt: number, capMs: number, random: () => number = Math.random): number {
  const base = Math.min(capMs, FIRST_RECONNECT_DELAY_MS * 2 ** Math.min(attempt - 1, 20));
  // Up to 20% jitter so a fleet that lost Redis together does not reconnect in lockstep.
  return Math.round(base * (0.8 + 0.2 * random()));
}

function classify(error: unknown): RedisUnavailableError {
  if (error instanceof RedisUnavailableError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (message === 'Command timed out') return new RedisUnavailableError('timeout', message);
  if (message.includes("Stream isn't writeable") || message.includes('Connection is closed')) {
    return new RedisUnavailableError('not_connected', message);
  }
  if (message.includes('MaxRetriesPerRequest')) return new RedisUnavailableError('not_connected', message);
  return new RedisUnavailableError('error', message);
}

export function createRedisClient(options: RedisClientOptions): RedisClient {
  const address = redisAddress(options.url);
  const maxOfflineQueue = options.maxOfflineQueue ?? 0;
  if (!Number.isInteger(maxOfflineQueue) || maxOfflineQueue < 0) throw new RangeError('maxOfflineQueue must be a non-negative integer');
  if (!(options.commandTimeoutMs > 0) || !(options.connectTimeoutMs > 0)) {
    throw new RangeError('commandTimeoutMs and connectTimeoutMs must be positive');
  }
  const capMs = options.maxReconnectDelayMs ?? DEFAULT_MAX_RECONNECT_DELAY_MS;
  const { logger, name } = options;
  let offline = 0;
  let closing = false;
  let down = false;

  const redisOptions: RedisOptions = {
    connectionName: `portcullis-${name}`,
    connectTimeout: options.connectTimeoutMs,
    commandTimeout: options.commandTimeoutMs,
    // A connection given up on (a frozen server) is destroyed after this, not ioredis' 2 s.
    disconnectTimeout: options.commandTimeoutMs,
    enableOfflineQueue: maxOfflineQueue > 0,
    // Queued commands are bounded by the command timeout; this only stops ioredis from flushing them early.
    maxRetriesPerRequest: null,
    autoResendUnfulfilledCommands: false,
    // A subscriber resubscribes itself so it can reload the set right after (revocation/redis-store.ts).
    autoResubscribe: false,
    retryStrategy: (attempt) => reconnectDelayMs(attempt, capMs),
    // CLIENT SETINFO fails on Redis < 7.2 and only adds noise there.
    disableClientInfo: true,
  };
  const connection = new Redis(options.url, redisOptions);

  // Without an 'error' listener ioredis prints every failed reconnect to stderr.
  // One line per outage at warn, the retries at debug.
  connection.on('error', (error: Error) => {
    if (!down) {
      down = true;
      logger.warn({ redis: address, client: name, err: error.message }, 'redis connection failed; reconnecting');
    } else {
      logger.debug({ redis: address, client: name, err: error.message }, 'redis reconnect failed');
    }
  });
  connection.on('close', () => {
    if (!down && !closing) {
      down = true;
      logger.warn({ redis: address, client: name }, 'redis connection lost; reconnecting');
    }
  });
  connection.on('ready', () => {
    if (down) logger.info({ redis: address, client: name }, 'redis connection restored');
    else logger.debug({ redis: address, client: name }, 'redis connected');
    down = false;
  });

  const run = async <T>(command: (connection: Redis) => Promise<T>): Promise<T> => {
    if (closing) throw new RedisUnavailableError('closed', 'the Redis client is closed');
    const queued = connection.status !== 'ready';
    if (queued) {
      if (maxOfflineQueue === 0) throw new RedisUnavailableError('not_connected', `Redis ${address} is not connected`);
      if (offline >= maxOfflineQueue) throw new RedisUnavailableError('offline_queue_full', `Redis ${address} is not connected and ${offline} commands are waiting`);
      offline++;
    }
    try {
      return await command(connection);
    } catch (error) {
      throw classify(error);
    } finally {
      if (queued) offline--;
    }
  };

  const close = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    const status = connection.status;
    if (status === 'end') return;
    const ended = new Promise<void>((resolve) => connection.once('end', () => resolve()));
    // disconnect, not QUIT: QUIT waits for an answer a hung server never sends.
    connection.disconnect(false);
    // Between reconnect attempts there is no socket left to close, so ioredis emits no 'end'.
    if (status === 'reconnecting' || status === 'wait') return;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, options.connectTimeoutMs)));
    await Promise.race([ended, bound]);
    clearTimeout(timer);
  };

  return {
    connection,
    name,
    keyPrefix: options.keyPrefix ?? DEFAULT_KEY_PREFIX,
    address,
    options,
    isReady: () => connection.status === 'ready',
    run,
    duplicate: (otherName) => createRedisClient({ ...options, name: otherName }),
    close,
  };
}
