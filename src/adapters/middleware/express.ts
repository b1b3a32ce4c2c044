/**
 * Express middleware: `app.use(portcullisExpress(validatorConfig))`, or per
 * route to give tenant rules the route's `req.params`. An allowed request
 * carries `req.auth`; a denial is answered with the core's status,
 * `WWW-Authenticate` and JSON body, and `next` is not called; or, with
 * `denial: "error"`, passed to `next` as a PortcullisAuthError for the app's
 * own error handler; or first offered to `onDeny`. With `optional: true` a
 * request without a token goes on anonymous, and a bad token is still denied.
 * `portcullisExpress<MyClaims>()` types the claims, through `authOf(req)` and
 * `handler(fn)`. Express is only a type dependency: nothing here loads it.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Claims } from '../../jwt/parse.js';
import type { Decision, Deny } from '../../authorizer/decision.js';
import type { Authorizer } from '../../runtime/create-authorizer.js';
import { writeDenial } from '../../http/response.js';
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
  type RequestAuth,
  type RequiredMode,
  type WithAuth,
} from './core.js';

export { PortcullisAuthError } from './auth-error.js';
export type { RequestAuth, AuthorizerSource, AuthOf, WithAuth, GuardOptions, DenialMode } from './core.js';

declare global {
  // Express's own extension point for request properties (declaration merging).
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by portcullisExpress on allowed requests; undefined on anonymous ones (optional mode). */
      auth?: RequestAuth;
    }
  }
}

export interface ExpressOptions extends GuardOptions {
  /**
   * Called with every denial, before the built-in handling. If it sends a response, that is the answer;
   * if not, the denial is answered (or passed to `next`) as `denial` says. It cannot let the request
   * through. A throw or rejection goes to `next(error)`.
   */
  onDeny?: (error: PortcullisAuthError, req: Request, res: Response) => void | Promise<void>;
}

/** `req` as a handler behind the middleware sees it, with `auth` typed. */
export type AuthenticatedRequest<C extends object = Claims, Optional extends boolean = false, R = Request> = WithAuth<R, C, Optional>;

export type PortcullisExpress<C extends object = Claims, Optional extends boolean = false> = RequestHandler & {
  /** Resolves once the key set finished its first load attempt. */
  ready(): Promise<void>;
  close(): void;
  readonly authorizer: Authorizer;
  /** This request's `auth`, typed; throws if the request did not pass through this middleware. */
  authOf(req: Request): AuthOf<C, Optional>;
  /**
   * Types a route handler's `req.auth` (no cast): `app.get('/me', auth, auth.handler((req, res) => …))`.
   * A request that did not pass through this middleware goes to `next` with an error instead of the handler.
   */
  handler<R extends Request = Request, S extends Response = Response>(
    fn: (req: WithAuth<R, C, Optional>, res: S, next: NextFunction) => unknown,
  ): (req: R, res: S, next: NextFunction) => unknown;
};

export function portcullisExpress<C extends object = Claims>(source: AuthorizerSource, options: ExpressOptions & OptionalMode): PortcullisExpress<C, true>;
export function portcullisExpress<C extends object = Claims>(source: AuthorizerSource, options?: ExpressOptions & RequiredMode): PortcullisExpress<C, false>;
export function portcullisExpress<C extends object = Claims>(source: AuthorizerSource, options?: ExpressOptions): PortcullisExpress<C, boolean>;
export function portcullisExpress(source: AuthorizerSource, options: ExpressOptions = {}): PortcullisExpress<Claims, boolean> {
  const guard = createGuard(source, options);
  const { authorizer } = guard;
  const onDeny = options.onDeny;

  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    const builtIn = (error: PortcullisAuthError, decision: Deny): void => {
      if (guard.denial === 'error') next(error);
      else writeDenial(res, decision);
    };
    const settle = (decision: Decision): void => {
      if (decision.allowed) {
        const auth = acceptRequest(req, authorizer, decision);
        guard.admitted.set(req, auth);
        req.auth = auth;
        next();
      } else if (isAnonymous(guard, decision)) {
        stripClientIdentity(req, authorizer);
        guard.admitted.set(req, null);
        req.auth = undefined;
        next();
      } else {
        const error = new PortcullisAuthError(decision);
        if (onDeny === undefined) builtIn(error, decision);
        else runOnDeny(() => onDeny(error, req, res), () => res.headersSent, () => builtIn(error, decision), next);
      }
    };
    // originalUrl keeps the query even inside a mounted router.
    const decision = authorizeNode(authorizer, req.headers, req.originalUrl ?? req.url, req.params as Record<string, string>);
    if (decision instanceof Promise) decision.then(settle, next);
    else settle(decision);
  };

  const handler = (fn: (req: never, res: Response, next: NextFunction) => unknown) => (req: Request, res: Response, next: NextFunction): unknown => {
    if (!guard.admitted.has(req)) return next(new Error('portcullis: this handler ran without its middleware before it; add the middleware to the route'));
    return fn(req as never, res, next);
  };

  return Object.assign(middleware, {
    ready: () => authorizer.ready(),
    close: () => authorizer.close(),
    authorizer,
    authOf: (req: Request) => authOf(guard, req),
    handler,
  }) as PortcullisExpress<Claims, boolean>;
}
