/**
 * Registered-claim checks (RFC 7519 §4.1). Types are checked once, when a token
 * is first verified; times are checked on every request against an injected clock.
 */
import { AuthError } from './errors.js';
import type { Claims } from './parse.js';

const MAX_NUMERIC_DATE = Number.MAX_SAFE_INTEGER;

/** A wrong type is a malformed token, never an absent claim (CVE-2026-25537 class). */
export function assertRegisteredClaimTypes(claims: Claims): void {
  // Written out per claim, and Object.hasOwn asked only about a value of the wrong type: this runs
  // on every cold token, and a valid value needs no further look. An inherited value is not a claim.
  if (!isNumericDate(claims.exp) && Object.hasOwn(claims, 'exp')) throw notNumericDate('exp');
  if (!isNumericDate(claims.nbf) && Object.hasOwn(claims, 'nbf')) throw notNumericDate('nbf');
  if (!isNumericDate(claims.iat) && Object.hasOwn(claims, 'iat')) throw notNumericDate('iat');
  if (typeof claims.iss !== 'string' && Object.hasOwn(claims, 'iss')) throw notString('iss');
  if (typeof claims.sub !== 'string' && Object.hasOwn(claims, 'sub')) throw notString('sub');
  if (typeof claims.jti !== 'string' && Object.hasOwn(claims, 'jti')) throw notString('jti');
  if (!isAudience(claims.aud) && Object.hasOwn(claims, 'aud')) {
    throw new AuthError('token_malformed', 'claim "aud" must be a string or an array of strings');
  }
}

function isNumericDate(value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_NUMERIC_DATE;
}

function isAudience(value: unknown): boolean {
  if (typeof value === 'string') return true;
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) if (typeof value[i] !== 'string') return false;
  return true;
}

function notNumericDate(name: string): AuthError {
  return new AuthError('token_malformed', `claim "${name}" must be a NumericDate`);
}

function notString(name: string): AuthError {
  return new AuthError('token_malformed', `claim "${name}" must be a string`);
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

function holdsAudience(aud: unknown, wanted: string): boolean {
  return typeof aud === 'string' ? aud === wanted : Array.isArray(aud) && aud.includes(wanted);
}

/** Exact, byte-for-byte comparisons: no URL normalisation (security.md item 21). */
export function checkIdentity(claims: Claims, rules: IdentityRules): void {
  if (rules.issuers && !(typeof claims.iss === 'string' && rules.issuers.has(claims.iss))) {
    throw new AuthError('issuer_mismatch');
  }
  const audiences = rules.audiences;
  if (audiences) {
    // Runs on every request, cached or not: no arrays or closures are made here.
    const aud = claims.aud;
    const all = rules.audienceMatcher === 'all';
    // "all" fails at the first audience not held, "any" succeeds at the first one held.
    let matched = all;
    for (let i = 0; i < audiences.length; i++) {
      const held = holdsAudience(aud, audiences[i]!);
      if (all ? !held : held) {
        matched = !all;
        break;
      }
    }
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
