/**
 * Express middleware: `app.use(portcullisExpress(validatorConfig))`, or per
 * route to give tenant rules the route's `req.params`. An allowed request
 * carries `req.auth` (typed below); a denial is answered with the core's
 * status, `WWW-Authenticate` and JSON body, and `next` is not called.
 * Express is only a type dependency: nothing here loads it.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AuthorizerOptions } from '../../runtime/create-authorizer.js';
import type { Decision } from '../../authorizer/decision.js';
import { writeDenial } from '../../http/response.js';
import { acceptRequest, authorizeNode, resolveAuthorizer, type AuthorizerSource, type RequestAuth } from './core.js';

declare global {
  // Express's own extension point for request properties (declaration merging).
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by portcullisExpress on allowed requests. */
      auth?: RequestAuth;
    }
  }
}

export type ExpressMiddleware = RequestHandler & { ready(): Promise<void>; close(): void };

export function portcullisExpress(source: AuthorizerSource, options?: AuthorizerOptions): ExpressMiddleware {
  const authorizer = resolveAuthorizer(source, options);
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    const settle = (decision: Decision): void => {
      if (decision.allowed) {
        req.auth = acceptRequest(req, authorizer, decision);
        next();
      } else {
        writeDenial(res, decision);
      }
    };
    // originalUrl keeps the query even inside a mounted router.
    const decision = authorizeNode(authorizer, req.headers, req.originalUrl ?? req.url, req.params as Record<string, string>);
    if (decision instanceof Promise) decision.then(settle, next);
    else settle(decision);
  };
  return Object.assign(middleware, { ready: () => authorizer.ready(), close: () => authorizer.close() });
}
