/**
 * Binding a whole plan: every endpoint's authorizer (bind.ts) over one
 * registry and one verified-token cache, with the fleet's parts the plan
 * names (revocation store, rate limiters, Redis connections).
 *
 * A reload is "compile the new file, bind it with the same registry, swap":
 * key sets are shared by source through the registry, so a source both plans
 * name is neither downloaded again nor closed.
 */
import { createVerifiedTokenCache, type VerifiedTokenCache } from '../authorizer/cache.js';
import type { NamedCheck } from '../authorizer/policy.js';
import type { EndpointPlan, GatewayPlan } from '../config/plan.js';
import { ConfigError, type ConfigIssue } from '../config/validate.js';
import type { KeySet } from '../keys/key-set.js';
import { createKeySetRegistry, type KeySetRegistry } from '../keys/registry.js';
import { resolveDeps, type Deps } from '../lib/deps.js';
import { revocationCheck } from '../revocation/check.js';
import type { RevocationStore } from '../revocation/store.js';
import { bindPolicy, type Authorizer } from './bind.js';
import { createFleetState, type FleetState } from './fleet-state.js';
import { bindEndpointLimits, bindServiceLimit, limitScope, type EndpointLimits, type LimitStep } from './rate-limits.js';

export interface BindPlanOptions extends Partial<Deps> {
  /** Shared key sets (a reload passes the running plan's); by default the bound plan owns a registry. */
  keySets?: KeySetRegistry;
  /** Shared verified-token cache; by default one sized by the plan. */
  cache?: VerifiedTokenCache;
  /** Shared Redis connections, revocation store and rate-limit buckets (a reload passes the running plan's). */
  fleet?: FleetState;
}

export interface BoundPlan {
  readonly plan: GatewayPlan;
  /** The endpoint's authorizer, or undefined for a public endpoint. */
  authorizerFor(endpoint: EndpointPlan): Authorizer | undefined;
  /** Every header some endpoint sets from claims, lower-case: client copies are stripped everywhere. */
  readonly identityHeaders: readonly string[];
  readonly keySets: KeySetRegistry;
  readonly cache: VerifiedTokenCache;
  /** Resolves once every key set finished its first load attempt. */
  ready(): Promise<void>;
  /** The key sets this plan's authorizers use, once each. */
  readonly usedKeySets: readonly KeySet[];
  /** The store `auth/revoker` names, checked by every authorizer; undefined without one. */
  readonly revocation: RevocationStore | undefined;
  /** The endpoint's rate limits (none: both steps undefined). */
  limitsFor(endpoint: EndpointPlan): EndpointLimits;
  /** `qos/ratelimit/service`, before routing. */
  readonly serviceLimit: LimitStep | undefined;
  readonly fleet: FleetState;
  /** The fleet parts this plan uses: after a reload, `fleet.retainOnly(next.fleetParts)` closes the rest. */
  readonly fleetParts: ReadonlySet<string>;
  /** Closes the registry and the fleet state if this bound plan created them. */
  close(): Promise<void>;
}

/** Binds every endpoint of a plan. Throws ConfigError (and releases what it opened) for a broken static key set. */
export function bindPlan(plan: GatewayPlan, options: BindPlanOptions = {}): BoundPlan {
  const deps = resolveDeps(options);
  const ownsRegistry = options.keySets === undefined;
  const keySets = options.keySets ?? createKeySetRegistry(deps);
  const cache = options.cache ?? createVerifiedTokenCache(plan.verifiedTokenCacheSize, plan.verifiedTokenCacheMaxBytes);
  const ownsFleet = options.fleet === undefined;
  const fleet = options.fleet ?? createFleetState(deps);
  const fleetParts = fleet.beginBinding();
  const authorizers = new Map<EndpointPlan, Authorizer>();
  const limits = new Map<EndpointPlan, EndpointLimits>();
  let serviceLimit: LimitStep | undefined;
  let revocation: RevocationStore | undefined;
  const release = async (): Promise<void> => {
    if (ownsRegistry) keySets.close();
    if (ownsFleet) await fleet.close();
  };
  try {
    const issues: ConfigIssue[] = [];
    const boundChecks: NamedCheck[] = [];
    if (plan.revocation !== undefined) {
      const store = fleet.revocationStore(plan.revocation, plan.redisPools);
      revocation = store;
      const failClosed = plan.revocation.failClosed ? { failClosed: { source: store, maxStalenessMs: plan.revocation.maxStalenessMs } } : {};
      boundChecks.push(revocationCheck(store.set, { ...failClosed, clock: deps.clock }));
    }
    serviceLimit = bindServiceLimit(plan, fleet);
    for (const endpoint of plan.endpoints) {
      limits.set(endpoint, bindEndpointLimits(endpoint.rateLimits, limitScope(endpoint), fleet, plan));
      if (endpoint.auth === undefined) {
        deps.logger.info(`${endpoint.label}[JWTValidator] Validator disabled for this endpoint`);
        continue;
      }
      try {
        authorizers.set(endpoint, bindPolicy(endpoint.auth, { ...deps, keySets, cache, label: endpoint.label, boundChecks }));
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        issues.push(...error.issues);
      }
    }
    if (issues.length > 0) throw new ConfigError(issues);
  } catch (error) {
    // What this binding opened is closed, unless a running plan shares it.
    void release();
    throw error;
  }
  const identityHeaders = Object.freeze([...new Set([...authorizers.values()].flatMap((authorizer) => authorizer.policy.propagation.headerNames))]);
  const usedKeySets = Object.freeze([...new Set([...authorizers.values()].map((authorizer) => authorizer.keySet))]);
  return {
    plan,
    usedKeySets,
    authorizerFor: (endpoint) => authorizers.get(endpoint),
    identityHeaders,
    keySets,
    cache,
    ready: async () => {
      await Promise.all([...authorizers.values()].map((authorizer) => authorizer.ready()));
    },
    revocation,
    limitsFor: (endpoint) => limits.get(endpoint) ?? NO_LIMITS,
    serviceLimit,
    fleet,
    fleetParts,
    close: release,
  };
}

const NO_LIMITS: EndpointLimits = Object.freeze({ beforeAuth: undefined, afterAuth: undefined });
