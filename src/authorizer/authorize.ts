/**
 * The core: request → Decision for one compiled endpoint policy. It never
 * reads config and never touches sockets; it awaits only when a token names a
 * key the key set does not hold yet. On a cache hit it answers synchronously.
 */
import { AuthError, isAuthError } from '../jwt/errors.js';
import { assertRegisteredClaimTypes, checkIdentity, checkTimes } from '../jwt/claims.js';
import { decodePayload, deepFreeze, parseJwsParts, type JwsParts } from '../jwt/parse.js';
import type { Alg } from '../jwt/algorithms.js';
import { signingInput, verifySignature } from '../jwt/verify.js';
import type { VerificationKey } from '../jwt/keys.js';
import { findKey, keyReference, type KeyReference } from '../keys/select.js';
import type { KeyIndex } from '../keys/key-set.js';
import { normalizeTyp, type EndpointPolicy } from '../config/compile-validator.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { VerifiedToken, VerifiedTokenCache } from './cache.js';
import { extractToken, type TokenLocation } from './extract.js';
import { propagatedHeaders } from './propagate.js';
import type { AuthorizeRequest, Decision, Deny } from './decision.js';

export interface EndpointAuthorizerDeps {
  cache: VerifiedTokenCache;
  clock: Clock;
  logger: Logger;
  /** Prefix for log lines, e.g. `[ENDPOINT: /orders]`. */
  label: string;
}

export type AuthorizeFn = (request: AuthorizeRequest) => Decision | Promise<Decision>;

export function createEndpointAuthorizer(policy: EndpointPolicy, deps: EndpointAuthorizerDeps): AuthorizeFn {
  const { cache, clock, logger, label } = deps;
  const logPrefix = `${label}[JWTValidator]`;

  function deny(error: unknown): Deny {
    if (!isAuthError(error)) {
      // A bug must never authorize, nor surface as a 5xx: log it and fail closed.
      logger.error({ err: { name: (error as Error)?.name, message: (error as Error)?.message } }, `${logPrefix} unexpected error while authorizing`);
      error = new AuthError('token_malformed', 'internal error while reading the token');
    }
    const { code, detail } = error as AuthError;
    const shape = policy.denials[code];
    if (policy.operationDebug) logger.error({ code }, `${logPrefix} ${debugMessage(code, detail)}`);
    return { allowed: false, code, status: shape.status, wwwAuthenticate: shape.wwwAuthenticate, body: shape.body, detail };
  }

  function decide(verified: VerifiedToken, location: TokenLocation, cached: boolean, request: AuthorizeRequest): Decision {
    if (!policy.allowedAlgs.has(verified.alg)) throw new AuthError('alg_not_allowed');
    if (policy.typs && !(typeof verified.header.typ === 'string' && policy.typs.has(normalizeTyp(verified.header.typ)))) {
      throw new AuthError('type_not_allowed');
    }
    const claims = verified.claims;
    checkTimes(claims, clock.now() / 1000, policy.time);
    checkIdentity(claims, policy.identity);
    // Between signature and policy is where a revocation check will go (design.md §6).
    const rules = policy.rules;
    for (let i = 0; i < rules.length; i++) rules[i]!.check(claims, request);
    let memo = verified.memo;
    if (memo === undefined || memo.owner !== policy) {
      memo = { owner: policy, headers: Object.freeze(propagatedHeaders(policy.propagation, claims, verified.payloadSegment)) };
      verified.memo = memo;
    }
    return {
      allowed: true,
      claims,
      header: verified.header,
      headers: memo.headers,
      stripHeaders: policy.propagation.headerNames,
      tokenLocation: location,
      keyFingerprint: verified.key.fingerprint,
      cached,
    };
  }

  function decideOrDeny(token: string, verified: VerifiedToken, location: TokenLocation, cached: boolean, request: AuthorizeRequest): Decision {
    try {
      return decide(verified, location, cached, request);
    } catch (error) {
      if (isAuthError(error) && error.code === 'token_expired') cache.delete(token);
      return deny(error);
    }
  }

  return function authorize(request: AuthorizeRequest): Decision | Promise<Decision> {
    let token: string;
    let location: TokenLocation;
    try {
      ({ token, location } = extractToken(request.headers, request, policy.extraction));
      const hit = cache.get(token, policy.keySet);
      if (hit !== undefined) return decideOrDeny(token, hit, location, true, request);
      const verified = verifyFresh(token, policy);
      if (verified instanceof Promise) {
        return verified.then(
          (result) => {
            cache.set(token, result);
            return decideOrDeny(token, result, location, false, request);
          },
          deny,
        );
      }
      cache.set(token, verified);
      return decideOrDeny(token, verified, location, false, request);
    } catch (error) {
      return deny(error);
    }
  };
}

/** Parses and verifies a token not seen before. Synchronous unless the key set must download. */
export function verifyFresh(token: string, policy: EndpointPolicy): VerifiedToken | Promise<VerifiedToken> {
  const parsed = parseJwsParts(token, policy.parseLimits);
  const alg = parsed.header.alg as Alg;
  if (!policy.allowedAlgs.has(alg)) throw new AuthError('alg_not_allowed');
  const reference = keyReference(parsed.header, policy.keyStrategy);
  const index = policy.keySet.current();
  const key = index === undefined ? undefined : findKey(index, reference, alg);
  if (key !== undefined) return verifiedWith(key, token, parsed, policy);
  if (index !== undefined && reference.identifier === undefined) {
    throw new AuthError('key_not_found', index.keys.length > 1 ? 'the token names no key and the key set holds several' : 'no key fits');
  }
  return verifyAfterKeyMiss(token, parsed, reference, index === undefined, policy);
}

async function verifyAfterKeyMiss(
  token: string,
  parsed: JwsParts,
  reference: KeyReference,
  neverLoaded: boolean,
  policy: EndpointPolicy,
): Promise<VerifiedToken> {
  const keySet = policy.keySet;
  let fresh: KeyIndex | undefined = await keySet.refreshForMiss(reference.identifier ?? '');
  if (!fresh) throw new AuthError('keys_unavailable', `no keys loaded from ${keySet.source}`);
  const alg = parsed.header.alg as Alg;
  let key = findKey(fresh, reference, alg);
  if (!key && neverLoaded && reference.identifier !== undefined) {
    // The first load just happened; the token may still name a key published after it.
    fresh = await keySet.refreshForMiss(reference.identifier);
    key = fresh ? findKey(fresh, reference, alg) : undefined;
  }
  if (!key) throw new AuthError('key_not_found', reference.identifier ? `unknown ${reference.identifier.slice(0, 80)}` : 'no key fits');
  return verifiedWith(key, token, parsed, policy);
}

function verifiedWith(key: VerificationKey, token: string, parsed: JwsParts, policy: EndpointPolicy): VerifiedToken {
  const alg = parsed.header.alg as Alg;
  if (!key.algs.has(alg)) throw new AuthError('key_not_found', `the matching key does not verify ${alg}`);
  if (!verifySignature(key, alg, signingInput(token, parsed.signingInputLength), parsed.signature)) {
    throw new AuthError('signature_invalid');
  }
  // Claims are decoded only once the signature holds, and frozen: they are shared by every later cache hit.
  const claims = deepFreeze(decodePayload(token, parsed, policy.parseLimits));
  assertRegisteredClaimTypes(claims);
  return {
    token,
    keySet: policy.keySet,
    key,
    alg,
    header: parsed.header,
    claims,
    payloadSegment: token.slice(parsed.firstDot + 1, parsed.signingInputLength),
    memo: undefined,
  };
}

function debugMessage(code: string, detail: string): string {
  const reason = detail ? `${code}: ${detail}` : code;
  if (code === 'insufficient_roles') return `Token sent by client does not have sufficient roles (${reason})`;
  if (code === 'insufficient_scope') return `Token sent by client does not have the required scopes (${reason})`;
  if (code === 'insufficient_permissions' || code === 'tenant_not_allowed' || code === 'claim_mismatch') {
    return `Token sent by client rejected (${reason})`;
  }
  return `Unable to validate the token: ${reason}`;
}
