/**
 * Turns one `auth/validator` block into a frozen EndpointPolicy. Everything the
 * request path needs is resolved here, once: sets, lower-case header names,
 * claim readers, rule closures and the prebuilt denial responses. Any
 * misconfiguration throws a ConfigError naming its JSON path, so broken auth
 * never starts open.
 */
import type { Alg } from '../jwt/algorithms.js';
import { ALL_FAILURE_CODES, shapeDenial, type DenialShape, type FailureCode } from '../jwt/errors.js';
import { DEFAULT_PARSE_LIMITS, type ParseLimits } from '../jwt/parse.js';
import type { IdentityRules, TimeRules } from '../jwt/claims.js';
import { claimRule, DEFAULT_TENANT_NAMES, permissionsRule, rolesRule, scopesRule, tenantRule, type PolicyRule } from '../jwt/policy.js';
import type { KeySet } from '../keys/key-set.js';
import type { KeySetRegistry, KeySource } from '../keys/registry.js';
import type { KeyIdentifyStrategy } from '../keys/select.js';
import { assertJwksUrlAllowed } from '../keys/fetch-jwks.js';
import { discoveryUrlForIssuer } from '../keys/discovery.js';
import type { ExtractionSpec } from '../authorizer/extract.js';
import { compilePropagation, type Propagation } from '../authorizer/propagate.js';
import { parseDurationMs } from '../lib/duration.js';
import { checkSchema, ConfigError, type ConfigIssue } from './validate.js';
import { ValidatorSchema, type ValidatorConfig } from './validator-schema.js';

export interface EndpointPolicy {
  readonly allowedAlgs: ReadonlySet<Alg>;
  readonly keySet: KeySet;
  readonly keyStrategy: KeyIdentifyStrategy;
  readonly extraction: ExtractionSpec;
  readonly parseLimits: ParseLimits;
  readonly time: TimeRules;
  readonly identity: IdentityRules;
  readonly typs: ReadonlySet<string> | undefined;
  readonly rules: readonly NamedRule[];
  readonly propagation: Propagation;
  /** Lower-case names of request headers the rules read (the tenant header); other spellings of them are not forwarded. */
  readonly checkedHeaders: readonly string[];
  readonly denials: Readonly<Record<FailureCode, DenialShape>>;
  readonly operationDebug: boolean;
}

/** A compiled policy rule with a label for `explain` and logs. */
export interface NamedRule {
  readonly name: string;
  readonly check: PolicyRule;
}

export interface CompileValidatorOptions {
  registry: KeySetRegistry;
  /** JSON path of the block, for error messages. */
  path?: string;
  /** Parameter names of the route, when known, to check `tenant.from: "param"`. */
  routeParams?: readonly string[];
}

export const DEFAULTS = Object.freeze({
  refreshIntervalMs: 900_000,
  cooldownMs: 30_000,
  minCooldownMs: 1_000,
  maxStaleMs: 24 * 3_600_000,
  fetchTimeoutMs: 5_000,
  leewayMs: 1_000,
  cookieKey: 'access_token',
  authHeaderName: 'Authorization',
  rolesKey: 'roles',
  permissionsKey: 'permissions',
});

export function compileValidator(raw: unknown, options: CompileValidatorOptions): EndpointPolicy {
  const path = options.path ?? '$';
  // A misspelled key here (`role` for `roles`) would silently drop an access rule: unknown keys are errors.
  const { errors, unknownKeys } = checkSchema(ValidatorSchema, raw, path);
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

  let keySet: KeySet;
  try {
    keySet = options.registry.keySetFor(source!);
  } catch (error) {
    throw new ConfigError([{ path: sourcePath(config, at), message: (error as Error).message }]);
  }
  if (source!.kind === 'inline' || source!.kind === 'file') {
    const keyIssues = staticKeyIssues(algs, keySet, sourcePath(config, at));
    if (keyIssues.length > 0) throw new ConfigError(keyIssues);
  }

  const wantsBody = config.error_body ?? true;
  const wantsChallenge = config.www_authenticate ?? true;
  const denials = Object.fromEntries(
    ALL_FAILURE_CODES.map((code) => {
      const shape = shapeDenial(code, { realm: config.realm, errorBody: wantsBody });
      return [code, Object.freeze({ ...shape, wwwAuthenticate: wantsChallenge ? shape.wwwAuthenticate : undefined })];
    }),
  ) as Record<FailureCode, DenialShape>;

  return Object.freeze({
    allowedAlgs: new Set(algs),
    keySet,
    keyStrategy: config.key_identify_strategy ?? 'kid',
    extraction: Object.freeze({
      headerName: (config.auth_header_name || DEFAULTS.authHeaderName).toLowerCase(),
      cookieName: config.cookie_key === '' ? undefined : (config.cookie_key ?? DEFAULTS.cookieKey),
      queryKey: config.query_key,
      maxTokenLength: config.max_token_size ?? DEFAULT_PARSE_LIMITS.maxTokenLength,
    }),
    parseLimits: Object.freeze({ ...DEFAULT_PARSE_LIMITS, maxTokenLength: config.max_token_size ?? DEFAULT_PARSE_LIMITS.maxTokenLength }),
    time: Object.freeze({
      // KrakenD raises any leeway below one second to one second.
      leewaySeconds: Math.max(DEFAULTS.leewayMs, durationMs(config.leeway) ?? DEFAULTS.leewayMs) / 1000,
      requireExp: config.require_exp ?? true,
      maxLifetimeSeconds: config.max_token_lifetime === undefined ? undefined : durationMs(config.max_token_lifetime)! / 1000,
    }),
    identity: Object.freeze({
      issuers: issuers ? new Set(issuers) : undefined,
      audiences: config.audience === undefined ? undefined : Array.isArray(config.audience) ? config.audience : [config.audience],
      audienceMatcher: config.audience_matcher ?? 'all',
      subjects: config.subject === undefined ? undefined : new Set(Array.isArray(config.subject) ? config.subject : [config.subject]),
    }),
    typs: config.typ === undefined ? undefined : new Set((Array.isArray(config.typ) ? config.typ : [config.typ]).map(normalizeTyp)),
    rules: Object.freeze(compileRules(config)),
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
  });
}

function compileRules(config: ValidatorConfig): NamedRule[] {
  const rules: NamedRule[] = [];
  const add = (name: string, check: PolicyRule) => rules.push(Object.freeze({ name, check }));
  if (config.roles && config.roles.length > 0) {
    const key = config.roles_key || DEFAULTS.rolesKey;
    add(`roles: any of ${JSON.stringify(config.roles)} in "${key}"`, rolesRule(config.roles, key, config.roles_key_is_nested ?? false));
  }
  if (config.scopes && config.scopes.length > 0 && config.scopes_key !== undefined) {
    const keys = Array.isArray(config.scopes_key) ? config.scopes_key : [config.scopes_key];
    const matcher = config.scopes_matcher ?? 'any';
    add(`scopes: ${matcher} of ${JSON.stringify(config.scopes)} in ${keys.map((k) => `"${k}"`).join(' or ')}`, scopesRule(config.scopes, keys, matcher));
  }
  if (config.permissions && config.permissions.length > 0) {
    const key = config.permissions_key ?? DEFAULTS.permissionsKey;
    add(`permissions: all of ${JSON.stringify(config.permissions)} in "${key}"`, permissionsRule(config.permissions, key));
  }
  if (config.tenant) {
    const t = config.tenant;
    add(
      `tenant (from ${t.from}${t.name ? ` "${t.name}"` : ''}): roles ${t.roles_matcher ?? 'all'} of ${JSON.stringify(t.roles ?? [])}, permissions ${t.permissions_matcher ?? 'all'} of ${JSON.stringify(t.permissions ?? [])}`,
      tenantRule(t),
    );
  }
  for (const rule of config.claims ?? []) {
    const { claim, ...operator } = rule;
    const [op, value] = Object.entries(operator).find(([key]) => !/^[@$_#]/.test(key)) ?? ['?', undefined];
    add(`claim "${claim}" ${op} ${JSON.stringify(value)}`, claimRule(rule));
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
    refreshIntervalMs: config.cache_duration ? config.cache_duration * 1000 : DEFAULTS.refreshIntervalMs,
    cooldownMs: Math.max(DEFAULTS.minCooldownMs, durationMs(config.failed_jwk_key_cooldown) ?? DEFAULTS.cooldownMs),
    maxStaleMs: durationMs(config.jwk_max_stale) ?? DEFAULTS.maxStaleMs,
    timeoutMs: durationMs(config.jwk_fetch_timeout) ?? DEFAULTS.fetchTimeoutMs,
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
function normalizeFingerprint(pin: string, path: string, issues: ConfigIssue[]): string {
  const unpadded = pin.endsWith('=') ? pin.slice(0, -1) : pin;
  if (/^[A-Za-z0-9_-]{43}$/.test(unpadded) && Buffer.from(unpadded, 'base64url').toString('base64url') === unpadded) return unpadded;
  issues.push({ path, message: 'must be the base64url SHA-256 of a DER public key (43 characters, or 44 ending in "=")' });
  return unpadded;
}

function sourcePath(config: ValidatorConfig, at: (key: string) => string): string {
  if (config.jwk_local_path !== undefined) return at('jwk_local_path');
  if (config.jwk_keys !== undefined) return at('jwk_keys');
  return at('jwk_url');
}

/** RFC 7515 §4.1.9: `typ` is a media type, compared case-insensitively, with `application/` optional. */
export function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

function durationMs(text: string | undefined): number | undefined {
  return text === undefined ? undefined : parseDurationMs(text);
}

/**
 * Keys are imported against every supported algorithm, so a short HMAC key
 * without a JWK `alg` silently loses HS384/HS512 and an RSA key fits no HS
 * algorithm: the endpoint would start and refuse every token. Static key sets
 * are checked against this endpoint's algorithms instead (RFC 7518 §3.2).
 */
function staticKeyIssues(algs: readonly Alg[], keySet: KeySet, path: string): ConfigIssue[] {
  const keys = keySet.current()?.keys ?? [];
  if (!keys.some((key) => algs.some((alg) => key.algs.has(alg)))) {
    return [{ path, message: `no key verifies any of the allowed algorithms (${algs.join(', ')})` }];
  }
  const hmacKeys = keys.filter((key) => key.kty === 'oct');
  return algs
    .filter((alg) => alg.startsWith('HS') && hmacKeys.length > 0 && !hmacKeys.some((key) => key.algs.has(alg)))
    .map((alg) => ({ path, message: `no HMAC key is long enough for ${alg}: it needs at least ${Number(alg.slice(2)) / 8} bytes (RFC 7518 §3.2)` }));
}
