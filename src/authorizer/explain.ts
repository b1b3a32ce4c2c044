/**
 * `portcullis explain`: every check the gateway applies to one token, one line
 * each with pass or fail and the reason, then the decision the gateway itself
 * gives. The checks after the first failure are still shown (marked), because
 * users debugging a 401 want to know everything that is wrong at once. Output
 * never contains the token, its signature or key material: the token appears
 * only as a SHA-256 fingerprint.
 */
import { createHash } from 'node:crypto';
import { AuthError, isAuthError } from '../jwt/errors.js';
import { assertRegisteredClaimTypes, checkIdentity, checkTimes } from '../jwt/claims.js';
import { parseCompactJws, type ParsedJws } from '../jwt/parse.js';
import { signingInput, verifySignature } from '../jwt/verify.js';
import type { Alg } from '../jwt/algorithms.js';
import type { VerificationKey } from '../jwt/keys.js';
import { findKey, keyReference } from '../keys/select.js';
import { normalizeTyp, type EndpointPolicy } from '../config/compile-validator.js';
import type { Clock } from '../lib/clock.js';
import { extractToken } from './extract.js';
import type { AuthorizeRequest, Decision } from './decision.js';
import type { AuthorizeFn } from './authorize.js';

export interface ExplainLine {
  readonly check: string;
  readonly outcome: 'pass' | 'fail' | 'info';
  readonly detail: string;
}

export interface Explanation {
  readonly lines: readonly ExplainLine[];
  readonly decision: Decision;
}

export async function explainRequest(
  policy: EndpointPolicy,
  authorize: AuthorizeFn,
  request: AuthorizeRequest,
  clock: Clock,
): Promise<Explanation> {
  const lines: ExplainLine[] = [];
  const pass = (check: string, detail = '') => lines.push({ check, outcome: 'pass', detail });
  const fail = (check: string, error: unknown) =>
    lines.push({ check, outcome: 'fail', detail: isAuthError(error) ? `${error.code}${error.detail ? `: ${error.detail}` : ''}` : 'unexpected error' });
  const info = (check: string, detail: string) => lines.push({ check, outcome: 'info', detail });
  const attempt = (check: string, run: () => string | void) => {
    try {
      pass(check, run() ?? '');
      return true;
    } catch (error) {
      fail(check, error);
      return false;
    }
  };

  let token: string | undefined;
  attempt('token location', () => {
    const extracted = extractToken(request.headers, request, policy.extraction);
    token = extracted.token;
    return `${extracted.location}, ${token.length} characters, sha256 ${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
  });

  let parsed: ParsedJws | undefined;
  if (token !== undefined) {
    const text = token;
    attempt('compact JWS structure', () => {
      parsed = parseCompactJws(text, policy.parseLimits);
      const { alg, kid, typ } = parsed.header;
      return `alg ${JSON.stringify(alg)}${kid !== undefined ? `, kid ${JSON.stringify(kid.slice(0, 80))}` : ', no kid'}${typ !== undefined ? `, typ ${JSON.stringify(typ)}` : ''}`;
    });
  }

  if (parsed) {
    const jws = parsed;
    const alg = jws.header.alg;
    attempt('algorithm allowlist', () => {
      if (!policy.allowedAlgs.has(alg as Alg)) throw new AuthError('alg_not_allowed', `allowed: ${[...policy.allowedAlgs].join(', ')}`);
      return `${alg} is allowed`;
    });
    if (policy.typs) {
      attempt('token type (typ)', () => {
        const typ = jws.header.typ;
        if (!(typeof typ === 'string' && policy.typs!.has(normalizeTyp(typ)))) throw new AuthError('type_not_allowed', `allowed: ${[...policy.typs!].join(', ')}`);
      });
    }
    attempt('claim types', () => assertRegisteredClaimTypes(jws.payload));

    const status = policy.keySet.status();
    info('key set', `${status.source}: ${status.loaded ? `${status.keyCount} key(s)` : 'never loaded'}${status.lastError ? `, last error: ${status.lastError}` : ''}`);
    const reference = keyReference(jws.header, policy.keyStrategy);
    let index = policy.keySet.current();
    let key: VerificationKey | undefined;
    // An ambiguous name is a lookup failure like any other: shown on the key lookup line, not thrown.
    let lookupError: unknown;
    try {
      key = index ? findKey(index, reference, alg as Alg) : undefined;
      if (!key) {
        index = await policy.keySet.refreshForMiss(reference.identifier ?? '');
        key = index ? findKey(index, reference, alg as Alg) : undefined;
      }
    } catch (error) {
      lookupError = error;
    }
    const found = attempt('key lookup', () => {
      if (lookupError !== undefined) throw lookupError;
      if (!index) throw new AuthError('keys_unavailable');
      if (!key) throw new AuthError('key_not_found', reference.identifier ? `unknown ${reference.identifier.slice(0, 80)}` : 'the token names no key');
      if (!key.algs.has(alg as Alg)) throw new AuthError('key_not_found', `the key does not verify ${alg}`);
      return `${key.kty} key, fingerprint ${key.fingerprint}`;
    });
    if (found && key && token !== undefined) {
      const signer = key;
      const text = token;
      attempt('signature', () => {
        if (!verifySignature(signer, alg as Alg, signingInput(text, jws.signingInputLength), jws.signature)) throw new AuthError('signature_invalid');
      });
    }

    const claims = jws.payload;
    const nowSeconds = clock.now() / 1000;
    const time = policy.time;
    attempt('exp', () => {
      checkTimes({ exp: claims.exp }, nowSeconds, { ...time, maxLifetimeSeconds: undefined });
      return claims.exp === undefined ? 'absent (not required)' : `${describeTime(claims.exp, nowSeconds)}, leeway ${time.leewaySeconds}s`;
    });
    attempt('nbf / iat', () => {
      checkTimes({ nbf: claims.nbf, iat: claims.iat }, nowSeconds, { ...time, requireExp: false, maxLifetimeSeconds: undefined });
      return `nbf ${claims.nbf === undefined ? 'absent' : describeTime(claims.nbf, nowSeconds)}, iat ${claims.iat === undefined ? 'absent' : describeTime(claims.iat, nowSeconds)}`;
    });
    if (time.maxLifetimeSeconds !== undefined) attempt('max lifetime', () => checkTimes(claims, nowSeconds, time));
    const identity = policy.identity;
    attempt('iss', () => {
      checkIdentity(claims, { ...identity, audiences: undefined, subjects: undefined });
      return identity.issuers ? `${JSON.stringify(claims.iss)} is accepted` : 'not checked';
    });
    attempt('aud', () => {
      checkIdentity(claims, { ...identity, issuers: undefined, subjects: undefined });
      return identity.audiences ? `${identity.audienceMatcher} of ${JSON.stringify(identity.audiences)} in ${JSON.stringify(claims.aud)}` : 'not checked';
    });
    if (identity.subjects) attempt('sub', () => checkIdentity(claims, { ...identity, issuers: undefined, audiences: undefined }));
    for (const rule of policy.rules) attempt(rule.name, () => rule.check(claims, request));
  }

  const decision = await authorize(request);
  return { lines, decision };
}

function describeTime(value: unknown, nowSeconds: number): string {
  if (typeof value !== 'number') return JSON.stringify(value);
  const delta = Math.round(value - nowSeconds);
  const date = new Date(value * 1000);
  const when = Number.isFinite(date.getTime()) ? date.toISOString() : 'beyond the year 275760';
  return `${when} (${delta >= 0 ? `in ${delta}s` : `${-delta}s ago`})`;
}

/** Human-readable report, safe to paste into a bug report. */
export function formatExplanation(explanation: Explanation): string {
  const width = Math.max(...explanation.lines.map((line) => line.check.length), 10);
  const rows = explanation.lines.map(
    (line) => `${line.outcome === 'pass' ? 'PASS' : line.outcome === 'fail' ? 'FAIL' : 'INFO'}  ${line.check.padEnd(width)}  ${line.detail}`.trimEnd(),
  );
  const d = explanation.decision;
  rows.push(d.allowed ? 'decision: allow — the gateway forwards the request' : `decision: deny — ${d.status} ${d.code}${d.detail ? ` (${d.detail})` : ''}`);
  return `${rows.join('\n')}\n`;
}
