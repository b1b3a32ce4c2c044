/**
 * The token checks of an endpoint policy, compiled once from its config into
 * named steps (see policy.ts): algorithm, type, times and identity. Only the
 * checks a config asks for are in the list, so an absent one costs nothing.
 * Comparisons are exact, byte for byte (security.md items 2 and 21).
 */
import type { Alg } from '../jwt/algorithms.js';
import { normalizeTyp } from '../jwt/claims.js';
import { AuthError } from '../jwt/errors.js';
import type { NamedCheck } from './policy.js';

export interface TokenCheckSpec {
  readonly allowedAlgs: ReadonlySet<Alg>;
  /** Normalised `typ` values (normalizeTyp), or undefined for no check. */
  readonly typs: ReadonlySet<string> | undefined;
  readonly leewaySeconds: number;
  readonly requireExp: boolean;
  readonly maxLifetimeSeconds: number | undefined;
  readonly issuers: ReadonlySet<string> | undefined;
  readonly audiences: readonly string[] | undefined;
  readonly audienceMatcher: 'any' | 'all';
  readonly subjects: ReadonlySet<string> | undefined;
}

type Explained = Pick<NamedCheck, 'describe' | 'expected' | 'found'>;

const token = (name: string, check: NamedCheck['check'], explained: Explained = {}): NamedCheck =>
  Object.freeze({ name, kind: 'token', check, ...explained });

/** Longest claim value `explain` shows; a huge claim is cut, not printed whole. */
const MAX_SHOWN_CHARS = 200;

/** A claim value as `explain` shows it: JSON, `absent` when undefined, cut at 200 characters. */
export function showValue(value: unknown): string {
  if (value === undefined) return 'absent';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > MAX_SHOWN_CHARS ? `${text.slice(0, MAX_SHOWN_CHARS)}…` : text;
}

export function compileTokenChecks(spec: TokenCheckSpec): NamedCheck[] {
  const checks: NamedCheck[] = [];
  const { allowedAlgs, typs, leewaySeconds: leeway, requireExp, maxLifetimeSeconds } = spec;

  // A cached token was verified for some endpoint; this one may allow fewer algorithms.
  checks.push(
    token(
      'algorithm allowlist',
      (subject) => {
        if (!allowedAlgs.has(subject.alg as Alg)) throw new AuthError('alg_not_allowed', `allowed: ${[...allowedAlgs].join(', ')}`);
      },
      {
        describe: (subject) => `${subject.alg} is allowed`,
        expected: `one of ${[...allowedAlgs].join(', ')}`,
        found: (subject) => showValue(subject.alg),
      },
    ),
  );
  if (typs !== undefined) {
    checks.push(
      token(
        'token type (typ)',
        (subject) => {
          const typ = subject.header.typ;
          if (!(typeof typ === 'string' && typs.has(normalizeTyp(typ)))) throw new AuthError('type_not_allowed', `allowed: ${[...typs].join(', ')}`);
        },
        {
          describe: (subject) => `${JSON.stringify(subject.header.typ)} is accepted`,
          expected: `one of ${JSON.stringify([...typs])}`,
          found: (subject) => showValue(subject.header.typ),
        },
      ),
    );
  }

  const mustHaveExp = requireExp || maxLifetimeSeconds !== undefined;
  checks.push(
    token(
      'exp',
      (subject, _request, now) => {
        const exp = subject.claims.exp as number | undefined;
        if (exp === undefined) {
          if (mustHaveExp) throw new AuthError('expiry_missing');
        } else if (now >= exp + leeway) {
          throw new AuthError('token_expired');
        }
      },
      {
        describe: (subject, now) => (subject.claims.exp === undefined ? 'absent (not required)' : `${describeTime(subject.claims.exp, now)}, leeway ${leeway}s`),
        expected: `${mustHaveExp ? 'present and' : 'absent, or'} in the future (leeway ${leeway}s)`,
        found: (subject, _request, now) => foundTime(subject.claims.exp, now),
      },
    ),
  );
  checks.push(
    token(
      'nbf',
      (subject, _request, now) => {
        const nbf = subject.claims.nbf as number | undefined;
        if (nbf !== undefined && now < nbf - leeway) throw new AuthError('token_not_yet_valid', 'nbf is in the future');
      },
      {
        describe: (subject, now) => (subject.claims.nbf === undefined ? 'absent' : describeTime(subject.claims.nbf, now)),
        expected: `absent, or not in the future (leeway ${leeway}s)`,
        found: (subject, _request, now) => foundTime(subject.claims.nbf, now),
      },
    ),
  );
  checks.push(
    token(
      'iat',
      (subject, _request, now) => {
        const iat = subject.claims.iat as number | undefined;
        if (iat !== undefined && iat > now + leeway) throw new AuthError('token_not_yet_valid', 'iat is in the future');
      },
      {
        describe: (subject, now) => (subject.claims.iat === undefined ? 'absent' : describeTime(subject.claims.iat, now)),
        expected: `absent, or not in the future (leeway ${leeway}s)`,
        found: (subject, _request, now) => foundTime(subject.claims.iat, now),
      },
    ),
  );
  if (maxLifetimeSeconds !== undefined) {
    checks.push(
      token(
        'max lifetime',
        (subject, _request, now) => {
          const exp = subject.claims.exp as number | undefined;
          if (exp === undefined) return;
          const iat = subject.claims.iat as number | undefined;
          if (exp - (iat ?? now) > maxLifetimeSeconds) throw new AuthError('lifetime_exceeded');
        },
        {
          describe: () => `at most ${maxLifetimeSeconds}s`,
          expected: `exp - iat at most ${maxLifetimeSeconds}s`,
          found: (subject, _request, now) => {
            const { exp, iat } = subject.claims;
            if (typeof exp !== 'number') return 'no exp';
            return `${Math.round(exp - (typeof iat === 'number' ? iat : now))}s${typeof iat === 'number' ? '' : ' (no iat: counted from now)'}`;
          },
        },
      ),
    );
  }

  const { issuers, audiences, audienceMatcher, subjects } = spec;
  if (issuers !== undefined) {
    checks.push(
      token(
        'iss',
        (subject) => {
          const iss = subject.claims.iss;
          if (!(typeof iss === 'string' && issuers.has(iss))) throw new AuthError('issuer_mismatch', `accepted: ${JSON.stringify([...issuers])}`);
        },
        {
          describe: (subject) => `${JSON.stringify(subject.claims.iss)} is accepted`,
          expected: `one of ${JSON.stringify([...issuers])}`,
          found: (subject) => showValue(subject.claims.iss),
        },
      ),
    );
  }
  if (audiences !== undefined) {
    checks.push(
      token(
        'aud',
        (subject) => {
          const aud = subject.claims.aud;
          const held = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? (aud as string[]) : [];
          const matched = audienceMatcher === 'all' ? audiences.every((wanted) => held.includes(wanted)) : audiences.some((wanted) => held.includes(wanted));
          if (!matched) throw new AuthError('audience_mismatch', `${audienceMatcher} of ${JSON.stringify(audiences)}`);
        },
        {
          describe: (subject) => `${audienceMatcher} of ${JSON.stringify(audiences)} in ${JSON.stringify(subject.claims.aud)}`,
          expected: `${audienceMatcher} of ${JSON.stringify(audiences)}`,
          found: (subject) => showValue(subject.claims.aud),
        },
      ),
    );
  }
  if (subjects !== undefined) {
    checks.push(
      token(
        'sub',
        (subject) => {
          const sub = subject.claims.sub;
          if (!(typeof sub === 'string' && subjects.has(sub))) throw new AuthError('subject_mismatch');
        },
        {
          describe: (subject) => `${JSON.stringify(subject.claims.sub)} is accepted`,
          expected: `one of ${JSON.stringify([...subjects])}`,
          found: (subject) => showValue(subject.claims.sub),
        },
      ),
    );
  }
  return checks;
}

function foundTime(value: unknown, nowSeconds: number): string {
  return typeof value === 'number' ? describeTime(value, nowSeconds) : showValue(value);
}

/** A NumericDate as an ISO date and its distance from now, for `explain`. */
export function describeTime(value: unknown, nowSeconds: number): string {
  if (typeof value !== 'number') return JSON.stringify(value);
  const delta = Math.round(value - nowSeconds);
  const date = new Date(value * 1000);
  const when = Number.isFinite(date.getTime()) ? date.toISOString() : 'beyond the year 275760';
  return `${when} (${delta >= 0 ? `in ${delta}s` : `${-delta}s ago`})`;
}
