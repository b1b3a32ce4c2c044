/**
 * The one error type a denial becomes when an app asks for errors instead of
 * answers (`denial: "error"`, and the argument of `onDeny`), so its own error
 * handler can answer. It carries what the built-in answer would have sent
 * (status, RFC 6750 challenge, JSON body) under the names Express's
 * finalhandler and Fastify's error handler read (`status`/`statusCode`,
 * `headers`), and never the token nor the reason's detail, which can quote
 * the token's header or the accepted issuers. Every entry point re-exports
 * this one module, so `instanceof` holds whichever entry an app imports.
 */
import { FAILURE_CODES, type FailureCode } from '../../jwt/errors.js';
import type { Deny } from '../../authorizer/decision.js';

/** What a denial is made of; a `Deny` from the core has all of it. */
export type DenialFields = Pick<Deny, 'code' | 'status' | 'wwwAuthenticate' | 'body'>;

export class PortcullisAuthError extends Error {
  /** The failure code (docs/errors.md), e.g. `token_expired`. */
  readonly code: FailureCode;
  /** 401 (token problem), 403 (policy problem) or 503 (no signing keys could be loaded). */
  readonly status: 401 | 403 | 503;
  /** The same as `status`, under the name Fastify and http-errors use. */
  readonly statusCode: 401 | 403 | 503;
  /** The RFC 6750 challenge, or undefined for a 503. */
  readonly wwwAuthenticate: string | undefined;
  /**
   * `www-authenticate` (when there is a challenge) and `cache-control: no-store`; not `content-type`, which
   * belongs to whatever body the error handler writes.
   */
  readonly headers: Readonly<Record<string, string>>;
  /** The built-in JSON body, or undefined when the validator sets `error_body: false`. */
  readonly body: string | undefined;
  /** Its message is safe to show a client (the http-errors convention). */
  readonly expose = true;

  constructor(denial: DenialFields) {
    super(FAILURE_CODES[denial.code].message);
    this.name = 'PortcullisAuthError';
    this.code = denial.code;
    this.status = denial.status;
    this.statusCode = denial.status;
    this.wwwAuthenticate = denial.wwwAuthenticate;
    this.body = denial.body;
    const headers: Record<string, string> = {};
    if (denial.wwwAuthenticate !== undefined) headers['www-authenticate'] = denial.wwwAuthenticate;
    // A denial depends on the token, never on a cacheable resource.
    headers['cache-control'] = 'no-store';
    this.headers = Object.freeze(headers);
  }
}
