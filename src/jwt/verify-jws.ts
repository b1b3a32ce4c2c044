/**
 * Library-level verification of one compact JWS against keys the caller holds:
 * the same parsing, key binding and signature rules as the authorizer, without
 * endpoint policy. Time and identity checks are left to the caller.
 */
import { AuthError } from './errors.js';
import { assertRegisteredClaimTypes } from './claims.js';
import { parseCompactJws, DEFAULT_PARSE_LIMITS, type Claims, type JwsHeader, type ParseLimits } from './parse.js';
import { isSupportedAlg, type Alg } from './algorithms.js';
import { signingInput, verifySignature } from './verify.js';
import type { Jwk, VerificationKey } from './keys.js';
import { findKey, keyReference, type KeyIdentifyStrategy } from '../keys/select.js';
import type { KeyIndex, KeySet } from '../keys/key-set.js';
import { buildKeyIndex } from '../keys/key-index.js';

export interface VerifyJwsOptions {
  /** Allowed algorithms; the token header must name one exactly. */
  algorithms: readonly Alg[];
  keyIdentifyStrategy?: KeyIdentifyStrategy;
  limits?: Partial<ParseLimits>;
}

export interface VerifiedJws {
  header: JwsHeader;
  claims: Claims;
  key: VerificationKey;
}

/** Builds a key index from verification keys (see importJwk) for use with verifyJws. */
export function indexKeys(keys: readonly VerificationKey[]): KeyIndex {
  const byKid = new Map<string, VerificationKey>();
  for (const key of keys) if (key.kid !== undefined && !byKid.has(key.kid)) byKid.set(key.kid, key);
  return { keys, byKid, byX5t: new Map(keys.filter((k) => k.x5t).map((k) => [k.x5t!, k])), byX5tS256: new Map(keys.filter((k) => k.x5tS256).map((k) => [k.x5tS256!, k])) };
}

/**
 * Verifies `token` against a key, a list of keys, a JWKS object, or a KeySet
 * (which may download on an unknown kid). Throws AuthError on any failure.
 */
export async function verifyJws(
  token: string,
  keys: VerificationKey | readonly VerificationKey[] | { keys: readonly object[] } | KeySet,
  options: VerifyJwsOptions,
): Promise<VerifiedJws> {
  const parsed = parseCompactJws(token, { ...DEFAULT_PARSE_LIMITS, ...options.limits });
  const alg = parsed.header.alg;
  if (!isSupportedAlg(alg) || !options.algorithms.includes(alg)) throw new AuthError('alg_not_allowed');
  assertRegisteredClaimTypes(parsed.payload);
  const reference = keyReference(parsed.header, options.keyIdentifyStrategy ?? 'kid');

  let key: VerificationKey | undefined;
  if (isKeySet(keys)) {
    let index = keys.current();
    key = index ? findKey(index, reference) : undefined;
    if (!key) {
      index = await keys.refreshForMiss(reference.identifier ?? '');
      if (!index) throw new AuthError('keys_unavailable');
      key = findKey(index, reference);
    }
  } else {
    const index = Array.isArray(keys)
      ? indexKeys(keys)
      : 'keyObject' in (keys as object)
        ? indexKeys([keys as VerificationKey])
        : buildKeyIndex((keys as { keys: Jwk[] }).keys).index;
    key = findKey(index, reference);
  }
  if (!key) throw new AuthError('key_not_found');
  if (!key.algs.has(alg)) throw new AuthError('key_not_found', `the matching key does not verify ${alg}`);
  if (!verifySignature(key, alg, signingInput(token, parsed.signingInputLength), parsed.signature)) {
    throw new AuthError('signature_invalid');
  }
  return { header: parsed.header, claims: parsed.payload, key };
}

function isKeySet(value: unknown): value is KeySet {
  return typeof (value as KeySet).refreshForMiss === 'function';
}
