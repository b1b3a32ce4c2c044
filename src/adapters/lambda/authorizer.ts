/**
 * The Lambda authorizer door. `createLambdaAuthorizer(config)` builds the core
 * authorizer once (call it at module scope: the key set and the
 * verified-token cache then live as long as the container and serve every
 * warm invocation) and returns the handler.
 *
 * Outcomes, as API Gateway turns them into HTTP:
 * - allow → Allow policy on the ARN / `isAuthorized: true`, with the claims
 *   as flat string context;
 * - a token problem (401 codes) → `throw new Error('Unauthorized')` → 401;
 * - a policy failure (403 codes) → Deny policy / `isAuthorized: false` → 403;
 * - no signing keys could be loaded (503) → a thrown `KeysUnavailable`
 *   error → 500: never cached by API Gateway, unlike an answer, and never an
 *   accept.
 *
 * API Gateway may cache an answer and reuse it for other requests; the config
 * check (config.ts) refuses every setup where a cached Allow could admit a
 * request the validator would have refused.
 */
import { createAuthorizer, type Authorizer, type AuthorizerRevocation } from '../../runtime/create-authorizer.js';
import { createRedisRevocationStore } from '../../revocation/redis-store.js';
import type { RevocationStore } from '../../revocation/store.js';
import type { Logger } from '../../lib/logger.js';
import type { Decision } from '../../authorizer/decision.js';
import { ConfigError } from '../../config/validate.js';
import type { KeySetRegistry } from '../../keys/registry.js';
import type { Deps } from '../../lib/deps.js';
import { silentLogger } from '../../lib/logger.js';
import { allowReliesOnArn, lambdaConfigIssues, requestInputs, type LambdaAuthorizerConfig } from './config.js';
import { normalizeEvent, type LambdaAuthorizerEvent } from './events.js';
import { flatContext, iamPolicy, principalOf, ANONYMOUS_PRINCIPAL, namesOneCall, stageWildcard, type LambdaAuthorizerResult } from './response.js';

export type { LambdaAuthorizerConfig, ResultCacheConfig } from './config.js';

export interface LambdaAuthorizerOptions extends Partial<Deps> {
  keySets?: KeySetRegistry;
  /** Verified-token cache entries (default 100,000; 0 turns it off). */
  cacheSize?: number;
  /** Approximate memory bound of that cache in bytes (default 64 MiB; 0 turns it off). */
  cacheMaxBytes?: number;
  /** Where `revocation.urlEnv` is read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export type LambdaAuthorizerHandler = ((event: LambdaAuthorizerEvent) => Promise<LambdaAuthorizerResult>) & {
  /** Resolves once the key set finished its first load attempt. */
  ready(): Promise<void>;
  close(): void;
  readonly authorizer: Authorizer;
};

/** API Gateway maps exactly this message to 401. */
export const UNAUTHORIZED_MESSAGE = 'Unauthorized';

export class KeysUnavailableError extends Error {
  constructor() {
    super('Signing keys are not available yet');
    this.name = 'KeysUnavailable';
  }
}

/**
 * The call's ARN holds a wildcard or a route template where the concrete path
 * should be, so an Allow on it could be reused from the cache for another
 * tenant's path. Thrown instead of answering: API Gateway returns 500 and
 * caches nothing.
 */
export class AllowTooWideError extends Error {
  constructor() {
    super('The call\'s ARN does not name a single path; refusing an Allow that a cache could reuse for another tenant');
    this.name = 'AllowTooWide';
  }
}

const LABEL = '[SERVICE: LambdaAuthorizer]';

export function createLambdaAuthorizer(config: LambdaAuthorizerConfig, options: LambdaAuthorizerOptions = {}): LambdaAuthorizerHandler {
  const issues = lambdaConfigIssues(config);
  if (issues.length > 0) throw new ConfigError(issues);
  const logger = options.logger ?? silentLogger;
  const revocation = config.revocation === undefined ? undefined : openRevocation(config, options.env ?? process.env, logger);
  const authorizer = createAuthorizer(config.validator, { ...options, path: '$.validator', label: LABEL, logger, ...(revocation ? { revocation } : {}) });
  // A cold container's set is empty until its first load: the first invocations wait for it (bounded).
  let revocationLoaded: Promise<unknown> | undefined =
    revocation === undefined
      ? undefined
      : Promise.race([revocation.store.ready(), new Promise((resolve) => setTimeout(resolve, config.revocation?.initialLoadWaitMs ?? 2000).unref())]).then(() => {
          revocationLoaded = undefined;
        });
  const tokenHeader = authorizer.policy.extraction.headerName;
  const simple = (config.response ?? 'simple') === 'simple';
  const stage = config.resource === 'stage';
  const pick = config.contextClaims;
  const inputs = requestInputs(config.validator);
  const checkArn = allowReliesOnArn(config);
  let warnedTokenEvent = false;

  async function handler(event: LambdaAuthorizerEvent): Promise<LambdaAuthorizerResult> {
    const normalized = normalizeEvent(event, tokenHeader);
    if (normalized === undefined) {
      // Not an authorizer event at all: deny, and tell the operator why.
      logger.warn(`${LABEL} the event is not a TOKEN, REQUEST or payload 2.0 authorizer event`);
      throw new Error(UNAUTHORIZED_MESSAGE);
    }
    if (normalized.kind === 'token' && inputs.length > 0 && !warnedTokenEvent) {
      // Not refusable at build time: the config cannot tell which event kind API Gateway will send.
      warnedTokenEvent = true;
      logger.warn(`${LABEL} a TOKEN event carries no path or headers, so the tenant rule denies every call; use a REQUEST authorizer`);
    }
    if (revocationLoaded !== undefined) await revocationLoaded;
    const decision: Decision = await authorizer.authorize(normalized.request);
    const answerSimple = normalized.kind === 'v2' && simple;
    const resource = stage ? (stageWildcard(normalized.arn) ?? normalized.arn) : normalized.arn;
    if (decision.allowed) {
      const context = flatContext(decision.claims, pick);
      if (answerSimple) return { isAuthorized: true, context };
      if (checkArn && !namesOneCall(resource)) {
        logger.error({ kind: normalized.kind }, `${LABEL} the ARN does not name a single path, and the tenant rule reads the path: no Allow is given (500)`);
        throw new AllowTooWideError();
      }
      return iamPolicy(principalOf(decision.claims), 'Allow', resource, context);
    }
    logger.debug({ code: decision.code, kind: normalized.kind }, `${LABEL} denied: ${decision.detail}`);
    if (decision.status === 401) throw new Error(UNAUTHORIZED_MESSAGE);
    if (decision.status === 503) throw new KeysUnavailableError();
    // A Deny is about this call only, whatever `resource` says: a cached Deny must not block other routes.
    const context = { code: decision.code };
    return answerSimple ? { isAuthorized: false, context } : iamPolicy(ANONYMOUS_PRINCIPAL, 'Deny', normalized.arn, context);
  }

  return Object.assign(handler, {
    ready: () => authorizer.ready(),
    close: () => {
      authorizer.close();
      void revocation?.store.close();
    },
    authorizer,
  });
}

function openRevocation(config: LambdaAuthorizerConfig, env: NodeJS.ProcessEnv, logger: Logger): AuthorizerRevocation & { store: RevocationStore } {
  const settings = config.revocation!;
  const url = settings.url ?? env[settings.urlEnv!];
  if (url === undefined || url === '') throw new ConfigError([{ path: '$.revocation.urlEnv', message: `the environment variable ${settings.urlEnv} is not set` }]);
  const store = createRedisRevocationStore({
    redis: { url, name: 'portcullis-lambda-revocation', logger, connectTimeoutMs: 2000, commandTimeoutMs: 500, ...(settings.keyPrefix !== undefined ? { keyPrefix: settings.keyPrefix } : {}) },
    ...(settings.keyPrefix !== undefined ? { keyPrefix: settings.keyPrefix } : {}),
    logger,
    ...(settings.maxStalenessMs !== undefined ? { maxStalenessMs: settings.maxStalenessMs } : {}),
  });
  return { store, failClosed: settings.failClosed ?? false, ...(settings.maxStalenessMs !== undefined ? { maxStalenessMs: settings.maxStalenessMs } : {}) };
}
