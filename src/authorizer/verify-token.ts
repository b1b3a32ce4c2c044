/**
 * Token verification, once per token: parse the compact JWS within its
 * limits, refuse an algorithm the endpoint does not allow, find the key
 * (resolveKey), check the signature, and only then decode and freeze the
 * claims and check their types. The result is what the verified-token cache
 * keeps. Synchronous unless the key set must download.
 *
 * `trace`, used by `explain` only, hears each step that passed, in the order
 * of VERIFY_STEPS; a step that fails throws, so the failing step is the one
 * after the last traced.
 */
import { assertRegisteredClaimTypes } from '../jwt/claims.js';
import { AuthError } from '../jwt/errors.js';
import type { Alg } from '../jwt/algorithms.js';
import type { VerificationKey } from '../jwt/keys.js';
import { decodePayload, parseJwsParts, type JwsParts } from '../jwt/parse.js';
import { signingInput, verifySignature } from '../jwt/verify.js';
import type { KeySet } from '../keys/key-set.js';
import { resolveKey } from '../keys/resolve-key.js';
import { keyReference } from '../keys/select.js';
import type { VerifiedToken } from './cache.js';
import type { VerifySpec } from './policy.js';

export const VERIFY_STEPS = ['compact JWS structure', 'algorithm allowlist', 'key lookup', 'signature', 'claim types'] as const;
export type VerifyStep = (typeof VERIFY_STEPS)[number];

export interface VerifyTrace {
  (step: 'compact JWS structure', parts: JwsParts): void;
  (step: 'algorithm allowlist', alg: Alg): void;
  (step: 'key lookup', key: VerificationKey): void;
  (step: 'signature' | 'claim types', detail?: undefined): void;
}

export function verifyToken(token: string, spec: VerifySpec, keySet: KeySet, trace?: VerifyTrace): VerifiedToken | Promise<VerifiedToken> {
  const parts = parseJwsParts(token, spec.parseLimits);
  trace?.('compact JWS structure', parts);
  const alg = parts.header.alg as Alg;
  if (!spec.allowedAlgs.has(alg)) throw new AuthError('alg_not_allowed');
  trace?.('algorithm allowlist', alg);
  const key = resolveKey(keySet, keyReference(parts.header, spec.keyStrategy), alg);
  if (key instanceof Promise) return key.then((found) => verifiedWith(found, token, parts, alg, spec, keySet, trace));
  return verifiedWith(key, token, parts, alg, spec, keySet, trace);
}

function verifiedWith(key: VerificationKey, token: string, parts: JwsParts, alg: Alg, spec: VerifySpec, keySet: KeySet, trace: VerifyTrace | undefined): VerifiedToken {
  trace?.('key lookup', key);
  if (!verifySignature(key, alg, signingInput(token, parts.signingInputLength), parts.signature)) {
    throw new AuthError('signature_invalid');
  }
  trace?.('signature');
  // Claims are decoded only once the signature holds, and frozen: they are shared by every later cache hit.
  const claims = decodePayload(token, parts, spec.parseLimits, true);
  assertRegisteredClaimTypes(claims);
  trace?.('claim types');
  return {
    token,
    keySet,
    key,
    alg,
    header: parts.header,
    claims,
    payloadSegment: token.slice(parts.firstDot + 1, parts.signingInputLength),
    memo: undefined,
  };
}
