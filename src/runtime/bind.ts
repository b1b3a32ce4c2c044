/**
 * Binding: a compiled policy (pure, from src/config) becomes live parts: its
 * key set opened through a registry and its authorizer. This is the only
 * place live auth parts are made, for every front door (gateway,
 * forward-auth, `explain`, Lambda, the library and the middleware); a whole
 * plan is bound by bind-plan.ts, which also opens the fleet's stores. Kept
 * apart from that file so that what binds one policy (`explain`, the library,
 * the middleware) or only checks a plan's files (`check`) loads no Redis
 * client: ioredis costs a start about 0.1 s of CPU.
 */
import { readFileSync } from 'node:fs';
import type { Alg } from '../jwt/algorithms.js';
import type { VerifiedTokenCache } from '../authorizer/cache.js';
import { createEndpointAuthorizer } from '../authorizer/authorize.js';
import type { AuthorizeRequest, Decision } from '../authorizer/decision.js';
import { withBoundChecks, type EndpointPolicy, type NamedCheck } from '../authorizer/policy.js';
import type { GatewayPlan } from '../config/plan.js';
import { ConfigError, type ConfigIssue } from '../config/validate.js';
import type { KeySet, KeySetStatus } from '../keys/key-set.js';
import { createFileKeySet, createInlineKeySet } from '../keys/local.js';
import type { KeySetRegistry } from '../keys/registry.js';
import { readSigningKeyFile } from '../keys/signing-keys.js';
import { resolveDeps, type Deps } from '../lib/deps.js';
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
