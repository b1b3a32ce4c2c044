/**
 * Where an endpoint's rate limits run, for every front door that has them
 * (gateway, forward-auth). A client limit keyed by the peer address runs
 * before the token is verified, so a flood of bad tokens is refused for the
 * price of a map lookup; every other limit runs after authorization, so an
 * unauthenticated flood cannot spend an authenticated user's quota, and a
 * `jwt` strategy has the verified claims to key on. The endpoint-wide bucket
 * (`max_rate`) always runs after authorization, for the same reason.
 *
 * Within one block the client limit comes first, then the endpoint's, as in
 * KrakenD; blocks run in order (`router`, then `router/redis`).
 */
import type { EndpointPlan, GatewayPlan, RateLimitPlan } from '../config/plan.js';
import type { ClientKeySource } from '../ratelimit/client-key.js';
import { clientKeyReader } from '../ratelimit/client-key.js';
import { createRouterRateLimit, type RouterRateLimit, type RouterRateLimitOutcome } from '../ratelimit/router-limit.js';
import type { FleetState } from './fleet-state.js';

export type RateLimitCode = 'rate_limited' | 'endpoint_rate_limited' | 'rate_limiter_unavailable';

export type LimitOutcome =
  | { readonly allowed: true; readonly headers: Readonly<Record<string, string>> }
  | {
      readonly allowed: false;
      readonly status: 429 | 503;
      readonly code: RateLimitCode;
      /** Why, for the log line: `client_limit`, `no_client_key`, `endpoint_limit`, or the limiter's own reason. */
      readonly detail: string;
      readonly headers: Readonly<Record<string, string>>;
    };

/** Runs the limits of one step; synchronous unless a limiter talks to Redis. */
export type LimitStep = (source: ClientKeySource, nowMs: number) => LimitOutcome | Promise<LimitOutcome>;

export interface EndpointLimits {
  /** Client limits keyed by the peer address: before the token is looked at. */
  readonly beforeAuth: LimitStep | undefined;
  /** Every other limit, with the verified claims in the source. */
  readonly afterAuth: LimitStep | undefined;
}

const NONE: EndpointLimits = Object.freeze({ beforeAuth: undefined, afterAuth: undefined });

/** `GET /orders/{id}`: names an endpoint's buckets (in Redis keys too), stable across reloads and instances. */
export function limitScope(endpoint: EndpointPlan): string {
  return `${endpoint.method} ${endpoint.path}`;
}

export function bindEndpointLimits(plans: readonly RateLimitPlan[], scope: string, fleet: FleetState, gateway: GatewayPlan): EndpointLimits {
  if (plans.length === 0) return NONE;
  const before: RouterRateLimit[] = [];
  const after: RouterRateLimit[] = [];
  for (const plan of plans) {
    const client =
      plan.client === undefined
        ? undefined
        : { limiter: fleet.limiter(plan, 'client', plan.client, scope, gateway.redisPools), keyOf: clientKeyReader(plan.client.strategy, plan.client.key) };
    const endpoint = plan.endpoint === undefined ? undefined : fleet.limiter(plan, 'endpoint', plan.endpoint, scope, gateway.redisPools);
    const headers = plan.headers && plan.client !== undefined ? { policy: { name: 'client', quota: plan.client.rate, windowMs: plan.client.everyMs } } : undefined;
    if (client !== undefined && plan.client!.strategy === 'ip') {
      before.push(createRouterRateLimit({ client, ...(headers ? { headers } : {}) }));
      if (endpoint !== undefined) after.push(createRouterRateLimit({ endpoint }));
    } else {
      after.push(createRouterRateLimit({ ...(client ? { client } : {}), ...(endpoint ? { endpoint } : {}), ...(headers ? { headers } : {}) }));
    }
  }
  return Object.freeze({ beforeAuth: chain(before), afterAuth: chain(after) });
}

/** The service-wide limit (`qos/ratelimit/service`): one step, before routing. */
export function bindServiceLimit(gateway: GatewayPlan, fleet: FleetState): LimitStep | undefined {
  const plan = gateway.serviceRateLimit;
  if (plan === undefined) return undefined;
  const limits = bindEndpointLimits([plan], 'service', fleet, gateway);
  const steps = [limits.beforeAuth, limits.afterAuth].filter((step): step is LimitStep => step !== undefined);
  return chainSteps(steps);
}

function chain(limits: readonly RouterRateLimit[]): LimitStep | undefined {
  return chainSteps(limits.map((limit): LimitStep => (source, nowMs) => then(limit.check(source, nowMs), toOutcome)));
}

function chainSteps(steps: readonly LimitStep[]): LimitStep | undefined {
  if (steps.length === 0) return undefined;
  if (steps.length === 1) return steps[0];
  return (source, nowMs) => {
    let headers: Record<string, string> = {};
    const run = (index: number): LimitOutcome | Promise<LimitOutcome> => {
      if (index === steps.length) return { allowed: true, headers };
      return then(steps[index]!(source, nowMs), (outcome) => {
        headers = { ...headers, ...outcome.headers };
        if (!outcome.allowed) return { ...outcome, headers };
        return run(index + 1);
      });
    };
    return run(0);
  };
}

function toOutcome(outcome: RouterRateLimitOutcome): LimitOutcome {
  if (outcome.allowed) return { allowed: true, headers: outcome.headers };
  const code: RateLimitCode = outcome.reason === 'limiter_unavailable' ? 'rate_limiter_unavailable' : outcome.status === 429 ? 'rate_limited' : 'endpoint_rate_limited';
  return { allowed: false, status: outcome.status, code, detail: outcome.detail ?? outcome.reason, headers: outcome.headers };
}

function then<T, R>(value: T | Promise<T>, next: (value: T) => R | Promise<R>): R | Promise<R> {
  return value instanceof Promise ? value.then(next) : next(value);
}
