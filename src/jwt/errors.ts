/**
 * The closed set of reasons portcullis rejects a request, and how each one is
 * answered over HTTP. Every front door derives its status, `WWW-Authenticate`
 * value and body from this table, so a code means the same thing everywhere.
 */

export const FAILURE_CODES = {
  token_missing: { status: 401, challenge: 'missing', message: 'No bearer token was presented.' },
  token_too_large: { status: 401, challenge: 'invalid_token', message: 'The token exceeds the maximum allowed size.' },
  token_malformed: { status: 401, challenge: 'invalid_token', message: 'The token is not a well-formed signed JWT.' },
  type_not_allowed: { status: 401, challenge: 'invalid_token', message: 'The token type (typ) is not accepted here.' },
  alg_not_allowed: { status: 401, challenge: 'invalid_token', message: 'The token algorithm is not allowed.' },
  key_not_found: { status: 401, challenge: 'invalid_token', message: 'No key matches the token.' },
  signature_invalid: { status: 401, challenge: 'invalid_token', message: 'The token signature is invalid.' },
  token_expired: { status: 401, challenge: 'invalid_token', message: 'The token has expired.' },
  token_not_yet_valid: { status: 401, challenge: 'invalid_token', message: 'The token is not valid yet.' },
  expiry_missing: { status: 401, challenge: 'invalid_token', message: 'The token has no expiry (exp).' },
  lifetime_exceeded: { status: 401, challenge: 'invalid_token', message: 'The token lifetime exceeds the allowed maximum.' },
  issuer_mismatch: { status: 401, challenge: 'invalid_token', message: 'The token issuer is not accepted.' },
  audience_mismatch: { status: 401, challenge: 'invalid_token', message: 'The token audience is not accepted.' },
  subject_mismatch: { status: 401, challenge: 'invalid_token', message: 'The token subject is not accepted.' },
  token_revoked: { status: 401, challenge: 'invalid_token', message: 'The token has been revoked.' },
  insufficient_roles: { status: 403, challenge: 'insufficient_scope', message: 'The token lacks a required role.' },
  insufficient_scope: { status: 403, challenge: 'insufficient_scope', message: 'The token lacks a required scope.' },
  insufficient_permissions: { status: 403, challenge: 'insufficient_scope', message: 'The token lacks a required permission.' },
  tenant_not_allowed: { status: 403, challenge: 'insufficient_scope', message: 'The token does not grant access to this tenant.' },
  claim_mismatch: { status: 403, challenge: 'insufficient_scope', message: 'A required claim does not have an accepted value.' },
  unroutable_claim: { status: 403, challenge: 'insufficient_scope', message: 'A token claim cannot be used in the backend path.' },
  keys_unavailable: { status: 503, challenge: 'none', message: 'Signing keys are not available yet; try again shortly.' },
  revocation_unavailable: { status: 503, challenge: 'none', message: 'Revocation state is not available; try again shortly.' },
} as const satisfies Record<string, { status: 401 | 403 | 503; challenge: Challenge; message: string }>;

type Challenge = 'missing' | 'invalid_token' | 'insufficient_scope' | 'none';

export type FailureCode = keyof typeof FAILURE_CODES;

export const ALL_FAILURE_CODES = Object.keys(FAILURE_CODES) as FailureCode[];

/** A rejection before any HTTP shaping. `detail` is for logs and `explain`; it never holds token or key material. */
export class AuthError extends Error {
  readonly code: FailureCode;
  readonly detail: string;
  constructor(code: FailureCode, detail?: string) {
    super(detail ? `${FAILURE_CODES[code].message} (${detail})` : FAILURE_CODES[code].message);
    this.name = 'AuthError';
    this.code = code;
    this.detail = detail ?? '';
  }
}

export function isAuthError(value: unknown): value is AuthError {
  return value instanceof AuthError;
}

export interface DenialShape {
  status: 401 | 403 | 503;
  /** RFC 6750 challenge, or undefined where no challenge applies (503). */
  wwwAuthenticate: string | undefined;
  /** Stable JSON body, or undefined when error bodies are switched off. */
  body: string | undefined;
}

export interface DenialOptions {
  realm?: string | undefined;
  errorBody: boolean;
}

function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** Builds the HTTP shape of a failure code. Called once per code per endpoint at compile time. */
export function shapeDenial(code: FailureCode, options: DenialOptions): DenialShape {
  const entry = FAILURE_CODES[code];
  const params: string[] = [];
  if (options.realm) params.push(`realm=${quote(options.realm)}`);
  if (entry.challenge === 'invalid_token' || entry.challenge === 'insufficient_scope') {
    params.push(`error=${quote(entry.challenge)}`, `error_description=${quote(entry.message)}`);
  }
  const wwwAuthenticate =
    entry.challenge === 'none' ? undefined : params.length > 0 ? `Bearer ${params.join(', ')}` : 'Bearer';
  const body = options.errorBody
    ? JSON.stringify({
        error: entry.challenge === 'missing' ? 'unauthorized' : entry.challenge === 'none' ? 'temporarily_unavailable' : entry.challenge,
        code,
        message: entry.message,
      })
    : undefined;
  return { status: entry.status, wwwAuthenticate, body };
}
