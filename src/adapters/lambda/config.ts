/**
 * The Lambda door's own config keys, checked before the validator block is
 * compiled. Besides shapes and unknown keys, one rule is specific to API
 * Gateway: it may cache an authorizer's answer and reuse it for any request
 * with the same identity sources (by default only the Authorization header),
 * on every route of the API. An answer that also depends on the path or a
 * header, as a tenant rule with `from: "param"` or `"header"` does, must not
 * be reusable for a request it does not describe: a cached Allow for tenant
 * T2acme would admit T2globex. Every configuration where that can happen is
 * refused here, so the door never starts with it.
 */
import type { ConfigIssue } from '../../config/validate.js';
import { unknownKeyMessage } from '../../config/suggest.js';
import type { ValidatorConfig } from '../../config/validator-schema.js';
import { DEFAULT_TENANT_NAMES } from '../../authorizer/rules.js';

export interface LambdaAuthorizerConfig {
  /** The `auth/validator` block, exactly as in a gateway endpoint. */
  validator: ValidatorConfig;
  /** HTTP API payload 2.0 answer: `simple` (`{isAuthorized, context}`, default) or `iam`. REST always gets IAM. */
  response?: 'simple' | 'iam';
  /**
   * Resource of an Allow: `method` (default) the ARN of this call only;
   * `stage` every route of the API stage, for authorizer result caching
   * keyed on the token alone (REST TOKEN authorizers). Refused when the
   * validator reads the path or a header.
   */
  resource?: ResourceScope;
  /**
   * How API Gateway's authorizer result cache is set up for this function:
   * `"off"` (TTL 0), or the identity sources that key it. Required when the
   * validator reads the path or a header and an answer could otherwise be
   * reused for a request it does not describe.
   */
  resultCache?: ResultCacheConfig;
  /** Claims copied into the context; default all of them. */
  contextClaims?: string[];
  /**
   * Revocations shared with the rest of the fleet through Redis (a per-container memory set would
   * revoke nothing the other containers see). API Gateway's authorizer cache still serves a cached
   * Allow until its TTL ends: keep that TTL short, or "off", when revocation matters.
   */
  revocation?: LambdaRevocationConfig;
}

export interface LambdaRevocationConfig {
  /** `redis://…` of the store the gateways and `portcullis revoke` use; or name an environment variable in `urlEnv`. */
  url?: string;
  /** The environment variable holding that URL (keeps a password out of the config). */
  urlEnv?: string;
  /** The key prefix of the store (default `portcullis:`), as in the gateways' pool. */
  keyPrefix?: string;
  /** Deny (500, never cached) while the set is not known to be complete; default false. */
  failClosed?: boolean;
  /** How long a set out of touch with Redis is trusted when failClosed (default 30000). */
  maxStalenessMs?: number;
  /** How long the first invocation of a container waits for the set to load (default 2000). */
  initialLoadWaitMs?: number;
}

export type ResourceScope = 'method' | 'stage';

export type ResultCacheConfig = 'off' | { identitySources: string[] };

/**
 * What each `resource` value covers. Only `this-call` names nothing but the
 * ARN being answered; any wider value (today `stage`; any future wildcard
 * belongs here as `wider`) lets one cached Allow answer other calls.
 */
const RESOURCE_SCOPES: Readonly<Record<ResourceScope, 'this-call' | 'wider'>> = { method: 'this-call', stage: 'wider' };

const KNOWN_KEYS = ['validator', 'response', 'resource', 'resultCache', 'contextClaims', 'revocation'] as const;
const REVOCATION_KEYS = ['url', 'urlEnv', 'keyPrefix', 'failClosed', 'maxStalenessMs', 'initialLoadWaitMs'] as const;
const RESULT_CACHE_KEYS = ['identitySources'] as const;

/** A request value, other than the token, that the validator's decision reads. */
export interface RequestInput {
  readonly kind: 'path' | 'header';
  /** Path parameter name (case-sensitive) or header name (case-insensitive). */
  readonly name: string;
  /** JSON path of the rule that reads it. */
  readonly rulePath: string;
}

/**
 * The request inputs the validator reads besides the token. Only the tenant
 * rule reads the request today; a new rule that reads the path, a header or
 * the query must be added here (test/adapters/lambda.test.ts pins the list of
 * validator keys reviewed for this). Read defensively: the validator's own
 * shape errors are reported when it is compiled.
 */
export function requestInputs(validator: unknown): RequestInput[] {
  if (!isRecord(validator) || !isRecord(validator.tenant)) return [];
  const { from, name } = validator.tenant;
  if (from !== 'param' && from !== 'header') return [];
  const resolved = typeof name === 'string' && name.length > 0 ? name : DEFAULT_TENANT_NAMES[from];
  return [{ kind: from === 'param' ? 'path' : 'header', name: resolved, rulePath: '$.validator.tenant' }];
}

function describeInput(input: RequestInput): string {
  return input.kind === 'path' ? `path parameter "${input.name}"` : `header "${input.name}"`;
}

function describeInputs(inputs: readonly RequestInput[]): string {
  return `the tenant rule (${inputs[0]!.rulePath}) reads ${inputs.map(describeInput).join(' and ')}`;
}

/** Every issue in the Lambda-level keys; the validator block itself is checked when it is compiled. */
export function lambdaConfigIssues(config: unknown): ConfigIssue[] {
  if (!isRecord(config)) return [{ path: '$', message: 'must be an object' }];
  const issues: ConfigIssue[] = [];
  if (config.validator === undefined) issues.push({ path: '$.validator', message: 'missing: the auth/validator block' });
  if (config.response !== undefined && config.response !== 'simple' && config.response !== 'iam') {
    issues.push({ path: '$.response', message: 'must be "simple" or "iam"' });
  }
  if (config.resource !== undefined && !Object.hasOwn(RESOURCE_SCOPES, config.resource as string)) {
    issues.push({ path: '$.resource', message: `must be ${Object.keys(RESOURCE_SCOPES).map((r) => `"${r}"`).join(' or ')}` });
  }
  if (config.contextClaims !== undefined && (!Array.isArray(config.contextClaims) || !config.contextClaims.every((c) => typeof c === 'string'))) {
    issues.push({ path: '$.contextClaims', message: 'must be a list of claim names' });
  }
  for (const key of Object.keys(config)) {
    if (!(KNOWN_KEYS as readonly string[]).includes(key)) issues.push({ path: `$.${key}`, message: unknownKeyMessage(key, KNOWN_KEYS) });
  }
  if (config.revocation !== undefined) revocationIssues(config.revocation, issues);
  const cache = config.resultCache === undefined ? undefined : parseResultCache(config.resultCache, issues);
  if (issues.length > 0) return issues;
  cacheHazards(config as unknown as LambdaAuthorizerConfig, cache, issues);
  return issues;
}

function revocationIssues(value: unknown, issues: ConfigIssue[]): void {
  if (!isRecord(value)) {
    issues.push({ path: '$.revocation', message: 'must be an object: {"urlEnv": "REDIS_URL"} or {"url": "redis://…"}' });
    return;
  }
  for (const key of Object.keys(value)) {
    if (!(REVOCATION_KEYS as readonly string[]).includes(key)) issues.push({ path: `$.revocation.${key}`, message: unknownKeyMessage(key, REVOCATION_KEYS) });
  }
  if ((value.url === undefined) === (value.urlEnv === undefined)) {
    issues.push({ path: '$.revocation', message: 'needs exactly one of "url" and "urlEnv": the Lambda door shares revocations through Redis only' });
  }
  if (value.url !== undefined && (typeof value.url !== 'string' || !/^rediss?:\/\//.test(value.url))) issues.push({ path: '$.revocation.url', message: 'must start with redis:// or rediss://' });
  if (value.urlEnv !== undefined && (typeof value.urlEnv !== 'string' || value.urlEnv === '')) issues.push({ path: '$.revocation.urlEnv', message: 'must name an environment variable' });
  if (value.keyPrefix !== undefined && typeof value.keyPrefix !== 'string') issues.push({ path: '$.revocation.keyPrefix', message: 'must be a string' });
  if (value.failClosed !== undefined && typeof value.failClosed !== 'boolean') issues.push({ path: '$.revocation.failClosed', message: 'must be true or false' });
  for (const key of ['maxStalenessMs', 'initialLoadWaitMs'] as const) {
    const ms = value[key];
    if (ms !== undefined && (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0)) issues.push({ path: `$.revocation.${key}`, message: 'must be a whole number of milliseconds' });
  }
}

/** An identity source as API Gateway writes it: HTTP API (`$request.header.X`) or REST (`method.request.header.X`). */
interface IdentitySource {
  readonly syntax: 'http' | 'rest';
  readonly kind: 'header' | 'query' | 'context' | 'stage';
  readonly name: string;
}

const SOURCE_FORMS: readonly { prefix: string; syntax: IdentitySource['syntax']; kind: IdentitySource['kind'] }[] = [
  { prefix: '$request.header.', syntax: 'http', kind: 'header' },
  { prefix: '$request.querystring.', syntax: 'http', kind: 'query' },
  { prefix: '$context.', syntax: 'http', kind: 'context' },
  { prefix: '$stageVariables.', syntax: 'http', kind: 'stage' },
  { prefix: 'method.request.header.', syntax: 'rest', kind: 'header' },
  { prefix: 'method.request.querystring.', syntax: 'rest', kind: 'query' },
  { prefix: 'context.', syntax: 'rest', kind: 'context' },
  { prefix: 'stageVariables.', syntax: 'rest', kind: 'stage' },
];

const NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

type ParsedCache = 'off' | { sources: IdentitySource[]; syntax: IdentitySource['syntax'] };

function parseResultCache(value: unknown, issues: ConfigIssue[]): ParsedCache | undefined {
  const shape = 'must be "off" (the authorizer\'s result TTL is 0) or {"identitySources": [...]} (the identity sources that key the cache)';
  if (value === 'off') return 'off';
  if (!isRecord(value)) {
    issues.push({ path: '$.resultCache', message: shape });
    return undefined;
  }
  const before = issues.length;
  for (const key of Object.keys(value)) {
    if (!(RESULT_CACHE_KEYS as readonly string[]).includes(key)) issues.push({ path: `$.resultCache.${key}`, message: unknownKeyMessage(key, RESULT_CACHE_KEYS) });
  }
  const list = value.identitySources;
  if (list === undefined) {
    issues.push({ path: '$.resultCache.identitySources', message: `missing: ${shape}` });
    return undefined;
  }
  if (!Array.isArray(list) || list.length === 0) {
    issues.push({ path: '$.resultCache.identitySources', message: 'must be a non-empty list of identity sources, e.g. ["$request.header.Authorization"]' });
    return undefined;
  }
  const sources: IdentitySource[] = [];
  list.forEach((entry: unknown, i) => {
    const parsed = typeof entry === 'string' ? parseSource(entry) : undefined;
    if (parsed !== undefined) sources.push(parsed);
    else issues.push({ path: `$.resultCache.identitySources[${i}]`, message: sourceMessage(entry) });
  });
  const syntaxes = new Set(sources.map((s) => s.syntax));
  if (syntaxes.size > 1) {
    issues.push({
      path: '$.resultCache.identitySources',
      message: 'mixes HTTP API expressions ("$request.header.…", "$context.…") with REST ones ("method.request.header.…", "context.…"); one authorizer uses one kind',
    });
  }
  if (issues.length > before) return undefined;
  return { sources, syntax: sources[0]!.syntax };
}

function parseSource(text: string): IdentitySource | undefined {
  for (const form of SOURCE_FORMS) {
    if (!text.startsWith(form.prefix)) continue;
    const name = text.slice(form.prefix.length);
    return NAME.test(name) ? { syntax: form.syntax, kind: form.kind, name } : undefined;
  }
  return undefined;
}

function sourceMessage(entry: unknown): string {
  const forms = '"$request.header.<name>", "$request.querystring.<name>", "$context.<variable>", "$stageVariables.<name>" (HTTP API) or "method.request.header.<name>", … (REST)';
  if (typeof entry !== 'string') return `must be a string: ${forms}`;
  if (/^\$?request\.path\./i.test(entry) || /^method\.request\.path\./i.test(entry)) {
    return 'API Gateway cannot key its cache on a path parameter; use "$context.path" (the request path, which holds every parameter) with "$context.routeKey"';
  }
  return `is not an identity source API Gateway knows; use ${forms}`;
}

function cacheHazards(config: LambdaAuthorizerConfig, cache: ParsedCache | undefined, issues: ConfigIssue[]): void {
  const inputs = requestInputs(config.validator);
  const simple = (config.response ?? 'simple') === 'simple';
  const resource = config.resource ?? 'method';

  if (inputs.length > 0 && RESOURCE_SCOPES[resource] !== 'this-call') {
    issues.push({
      path: '$.resource',
      message:
        `"${resource}" makes an Allow cover more than the call it answers, but ${describeInputs(inputs)}: ` +
        'once API Gateway caches that Allow (keyed by default on the token alone), it admits the same token for another tenant. ' +
        'Use "method" (the default), which names only this call\'s ARN.',
    });
    return;
  }

  // An IAM Allow on this call's ARN already names the path: a cached one does not match another
  // path, and API Gateway denies (a stale 403 until the TTL ends, never an allow). A simple
  // response names nothing, and no ARN names a header, so those inputs need the cache key.
  const unnarrowed = inputs.filter((input) => simple || input.kind === 'header');
  if (cache === undefined) {
    if (unnarrowed.length === 0) return;
    const sourcesFor = (syntax: IdentitySource['syntax']) => `{"identitySources": [${requiredSources(config, unnarrowed, syntax).join(', ')}]}`;
    const fixes = [
      'resultCache: "off" (the authorizer\'s result TTL set to 0)',
      // Only an IAM answer can go to REST; a simple one is HTTP API payload 2.0.
      `resultCache: ${simple ? sourcesFor('http') : `${sourcesFor('http')} (HTTP API) or ${sourcesFor('rest')} (REST)`} with the same identity sources on the authorizer`,
    ];
    if (unnarrowed.every((input) => input.kind === 'path')) fixes.push('response: "iam", whose Allow names the exact ARN');
    issues.push(
      simple
        ? {
            path: '$.response',
            message:
              `a simple response (the default for payload 2.0) names no resource, and API Gateway reuses it for every request with the same identity sources (by default only the Authorization header), but ${describeInputs(inputs)}: ` +
              `a cached answer for one tenant would admit another. Declare ${fixes.join(', or ')}.`,
          }
        : {
            path: '$.resultCache',
            message:
              `missing: ${describeInputs(unnarrowed)}, which no ARN names, so a cached Allow for one tenant would admit another. ` +
              `Declare ${fixes.join(', or ')}.`,
          },
    );
    return;
  }
  if (cache === 'off') return;

  const missing: string[] = [];
  const headers = cache.sources.filter((s) => s.kind === 'header').map((s) => s.name.toLowerCase());
  const context = new Set(cache.sources.filter((s) => s.kind === 'context').map((s) => s.name));
  const tokenHeader = tokenHeaderOf(config.validator);
  if (!headers.includes(tokenHeader.toLowerCase())) {
    missing.push(`the token header (${headerSource(tokenHeader, cache.syntax)}): without it one answer is reused for other tokens, or none`);
  }
  for (const input of unnarrowed) {
    if (input.kind === 'header' && !headers.includes(input.name.toLowerCase())) {
      missing.push(`${headerSource(input.name, cache.syntax)}, which ${input.rulePath} reads`);
    }
    if (input.kind === 'path' && !coversPath(context)) {
      missing.push(`${contextSource('path', cache.syntax)} and ${contextSource('routeKey', cache.syntax)}: ${input.rulePath} reads ${describeInput(input)} and a simple response names no resource (or use response "iam")`);
    }
  }
  if (missing.length > 0) {
    issues.push({
      path: '$.resultCache.identitySources',
      message: `must include ${missing.join('; and ')}. API Gateway reuses an answer for every request with the same identity sources, so each value the decision reads must be one of them.`,
    });
  }
}

/**
 * Whether an IAM Allow is kept from other tenants only by naming this call's
 * ARN: the validator reads a path parameter and nothing else keys the cache
 * on the path (caching off, or identity sources that hold it).
 */
export function allowReliesOnArn(config: LambdaAuthorizerConfig): boolean {
  if (!requestInputs(config.validator).some((input) => input.kind === 'path')) return false;
  const cache = config.resultCache;
  if (cache === undefined) return true;
  if (cache === 'off') return false;
  const context = cache.identitySources.flatMap((text) => {
    const source = parseSource(text);
    return source?.kind === 'context' ? [source.name] : [];
  });
  return !coversPath(new Set(context));
}

function coversPath(context: ReadonlySet<string>): boolean {
  return context.has('path') && ['routeKey', 'httpMethod', 'resourcePath'].some((v) => context.has(v));
}

function requiredSources(config: LambdaAuthorizerConfig, inputs: readonly RequestInput[], syntax: IdentitySource['syntax']): string[] {
  const out = [headerSource(tokenHeaderOf(config.validator), syntax)];
  for (const input of inputs) {
    if (input.kind === 'header') out.push(headerSource(input.name, syntax));
    else out.push(contextSource('path', syntax), contextSource('routeKey', syntax));
  }
  return [...new Set(out)];
}

function tokenHeaderOf(validator: unknown): string {
  return isRecord(validator) && typeof validator.auth_header_name === 'string' && validator.auth_header_name.length > 0 ? validator.auth_header_name : 'Authorization';
}

function headerSource(name: string, syntax: IdentitySource['syntax']): string {
  return syntax === 'http' ? `"$request.header.${name}"` : `"method.request.header.${name}"`;
}

function contextSource(name: string, syntax: IdentitySource['syntax']): string {
  return syntax === 'http' ? `"$context.${name}"` : `"context.${name}"`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
