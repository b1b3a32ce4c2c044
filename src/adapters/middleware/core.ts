/**
 * What every Node middleware shares: reading its options and building (or
 * reusing) the core authorizer, and on an allow, the request's `auth` plus the
 * gateway's header rule applied to the request itself: client-sent copies of
 * the propagated claim headers (in any spelling, `X_User` too) and other
 * spellings of the checked tenant header are removed and the verified values
 * set, so handler code that reads `x-user` sees what a backend behind the
 * gateway would see. An anonymous request (optional mode) gets the removal
 * too. Node exposes the request headers three ways (`headers`,
 * `headersDistinct`, `rawHeaders`); all three are cleaned, so no view keeps a
 * client's value.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { createStripRule, type StripRule } from '../../authorizer/identity-headers.js';
import { createAuthorizer, type Authorizer, type AuthorizerOptions } from '../../runtime/create-authorizer.js';
import type { Allow, AuthorizeRequest, Decision, Deny } from '../../authorizer/decision.js';
import type { PropagatedHeader } from '../../authorizer/propagate.js';
import type { ValidatorConfig } from '../../config/validator-schema.js';
import type { Claims, JwsHeader } from '../../jwt/parse.js';

/**
 * What a handler finds on `req.auth` after the middleware allowed the request.
 * `C` types the claims (`portcullisExpress<MyClaims>(…)`); it is a promise the
 * app makes about its issuer's tokens, not something portcullis checks beyond
 * the validator's own rules.
 */
export interface RequestAuth<C extends object = Claims> {
  readonly claims: Readonly<C>;
  /** The verified token's protected header. */
  readonly protectedHeader: JwsHeader;
  /** The propagated claim headers, as also set on the request's headers. */
  readonly headers: readonly PropagatedHeader[];
}

/** A validator block (an authorizer is built for it) or an authorizer built elsewhere (to share it). */
export type AuthorizerSource = ValidatorConfig | Authorizer;

/** `req.auth` as a handler behind a middleware sees it: always set, or possibly undefined in optional mode. */
export type AuthOf<C extends object, Optional extends boolean> = Optional extends true ? RequestAuth<C> | undefined : RequestAuth<C>;

/**
 * A request type with `auth` typed. The `auth` the frameworks' declarations add is left out first: an
 * intersection with it would keep the untyped claims' index signature, and a misspelled claim would compile.
 */
export type WithAuth<R, C extends object, Optional extends boolean = false> = Omit<R, 'auth'> & { auth: AuthOf<C, Optional> };

/** What the middleware does with a denial that `onDeny` did not answer. */
export type DenialMode = 'respond' | 'error';

/** The options every middleware takes besides the authorizer's own. */
export interface GuardOptions extends AuthorizerOptions {
  /**
   * Let requests without a token through, anonymous (`auth` unset); a token that is present is still
   * verified, and a bad one is still denied (fail closed). Default false.
   */
  optional?: boolean;
  /** express-jwt's spelling: `credentialsRequired: false` is `optional: true`. */
  credentialsRequired?: boolean;
  /**
   * `respond` (default): answer the denial here (status, RFC 6750 challenge, JSON body).
   * `error`: hand a PortcullisAuthError to the framework's error handling.
   */
  denial?: DenialMode;
}

/** Which GuardOptions turn on optional mode, for the factories' overloads. */
export type OptionalMode = { optional: true } | { credentialsRequired: false };
/** Options that leave the token required, for the factories' overloads. */
export type RequiredMode = { optional?: false; credentialsRequired?: true };

export interface Guard {
  readonly authorizer: Authorizer;
  readonly optional: boolean;
  readonly denial: DenialMode;
  /** What this guard decided for each request it let through (null: anonymous), for `authOf`. */
  readonly admitted: WeakMap<object, RequestAuth | null>;
}

/** The typed `auth` of a request this guard let through; a request it never saw is a wiring mistake, not an anonymous one. */
export function authOf(guard: Guard, req: object): RequestAuth | undefined {
  const auth = guard.admitted.get(req);
  if (auth === undefined) throw new Error('portcullis: this request did not pass through this middleware; add it before the handler');
  return auth ?? undefined;
}

/**
 * Reads the middleware options (a mistake throws a TypeError naming the option: a guard is never built
 * half-configured) and builds or reuses the authorizer.
 */
export function createGuard(source: AuthorizerSource, options: GuardOptions & { onDeny?: unknown } = {}): Guard {
  const { optional, credentialsRequired, denial = 'respond', onDeny, ...authorizerOptions } = options;
  if (optional !== undefined && typeof optional !== 'boolean') throw new TypeError('portcullis: the option "optional" must be true or false');
  if (credentialsRequired !== undefined && typeof credentialsRequired !== 'boolean') {
    throw new TypeError('portcullis: the option "credentialsRequired" must be true or false');
  }
  if (optional !== undefined && credentialsRequired !== undefined && optional === credentialsRequired) {
    throw new TypeError('portcullis: the options "optional" and "credentialsRequired" contradict each other; give one of them');
  }
  if (denial !== 'respond' && denial !== 'error') throw new TypeError('portcullis: the option "denial" must be "respond" or "error"');
  if (onDeny !== undefined && typeof onDeny !== 'function') throw new TypeError('portcullis: the option "onDeny" must be a function');
  return {
    authorizer: resolveAuthorizer(source, authorizerOptions),
    optional: optional === true || credentialsRequired === false,
    denial,
    admitted: new WeakMap(),
  };
}

/** In optional mode a request without any token passes, anonymous; any other denial stands. */
export function isAnonymous(guard: Guard, deny: Deny): boolean {
  return guard.optional && deny.code === 'token_missing';
}

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
  const { headers, distinct, raw } = stripClientIdentity(req, authorizer);
  for (const { name, value } of allow.headers) {
    const lower = name.toLowerCase();
    const values = typeof value === 'string' ? [value] : [...value];
    headers[lower] = typeof value === 'string' ? value : values;
    distinct[lower] = values;
    for (const item of values) raw.push(name, item);
  }
  return Object.freeze({ claims: allow.claims, protectedHeader: allow.protectedHeader, headers: allow.headers });
}

/**
 * Removes every client-sent value of the headers the authorizer sets or checks, from all three views. An
 * anonymous request (optional mode) gets this too: its handler must not read a client's `X-User` as verified.
 */
export function stripClientIdentity(req: NodeRequestHeaders, authorizer: Authorizer) {
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
  return { headers, distinct, raw };
}

/**
 * Runs an app's `onDeny`, then the built-in handling unless it answered. A throw or rejection goes to
 * `fail` (the framework's error path) as an Error: the request is denied either way, and the handler
 * never runs.
 */
export function runOnDeny(call: () => unknown, answered: () => boolean, fallback: () => void, fail: (error: Error) => void): void {
  let pending: unknown;
  try {
    pending = call();
  } catch (error) {
    fail(asError(error));
    return;
  }
  const finish = (): void => {
    if (!answered()) fallback();
  };
  if (isThenable(pending)) pending.then(finish, (error: unknown) => fail(asError(error)));
  else finish();
}

/**
 * What an `onDeny` threw, as an Error. Anything else could mean something else downstream: Express reads
 * `next('route')` as "skip to the next route", which may be unguarded; Fastify sends a string as a 200 body.
 */
export function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error('portcullis: onDeny threw a value that is not an Error');
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}
