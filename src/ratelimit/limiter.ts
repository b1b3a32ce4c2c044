/**
 * The token bucket every limiter implements, in integer arithmetic so the
 * memory limiter and the Redis script (redis-limiter.ts) give the same answer
 * to the same sequence of requests, bit for bit.
 *
 * KrakenD's model (qos/ratelimit/router): a bucket holds at most `capacity`
 * tokens, starts full, and refills at `rate` tokens per `every`; a request
 * takes one token or is refused. The level is kept in units of 1/everyMs of a
 * token: a token is `everyMs` units and each millisecond adds `rate` units, so
 * refilling never rounds (a float level drifts, and 0.9999… tokens would
 * refuse a request the other limiter lets through).
 */

export interface Decision {
  readonly allowed: boolean;
  /** The bucket size (`capacity`): the most requests accepted at once. */
  readonly limit: number;
  /** Whole tokens left after this request. */
  readonly remaining: number;
  /** Seconds until the bucket is full again (0 when it is full). */
  readonly resetSeconds: number;
  /** When refused: seconds until a token is back (at least 1). */
  readonly retryAfterSeconds?: number;
  /**
   * Set when the limiter could not decide (Redis unavailable) and answered by its `failOpen`
   * setting instead; `reason` says why. Such a decision carries no real remaining count.
   */
  readonly degraded?: boolean;
  /** Why the decision is not a plain bucket answer, e.g. `redis_timeout`, `redis_not_connected`. */
  readonly reason?: string;
}

export interface Limiter {
  /** Takes one token for `key` at `nowMs`. The memory limiter answers synchronously. */
  take(key: string, nowMs: number): Decision | Promise<Decision>;
}

export interface BucketSpec {
  /** Tokens added per `everyMs` (KrakenD `max_rate` / `client_max_rate`); a positive integer. */
  readonly rate: number;
  /** The refill period in ms (KrakenD `every`, default 1 s); a positive integer. */
  readonly everyMs: number;
  /** Bucket size (KrakenD `capacity` / `client_capacity`); a positive integer. */
  readonly capacity: number;
}

/** Level state of one bucket, in units (1 token = everyMs units). */
export interface BucketState {
  level: number;
  updatedAtMs: number;
}

/** Above this the unit arithmetic would leave the doubles' exact integer range (and Lua's). */
const MAX_UNITS = 2 ** 50;

export function validateBucketSpec(spec: BucketSpec): BucketSpec {
  for (const name of ['rate', 'everyMs', 'capacity'] as const) {
    const value = spec[name];
    if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
  if (spec.capacity * spec.everyMs > MAX_UNITS) throw new RangeError('capacity × every is too large');
  return Object.freeze({ rate: spec.rate, everyMs: spec.everyMs, capacity: spec.capacity });
}

/** Refills `state` up to `nowMs` and takes a token if there is one. Mutates and returns `state`. */
export function takeToken(spec: BucketSpec, state: BucketState | undefined, nowMs: number): { state: BucketState; allowed: boolean } {
  const now = Math.floor(nowMs);
  const full = spec.capacity * spec.everyMs;
  const current = state ?? { level: full, updatedAtMs: now };
  // A clock that steps back (or a peer's clock behind ours) refills nothing; it never drains.
  if (now > current.updatedAtMs) {
    current.level = Math.min(full, current.level + (now - current.updatedAtMs) * spec.rate);
    current.updatedAtMs = now;
  }
  const allowed = current.level >= spec.everyMs;
  if (allowed) current.level -= spec.everyMs;
  return { state: current, allowed };
}

/** The decision for a bucket left at `level` (units) after a take. */
export function decisionFor(spec: BucketSpec, level: number, allowed: boolean): Decision {
  const full = spec.capacity * spec.everyMs;
  const remaining = Math.floor(level / spec.everyMs);
  const resetSeconds = Math.ceil((full - level) / spec.rate / 1000);
  if (allowed) return { allowed, limit: spec.capacity, remaining, resetSeconds };
  const retryAfterSeconds = Math.max(1, Math.ceil((spec.everyMs - level) / spec.rate / 1000));
  return { allowed, limit: spec.capacity, remaining, resetSeconds, retryAfterSeconds };
}

/** Milliseconds after which an untouched bucket at `level` is full again: then it can be forgotten. */
export function msUntilFull(spec: BucketSpec, level: number): number {
  return Math.ceil((spec.capacity * spec.everyMs - level) / spec.rate);
}
