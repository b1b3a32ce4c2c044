/**
 * The public entry point: `createAuthorizer(validatorConfig)` compiles one
 * `auth/validator` block and returns its authorize function. Front doors that
 * serve several endpoints pass one registry and one cache to all of them.
 */
import type { Dispatcher } from 'undici';
import { compileValidator, type EndpointPolicy } from '../config/compile-validator.js';
import type { ValidatorConfig } from '../config/validator-schema.js';
import { createKeySetRegistry, type KeySetRegistry } from '../keys/registry.js';
import type { KeySetStatus } from '../keys/key-set.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { silentLogger, type Logger } from '../lib/logger.js';
import { createVerifiedTokenCache, DEFAULT_CACHE_ENTRIES, DEFAULT_CACHE_MAX_BYTES, type VerifiedTokenCache } from './cache.js';
import { createEndpointAuthorizer } from './authorize.js';
import type { AuthorizeRequest, Decision } from './decision.js';

export interface AuthorizerOptions {
  /** Shared key sets; by default the authorizer owns a registry of its own. */
  keySets?: KeySetRegistry;
  /** Shared verified-token cache; by default one of `cacheSize` entries. */
  cache?: VerifiedTokenCache;
  /** Entries of the default cache (default 100,000; 0 turns caching off). */
  cacheSize?: number;
  /** Approximate memory bound of the default cache in bytes (default 64 MiB; 0 turns caching off). */
  cacheMaxBytes?: number;
  clock?: Clock;
  logger?: Logger;
  /** Log prefix, e.g. `[ENDPOINT: /orders]`. */
  label?: string;
  /** JSON path of the config block, for error messages. */
  path?: string;
  /** Route parameter names, to check tenant rules at compile time. */
  routeParams?: readonly string[];
  /** undici dispatcher for JWKS downloads (tests inject one). */
  dispatcher?: Dispatcher;
}

export interface Authorizer {
  /** Answers synchronously unless a key must be downloaded; `await` it either way. Never throws. */
  authorize(request: AuthorizeRequest): Decision | Promise<Decision>;
  /** Resolves once the key set finished its first load attempt. */
  ready(): Promise<void>;
  keySetStatus(): KeySetStatus;
  readonly policy: EndpointPolicy;
  /** Stops the key set's timers if this authorizer owns the registry. */
  close(): void;
}

export function createAuthorizer(config: ValidatorConfig, options: AuthorizerOptions = {}): Authorizer {
  const logger = options.logger ?? silentLogger;
  const ownsRegistry = options.keySets === undefined;
  const registry =
    options.keySets ??
    createKeySetRegistry({ logger, ...(options.clock ? { clock: options.clock } : {}), ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}) });
  let policy: EndpointPolicy;
  try {
    policy = compileValidator(config, { registry, ...(options.path ? { path: options.path } : {}), ...(options.routeParams ? { routeParams: options.routeParams } : {}) });
  } catch (error) {
    if (ownsRegistry) registry.close();
    throw error;
  }
  const authorize = createEndpointAuthorizer(policy, {
    cache: options.cache ?? createVerifiedTokenCache(options.cacheSize ?? DEFAULT_CACHE_ENTRIES, options.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES),
    clock: options.clock ?? systemClock,
    logger,
    label: options.label ?? '',
  });
  return {
    authorize,
    ready: () => policy.keySet.ready(),
    keySetStatus: () => policy.keySet.status(),
    policy,
    close: () => {
      if (ownsRegistry) registry.close();
    },
  };
}
