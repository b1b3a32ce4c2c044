/**
 * `portcullis explain`: every step the gateway applies to one token, one line
 * each with pass or fail and the reason, then the decision. It runs the same
 * code as `authorize`: verifyToken (traced step by step) and the bound check
 * list, in the same order; the decision is the first failure, so `explain`
 * and `authorize` cannot disagree. After a failure the remaining checks still
 * run, on the token's unverified claims and marked as such, because users
 * debugging a 401 want to know everything that is wrong at once. A failed
 * check shows what the token holds next to what was required (`found
 * ["viewer"], expected any of ["admin"]`): claim values, which belong to the
 * user debugging their own token. Output never contains the token, its
 * signature or key material: the token appears only as a SHA-256 fingerprint.
 */
import { createHash } from 'node:crypto';
import type { Alg } from '../jwt/algorithms.js';
import { isAuthError } from '../jwt/errors.js';
import type { VerificationKey } from '../jwt/keys.js';
import { parseCompactJws, type JwsParts } from '../jwt/parse.js';
import type { KeySet } from '../keys/key-set.js';
import type { Clock } from '../lib/clock.js';
import { allowFor, denialFor } from './authorize.js';
import type { VerifiedToken } from './cache.js';
import type { AuthorizeRequest, Decision } from './decision.js';
import { extractToken } from './extract.js';
import type { CheckSubject, EndpointPolicy, NamedCheck } from './policy.js';
import { VERIFY_STEPS, verifyToken, type VerifyStep } from './verify-token.js';

export interface ExplainLine {
  readonly check: string;
  readonly outcome: 'pass' | 'fail' | 'info';
  readonly detail: string;
  /** For a check of the endpoint's list that has them: the requirement, and what the token or request holds (claim values, never the token). */
  readonly expected?: string;
  readonly found?: string;
}

export interface Explanation {
  readonly lines: readonly ExplainLine[];
  readonly decision: Decision;
}

/** What `explain` needs of a bound authorizer. */
export interface ExplainTarget {
  readonly policy: EndpointPolicy;
  readonly keySet: KeySet;
  readonly checks: readonly NamedCheck[];
}

export async function explainRequest(target: ExplainTarget, request: AuthorizeRequest, clock: Clock): Promise<Explanation> {
  const { policy, keySet, checks } = target;
  const lines: ExplainLine[] = [];
  const pass = (check: string, detail = '') => lines.push({ check, outcome: 'pass', detail });
  const info = (check: string, detail: string) => lines.push({ check, outcome: 'info', detail });
  const fail = (check: string, error: unknown) =>
    lines.push({ check, outcome: 'fail', detail: isAuthError(error) ? `${error.code}${error.detail ? `: ${error.detail}` : ''}` : 'unexpected error' });
  let firstFailure: unknown;
  const failed = (check: string, error: unknown) => {
    fail(check, error);
    if (firstFailure === undefined) firstFailure = error;
  };

  let token: string;
  let location: ReturnType<typeof extractToken>['location'];
  try {
    ({ token, location } = extractToken(request.headers, request, policy.extraction));
    pass('token location', `${location}, ${token.length} characters, sha256 ${createHash('sha256').update(token).digest('hex').slice(0, 16)}`);
  } catch (error) {
    failed('token location', error);
    return { lines, decision: denialFor(policy, firstFailure) };
  }

  const status = keySet.status();
  let verified: VerifiedToken | undefined;
  let reached = -1;
  const trace = (step: VerifyStep, detail?: unknown) => {
    reached = VERIFY_STEPS.indexOf(step);
    if (step === 'key lookup') info('key set', `${status.label}: ${status.loaded ? `${status.keyCount} key(s)` : 'never loaded'}${status.lastError ? `, last error: ${status.lastError}` : ''}`);
    pass(step, describeStep(step, detail));
  };
  try {
    verified = await verifyToken(token, policy, keySet, trace as never);
  } catch (error) {
    const step = VERIFY_STEPS[reached + 1] ?? 'claim types';
    if (step === 'key lookup') info('key set', `${status.label}: ${status.loaded ? `${status.keyCount} key(s)` : 'never loaded'}${status.lastError ? `, last error: ${status.lastError}` : ''}`);
    failed(step, error);
  }

  // The checks run on the verified token, or, once verification failed, on what the token claims (shown, never trusted).
  let subject: CheckSubject | undefined = verified;
  if (subject === undefined) {
    try {
      const unverified = parseCompactJws(token, policy.parseLimits);
      subject = { alg: unverified.header.alg, header: unverified.header, claims: unverified.payload };
      info('unverified claims', 'the checks below read claims whose signature did not verify: they show what the token says, not what is accepted');
    } catch {
      // Nothing readable: the structure line above says why.
    }
  }
  if (subject !== undefined) {
    const nowSeconds = clock.now() / 1000;
    for (const check of checks) {
      const before = lines.length;
      try {
        await check.check(subject, request, nowSeconds);
        pass(check.name, check.describe?.(subject, nowSeconds) ?? '');
      } catch (error) {
        failed(check.name, error);
      }
      const line = lines[before]!;
      if (check.expected !== undefined || check.found !== undefined) {
        lines[before] = { ...line, ...(check.expected !== undefined ? { expected: check.expected } : {}), ...(check.found ? { found: foundBy(check, subject, request, nowSeconds) } : {}) };
      }
    }
  }

  const decision = firstFailure === undefined && verified !== undefined ? allowFor(policy, verified, location, false) : denialFor(policy, firstFailure);
  return { lines, decision };
}

/** What a check read; a describer that throws on an odd claim shape must not hide the rest of the report. */
function foundBy(check: NamedCheck, subject: CheckSubject, request: AuthorizeRequest, nowSeconds: number): string {
  try {
    return check.found!(subject, request, nowSeconds);
  } catch {
    return 'unreadable';
  }
}

function describeStep(step: VerifyStep, detail: unknown): string {
  if (step === 'compact JWS structure') {
    const { alg, kid, typ } = (detail as JwsParts).header;
    return `alg ${JSON.stringify(alg)}${kid !== undefined ? `, kid ${JSON.stringify(kid.slice(0, 80))}` : ', no kid'}${typ !== undefined ? `, typ ${JSON.stringify(typ)}` : ''}`;
  }
  if (step === 'algorithm allowlist') return `${detail as Alg} is allowed`;
  if (step === 'key lookup') {
    const key = detail as VerificationKey;
    return `${key.kty} key, fingerprint ${key.fingerprint}`;
  }
  return '';
}

/** Human-readable report, safe to paste into a bug report. */
export function formatExplanation(explanation: Explanation): string {
  const width = Math.max(...explanation.lines.map((line) => line.check.length), 10);
  const rows = explanation.lines.map((line) => {
    const outcome = line.outcome === 'pass' ? 'PASS' : line.outcome === 'fail' ? 'FAIL' : 'INFO';
    // A failure says what the token holds next to what was required; a pass already says why in its detail.
    const versus = line.outcome === 'fail' && line.found !== undefined ? ` — found ${line.found}${line.expected !== undefined ? `, expected ${line.expected}` : ''}` : '';
    return `${outcome}  ${line.check.padEnd(width)}  ${line.detail}${versus}`.trimEnd();
  });
  const d = explanation.decision;
  rows.push(d.allowed ? 'decision: allow — the gateway forwards the request' : `decision: deny — ${d.status} ${d.code}${d.detail ? ` (${d.detail})` : ''}`);
  return `${rows.join('\n')}\n`;
}
