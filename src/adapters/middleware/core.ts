/**
 * What every Node middleware shares: building (or reusing) the core
 * authorizer, and on an allow, the request's `auth` plus the gateway's header
 * rule applied to the request itself: client-sent copies of the propagated
 * claim headers are removed and the verified values set, so handler code that
 * reads `x-user` sees what a backend behind the gateway would see.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { createAuthorizer, type Authorizer, type AuthorizerOptions } from '../../authorizer/create.js';
import type { Allow, AuthorizeRequest, Decision } from '../../authorizer/decision.js';
import type { PropagatedHeader } from '../../authorizer/propagate.js';
import type { ValidatorConfig } from '../../config/validator-schema.js';
import type { Claims, JwsHeader } from '../../jwt/parse.js';

/** What a handler finds on `req.auth` after the middleware allowed the request. */
export interface RequestAuth {
  readonly claims: Claims;
  /** The verified token's protected header. */
  readonly header: JwsHeader;
  /** The propagated claim headers, as also set on the request's headers. */
  readonly headers: readonly PropagatedHeader[];
}

/** A validator block (an authorizer is built for it) or an authorizer built elsewhere (to share it). */
export type AuthorizerSource = ValidatorConfig | Authorizer;

export function resolveAuthorizer(source: AuthorizerSource, options: AuthorizerOptions = {}): Authorizer {
  if (isAuthorizer(source)) return source;
  return createAuthorizer(source, { label: '[SERVICE: Middleware]', ...options });
}

function isAuthorizer(source: AuthorizerSource): source is Authorizer {
  return typeof (source as Partial<Authorizer>).authorize === 'function';
}

/** The core's input from a Node request: its headers, the raw query of `url`, the router's params. */
export function authorizeRequestOf(
  headers: IncomingHttpHeaders,
  url: string | undefined,
  params: Readonly<Record<string, string | undefined>> | undefined,
): AuthorizeRequest {
  const q = url === undefined ? -1 : url.indexOf('?');
  return { headers, query: q === -1 ? '' : url!.slice(q + 1), ...(params !== undefined ? { params } : {}) };
}

export function authorizeNode(
  authorizer: Authorizer,
  headers: IncomingHttpHeaders,
  url: string | undefined,
  params?: Readonly<Record<string, string | undefined>>,
): Decision | Promise<Decision> {
  return authorizer.authorize(authorizeRequestOf(headers, url, params));
}

/** Applies an allow to the request's headers and returns the `auth` value. */
export function acceptRequest(headers: IncomingHttpHeaders, allow: Allow): RequestAuth {
  for (const name of allow.stripHeaders) delete headers[name];
  for (const { name, value } of allow.headers) headers[name.toLowerCase()] = typeof value === 'string' ? value : [...value];
  return Object.freeze({ claims: allow.claims, header: allow.header, headers: allow.headers });
}
