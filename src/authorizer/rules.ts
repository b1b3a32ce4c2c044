/**
 * Authorization rules over verified claims: roles (KrakenD ANY), scopes (any or
 * all), project permissions, Descope tenant roles and permissions, and claim
 * rules. Each rule is compiled once into a closure; failures answer 403.
 */
import { AuthError } from '../jwt/errors.js';
import { claimReader, isNestedPath, stringItems, type ClaimReader } from '../jwt/claim-path.js';
import type { Claims } from '../jwt/parse.js';
import { headerValue, type HeaderBag } from '../lib/headers.js';
import { showValue } from './checks.js';

export interface PolicyContext {
  readonly params?: Readonly<Record<string, string | undefined>> | undefined;
  readonly headers: HeaderBag;
}

export type PolicyRule = (claims: Claims, context: PolicyContext) => void;

type Matcher = 'any' | 'all';

/**
 * Whether a claim (a list, or a space-separated string) holds the wanted items.
 * Lists are searched in place, without copying: this runs on every request.
 * Non-string elements never equal a wanted string, so they never match.
 */
function matches(claim: unknown, wanted: readonly string[], matcher: Matcher): boolean {
  if (wanted.length === 0) return true;
  const held: readonly unknown[] = Array.isArray(claim) ? claim : stringItems(claim);
  return matcher === 'all' ? wanted.every((item) => held.includes(item)) : wanted.some((item) => held.includes(item));
}

export function rolesRule(roles: readonly string[], rolesKey: string, nested: boolean): PolicyRule {
  // KrakenD: nested only with roles_key_is_nested, and never for URL-style keys.
  const read = claimReader(rolesKey, nested && isNestedPath(rolesKey));
  return (claims) => {
    if (!matches(read(claims), roles, 'any')) throw new AuthError('insufficient_roles');
  };
}

export function scopesRule(scopes: readonly string[], scopesKeys: readonly string[], matcher: Matcher): PolicyRule {
  // KrakenD reads scopes_key as a dot path whenever it contains a dot.
  const readers = scopesKeys.map((key) => claimReader(key, true));
  return (claims) => {
    let value: unknown;
    for (const read of readers) {
      value = read(claims);
      if (value !== undefined) break;
    }
    if (!matches(value, scopes, matcher)) throw new AuthError('insufficient_scope');
  };
}

export function permissionsRule(permissions: readonly string[], permissionsKey: string): PolicyRule {
  const read = claimReader(permissionsKey, isNestedPath(permissionsKey));
  return (claims) => {
    if (!matches(read(claims), permissions, 'all')) throw new AuthError('insufficient_permissions');
  };
}

export const DEFAULT_TENANT_NAMES = { param: 'tenant', header: 'X-Tenant-Id', claim: 'dct' } as const;

/**
 * Descope semantics (descope.md §10): the user must belong to the tenant; with
 * no `tenants` claim, a `dct` equal to the tenant stands for membership and the
 * top-level roles and permissions apply (the `tenantOnly` template).
 */
/** A tenant rule as the config spells it (`tenant` in auth/validator). */
export interface TenantRuleSpec {
  readonly from: 'param' | 'header' | 'claim';
  readonly name?: string | undefined;
  readonly roles?: readonly string[] | undefined;
  readonly roles_matcher?: 'any' | 'all' | undefined;
  readonly permissions?: readonly string[] | undefined;
  readonly permissions_matcher?: 'any' | 'all' | undefined;
}

/** One claim rule as the config spells it: the claim and exactly one operator. */
export interface ClaimRuleSpec {
  readonly claim: string;
  readonly equals?: string | number | boolean | undefined;
  readonly one_of?: readonly (string | number | boolean)[] | undefined;
  readonly contains?: string | undefined;
  readonly not_equals?: string | number | boolean | undefined;
}

/** Where a tenant rule reads the tenant id: the route parameter, the header or the claim it names. */
function tenantIdReader(config: TenantRuleSpec): (claims: Claims, context: PolicyContext) => unknown {
  const name = config.name ?? DEFAULT_TENANT_NAMES[config.from];
  const headerName = name.toLowerCase();
  const readClaim = claimReader(name, isNestedPath(name));
  return (claims, context) => {
    if (config.from === 'param') return context.params?.[name];
    if (config.from === 'header') return headerValue(context.headers, headerName);
    return readClaim(claims);
  };
}

/** The token's grants in `tenant`: its `tenants` entry, or (no `tenants` claim) the top level when `dct` names it. */
function tenantGrants(claims: Claims, tenant: string): Record<string, unknown> | undefined {
  const tenants = claims.tenants;
  if (typeof tenants === 'object' && tenants !== null && !Array.isArray(tenants)) {
    const entry = Object.hasOwn(tenants, tenant) ? (tenants as Record<string, unknown>)[tenant] : undefined;
    if (typeof entry === 'object' && entry !== null && !Array.isArray(entry)) return entry as Record<string, unknown>;
  } else if (tenants === undefined && claims.dct === tenant) {
    return claims;
  }
  return undefined;
}

export function tenantRule(config: TenantRuleSpec): PolicyRule {
  const tenantOf = tenantIdReader(config);
  const roles = config.roles ?? [];
  const permissions = config.permissions ?? [];
  const rolesMatcher = config.roles_matcher ?? 'all';
  const permissionsMatcher = config.permissions_matcher ?? 'all';
  return (claims, context) => {
    const tenant = tenantOf(claims, context);
    if (typeof tenant !== 'string' || tenant.length === 0) throw new AuthError('tenant_not_allowed', 'no tenant id in the request');
    const grants = tenantGrants(claims, tenant);
    if (!grants) throw new AuthError('tenant_not_allowed', 'the token is not associated with the tenant');
    if (!matches(grants.roles, roles, rolesMatcher)) throw new AuthError('insufficient_roles', 'tenant roles');
    if (!matches(grants.permissions, permissions, permissionsMatcher)) {
      throw new AuthError('insufficient_permissions', 'tenant permissions');
    }
  };
}

export function claimRule(config: ClaimRuleSpec): PolicyRule {
  const read: ClaimReader = claimReader(config.claim, isNestedPath(config.claim));
  const label = `claim "${config.claim.slice(0, 64)}"`;
  if (config.equals !== undefined) {
    const expected = config.equals;
    return (claims) => {
      if (read(claims) !== expected) throw new AuthError('claim_mismatch', label);
    };
  }
  if (config.one_of !== undefined) {
    const accepted = config.one_of;
    return (claims) => {
      const value = read(claims);
      if (!accepted.some((item) => item === value)) throw new AuthError('claim_mismatch', label);
    };
  }
  if (config.contains !== undefined) {
    const wanted = config.contains;
    return (claims) => {
      if (!stringItems(read(claims)).includes(wanted)) throw new AuthError('claim_mismatch', label);
    };
  }
  const rejected = config.not_equals;
  return (claims) => {
    if (read(claims) === rejected) throw new AuthError('claim_mismatch', label);
  };
}

// ---------------------------------------------------------------- for explain

/** What a rule reads, in words, for `explain` to show next to a failure: claim values only. */
export type RuleFound = (claims: Claims, context: PolicyContext) => string;

/** The first of `keys` the token has (the claim a roles, scopes or permissions rule reads), as a reader does. */
export function claimFound(keys: readonly string[], nested: (key: string) => boolean): RuleFound {
  const readers = keys.map((key) => ({ key, read: claimReader(key, nested(key)) }));
  return (claims) => {
    for (const { key, read } of readers) {
      const value = read(claims);
      if (value !== undefined) return readers.length > 1 ? `${showValue(value)} in "${key}"` : showValue(value);
    }
    return 'absent';
  };
}

export function tenantFound(config: TenantRuleSpec): RuleFound {
  const tenantOf = tenantIdReader(config);
  return (claims, context) => {
    const tenant = tenantOf(claims, context);
    if (typeof tenant !== 'string' || tenant.length === 0) return `no tenant id in the request (from ${config.from})`;
    const grants = tenantGrants(claims, tenant);
    if (grants) return `tenant ${showValue(tenant)}: roles ${showValue(grants.roles)}, permissions ${showValue(grants.permissions)}`;
    const tenants = claims.tenants;
    const held = typeof tenants === 'object' && tenants !== null && !Array.isArray(tenants) ? showValue(Object.keys(tenants)) : `none (dct ${showValue(claims.dct)})`;
    return `tenant ${showValue(tenant)}; the token's tenants: ${held}`;
  };
}
