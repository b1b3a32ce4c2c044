/**
 * The library's entry point: `createAuthorizer(validatorConfig)` compiles one
 * `auth/validator` block and binds it. Front doors that serve several
 * endpoints bind a whole plan instead (bind-plan.ts); callers that build several
 * authorizers themselves pass one registry and one cache to all of them.
 */
import { createVerifiedTokenCache, DEFAULT_CACHE_ENTRIES, DEFAULT_CACHE_MAX_BYTES, type VerifiedTokenCache } from '../authorizer/cache.js';
import { compileValidator } from '../config/compile-validator.js';
import type { ValidatorConfig } from '../config/validator-schema.js';
import { createKeySetRegistry, type KeySetRegistry } from '../keys/registry.js';
import { resolveDeps, type Deps } from '../lib/deps.js';
import { revocationCheck } from '../revocation/check.js';
import { DEFAULT_MAX_STALENESS_MS, type RevocationStore } from '../revocation/store.js';
import { bindPolicy, type Authorizer } from './bind.js';

export type { Authorizer } from './bind.js';

export interface AuthorizerOptions extends Partial<Deps> {
  /** Shared key sets; by default the authorizer owns a registry of its own. */
  keySets?: KeySetRegistry;
  /** Shared verified-token cache; by default one of `cacheSize` entries. */
  cache?: VerifiedTokenCache;
  /** Entries of the default cache (default 100,000; 0 turns caching off). */
  cacheSize?: number;
  /** Approximate memory bound of the default cache in bytes (default 64 MiB; 0 turns caching off). */
  cacheMaxBytes?: number;
  /** Log prefix, e.g. `[ENDPOINT: /orders]`. */
  label?: string;
  /** JSON path of the config block, for error messages. */
  path?: string;
  /** Route parameter names, to check tenant rules at compile time. */
  routeParams?: readonly string[];
  /** Revocations to enforce (createMemoryRevocationStore, createRedisRevocationStore): checked on every request, cached tokens included. */
  revocation?: AuthorizerRevocation;
}

export interface AuthorizerRevocation {
  readonly store: RevocationStore;
  /** Refuse (503 `revocation_unavailable`) while the store cannot vouch for its set; default false. */
  readonly failClosed?: boolean;
  /** How long a store out of touch with Redis is still trusted when `failClosed` (default the store's, 30 s). */
  readonly maxStalenessMs?: number;
}

export function createAuthorizer(config: ValidatorConfig, options: AuthorizerOptions = {}): Authorizer {
  const deps = resolveDeps(options);
  const policy = compileValidator(config, { path: options.path ?? '$', ...(options.routeParams ? { routeParams: options.routeParams } : {}) });
  const ownsRegistry = options.keySets === undefined;
  const keySets = options.keySets ?? createKeySetRegistry(deps);
  try {
    return bindPolicy(policy, {
      ...deps,
      keySets,
      cache: options.cache ?? createVerifiedTokenCache(options.cacheSize ?? DEFAULT_CACHE_ENTRIES, options.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES),
      label: options.label ?? '',
      ...(options.revocation !== undefined ? { boundChecks: [revocationCheckFor(options.revocation, deps.clock)] } : {}),
      onClose: () => {
        if (ownsRegistry) keySets.close();
      },
    });
  } catch (error) {
    if (ownsRegistry) keySets.close();
    throw error;
  }
}

function revocationCheckFor(revocation: AuthorizerRevocation, clock: Deps['clock']) {
  const { store } = revocation;
  if (!revocation.failClosed) return revocationCheck(store.set, { clock });
  return revocationCheck(store.set, { clock, failClosed: { source: store, maxStalenessMs: revocation.maxStalenessMs ?? DEFAULT_MAX_STALENESS_MS } });
}
