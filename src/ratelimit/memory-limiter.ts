/**
 * Token buckets in this process, one per client key: KrakenD's behaviour
 * (every instance counts only its own traffic). The key map is bounded: a
 * client that invents a new key per request (a header strategy, spoofed
 * X-Forwarded-For) must not grow memory without limit. The least recently
 * used key is forgotten first; a forgotten key starts again with a full
 * bucket, which is also what an idle key has, so the least recently used one
 * is the one whose loss matters least.
 */
import { decisionFor, msUntilFull, takeToken, validateBucketSpec, type BucketSpec, type BucketState, type Decision, type Limiter } from './limiter.js';

export const DEFAULT_MAX_KEYS = 100_000;

export interface MemoryLimiterOptions extends BucketSpec {
  /** Most keys held at once. Default 100,000. */
  readonly maxKeys?: number;
}

export interface MemoryLimiter extends Limiter {
  take(key: string, nowMs: number): Decision;
  /** Keys held now. */
  readonly size: number;
  /** Forgets buckets that are full by `nowMs` (they are the same as absent ones); returns how many. */
  sweep(nowMs: number): number;
}

export function createMemoryLimiter(options: MemoryLimiterOptions): MemoryLimiter {
  const spec = validateBucketSpec(options);
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new RangeError('maxKeys must be a positive integer');
  // Map iteration is insertion order: deleting and setting again on every take makes it an LRU.
  const buckets = new Map<string, BucketState>();

  return {
    take(key, nowMs) {
      const existing = buckets.get(key);
      const { state, allowed } = takeToken(spec, existing, nowMs);
      if (existing !== undefined) buckets.delete(key);
      else if (buckets.size >= maxKeys) buckets.delete(buckets.keys().next().value!);
      buckets.set(key, state);
      return decisionFor(spec, state.level, allowed);
    },
    get size() {
      return buckets.size;
    },
    sweep(nowMs) {
      let dropped = 0;
      for (const [key, state] of buckets) {
        if (nowMs - state.updatedAtMs >= msUntilFull(spec, state.level)) {
          buckets.delete(key);
          dropped++;
        }
      }
      return dropped;
    },
  };
}
