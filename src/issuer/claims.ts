/**
 * Descope-shaped claim sets (descope.md §4): `drn`, `amr`, project roles and
 * permissions, `tenants`, `dct`, the configured `iss` form, `aud` = [project id],
 * then custom claims in the order a JWT template applies them.
 */
import { randomBytes } from 'node:crypto';
import { EXCHANGE_RESERVED_CLAIMS, type Grants, type IssuerSettings } from './config.js';
import type { IssuerForm } from './options.js';

/** `sub` of a minted token when the request names none and matches no configured user. */
export const DEFAULT_SUBJECT = 'U2portcullisdev0000000000000';

export interface MintRequest {
  sub?: string | undefined;
  /** A configured user by name, id or email (see findUser): the token is minted for it, as `sub` would. */
  user?: string | undefined;
  roles?: readonly string[] | undefined;
  /** Added to the permissions the roles grant. */
  permissions?: readonly string[] | undefined;
  /** tenant id → roles in that tenant. */
  tenants?: Readonly<Record<string, readonly string[]>> | undefined;
  /** Merged last; may override any claim, which is how edge-case tokens are crafted. */
  claims?: Readonly<Record<string, unknown>> | undefined;
  /** Lifetime; negative gives an already expired token. Default: the configured session TTL. */
  ttlSeconds?: number | undefined;
  aud?: string | readonly string[] | undefined;
  jti?: boolean | undefined;
  dct?: string | undefined;
  amr?: readonly string[] | undefined;
  issuerForm?: IssuerForm | undefined;
}

export interface ClaimContext {
  settings: IssuerSettings;
  /** Origin used by the URL `iss` forms, without trailing slash. */
  baseUrl: string;
  nowSeconds: number;
}

export function issuerFor(form: IssuerForm, projectId: string, baseUrl: string): string {
  if (form === 'project') return projectId;
  return form === 'url' ? `${baseUrl}/${projectId}` : `${baseUrl}/v1/apps/${projectId}`;
}

export function buildSessionClaims(context: ClaimContext, request: MintRequest): Record<string, unknown> {
  const { settings } = context;
  const sub = request.sub ?? DEFAULT_SUBJECT;
  const user = settings.users.get(sub);
  const roles = request.roles ?? user?.roles ?? [];
  const tenants = request.tenants ? new Map(Object.entries(request.tenants)) : (user?.tenants ?? new Map<string, readonly string[]>());
  return {
    ...baseClaims(context, sub, request, roles, request.permissions ?? [], tenants),
    amr: [...(request.amr ?? settings.amr)],
    ...settings.templateClaims,
    ...user?.claims,
    ...request.claims,
  };
}

export function buildAccessKeyClaims(
  context: ClaimContext,
  key: Grants & { id: string },
  options: { customClaims?: Readonly<Record<string, unknown>> | undefined; selectedTenant?: string | undefined },
): Record<string, unknown> {
  const configured = {
    ...baseClaims(context, key.id, { dct: options.selectedTenant }, key.roles, [], key.tenants),
    ...context.settings.templateClaims,
    ...key.claims,
  };
  // The exchange refuses such names with a 400 first; this keeps any other caller from
  // letting a key holder's claims replace what the issuer computed or the config set.
  const added = Object.entries(options.customClaims ?? {}).filter(([name]) => !Object.hasOwn(configured, name) && !EXCHANGE_RESERVED_CLAIMS.has(name));
  return { ...configured, ...Object.fromEntries(added) };
}

function baseClaims(
  context: ClaimContext,
  sub: string,
  request: MintRequest,
  roles: readonly string[],
  extraPermissions: readonly string[],
  tenants: ReadonlyMap<string, readonly string[]>,
): Record<string, unknown> {
  const { settings, nowSeconds } = context;
  const ttl = request.ttlSeconds ?? settings.sessionTtlSeconds;
  const exp = nowSeconds + ttl;
  // An expired token still looks issued before it expired.
  const iat = ttl > 0 ? nowSeconds : exp - 60;
  const claims: Record<string, unknown> = {
    sub,
    iss: issuerFor(request.issuerForm ?? settings.issuerForm, settings.projectId, context.baseUrl),
    aud: audience(request.aud ?? settings.audience ?? [settings.projectId]),
    iat,
    exp,
    drn: 'DS',
    roles: [...roles],
    permissions: permissionsOf(settings, roles, extraPermissions),
  };
  if (tenants.size > 0) {
    claims.tenants = Object.fromEntries(
      [...tenants].map(([id, tenantRoles]) => [id, { roles: [...tenantRoles], permissions: permissionsOf(settings, tenantRoles, []) }]),
    );
  }
  const dct = request.dct ?? (settings.autoDct && tenants.size === 1 ? [...tenants.keys()][0] : undefined);
  if (dct !== undefined) claims.dct = dct;
  if (request.jti ?? settings.addJti) claims.jti = randomBytes(16).toString('base64url');
  return claims;
}

function audience(aud: string | readonly string[]): string | string[] {
  return typeof aud === 'string' ? aud : [...aud];
}

function permissionsOf(settings: IssuerSettings, roles: readonly string[], extra: readonly string[]): string[] {
  const all = new Set<string>();
  for (const role of roles) for (const permission of settings.rolePermissions.get(role) ?? []) all.add(permission);
  for (const permission of extra) all.add(permission);
  return [...all];
}
