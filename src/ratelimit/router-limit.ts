/**
 * One endpoint's `qos/ratelimit/router` as KrakenD CE applies it, for any
 * front door: the client limit first (`client_max_rate`, keyed by the
 * strategy), then the endpoint-wide limit (`max_rate`), so a client refused
 * by its own limit does not spend the endpoint's tokens.
 *
 * | outcome                                   | status | as KrakenD |
 * |-------------------------------------------|--------|------------|
 * | no client key (header absent, claim missing) | 429 | yes        |
 * | client bucket empty                       | 429    | yes        |
 * | endpoint bucket empty                     | 503    | yes        |
 * | Redis unavailable and `failOpen: false`   | 503    | (no Redis in CE) |
 *
 * KrakenD sends no rate-limit headers; with `headers` the client policy is
 * advertised (IETF RateLimit fields, headers.ts) and refusals carry
 * Retry-After. The endpoint-wide count is never advertised: it would tell
 * every client how busy the endpoint is.
 *
 * Stays synchronous with memory limiters; returns a promise only when a
 * limiter does (Redis).
 */
import type { ClientKeyReader, ClientKeySource } from './client-key.js';
import { rateLimitHeaders, type RateLimitPolicy } from './headers.js';
import type { Decision, Limiter } from './limiter.js';

/** The key of the endpoint-wide bucket in its limiter (whose prefix names the endpoint). */
export const ENDPOINT_KEY = '*';

export interface RouterRateLimitOptions {
  /** `max_rate` / `capacity`: one bucket for every client of the endpoint. */
  readonly endpoint?: Limiter;
  /** `client_max_rate` / `client_capacity` with the strategy's key reader. */
  readonly client?: { readonly limiter: Limiter; readonly keyOf: ClientKeyReader };
  /** Advertise the client policy with the IETF RateLimit fields; default off (KrakenD parity). */
  readonly headers?: { readonly policy: RateLimitPolicy };
}

export type RouterRateLimitReason = 'no_client_key' | 'client_limit' | 'endpoint_limit' | 'limiter_unavailable';

export type RouterRateLimitOutcome =
  | {
      readonly allowed: true;
      /** Response headers to add (lower-case names); empty without `headers`. */
      readonly headers: Readonly<Record<string, string>>;
      /** Set when a limiter could not decide and allowed by `failOpen`, e.g. `redis_timeout`. */
      readonly degraded?: string;
    }
  | {
      readonly allowed: false;
      readonly status: 429 | 503;
      readonly reason: RouterRateLimitReason;
      /** For logs: the limiter's own reason when it could not decide. */
      readonly detail?: string;
      readonly headers: Readonly<Record<string, string>>;
    };

export interface RouterRateLimit {
  check(source: ClientKeySource, nowMs: number): RouterRateLimitOutcome | Promise<RouterRateLimitOutcome>;
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

function then<T, R>(value: T | Promise<T>, next: (value: T) => R | Promise<R>): R | Promise<R> {
  return value instanceof Promise ? value.then(next) : next(value);
}

export function createRouterRateLimit(options: RouterRateLimitOptions): RouterRateLimit {
  const { endpoint, client } = options;
  const policy = options.headers?.policy;
  if (endpoint === undefined && client === undefined) throw new RangeError('a router rate limit needs max_rate or client_max_rate');

  const refused = (decision: Decision, status: 429 | 503, reason: RouterRateLimitReason, headers: Readonly<Record<string, string>>): RouterRateLimitOutcome => {
    const retry = String(Math.max(1, decision.retryAfterSeconds ?? 1));
    const withRetry = { ...headers, 'retry-after': retry };
    return decision.degraded
      ? { allowed: false, status: 503, reason: 'limiter_unavailable', detail: decision.reason ?? 'unavailable', headers: withRetry }
      : { allowed: false, status, reason, headers: withRetry };
  };

  const afterEndpoint = (decision: Decision, clientHeaders: Readonly<Record<string, string>>, clientDegraded: string | undefined): RouterRateLimitOutcome => {
    if (!decision.allowed) {
      // The client's own count still helps it; the endpoint's is not advertised.
      const { 'retry-after': _ignored, ...rest } = clientHeaders;
      return refused(decision, 503, 'endpoint_limit', rest);
    }
    const degraded = clientDegraded ?? (decision.degraded ? decision.reason : undefined);
    return degraded === undefined ? { allowed: true, headers: clientHeaders } : { allowed: true, headers: clientHeaders, degraded };
  };

  const endpointStep = (
    nowMs: number,
    clientHeaders: Readonly<Record<string, string>>,
    clientDegraded: string | undefined,
  ): RouterRateLimitOutcome | Promise<RouterRateLimitOutcome> => {
    if (endpoint === undefined) {
      return clientDegraded === undefined ? { allowed: true, headers: clientHeaders } : { allowed: true, headers: clientHeaders, degraded: clientDegraded };
    }
    return then(endpoint.take(ENDPOINT_KEY, nowMs), (decision) => afterEndpoint(decision, clientHeaders, clientDegraded));
  };

  return {
    check(source, nowMs) {
      if (client === undefined) return endpointStep(nowMs, NO_HEADERS, undefined);
      const key = client.keyOf(source);
      if (key === undefined) {
        return { allowed: false, status: 429, reason: 'no_client_key', headers: NO_HEADERS };
      }
      return then(client.limiter.take(key, nowMs), (decision) => {
        const headers = policy === undefined ? NO_HEADERS : rateLimitHeaders(policy, decision);
        if (!decision.allowed) return refused(decision, 429, 'client_limit', headers);
        return endpointStep(nowMs, headers, decision.degraded ? decision.reason : undefined);
      });
    },
  };
}
