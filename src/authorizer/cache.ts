/**
 * The verified-token cache: once a token's signature has verified, the result
 * is kept so the next request skips parsing and cryptography. Time checks and
 * policy still run on every hit. An entry counts only for the key set that
 * verified it and only while its key is still in that set.
 */
import type { Alg } from '../jwt/algorithms.js';
import type { VerificationKey } from '../jwt/keys.js';
import type { Claims, JwsHeader } from '../jwt/parse.js';
import type { KeySet } from '../keys/key-set.js';
import { GenerationalCache } from '../lib/generational-cache.js';
import type { PropagatedHeader } from './propagate.js';

export interface VerifiedToken {
  /** The token itself: a cache hit must match it exactly, not only its lookup key. */
  readonly token: string;
  readonly keySet: KeySet;
  readonly key: VerificationKey;
  readonly alg: Alg;
  readonly header: JwsHeader;
  readonly claims: Claims;
  /** The base64url payload segment, forwarded as is when a payload header is configured. */
  readonly payloadSegment: string;
  /** One-slot memo of the last endpoint's propagated headers; they depend only on the claims. */
  memo: { owner: object; headers: readonly PropagatedHeader[] } | undefined;
}

export const DEFAULT_CACHE_ENTRIES = 100_000;
export const DEFAULT_CACHE_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Approximate heap bytes one entry holds: the token string, the decoded and
 * frozen claims and header objects, and the entry itself. Measured at 2.5 to
 * 3.2 times the token length across token sizes, so three times plus a fixed
 * part errs on the high side.
 */
export function entryBytes(token: string): number {
  return 3 * token.length + 512;
}

export interface VerifiedTokenCache {
  get(token: string, keySet: KeySet): VerifiedToken | undefined;
  set(token: string, verified: VerifiedToken): void;
  delete(token: string): void;
  readonly size: number;
  /** Approximate heap bytes held (see entryBytes). */
  readonly bytes: number;
  /** Lookups that found the token, and that did not, since the cache was made. */
  readonly hits: number;
  readonly misses: number;
  clear(): void;
}

/**
 * Every request carries a freshly parsed token string, so a Map keyed by the
 * whole token would hash ~1 KB per lookup. The tail of the signature is
 * unpredictable and short; a hit is then confirmed by comparing whole tokens,
 * so a colliding forgery only ever finds an entry it cannot use.
 */
const LOOKUP_KEY_LENGTH = 24;

function lookupKey(token: string): string {
  return token.length <= LOOKUP_KEY_LENGTH ? token : token.slice(token.length - LOOKUP_KEY_LENGTH);
}

/** At most `maxEntries` entries and about `maxBytes` bytes; either at 0 turns caching off. */
export function createVerifiedTokenCache(maxEntries = DEFAULT_CACHE_ENTRIES, maxBytes = DEFAULT_CACHE_MAX_BYTES): VerifiedTokenCache {
  if (maxEntries <= 0 || maxBytes <= 0) {
    let misses = 0;
    return {
      get: () => {
        misses++;
        return undefined;
      },
      set: () => {},
      delete: () => {},
      size: 0,
      bytes: 0,
      hits: 0,
      get misses() {
        return misses;
      },
      clear: () => {},
    };
  }
  const entries = new GenerationalCache<string, VerifiedToken>(maxEntries, { maxWeight: maxBytes, weigh: (entry) => entryBytes(entry.token) });

  function lookup(token: string, keySet: KeySet): VerifiedToken | undefined {
    const entry = entries.get(lookupKey(token));
    if (entry === undefined || entry.token !== token) return undefined;
    if (entry.key.retired) {
      entries.delete(lookupKey(token));
      return undefined;
    }
    // A set past its stale bound serves no keys, so its cached verifications do not count either.
    return entry.keySet === keySet && keySet.current() !== undefined ? entry : undefined;
  }
  let hits = 0;
  let misses = 0;
  return {
    get(token, keySet) {
      const found = lookup(token, keySet);
      if (found === undefined) misses++;
      else hits++;
      return found;
    },
    set: (token, verified) => entries.set(lookupKey(token), verified),
    delete: (token) => {
      const key = lookupKey(token);
      if (entries.get(key)?.token === token) entries.delete(key);
    },
    get size() {
      return entries.size;
    },
    get bytes() {
      return entries.weight;
    },
    get hits() {
      return hits;
    },
    get misses() {
      return misses;
    },
    clear: () => entries.clear(),
  };
}
