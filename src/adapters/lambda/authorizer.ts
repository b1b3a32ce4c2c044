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
 */
import type { Dispatcher } from 'undici';
import { createAuthorizer, type Authorizer } from '../../authorizer/create.js';
import type { Decision } from '../../authorizer/decision.js';
import { ConfigError, type ConfigIssue } from '../../config/validate.js';
import type { ValidatorConfig } from '../../config/validator-schema.js';
import type { KeySetRegistry } from '../../keys/registry.js';
import type { Clock } from '../../lib/clock.js';
import { silentLogger, type Logger } from '../../lib/logger.js';
import { normalizeEvent, type LambdaAuthorizerEvent } from './events.js';
import { flatContext, iamPolicy, principalOf, ANONYMOUS_PRINCIPAL, stageWildcard, type LambdaAuthorizerResult } from './response.js';

export interface LambdaAuthorizerConfig {
  /** The `auth/validator` block, exactly as in a gateway endpoint. */
  validator: ValidatorConfig;
  /** HTTP API payload 2.0 answer: `simple` (`{isAuthorized, context}`, default) or `iam`. REST always gets IAM. */
  response?: 'simple' | 'iam';
  /**
   * Resource of an Allow: `method` (default) the ARN of this call only;
   * `stage` every route of the API stage, for authorizer result caching
   * keyed on the token alone (REST TOKEN authorizers).
   */
  resource?: 'method' | 'stage';
  /** Claims copied into the context; default all of them. */
  contextClaims?: string[];
}

export interface LambdaAuthorizerOptions {
  logger?: Logger;
  clock?: Clock;
  dispatcher?: Dispatcher;
  keySets?: KeySetRegistry;
  /** Verified-token cache entries (default 100,000; 0 turns it off). */
  cacheSize?: number;
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

const LABEL = '[SERVICE: LambdaAuthorizer]';

export function createLambdaAuthorizer(config: LambdaAuthorizerConfig, options: LambdaAuthorizerOptions = {}): LambdaAuthorizerHandler {
  checkConfig(config);
  const logger = options.logger ?? silentLogger;
  const authorizer = createAuthorizer(config.validator, {
    path: '$.validator',
    label: LABEL,
    logger,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    ...(options.keySets ? { keySets: options.keySets } : {}),
    ...(options.cacheSize !== undefined ? { cacheSize: options.cacheSize } : {}),
  });
  const tokenHeader = authorizer.policy.extraction.headerName;
  const simple = (config.response ?? 'simple') === 'simple';
  const stage = config.resource === 'stage';
  const pick = config.contextClaims;

  async function handler(event: LambdaAuthorizerEvent): Promise<LambdaAuthorizerResult> {
    const normalized = normalizeEvent(event, tokenHeader);
    if (normalized === undefined) {
      // Not an authorizer event at all: deny, and tell the operator why.
      logger.warn(`${LABEL} the event is not a TOKEN, REQUEST or payload 2.0 authorizer event`);
      throw new Error(UNAUTHORIZED_MESSAGE);
    }
    const decision: Decision = await authorizer.authorize(normalized.request);
    const answerSimple = normalized.kind === 'v2' && simple;
    const resource = stage ? (stageWildcard(normalized.arn) ?? normalized.arn) : normalized.arn;
    if (decision.allowed) {
      const context = flatContext(decision.claims, pick);
      return answerSimple ? { isAuthorized: true, context } : iamPolicy(principalOf(decision.claims), 'Allow', resource, context);
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
    close: () => authorizer.close(),
    authorizer,
  });
}

function checkConfig(config: LambdaAuthorizerConfig): void {
  const issues: ConfigIssue[] = [];
  if (typeof config !== 'object' || config === null) throw new ConfigError([{ path: '$', message: 'must be an object' }]);
  if (config.validator === undefined) issues.push({ path: '$.validator', message: 'missing: the auth/validator block' });
  if (config.response !== undefined && config.response !== 'simple' && config.response !== 'iam') {
    issues.push({ path: '$.response', message: 'must be "simple" or "iam"' });
  }
  if (config.resource !== undefined && config.resource !== 'method' && config.resource !== 'stage') {
    issues.push({ path: '$.resource', message: 'must be "method" or "stage"' });
  }
  if (config.contextClaims !== undefined && (!Array.isArray(config.contextClaims) || !config.contextClaims.every((c) => typeof c === 'string'))) {
    issues.push({ path: '$.contextClaims', message: 'must be a list of claim names' });
  }
  const known = new Set(['validator', 'response', 'resource', 'contextClaims']);
  for (const key of Object.keys(config)) if (!known.has(key)) issues.push({ path: `$.${key}`, message: 'unknown key' });
  if (issues.length > 0) throw new ConfigError(issues);
}
