/**
 * Turns one `auth/validator` block into a frozen EndpointPolicy, with no live
 * parts: the key source is described, not opened (src/runtime/bind.ts opens
 * it). Everything the request path needs is resolved here, once: sets,
 * lower-case header names, claim readers, the ordered check list and the
 * prebuilt denial responses. Any misconfiguration throws a ConfigError naming
 * its JSON path, so broken auth never starts open.
 */
import { ALL_FAILURE_CODES, shapeDenial, type DenialShape, type FailureCode } from '../jwt/errors.js';
import { normalizeTyp } from '../jwt/claims.js';
import { isNestedPath } from '../jwt/claim-path.js';
import { DEFAULT_PARSE_LIMITS } from '../jwt/parse.js';
import type { KeySource } from '../keys/registry.js';
import { assertJwksUrlAllowed, DEFAULT_COOLDOWN_MS, DEFAULT_MAX_STALE_MS, DEFAULT_REFRESH_INTERVAL_MS, DEFAULT_TIMEOUT_MS, discoveryUrlForIssuer } from '../keys/remote-source.js';
import { compileTokenChecks } from '../authorizer/checks.js';
import type { AuthorizeRequest } from '../authorizer/decision.js';
import type { CheckSubject, EndpointPolicy, NamedCheck } from '../authorizer/policy.js';
import { compilePropagation } from '../authorizer/propagate.js';
import { claimFound, claimRule, DEFAULT_TENANT_NAMES, permissionsRule, rolesRule, scopesRule, tenantFound, tenantRule, type PolicyRule, type RuleFound } from '../authorizer/rules.js';
import { parseDurationMs } from '../lib/duration.js';
import { checkSchema, ConfigError, type ConfigIssue } from './validate.js';
import type { ValidatorConfig } from './validator-schema.js';
import { validateValidatorConfig } from './generated/validator-config.js';

export interface CompileValidatorOptions {
  /** JSON path of the block, for error messages. */
  path?: string;
  /** Parameter names of the route, when known, to check `tenant.from: "param"`. */
  routeParams?: readonly string[];
}

/** Defaults that belong to the validator block itself; key-set timings come from src/keys. */
export const VALIDATOR_DEFAULTS = Object.freeze({
  minCooldownMs: 1_000,
  leewayMs: 1_000,
  cookieKey: 'access_token',
  authHeaderName: 'Authorization',
  rolesKey: 'roles',
  permissionsKey: 'permissions',
});

export function compileValidator(raw: unknown, options: CompileValidatorOptions): EndpointPolicy {
  const path = options.path ?? '$';
  // A misspelled key here (`role` for `roles`) would silently drop an access rule: unknown keys are errors.
  const { errors, unknownKeys } = checkSchema(validateValidatorConfig, raw, path);
  if (errors.length > 0 || unknownKeys.length > 0) throw new ConfigError([...errors, ...unknownKeys]);
  const config = raw as ValidatorConfig;
  const issues: ConfigIssue[] = [];
  const at = (key: string) => `${path}.${key}`;

  const algs = Array.isArray(config.alg) ? config.alg : [config.alg];
  const issuers = config.issuer === undefined ? undefined : Array.isArray(config.issuer) ? config.issuer : [config.issuer];
  const source = keySource(config, issuers, at, issues);

  if (config.scopes && config.scopes.length > 0 && config.scopes_key === undefined) {
    issues.push({ path: at('scopes'), message: 'scopes need scopes_key (KrakenD would silently skip the check)' });
  }
  config.propagate_claims?.forEach((pair, i) => {
    if (pair.length !== 2 || !pair[0] || !pair[1]) {
      issues.push({ path: `${at('propagate_claims')}[${i}]`, message: 'must be a pair ["claim", "Header-Name"]' });
    } else if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(pair[1])) {
      issues.push({ path: `${at('propagate_claims')}[${i}][1]`, message: 'is not a valid header name' });
    }
  });
  if (config.forward_payload_header !== undefined && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(config.forward_payload_header)) {
    issues.push({ path: at('forward_payload_header'), message: 'is not a valid header name' });
  }
  config.claims?.forEach((rule, i) => {
    const operators = (['equals', 'one_of', 'contains', 'not_equals'] as const).filter((op) => rule[op] !== undefined);
    if (operators.length !== 1) issues.push({ path: `${at('claims')}[${i}]`, message: 'needs exactly one of equals, one_of, contains, not_equals' });
  });
  if (config.tenant?.from === 'param' && options.routeParams) {
    const name = config.tenant.name ?? 'tenant';
    if (!options.routeParams.includes(name)) {
      issues.push({ path: at('tenant.name'), message: `the endpoint has no {${name}} path parameter` });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);

  const wantsBody = config.error_body ?? true;
  const wantsChallenge = config.www_authenticate ?? true;
  const denials = Object.fromEntries(
    ALL_FAILURE_CODES.map((code) => {
      const shape = shapeDenial(code, { realm: config.realm, errorBody: wantsBody });
      return [code, Object.freeze({ ...shape, wwwAuthenticate: wantsChallenge ? shape.wwwAuthenticate : undefined })];
    }),
  ) as Record<FailureCode, DenialShape>;

  const allowedAlgs = new Set(algs);
  const typs = config.typ === undefined ? undefined : new Set((Array.isArray(config.typ) ? config.typ : [config.typ]).map(normalizeTyp));
  const tokenChecks = compileTokenChecks({
    allowedAlgs,
    typs,
    // KrakenD raises any leeway below one second to one second.
    leewaySeconds: Math.max(VALIDATOR_DEFAULTS.leewayMs, durationMs(config.leeway) ?? VALIDATOR_DEFAULTS.leewayMs) / 1000,
    requireExp: config.require_exp ?? true,
    maxLifetimeSeconds: config.max_token_lifetime === undefined ? undefined : durationMs(config.max_token_lifetime)! / 1000,
    issuers: issuers ? new Set(issuers) : undefined,
    // An empty list is KrakenD's "no audience check" (go-jose checks none of zero audiences), whatever the matcher.
    audiences: config.audience === undefined || config.audience.length === 0 ? undefined : Array.isArray(config.audience) ? config.audience : [config.audience],
    audienceMatcher: config.audience_matcher ?? 'all',
    subjects: config.subject === undefined ? undefined : new Set(Array.isArray(config.subject) ? config.subject : [config.subject]),
  });
  const maxTokenLength = config.max_token_size ?? DEFAULT_PARSE_LIMITS.maxTokenLength;

  return Object.freeze({
    allowedAlgs,
    keySource: source!,
    keyStrategy: config.key_identify_strategy ?? 'kid',
    extraction: Object.freeze({
      headerName: (config.auth_header_name || VALIDATOR_DEFAULTS.authHeaderName).toLowerCase(),
      cookieName: config.cookie_key === '' ? undefined : (config.cookie_key ?? VALIDATOR_DEFAULTS.cookieKey),
      queryKey: config.query_key,
      maxTokenLength,
    }),
    parseLimits: Object.freeze({ ...DEFAULT_PARSE_LIMITS, maxTokenLength }),
    checks: Object.freeze([...tokenChecks, ...compileRules(config)]),
    propagation: compilePropagation(
      (config.propagate_claims ?? []) as unknown as [string, string][],
      config.propagate_claims_preserve_array ?? false,
      config.forward_payload_header,
    ),
    checkedHeaders: Object.freeze(
      config.tenant?.from === 'header' ? [(config.tenant.name ?? DEFAULT_TENANT_NAMES.header).toLowerCase()] : [],
    ),
    denials: Object.freeze(denials),
    operationDebug: config.operation_debug ?? false,
    path,
    keySourcePath: sourcePath(config, at),
  });
}

function compileRules(config: ValidatorConfig): NamedCheck[] {
  const rules: NamedCheck[] = [];
  // `expected` and `found` are for explain only: the request path never calls them.
  const add = (name: string, rule: PolicyRule, expected: string, found: RuleFound) =>
    rules.push(
      Object.freeze({
        name,
        kind: 'policy',
        check: (subject: CheckSubject, request: AuthorizeRequest) => rule(subject.claims, request),
        expected,
        found: (subject: CheckSubject, request: AuthorizeRequest) => found(subject.claims, request),
      }),
    );
  if (config.roles && config.roles.length > 0) {
    const key = config.roles_key || VALIDATOR_DEFAULTS.rolesKey;
    const nested = config.roles_key_is_nested ?? false;
    add(
      `roles: any of ${JSON.stringify(config.roles)} in "${key}"`,
      rolesRule(config.roles, key, nested),
      `any of ${JSON.stringify(config.roles)}`,
      claimFound([key], (k) => nested && isNestedPath(k)),
    );
  }
  if (config.scopes && config.scopes.length > 0 && config.scopes_key !== undefined) {
    const keys = Array.isArray(config.scopes_key) ? config.scopes_key : [config.scopes_key];
    const matcher = config.scopes_matcher ?? 'any';
    add(
      `scopes: ${matcher} of ${JSON.stringify(config.scopes)} in ${keys.map((k) => `"${k}"`).join(' or ')}`,
      scopesRule(config.scopes, keys, matcher),
      `${matcher} of ${JSON.stringify(config.scopes)}`,
      claimFound(keys, () => true),
    );
  }
  if (config.permissions && config.permissions.length > 0) {
    const key = config.permissions_key ?? VALIDATOR_DEFAULTS.permissionsKey;
    add(
      `permissions: all of ${JSON.stringify(config.permissions)} in "${key}"`,
      permissionsRule(config.permissions, key),
      `all of ${JSON.stringify(config.permissions)}`,
      claimFound([key], isNestedPath),
    );
  }
  if (config.tenant) {
    const t = config.tenant;
    const requirement = `roles ${t.roles_matcher ?? 'all'} of ${JSON.stringify(t.roles ?? [])}, permissions ${t.permissions_matcher ?? 'all'} of ${JSON.stringify(t.permissions ?? [])}`;
    add(
      `tenant (from ${t.from}${t.name ? ` "${t.name}"` : ''}): ${requirement}`,
      tenantRule(t),
      `a tenant of the token with ${requirement}`,
      tenantFound(t),
    );
  }
  for (const rule of config.claims ?? []) {
    const { claim, ...operator } = rule;
    const [op, value] = Object.entries(operator).find(([key]) => !/^[@$_#]/.test(key)) ?? ['?', undefined];
    add(`claim "${claim}" ${op} ${JSON.stringify(value)}`, claimRule(rule), `${op} ${JSON.stringify(value)}`, claimFound([claim], isNestedPath));
  }
  return rules;
}

function keySource(
  config: ValidatorConfig,
  issuers: string[] | undefined,
  at: (key: string) => string,
  issues: ConfigIssue[],
): KeySource | undefined {
  const given = (['jwk_url', 'jwk_local_path', 'jwk_keys', 'discovery_url', 'oidc_discovery'] as const).filter(
    (key) => config[key] !== undefined && config[key] !== false,
  );
  if (given.length !== 1) {
    issues.push({
      path: given.length === 0 ? at('jwk_url') : at(given[1]!),
      message:
        given.length === 0
          ? 'one key source is required: jwk_url, jwk_local_path, jwk_keys, discovery_url or oidc_discovery'
          : `only one key source may be set, found ${given.join(', ')}`,
    });
    return undefined;
  }
  if (config.cache === true && config.jwk_local_path !== undefined) {
    issues.push({ path: at('cache'), message: 'cache could not be used with jwk_local_path' });
  }
  const security = {
    allowInsecure: config.disable_jwk_security ?? false,
    fingerprints: config.jwk_fingerprints?.map((pin, i) => normalizeFingerprint(pin, `${at('jwk_fingerprints')}[${i}]`, issues)),
    caFile: config.jwk_local_ca,
  };
  const timing = {
    refreshIntervalMs: config.cache_duration ? config.cache_duration * 1000 : DEFAULT_REFRESH_INTERVAL_MS,
    cooldownMs: Math.max(VALIDATOR_DEFAULTS.minCooldownMs, durationMs(config.failed_jwk_key_cooldown) ?? DEFAULT_COOLDOWN_MS),
    maxStaleMs: durationMs(config.jwk_max_stale) ?? DEFAULT_MAX_STALE_MS,
    timeoutMs: durationMs(config.jwk_fetch_timeout) ?? DEFAULT_TIMEOUT_MS,
  };
  if (timing.timeoutMs <= 0) issues.push({ path: at('jwk_fetch_timeout'), message: 'must be greater than zero' });
  const checkUrl = (url: string, key: string): boolean => {
    try {
      assertJwksUrlAllowed(url, security.allowInsecure);
      return true;
    } catch (error) {
      issues.push({ path: at(key), message: (error as Error).message });
      return false;
    }
  };
  switch (given[0]) {
    case 'jwk_url':
      return checkUrl(config.jwk_url!, 'jwk_url') ? { kind: 'remote', url: config.jwk_url!, ...security, ...timing } : undefined;
    case 'discovery_url':
      return checkUrl(config.discovery_url!, 'discovery_url')
        ? { kind: 'discovery', discoveryUrl: config.discovery_url!, expectedIssuer: issuers?.length === 1 ? issuers[0] : undefined, ...security, ...timing }
        : undefined;
    case 'oidc_discovery': {
      if (!issuers || issuers.length !== 1) {
        issues.push({ path: at('oidc_discovery'), message: 'needs exactly one issuer to discover from' });
        return undefined;
      }
      const discoveryUrl = discoveryUrlForIssuer(issuers[0]!);
      return checkUrl(discoveryUrl, 'issuer') ? { kind: 'discovery', discoveryUrl, expectedIssuer: issuers[0], ...security, ...timing } : undefined;
    }
    case 'jwk_local_path':
      return { kind: 'file', path: config.jwk_local_path! };
    default:
      return { kind: 'inline', jwks: config.jwk_keys! };
  }
}

/**
 * A pin is the base64url SHA-256 of a DER public key: 43 characters, or 44
 * with KrakenD's `=` padding (Go's base64.URLEncoding), compared unpadded. Any
 * other text could never match a certificate, so the pin would silently refuse
 * every download.
 */
export function normalizeFingerprint(pin: string, path: string, issues: ConfigIssue[]): string {
  const unpadded = pin.endsWith('=') ? pin.slice(0, -1) : pin;
  if (/^[A-Za-z0-9_-]{43}$/.test(unpadded) && Buffer.from(unpadded, 'base64url').toString('base64url') === unpadded) return unpadded;
  issues.push({ path, message: 'must be the base64url SHA-256 of a DER public key (43 characters, or 44 ending in "=")' });
  return unpadded;
}

function sourcePath(config: ValidatorConfig, at: (key: string) => string): string {
  if (config.jwk_local_path !== undefined) return at('jwk_local_path');
  if (config.jwk_keys !== undefined) return at('jwk_keys');
  if (config.discovery_url !== undefined) return at('discovery_url');
  if (config.oidc_discovery === true) return at('oidc_discovery');
  return at('jwk_url');
}

function durationMs(text: string | undefined): number | undefined {
  return text === undefined ? undefined : parseDurationMs(text);
}
