/**
 * node:http middleware: `(req, res, next)` for connect-style stacks, and
 * `withAuthorization(config, handler)` to guard a plain request listener.
 * An allowed request carries `req.auth`; a denied one is answered here with
 * the core's status, RFC 6750 `WWW-Authenticate` and JSON body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthorizerOptions } from '../../runtime/create-authorizer.js';
import type { Decision } from '../../authorizer/decision.js';
import { BODIES, writeDenial, writeJson } from '../../http/response.js';
import { acceptRequest, authorizeNode, resolveAuthorizer, type AuthorizerSource, type RequestAuth } from './core.js';

export type AuthorizedRequest = IncomingMessage & { auth: RequestAuth };

export type NodeMiddleware = ((req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void) & {
  /** Resolves once the key set finished its first load attempt. */
  ready(): Promise<void>;
  close(): void;
};

export function portcullisMiddleware(source: AuthorizerSource, options?: AuthorizerOptions): NodeMiddleware {
  const authorizer = resolveAuthorizer(source, options);
  const middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void => {
    const settle = (decision: Decision): void => {
      if (decision.allowed) {
        (req as AuthorizedRequest).auth = acceptRequest(req, authorizer, decision);
        next();
      } else {
        writeDenial(res, decision);
      }
    };
    const decision = authorizeNode(authorizer, req.headers, req.url);
    if (decision instanceof Promise) decision.then(settle, next);
    else settle(decision);
  };
  return Object.assign(middleware, { ready: () => authorizer.ready(), close: () => authorizer.close() });
}

/** Wraps a request listener: it runs only for allowed requests, with `req.auth` set. */
export function withAuthorization(
  source: AuthorizerSource,
  handler: (req: AuthorizedRequest, res: ServerResponse) => unknown,
  options?: AuthorizerOptions,
): ((req: IncomingMessage, res: ServerResponse) => void) & { ready(): Promise<void>; close(): void } {
  const middleware = portcullisMiddleware(source, options);
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    middleware(req, res, (error?: unknown) => {
      if (error !== undefined) return writeJson(res, 500, BODIES.internalError);
      // The handler's own errors stay its own, exactly as in a bare listener.
      void handler(req as AuthorizedRequest, res);
    });
  };
  return Object.assign(listener, { ready: middleware.ready, close: middleware.close });
}
