/**
 * Registered-claim checks (RFC 7519 §4.1). Types are checked once, when a token
 * is first verified; times are checked on every request against an injected clock.
 */
import { AuthError } from './errors.js';
import type { Claims } from './parse.js';

const MAX_NUMERIC_DATE = Number.MAX_SAFE_INTEGER;

/** A wrong type is a malformed token, never an absent claim (CVE-2026-25537 class). */
export function assertRegisteredClaimTypes(claims: Claims): void {
  for (const name of ['exp', 'nbf', 'iat'] as const) {
    if (!Object.hasOwn(claims, name)) continue;
    const value = claims[name];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_NUMERIC_DATE) {
      throw new AuthError('token_malformed', `claim "${name}" must be a NumericDate`);
    }
  }
  for (const name of ['iss', 'sub', 'jti'] as const) {
    if (Object.hasOwn(claims, name) && typeof claims[name] !== 'string') {
      throw new AuthError('token_malformed', `claim "${name}" must be a string`);
    }
  }
  if (Object.hasOwn(claims, 'aud')) {
    const aud = claims.aud;
    const ok = typeof aud === 'string' || (Array.isArray(aud) && aud.every((item) => typeof item === 'string'));
    if (!ok) throw new AuthError('token_malformed', 'claim "aud" must be a string or an array of strings');
  }
}

export interface TimeRules {
  leewaySeconds: number;
  requireExp: boolean;
  maxLifetimeSeconds: number | undefined;
}

export function checkTimes(claims: Claims, nowSeconds: number, rules: TimeRules): void {
  const exp = claims.exp as number | undefined;
  const nbf = claims.nbf as number | undefined;
  const iat = claims.iat as number | undefined;
  if (exp === undefined) {
    if (rules.requireExp || rules.maxLifetimeSeconds !== undefined) throw new AuthError('expiry_missing');
  } else if (nowSeconds >= exp + rules.leewaySeconds) {
    throw new AuthError('token_expired');
  }
  if (nbf !== undefined && nowSeconds < nbf - rules.leewaySeconds) throw new AuthError('token_not_yet_valid', 'nbf is in the future');
  if (iat !== undefined && iat > nowSeconds + rules.leewaySeconds) throw new AuthError('token_not_yet_valid', 'iat is in the future');
  if (rules.maxLifetimeSeconds !== undefined && exp !== undefined) {
    const lifetime = exp - (iat ?? nowSeconds);
    if (lifetime > rules.maxLifetimeSeconds) throw new AuthError('lifetime_exceeded');
  }
}

export interface IdentityRules {
  issuers: ReadonlySet<string> | undefined;
  audiences: readonly string[] | undefined;
  audienceMatcher: 'any' | 'all';
  subjects: ReadonlySet<string> | undefined;
}

/** Exact, byte-for-byte comparisons: no URL normalisation (security.md item 21). */
export function checkIdentity(claims: Claims, rules: IdentityRules): void {
  if (rules.issuers && !(typeof claims.iss === 'string' && rules.issuers.has(claims.iss))) {
    throw new AuthError('issuer_mismatch');
  }
  if (rules.audiences) {
    const aud = claims.aud;
    const held = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? (aud as string[]) : [];
    const matched =
      rules.audienceMatcher === 'all'
        ? rules.audiences.every((wanted) => held.includes(wanted))
        : rules.audiences.some((wanted) => held.includes(wanted));
    if (!matched) throw new AuthError('audience_mismatch');
  }
  if (rules.subjects && !(typeof claims.sub === 'string' && rules.subjects.has(claims.sub))) {
    throw new AuthError('subject_mismatch');
  }
}

/** RFC 7515 §4.1.9: `typ` is a media type, compared case-insensitively, with `application/` optional. */
export function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}
