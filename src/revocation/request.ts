/**
 * A revocation as an operator asks for it (`portcullis revoke`, the admin
 * endpoint, the dev issuer's logout) turned into a stored entry under the
 * config's `auth/revoker` rules: the kind must be one `token_keys` names,
 * `before` defaults to the end of the current second for the kinds that take
 * it (log out everywhere: every token issued so far is dead, including one
 * issued earlier in this second, since `iat` has whole seconds; a login from
 * the next second on works), and the entry
 * expires when no token it can match is still valid: `TTL` (the longest token
 * lifetime) after the later of now and `before`.
 */
import { parseRevocationEntry, RevocationEntryError, type RevocationEntry, type RevocationKind } from './entry.js';

export interface RevocationRequest {
  readonly kind: RevocationKind;
  readonly value: string;
  /** Kind `claim`: the claim name (e.g. `sid`). */
  readonly claim?: string;
  /** Epoch seconds: tokens with `iat` below it are revoked; default the next whole second. Ignored for `jti`. */
  readonly before?: number;
}

export interface RevocationRules {
  /** `auth/revoker.token_keys`: `jti`, `sub`, `tenant` (or `dct`), or claim names. */
  readonly tokenKeys: readonly string[];
  readonly ttlSeconds: number;
}

/** Which token key allows a kind: `tenant` is also spelled `dct`, Descope's current-tenant claim. */
function allowed(request: RevocationRequest, tokenKeys: readonly string[]): boolean {
  switch (request.kind) {
    case 'jti':
    case 'sub':
      return tokenKeys.includes(request.kind);
    case 'tenant':
      return tokenKeys.includes('tenant') || tokenKeys.includes('dct');
    case 'claim':
      return request.claim !== undefined && tokenKeys.includes(request.claim);
  }
}

export function revocationEntryFor(request: RevocationRequest, rules: RevocationRules, nowSeconds: number): RevocationEntry {
  if (!allowed(request, rules.tokenKeys)) {
    const what = request.kind === 'claim' ? `claim "${request.claim ?? ''}"` : request.kind;
    throw new RevocationEntryError(`auth/revoker.token_keys (${rules.tokenKeys.join(', ')}) does not allow revoking by ${what}`);
  }
  const now = Math.floor(nowSeconds);
  // `iat` has whole seconds and the set revokes `iat < before`: "now" must be the end of the current
  // second, or a token issued earlier in it (a login just before the logout) would stay valid. A login
  // later in that same second is refused too; fail closed, the next second works.
  const before = request.kind === 'jti' ? undefined : (request.before ?? now + 1);
  return parseRevocationEntry({
    kind: request.kind,
    value: request.value,
    ...(request.claim !== undefined ? { claim: request.claim } : {}),
    ...(before !== undefined ? { before } : {}),
    expiresAt: Math.max(now, before ?? now) + rules.ttlSeconds,
  });
}

/** Reads a request body (`{ kind, value, claim?, before? }`, before in epoch seconds or an ISO date); throws RevocationEntryError. */
export function parseRevocationRequest(input: unknown): RevocationRequest {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new RevocationEntryError('the body must be a JSON object');
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!['kind', 'value', 'claim', 'before'].includes(key)) throw new RevocationEntryError(`unknown member "${key}" (expected kind, value, claim, before)`);
  }
  const kind = raw.kind;
  if (kind !== 'jti' && kind !== 'sub' && kind !== 'tenant' && kind !== 'claim') throw new RevocationEntryError('kind must be one of jti, sub, tenant, claim');
  if (typeof raw.value !== 'string' || raw.value === '') throw new RevocationEntryError('value must be a non-empty string');
  if (raw.claim !== undefined && typeof raw.claim !== 'string') throw new RevocationEntryError('claim must be a string');
  return {
    kind,
    value: raw.value,
    ...(typeof raw.claim === 'string' ? { claim: raw.claim } : {}),
    ...(raw.before !== undefined ? { before: parseInstant(raw.before) } : {}),
  };
}

/** Epoch seconds from a number of seconds or an ISO 8601 date-time. */
export function parseInstant(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.floor(value);
  if (typeof value === 'string') {
    if (/^\d+$/.test(value)) return Number(value);
    // Date.parse takes loose formats too; only a full ISO date-time is accepted.
    if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
      const ms = Date.parse(value);
      if (Number.isFinite(ms)) return Math.floor(ms / 1000);
    }
  }
  throw new RevocationEntryError('before must be epoch seconds or an ISO 8601 date-time such as 2026-11-29T12:00:00Z');
}
