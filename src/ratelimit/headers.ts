/**
 * The IETF RateLimit header fields, as of draft-ietf-httpapi-ratelimit-headers-11
 * (May 2026; the syntax is unchanged since -08): two Structured-Field Lists
 * whose items are a String naming the policy, with parameters.
 *
 *   RateLimit-Policy: "default";q=100;w=60    quota q per window w seconds
 *   RateLimit: "default";r=42;t=17            r left now; t seconds of the effective window
 *
 * For a token bucket the policy is the refill (`rate` per `every`); `r` is the
 * whole tokens left; `t` is the time until the bucket is full again, and on a
 * refusal the Retry-After value, since the draft says Retry-After should not
 * point before the end of the effective window. A degraded decision (Redis
 * unavailable) knows no real count, so it gets no RateLimit field.
 */
import type { Decision } from './limiter.js';

export interface RateLimitPolicy {
  /** The policy name, e.g. `default` or `client`; printable ASCII. */
  readonly name: string;
  /** Quota per window: the bucket's `rate`. */
  readonly quota: number;
  /** The window in ms (the bucket's `every`); advertised in whole seconds, at least 1. */
  readonly windowMs: number;
}

const PRINTABLE = /^[\x20-\x7e]*$/;

function sfString(value: string): string {
  if (!PRINTABLE.test(value)) throw new RangeError('a RateLimit policy name must be printable ASCII');
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

const nonNegativeInteger = (value: number): number => (Number.isFinite(value) && value > 0 ? Math.floor(value) : 0);

/** `RateLimit-Policy` for one or more policies, e.g. `"default";q=100;w=60`. */
export function rateLimitPolicyHeader(policies: readonly RateLimitPolicy[]): string {
  return policies
    .map((policy) => `${sfString(policy.name)};q=${nonNegativeInteger(policy.quota)};w=${Math.max(1, Math.round(policy.windowMs / 1000))}`)
    .join(', ');
}

/** `RateLimit` for a decision, e.g. `"default";r=42;t=17`; undefined for a degraded decision. */
export function rateLimitHeader(policyName: string, decision: Decision): string | undefined {
  if (decision.degraded) return undefined;
  const t = decision.allowed ? decision.resetSeconds : (decision.retryAfterSeconds ?? decision.resetSeconds);
  return `${sfString(policyName)};r=${nonNegativeInteger(decision.remaining)};t=${nonNegativeInteger(t)}`;
}

/**
 * The response headers for one policy's decision (lower-case names): `ratelimit-policy`,
 * `ratelimit` (not for a degraded decision), and `retry-after` when the request is refused.
 */
export function rateLimitHeaders(policy: RateLimitPolicy, decision: Decision): Record<string, string> {
  const headers: Record<string, string> = { 'ratelimit-policy': rateLimitPolicyHeader([policy]) };
  const current = rateLimitHeader(policy.name, decision);
  if (current !== undefined) headers.ratelimit = current;
  if (!decision.allowed) headers['retry-after'] = String(Math.max(1, nonNegativeInteger(decision.retryAfterSeconds ?? 1)));
  return headers;
}
