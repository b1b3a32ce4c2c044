/**
 * What every Node middleware shares: building (or reusing) the core
 * authorizer, and on an allow, the request's `auth` plus the gateway's header
 * rule applied to the request itself: client-sent copies of the propagated
 * claim headers (in any spelling, `X_User` too) and other spellings of the
 * checked tenant header are removed and the verified values set, so handler
 * code that reads `x-user` sees what a backend behind the gateway would see.
 * Node exposes the request headers three ways (`headers`, `headersDistinct`,
 * `rawHeaders`); all three are cleaned, so no view keeps a client's value.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { createStripRule, type StripRule } from '../../authorizer/identity-headers.js';
import { createAuthorizer, type Authorizer, type AuthorizerOptions } from '../../runtime/create-authorizer.js';
import type { Allow, AuthorizeRequest, Decision } from '../../authorizer/decision.js';
import type { PropagatedHeader } from '../../authorizer/propagate.js';
import type { ValidatorConfig } from '../../config/validator-schema.js';
import type { Claims, JwsHeader } from '../../jwt/parse.js';

/** What a handler finds on `req.auth` after the middleware allowed the request. */
export interface RequestAuth {
  readonly claims: Claims;
  /** The verified token's protected header. */
  readonly protectedHeader: JwsHeader;
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

const stripRules = new WeakMap<Authorizer, StripRule>();

function stripRuleFor(authorizer: Authorizer): StripRule {
  let rule = stripRules.get(authorizer);
  if (rule === undefined) {
    rule = createStripRule(authorizer.policy.propagation.headerNames, authorizer.policy.checkedHeaders);
    stripRules.set(authorizer, rule);
  }
  return rule;
}

/** The three header views of a node request that handlers read. */
export type NodeRequestHeaders = Pick<IncomingMessage, 'headers' | 'headersDistinct' | 'rawHeaders'>;

/** Applies an allow to every header view of the request and returns the `auth` value. */
export function acceptRequest(req: NodeRequestHeaders, authorizer: Authorizer, allow: Allow): RequestAuth {
  const strip = stripRuleFor(authorizer);
  // Node builds `headers` and `headersDistinct` from rawHeaders on first use, counting the pairs the parser
  // saw: both must exist before rawHeaders shrinks.
  const headers = req.headers;
  const distinct = req.headersDistinct;
  for (const name of Object.keys(headers)) if (strip.owns(name)) delete headers[name];
  for (const name of Object.keys(distinct)) if (strip.owns(name)) delete distinct[name];
  const raw = req.rawHeaders;
  let kept = 0;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (strip.owns(raw[i]!.toLowerCase())) continue;
    raw[kept] = raw[i]!;
    raw[kept + 1] = raw[i + 1]!;
    kept += 2;
  }
  raw.length = kept;
  for (const { name, value } of allow.headers) {
    const lower = name.toLowerCase();
    const values = typeof value === 'string' ? [value] : [...value];
    headers[lower] = typeof value === 'string' ? value : values;
    distinct[lower] = values;
    for (const item of values) raw.push(name, item);
  }
  return Object.freeze({ claims: allow.claims, protectedHeader: allow.protectedHeader, headers: allow.headers });
}
