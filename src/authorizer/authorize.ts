/**
 * The core: request → Decision for one bound endpoint policy. It never reads
 * config and never touches sockets. The token is found (extract), verified
 * once (verify-token, then kept in the cache), and then the policy's checks
 * run in order on every request, cached tokens included; the first failure
 * decides. On a cache hit it answers synchronously; it awaits only when a
 * token names a key the key set does not hold yet, or a check needs I/O.
 */
import { AuthError, isAuthError } from '../jwt/errors.js';
import type { KeySet } from '../keys/key-set.js';
import type { Clock } from '../lib/clock.js';
import { createLogLimiter, type LogLimiter } from '../lib/log-limiter.js';
import type { Logger } from '../lib/logger.js';
import type { VerifiedToken, VerifiedTokenCache } from './cache.js';
import { extractToken, type TokenLocation } from './extract.js';
import type { EndpointPolicy, NamedCheck } from './policy.js';
import { propagatedHeaders } from './propagate.js';
import type { Allow, AuthorizeRequest, Decision, Deny } from './decision.js';
import { verifyToken } from './verify-token.js';

export interface EndpointAuthorizerDeps {
  keySet: KeySet;
  cache: VerifiedTokenCache;
  clock: Clock;
  logger: Logger;
  /** Prefix for log lines, e.g. `[ENDPOINT: /orders]`. */
  label: string;
  /** The checks to run: the policy's own, with any bound ones (revocation, rate limits) at their slots. */
  checks?: readonly NamedCheck[];
}

export type AuthorizeFn = (request: AuthorizeRequest) => Decision | Promise<Decision>;

export function createEndpointAuthorizer(policy: EndpointPolicy, deps: EndpointAuthorizerDeps): AuthorizeFn {
  const { keySet, cache, clock, logger, label } = deps;
  const checks = deps.checks ?? policy.checks;
  const logPrefix = `${label}[JWTValidator]`;
  const limiter = denialLimiterFor(logger, clock);

  function deny(error: unknown): Deny {
    const denial = denialFor(policy, error);
    // Clients decide how many denials there are: the lines are rate-limited, and what is held back is summed up.
    if (!limiter.take(isAuthError(error) ? denial.code : UNEXPECTED)) return denial;
    if (!isAuthError(error)) {
      // A bug must never authorize, nor surface as a 5xx: log it and fail closed.
      logger.error({ err: { name: (error as Error)?.name, message: (error as Error)?.message } }, `${logPrefix} unexpected error while authorizing`);
    }
    // Codes and labels only: never the token, nor a claim value.
    const fields = { code: denial.code, status: denial.status };
    if (denial.code === 'signature_invalid') logger.warn(fields, `${logPrefix} denied: ${denial.code}`);
    else logger.info(fields, `${logPrefix} denied: ${denial.code}`);
    if (policy.operationDebug) logger.error({ code: denial.code }, `${logPrefix} ${debugMessage(denial.code, denial.detail)}`);
    return denial;
  }

  const allow = (verified: VerifiedToken, location: TokenLocation, cached: boolean): Decision => allowFor(policy, verified, location, cached);

  /** Runs the checks from `from` on; continues asynchronously only if a check returns a promise. */
  function decide(token: string, verified: VerifiedToken, location: TokenLocation, cached: boolean, request: AuthorizeRequest, from: number): Decision | Promise<Decision> {
    const nowSeconds = clock.now() / 1000;
    try {
      for (let i = from; i < checks.length; i++) {
        const pending = checks[i]!.check(verified, request, nowSeconds);
        if (pending !== undefined) {
          return pending.then(
            () => decide(token, verified, location, cached, request, i + 1),
            (error: unknown) => refuse(token, error),
          );
        }
      }
    } catch (error) {
      return refuse(token, error);
    }
    return allow(verified, location, cached);
  }

  function refuse(token: string, error: unknown): Deny {
    if (isAuthError(error) && error.code === 'token_expired') cache.delete(token);
    return deny(error);
  }

  return function authorize(request: AuthorizeRequest): Decision | Promise<Decision> {
    let token: string;
    let location: TokenLocation;
    try {
      ({ token, location } = extractToken(request.headers, request, policy.extraction));
      const hit = cache.get(token, keySet);
      if (hit !== undefined) return decide(token, hit, location, true, request, 0);
      const verified = verifyToken(token, policy, keySet);
      if (verified instanceof Promise) {
        return verified.then((result) => {
          cache.set(token, result);
          return decide(token, result, location, false, request, 0);
        }, deny);
      }
      cache.set(token, verified);
      return decide(token, verified, location, false, request, 0);
    } catch (error) {
      return deny(error);
    }
  };
}

const UNEXPECTED = 'unexpected_error';

/** Denial lines per second once the burst is spent, and the burst. */
export const DENIAL_LOG_RATE_PER_SECOND = 10;
export const DENIAL_LOG_BURST = 50;

/** One limiter per logger: every endpoint writing to one log shares one budget. */
const denialLimiters = new WeakMap<Logger, LogLimiter>();

function denialLimiterFor(logger: Logger, clock: Clock): LogLimiter {
  let limiter = denialLimiters.get(logger);
  if (limiter === undefined) {
    limiter = createLogLimiter({
      ratePerSecond: DENIAL_LOG_RATE_PER_SECOND,
      burst: DENIAL_LOG_BURST,
      clock,
      onSuppressed: (suppressed, total) => logger.warn({ suppressed, total }, `[JWTValidator] denial log lines suppressed by the rate limit: ${total}`),
    });
    denialLimiters.set(logger, limiter);
  }
  return limiter;
}

/** The Deny for an error: its code's prebuilt shape; anything that is not an AuthError counts as a malformed token. */
export function denialFor(policy: EndpointPolicy, error: unknown): Deny {
  const { code, detail } = isAuthError(error) ? error : new AuthError('token_malformed', 'internal error while reading the token');
  const shape = policy.denials[code];
  return { allowed: false, code, status: shape.status, wwwAuthenticate: shape.wwwAuthenticate, body: shape.body, detail };
}

/** The Allow for a verified token; the propagated headers depend only on the claims, so they are kept with the token. */
export function allowFor(policy: EndpointPolicy, verified: VerifiedToken, location: TokenLocation, cached: boolean): Allow {
  let memo = verified.memo;
  if (memo === undefined || memo.owner !== policy) {
    memo = { owner: policy, headers: Object.freeze(propagatedHeaders(policy.propagation, verified.claims, verified.payloadSegment)) };
    verified.memo = memo;
  }
  return {
    allowed: true,
    claims: verified.claims,
    protectedHeader: verified.header,
    headers: memo.headers,
    stripHeaders: policy.propagation.headerNames,
    tokenLocation: location,
    keyFingerprint: verified.key.fingerprint,
    cached,
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
