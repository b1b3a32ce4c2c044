/**
 * The issuer config file: project, signing algorithm, roles, tenants, users and
 * access keys. The TypeBox schema in config-schema.ts gives the type and the
 * validation (precompiled into src/config/generated/issuer-config.js); the
 * cross-references (a user's role must exist…) are checked here, and every
 * problem names its JSON path.
 */
import { readFileSync } from 'node:fs';
import { checkSchema, ConfigError, type ConfigIssue } from '../config/validate.js';
import { validateIssuerConfig } from '../config/generated/issuer-config.js';
import { parseDurationMs } from '../lib/duration.js';
import type { IssuerConfigFile } from './config-schema.js';
import { DEFAULT_ISSUER_CONFIG } from './default-config.js';
import { ISSUER_ALGS, ISSUER_FORMS, type IssuerAlg, type IssuerForm } from './options.js';

/** Claims the issuer computes itself; a template or customClaims may not set them (Descope's RESERVED_CLAIM_KEY). */
export const RESERVED_CLAIMS: ReadonlySet<string> = new Set([
  'sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'jti', 'drn', 'amr', 'roles', 'permissions', 'tenants', 'dct', 'dsub',
]);

/**
 * Names an access-key exchange's `customClaims` may not set. Beyond the reserved claims, the scope
 * claims (both spellings `scopes_key` commonly reads): the config may grant a key scopes, the caller
 * holding the key may not grant itself more.
 */
export const EXCHANGE_RESERVED_CLAIMS: ReadonlySet<string> = new Set([...RESERVED_CLAIMS, 'scope', 'scp']);


export interface Grants {
  readonly roles: readonly string[];
  readonly tenants: ReadonlyMap<string, readonly string[]>;
  readonly claims: Readonly<Record<string, unknown>>;
}

export interface IssuerUser extends Grants {
  readonly id: string;
  readonly email: string | undefined;
}
export interface IssuerAccessKey extends Grants { readonly id: string; readonly key: string; readonly name: string | undefined }

/** The config with defaults applied, ready for minting. */
export interface IssuerSettings {
  readonly projectId: string;
  readonly issuerForm: IssuerForm;
  readonly publicBaseUrl: string | undefined;
  readonly alg: IssuerAlg;
  readonly sessionTtlSeconds: number;
  readonly keepRotatedKeys: number;
  readonly audience: string | readonly string[] | undefined;
  readonly templateClaims: Readonly<Record<string, unknown>>;
  readonly addJti: boolean;
  readonly autoDct: boolean;
  readonly amr: readonly string[];
  /** role → permissions it grants */
  readonly rolePermissions: ReadonlyMap<string, readonly string[]>;
  readonly tenants: ReadonlyMap<string, string | undefined>;
  readonly users: ReadonlyMap<string, IssuerUser>;
  readonly accessKeys: readonly IssuerAccessKey[];
}

export const DEFAULT_PROJECT_ID = 'P2portcullisdemo0000000000000';

export interface SettingsOverrides {
  projectId?: string | undefined;
  alg?: IssuerAlg | undefined;
  issuerForm?: IssuerForm | undefined;
  publicBaseUrl?: string | undefined;
}

/** Reads and resolves a config file; `undefined` path → the built-in default. Throws ConfigError. */
export function loadIssuerSettings(path: string | undefined, overrides: SettingsOverrides = {}): IssuerSettings {
  return resolveIssuerConfig(path === undefined ? DEFAULT_ISSUER_CONFIG : readIssuerConfigFile(path), overrides);
}

export function readIssuerConfigFile(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError([{ path: '$', message: `cannot read issuer config ${path}: ${(error as Error).message}` }]);
  }
}

export function resolveIssuerConfig(raw: unknown, overrides: SettingsOverrides = {}): IssuerSettings {
  const check = checkSchema(validateIssuerConfig, raw);
  const issues = [...check.errors, ...check.unknownKeys];
  if (issues.length > 0) throw new ConfigError(issues);
  const config = raw as IssuerConfigFile;
  const roleNames = new Set((config.roles ?? []).map((r) => r.name));
  const tenantIds = new Set((config.tenants ?? []).map((t) => t.id));
  checkUnique(config.roles?.map((r) => r.name), '$.roles', 'name', issues);
  checkUnique(config.tenants?.map((t) => t.id), '$.tenants', 'id', issues);
  checkUnique(config.users?.map((u) => u.id), '$.users', 'id', issues);
  checkUnique(config.access_keys?.map((k) => k.id), '$.access_keys', 'id', issues);
  checkUnique(config.access_keys?.map((k) => k.key), '$.access_keys', 'key', issues);
  checkClaims(config.template?.claims, '$.template.claims', issues);

  const grantsOf = (entry: { roles?: string[]; tenants?: { id: string; roles?: string[] }[]; claims?: Record<string, unknown> }, at: string): Grants => {
    entry.roles?.forEach((role, i) => {
      if (!roleNames.has(role)) issues.push({ path: `${at}.roles[${i}]`, message: `unknown role "${role}" (not in $.roles)` });
    });
    entry.tenants?.forEach((grant, i) => {
      if (!tenantIds.has(grant.id)) issues.push({ path: `${at}.tenants[${i}].id`, message: `unknown tenant "${grant.id}" (not in $.tenants)` });
      grant.roles?.forEach((role, j) => {
        if (!roleNames.has(role)) issues.push({ path: `${at}.tenants[${i}].roles[${j}]`, message: `unknown role "${role}" (not in $.roles)` });
      });
    });
    checkClaims(entry.claims, `${at}.claims`, issues);
    return Object.freeze({
      roles: Object.freeze([...(entry.roles ?? [])]),
      tenants: new Map((entry.tenants ?? []).map((t) => [t.id, Object.freeze([...(t.roles ?? [])])])),
      claims: Object.freeze({ ...(entry.claims ?? {}) }),
    });
  };
  const users = new Map((config.users ?? []).map((u, i) => [u.id, Object.freeze({ id: u.id, email: u.email, ...grantsOf(u, `$.users[${i}]`) })]));
  const accessKeys = (config.access_keys ?? []).map((k, i) =>
    Object.freeze({ id: k.id, key: k.key, name: k.name, ...grantsOf(k, `$.access_keys[${i}]`) }),
  );

  if (overrides.publicBaseUrl !== undefined && !/^https?:\/\/[^/?#]+$/.test(overrides.publicBaseUrl)) {
    issues.push({ path: '--public-url', message: 'must be http(s)://host[:port] without a path' });
  }
  if (overrides.projectId !== undefined && !/^[A-Za-z0-9._:@-]{1,200}$/.test(overrides.projectId)) {
    issues.push({ path: '--project-id', message: 'must be 1-200 characters of A-Z a-z 0-9 . _ : @ -' });
  }
  if (issues.length > 0) throw new ConfigError(issues);

  const projectId = overrides.projectId ?? config.project_id ?? DEFAULT_PROJECT_ID;
  return Object.freeze({
    projectId,
    issuerForm: overrides.issuerForm ?? config.issuer_form ?? 'apps',
    publicBaseUrl: overrides.publicBaseUrl ?? config.public_base_url,
    alg: overrides.alg ?? config.alg ?? 'RS256',
    sessionTtlSeconds: Math.max(1, Math.round((parseDurationMs(config.session_ttl ?? '10m') ?? 600_000) / 1000)),
    keepRotatedKeys: config.keep_rotated_keys ?? 12,
    audience: config.audience,
    templateClaims: Object.freeze({ ...(config.template?.claims ?? {}) }),
    addJti: config.template?.add_jti ?? false,
    autoDct: config.template?.auto_dct ?? true,
    amr: Object.freeze([...(config.template?.amr ?? ['pwd'])]),
    rolePermissions: new Map((config.roles ?? []).map((r) => [r.name, Object.freeze([...(r.permissions ?? [])])])),
    tenants: new Map((config.tenants ?? []).map((t) => [t.id, t.name])),
    users,
    accessKeys: Object.freeze(accessKeys),
  });
}

function checkUnique(values: readonly string[] | undefined, at: string, key: string, issues: ConfigIssue[]): void {
  const seen = new Set<string>();
  values?.forEach((value, i) => {
    // Never echo an access-key secret, even in a duplicate report.
    if (seen.has(value)) issues.push({ path: `${at}[${i}].${key}`, message: key === 'key' ? 'duplicate access key' : `duplicate ${key} "${value}"` });
    seen.add(value);
  });
}

export function checkClaims(claims: Record<string, unknown> | undefined, at: string, issues: ConfigIssue[]): void {
  if (!claims) return;
  for (const name of Object.keys(claims)) {
    if (RESERVED_CLAIMS.has(name)) issues.push({ path: `${at}.${name}`, message: `"${name}" is a reserved claim` });
  }
}

/** A user's short name: the part of its email before "@" (alice for alice@example.com), else its id. */
export function userName(user: IssuerUser): string {
  const at = user.email?.indexOf('@') ?? -1;
  return at > 0 ? user.email!.slice(0, at) : user.id;
}

/**
 * The configured user `name` means: its id, its email, or its short name (the last two ignore case).
 * `ambiguous` when a short name or email fits several users.
 */
export function findUser(settings: Pick<IssuerSettings, 'users'>, name: string): IssuerUser | 'ambiguous' | undefined {
  const byId = settings.users.get(name);
  if (byId !== undefined) return byId;
  const wanted = name.toLowerCase();
  const matches = [...settings.users.values()].filter((user) => userName(user).toLowerCase() === wanted || user.email?.toLowerCase() === wanted);
  return matches.length > 1 ? 'ambiguous' : matches[0];
}

export function isIssuerAlg(value: unknown): value is IssuerAlg {
  return typeof value === 'string' && (ISSUER_ALGS as readonly string[]).includes(value);
}

export function isIssuerForm(value: unknown): value is IssuerForm {
  return typeof value === 'string' && (ISSUER_FORMS as readonly string[]).includes(value);
}
