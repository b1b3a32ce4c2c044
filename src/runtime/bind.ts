/**
 * Binding: a compiled plan or policy (pure, from src/config) becomes live
 * parts: key sets opened through one registry, one verified-token cache, and
 * an authorizer per endpoint. This is the only place live auth parts are made,
 * for every front door (gateway, forward-auth, `explain`, Lambda, the library
 * and the middleware).
 *
 * A reload is "compile the new file, bind it with the same registry, swap":
 * key sets are shared by source through the registry, so a source both plans
 * name is neither downloaded again nor closed.
 */
import { readFileSync } from 'node:fs';
import type { Alg } from '../jwt/algorithms.js';
import { createVerifiedTokenCache, type VerifiedTokenCache } from '../authorizer/cache.js';
import { createEndpointAuthorizer } from '../authorizer/authorize.js';
import type { AuthorizeRequest, Decision } from '../authorizer/decision.js';
import { withBoundChecks, type EndpointPolicy, type NamedCheck } from '../authorizer/policy.js';
import type { EndpointPlan, GatewayPlan } from '../config/plan.js';
import { ConfigError, type ConfigIssue } from '../config/validate.js';
import type { KeySet, KeySetStatus } from '../keys/key-set.js';
import { createFileKeySet, createInlineKeySet } from '../keys/local.js';
import { createKeySetRegistry, type KeySetRegistry } from '../keys/registry.js';
import { readSigningKeyFile } from '../keys/signing-keys.js';
import { resolveDeps, type Deps } from '../lib/deps.js';
import { revocationCheck } from '../revocation/check.js';
import type { RevocationStore } from '../revocation/store.js';
import { createFleetState, type FleetState } from './fleet-state.js';
import { bindEndpointLimits, bindServiceLimit, limitScope, type EndpointLimits, type LimitStep } from './rate-limits.js';
import { checkTlsSources } from './listener-tls.js';

export interface Authorizer {
  /** Answers synchronously unless a key must be downloaded; `await` it either way. Never throws. */
  authorize(request: AuthorizeRequest): Decision | Promise<Decision>;
  /** Resolves once the key set finished its first load attempt. */
  ready(): Promise<void>;
  keySetStatus(): KeySetStatus;
  readonly policy: EndpointPolicy;
  readonly keySet: KeySet;
  /** The checks this authorizer runs: the policy's, with bound ones (revocation, rate limits) at their slots. */
  readonly checks: readonly NamedCheck[];
  /** Stops the key set's timers if this authorizer owns its registry. */
  close(): void;
}

export interface BindPolicyOptions extends Partial<Deps> {
  keySets: KeySetRegistry;
  cache: VerifiedTokenCache;
  /** Log prefix, e.g. `[ENDPOINT: /orders]`. */
  label?: string;
  /** Checks bound to live stores, placed at their slots (see policy.ts). */
  boundChecks?: readonly NamedCheck[];
  /** Called by close(), e.g. to close a registry the authorizer owns. */
  onClose?: () => void;
}

/** Opens the policy's key source and builds its authorizer. Throws ConfigError for a broken static key set. */
export function bindPolicy(policy: EndpointPolicy, options: BindPolicyOptions): Authorizer {
  const { clock, logger } = resolveDeps(options);
  const keySet = openKeySet(policy, options.keySets);
  const checks = withBoundChecks(policy.checks, options.boundChecks ?? []);
  const authorize = createEndpointAuthorizer(policy, { keySet, cache: options.cache, clock, logger, label: options.label ?? '', checks });
  return {
    authorize,
    ready: () => keySet.ready(),
    keySetStatus: () => keySet.status(),
    policy,
    keySet,
    checks,
    close: () => options.onClose?.(),
  };
}

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
    // The fleet parts this binding opened are closed unless a running plan shares them.
    if (ownsFleet) void fleet.close();
    if (ownsRegistry) keySets.close();
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

/**
 * What `check` adds to compiling: opens the file and inline key sets, the
 * signers' key files, and reads the CA files and the listener's certificates
 * and keys, as binding would, without any download. Returns the issues.
 */
export function checkPlanSources(plan: GatewayPlan): ConfigIssue[] {
  const issues: ConfigIssue[] = plan.tls === undefined ? [] : checkTlsSources(plan.tls);
  for (const endpoint of plan.endpoints) {
    const signer = endpoint.signer;
    if (signer?.source.kind === 'file') {
      try {
        readSigningKeyFile(signer.source.path, signer.kid, signer.alg);
      } catch (error) {
        issues.push({ path: signer.sourcePath, message: (error as Error).message });
      }
    }
  }
  for (const endpoint of plan.endpoints) {
    const policy = endpoint.auth;
    if (policy === undefined) continue;
    const source = policy.keySource;
    if (source.kind === 'file' || source.kind === 'inline') {
      try {
        const keySet = source.kind === 'file' ? createFileKeySet(source.path) : createInlineKeySet(source.jwks);
        issues.push(...staticKeyIssues(policy, keySet));
      } catch (error) {
        issues.push({ path: policy.keySourcePath, message: (error as Error).message });
      }
    } else if (source.caFile !== undefined) {
      try {
        readFileSync(source.caFile);
      } catch (error) {
        issues.push({ path: `${policy.path}.jwk_local_ca`, message: `cannot read ${source.caFile}: ${(error as NodeJS.ErrnoException).code ?? 'read error'}` });
      }
    }
  }
  return issues;
}

function openKeySet(policy: EndpointPolicy, keySets: KeySetRegistry): KeySet {
  let keySet: KeySet;
  try {
    keySet = keySets.keySetFor(policy.keySource);
  } catch (error) {
    throw new ConfigError([{ path: policy.keySourcePath, message: (error as Error).message }]);
  }
  const issues = staticKeyIssues(policy, keySet);
  if (issues.length > 0) throw new ConfigError(issues);
  return keySet;
}

/**
 * Keys are imported against every supported algorithm, so a short HMAC key
 * without a JWK `alg` silently loses HS384/HS512 and an RSA key fits no HS
 * algorithm: the endpoint would start and refuse every token. Static key sets
 * are checked against this endpoint's algorithms instead (RFC 7518 §3.2).
 */
function staticKeyIssues(policy: EndpointPolicy, keySet: KeySet): ConfigIssue[] {
  const kind = policy.keySource.kind;
  if (kind !== 'file' && kind !== 'inline') return [];
  const path = policy.keySourcePath;
  const algs: readonly Alg[] = [...policy.allowedAlgs];
  const keys = keySet.current()?.keys ?? [];
  if (!keys.some((key) => algs.some((alg) => key.algs.has(alg)))) {
    return [{ path, message: `no key verifies any of the allowed algorithms (${algs.join(', ')})` }];
  }
  const hmacKeys = keys.filter((key) => key.kty === 'oct');
  return algs
    .filter((alg) => alg.startsWith('HS') && hmacKeys.length > 0 && !hmacKeys.some((key) => key.algs.has(alg)))
    .map((alg) => ({ path, message: `no HMAC key is long enough for ${alg}: it needs at least ${Number(alg.slice(2)) / 8} bytes (RFC 7518 §3.2)` }));
}
