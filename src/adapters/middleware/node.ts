/**
 * node:http middleware: `(req, res, next)` for connect-style stacks, and
 * `withAuthorization(config, handler)` to guard a plain request listener.
 * An allowed request carries `req.auth`; a denied one is answered here with
 * the core's status, RFC 6750 `WWW-Authenticate` and JSON body, or (connect
 * style, `denial: "error"`) passed to `next` as a PortcullisAuthError, or
 * first offered to `onDeny`. With `optional: true` a request without a token
 * goes on anonymous, and a bad token is still denied. A generic types the
 * claims: `withAuthorization<MyClaims>(…)`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Claims } from '../../jwt/parse.js';
import type { Decision, Deny } from '../../authorizer/decision.js';
import type { Authorizer } from '../../runtime/create-authorizer.js';
import { BODIES, writeDenial, writeJson } from '../../http/response.js';
import { PortcullisAuthError } from './auth-error.js';
import {
  acceptRequest,
  authOf,
  authorizeNode,
  createGuard,
  isAnonymous,
  runOnDeny,
  stripClientIdentity,
  type AuthOf,
  type AuthorizerSource,
  type GuardOptions,
  type OptionalMode,
  type RequiredMode,
} from './core.js';

/** The request a handler behind the middleware gets: `auth` set, or (optional mode) possibly undefined. */
export type AuthorizedRequest<C extends object = Claims, Optional extends boolean = false> = IncomingMessage & { auth: AuthOf<C, Optional> };

export interface NodeMiddlewareOptions extends GuardOptions {
  /**
   * Called with every denial, before the built-in handling. If it writes the response head, that is the
   * answer; if not, the denial is answered (or passed to `next`) as `denial` says. It cannot let the
   * request through. A throw or rejection goes to `next(error)`.
   */
  onDeny?: (error: PortcullisAuthError, req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
}

export type NodeMiddleware<C extends object = Claims, Optional extends boolean = false> = ((
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void) & {
  /** Resolves once the key set finished its first load attempt. */
  ready(): Promise<void>;
  close(): void;
  readonly authorizer: Authorizer;
  /** This request's `auth`, typed; throws if the request did not pass through this middleware. */
  authOf(req: IncomingMessage): AuthOf<C, Optional>;
};

export function portcullisMiddleware<C extends object = Claims>(source: AuthorizerSource, options: NodeMiddlewareOptions & OptionalMode): NodeMiddleware<C, true>;
export function portcullisMiddleware<C extends object = Claims>(source: AuthorizerSource, options?: NodeMiddlewareOptions & RequiredMode): NodeMiddleware<C, false>;
export function portcullisMiddleware<C extends object = Claims>(source: AuthorizerSource, options?: NodeMiddlewareOptions): NodeMiddleware<C, boolean>;
export function portcullisMiddleware(source: AuthorizerSource, options: NodeMiddlewareOptions = {}): NodeMiddleware<Claims, boolean> {
  const guard = createGuard(source, options);
  const { authorizer } = guard;
  const onDeny = options.onDeny;
  const middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void => {
    const builtIn = (error: PortcullisAuthError, decision: Deny): void => {
      if (guard.denial === 'error') next(error);
      else writeDenial(res, decision);
    };
    const settle = (decision: Decision): void => {
      if (decision.allowed) {
        const auth = acceptRequest(req, authorizer, decision);
        guard.admitted.set(req, auth);
        (req as AuthorizedRequest).auth = auth;
        next();
      } else if (isAnonymous(guard, decision)) {
        stripClientIdentity(req, authorizer);
        guard.admitted.set(req, null);
        (req as AuthorizedRequest<Claims, true>).auth = undefined;
        next();
      } else {
        const error = new PortcullisAuthError(decision);
        if (onDeny === undefined) builtIn(error, decision);
        else runOnDeny(() => onDeny(error, req, res), () => res.headersSent, () => builtIn(error, decision), next);
      }
    };
    const decision = authorizeNode(authorizer, req.headers, req.url);
    if (decision instanceof Promise) decision.then(settle, next);
    else settle(decision);
  };
  return Object.assign(middleware, {
    ready: () => authorizer.ready(),
    close: () => authorizer.close(),
    authorizer,
    authOf: (req: IncomingMessage) => authOf(guard, req),
  });
}

/** withAuthorization's options: there is no `next` to pass an error to, so no `denial` mode. */
export type WithAuthorizationOptions = Omit<NodeMiddlewareOptions, 'denial'>;

export type GuardedListener = ((req: IncomingMessage, res: ServerResponse) => void) & { ready(): Promise<void>; close(): void; readonly authorizer: Authorizer };

/** Wraps a request listener: it runs only for allowed (or, optional mode, anonymous) requests, with `req.auth` set. */
export function withAuthorization<C extends object = Claims>(
  source: AuthorizerSource,
  handler: (req: AuthorizedRequest<C, true>, res: ServerResponse) => unknown,
  options: WithAuthorizationOptions & OptionalMode,
): GuardedListener;
export function withAuthorization<C extends object = Claims>(
  source: AuthorizerSource,
  handler: (req: AuthorizedRequest<C>, res: ServerResponse) => unknown,
  options?: WithAuthorizationOptions & RequiredMode,
): GuardedListener;
export function withAuthorization<C extends object = Claims>(
  source: AuthorizerSource,
  handler: (req: AuthorizedRequest<C, boolean>, res: ServerResponse) => unknown,
  options?: WithAuthorizationOptions,
): GuardedListener;
export function withAuthorization(
  source: AuthorizerSource,
  handler: (req: never, res: ServerResponse) => unknown,
  options: WithAuthorizationOptions = {},
): GuardedListener {
  const middleware = portcullisMiddleware(source, { ...options, denial: 'respond' });
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    middleware(req, res, (error?: unknown) => {
      // Only onDeny's own failure arrives here (the authorizer never rejects): the request stays denied.
      if (error !== undefined) return writeJson(res, 500, BODIES.internalError);
      // The handler's own errors stay its own, exactly as in a bare listener.
      void handler(req as never, res);
    });
  };
  return Object.assign(listener, { ready: middleware.ready, close: middleware.close, authorizer: middleware.authorizer });
}
