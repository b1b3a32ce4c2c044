/**
 * Library-level verification of one compact JWS against keys the caller holds:
 * the authorizer's verifyToken, without endpoint policy. Time and identity
 * checks are left to the caller.
 */
import { AuthError } from '../jwt/errors.js';
import { DEFAULT_PARSE_LIMITS, type Claims, type JwsHeader, type ParseLimits } from '../jwt/parse.js';
import { isSupportedAlg, type Alg } from '../jwt/algorithms.js';
import type { Jwk, VerificationKey } from '../jwt/keys.js';
import type { KeyIdentifyStrategy } from '../keys/select.js';
import type { KeyIndex, KeySet } from '../keys/key-set.js';
import { buildKeyIndex, indexKeySet, MixedKeySetError } from '../keys/key-index.js';
import { verifyToken } from './verify-token.js';

export interface VerifyJwsOptions {
  /** Allowed algorithms; the token header must name one exactly. */
  algorithms: readonly Alg[];
  keyIdentifyStrategy?: KeyIdentifyStrategy;
  limits?: Partial<ParseLimits>;
}

export interface VerifiedJws {
  protectedHeader: JwsHeader;
  claims: Claims;
  key: VerificationKey;
}

/**
 * Builds a key index from verification keys (see importJwk) for use with
 * verifyJws. Throws TypeError when the keys mix HMAC secrets with public keys.
 * A name shared by different keys for the same alg is not an error here; a
 * token that uses it is refused with `key_not_found`.
 */
export function indexKeys(keys: readonly VerificationKey[]): KeyIndex {
  try {
    return indexKeySet(keys).index;
  } catch (error) {
    if (error instanceof MixedKeySetError) throw new TypeError(error.message, { cause: error });
    throw error;
  }
}

/**
 * Verifies `token` against a key, a list of keys, a JWKS object, or a KeySet
 * (which may download on an unknown kid), with the authorizer's own
 * verifyToken: the same parsing, key lookup, key binding and signature rules.
 * Throws AuthError on any failure.
 */
export async function verifyJws(
  token: string,
  keys: VerificationKey | readonly VerificationKey[] | { keys: readonly object[] } | KeySet,
  options: VerifyJwsOptions,
): Promise<VerifiedJws> {
  const spec = {
    allowedAlgs: new Set(options.algorithms.filter(isSupportedAlg)),
    keyStrategy: options.keyIdentifyStrategy ?? 'kid',
    parseLimits: mergeLimits(options.limits),
  };
  const keySet = isKeySet(keys) ? keys : fixedKeySet(() => indexOf(keys));
  const verified = await verifyToken(token, spec, keySet);
  return { protectedHeader: verified.header, claims: verified.claims, key: verified.key };
}

/**
 * Keys the caller holds, as a key set that never downloads. The index is built
 * on first use, so a token that does not even parse is refused as malformed
 * before the keys are looked at.
 */
function fixedKeySet(build: () => KeyIndex): KeySet {
  let index: KeyIndex | undefined;
  const current = (): KeyIndex => (index ??= build());
  return {
    label: 'caller keys',
    current,
    refreshForMiss: async () => current(),
    ready: async () => {},
    status: () => ({
      label: 'caller keys',
      loaded: true,
      keyCount: current().keys.length,
      lastSuccessAt: undefined,
      lastErrorAt: undefined,
      lastError: undefined,
      fetchCount: 0,
      successCount: 0,
      failureCount: 0,
      stale: false,
      coolingDown: false,
    }),
    close: () => {},
  };
}

function indexOf(keys: unknown): KeyIndex {
  if (Array.isArray(keys)) return indexKeys(keys as VerificationKey[]);
  if (typeof keys === 'object' && keys !== null && 'keyObject' in keys) return indexKeys([keys as VerificationKey]);
  if (typeof keys === 'object' && keys !== null && Array.isArray((keys as { keys?: unknown }).keys)) {
    try {
      return buildKeyIndex((keys as { keys: Jwk[] }).keys).index;
    } catch (error) {
      // A mixed set is the caller's configuration mistake, not a property of the token.
      if (error instanceof MixedKeySetError) throw new TypeError(error.message, { cause: error });
      throw new AuthError('key_not_found', (error as Error).message);
    }
  }
  throw new AuthError('key_not_found', 'no keys were given');
}

// Nested JSON is walked recursively after parsing; this keeps the walk far from the stack limit.
const MAX_DEPTH = 256;

/** Caller limits may tighten or loosen the defaults, but only with finite positive numbers. */
function mergeLimits(overrides: Partial<ParseLimits> | undefined): ParseLimits {
  const limits = { ...DEFAULT_PARSE_LIMITS };
  for (const [name, value] of Object.entries(overrides ?? {}) as [keyof ParseLimits, unknown][]) {
    if (!(name in limits)) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new TypeError(`limits.${name} must be a positive integer`);
    }
    if ((name === 'maxHeaderDepth' || name === 'maxPayloadDepth') && value > MAX_DEPTH) {
      throw new TypeError(`limits.${name} may be at most ${MAX_DEPTH}`);
    }
    limits[name] = value;
  }
  return limits;
}

function isKeySet(value: unknown): value is KeySet {
  return typeof value === 'object' && value !== null && typeof (value as KeySet).refreshForMiss === 'function';
}
