/**
 * Fastify: `app.register(portcullisFastify, { validator })` guards every route
 * of the registering scope with an onRequest hook (before the body is read);
 * `createFastifyHook(validator)` gives the hook itself, for one route's
 * `onRequest` or `app.addHook('onRequest', hook)`. An allowed request carries
 * `request.auth`; a denial is answered with the core's status,
 * `WWW-Authenticate` and JSON body and logged through `request.log`; or, with
 * `denial: "error"`, sent as a PortcullisAuthError through Fastify's error
 * handler; or first offered to `onDeny`. With `optional: true` a request
 * without a token goes on anonymous (`request.auth` null), and a bad token is
 * still denied. `createFastifyHook<MyClaims>()` types the claims, through
 * `authOf(request)` and `handler(fn)`. Fastify is only a type dependency:
 * nothing here loads it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteGenericInterface } from 'fastify';
import type { Claims } from '../../jwt/parse.js';
import type { Deny } from '../../authorizer/decision.js';
import type { Authorizer, AuthorizerOptions } from '../../runtime/create-authorizer.js';
import { denialHeaders } from '../../http/response.js';
import { PortcullisAuthError } from './auth-error.js';
import {
  acceptRequest,
  asError,
  authOf,
  authorizeNode,
  createGuard,
  isAnonymous,
  stripClientIdentity,
  type AuthOf,
  type AuthorizerSource,
  type GuardOptions,
  type OptionalMode,
  type RequestAuth,
  type RequiredMode,
} from './core.js';

export { PortcullisAuthError } from './auth-error.js';
export type { RequestAuth, AuthorizerSource, AuthOf, WithAuth, GuardOptions, DenialMode } from './core.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the portcullis hook on allowed requests; null elsewhere, and on anonymous ones (optional mode). */
    auth: RequestAuth | null;
  }
}

export interface FastifyHookOptions extends GuardOptions {
  /**
   * Called with every denial, before the built-in handling. If it sends a reply, that is the answer; if
   * not, the denial is answered (or sent to the error handler) as `denial` says. It cannot let the request
   * through. A throw or rejection goes to Fastify's error handler.
   */
  onDeny?: (error: PortcullisAuthError, request: FastifyRequest, reply: FastifyReply) => void | Promise<void>;
}

/** `auth` on a Fastify request behind the hook; null rather than undefined for anonymous ones, as decorated. */
type FastifyAuthOf<C extends object, Optional extends boolean> = Optional extends true ? RequestAuth<C> | null : RequestAuth<C>;

/** `request` as a handler behind the hook sees it, with `auth` typed. */
export type AuthenticatedFastifyRequest<C extends object = Claims, Optional extends boolean = false, R = FastifyRequest> = Omit<R, 'auth'> & {
  auth: FastifyAuthOf<C, Optional>;
};

export type FastifyAuthHook<C extends object = Claims, Optional extends boolean = false> = ((request: FastifyRequest, reply: FastifyReply) => Promise<void>) & {
  /** Resolves once the key set finished its first load attempt. */
  ready(): Promise<void>;
  close(): void;
  readonly authorizer: Authorizer;
  /** This request's `auth`, typed (undefined when anonymous); throws if the request did not pass through this hook. */
  authOf(request: FastifyRequest): AuthOf<C, Optional>;
  /**
   * Types a route handler's `request.auth` (no cast): `app.get('/me', { onRequest: hook }, hook.handler(async (request) => …))`.
   * A request that did not pass through this hook is refused with an error instead.
   */
  handler<G extends RouteGenericInterface = RouteGenericInterface, T = unknown>(
    fn: (request: AuthenticatedFastifyRequest<C, Optional, FastifyRequest<G>>, reply: FastifyReply<G>) => T,
  ): (request: FastifyRequest<G>, reply: FastifyReply<G>) => T;
};

export function createFastifyHook<C extends object = Claims>(source: AuthorizerSource, options: FastifyHookOptions & OptionalMode): FastifyAuthHook<C, true>;
export function createFastifyHook<C extends object = Claims>(source: AuthorizerSource, options?: FastifyHookOptions & RequiredMode): FastifyAuthHook<C, false>;
export function createFastifyHook<C extends object = Claims>(source: AuthorizerSource, options?: FastifyHookOptions): FastifyAuthHook<C, boolean>;
export function createFastifyHook(source: AuthorizerSource, options: FastifyHookOptions = {}): FastifyAuthHook<Claims, boolean> {
  const guard = createGuard(source, options);
  const { authorizer } = guard;
  const onDeny = options.onDeny;

  const builtIn = async (error: PortcullisAuthError, decision: Deny, reply: FastifyReply): Promise<void> => {
    // reply.send(error) is Fastify's own route to the error handler, with error.statusCode and error.headers.
    if (guard.denial === 'error') await reply.send(error);
    // Sending from an async hook ends the request; Fastify skips the handler.
    else await reply.code(decision.status).headers(denialHeaders(decision)).send(decision.body ?? '');
  };

  const hook = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const decision = await authorizeNode(authorizer, request.headers, request.url, request.params as Record<string, string> | undefined);
    if (decision.allowed) {
      const auth = acceptRequest(request.raw, authorizer, decision);
      guard.admitted.set(request, auth);
      request.auth = auth;
      return;
    }
    if (isAnonymous(guard, decision)) {
      stripClientIdentity(request.raw, authorizer);
      guard.admitted.set(request, null);
      request.auth = null;
      return;
    }
    const error = new PortcullisAuthError(decision);
    // The error handler logs what it handles; a denial answered here is logged here, codes only.
    if (guard.denial !== 'error') request.log.info({ code: decision.code, statusCode: decision.status }, 'portcullis: request denied');
    if (onDeny !== undefined) {
      try {
        await onDeny(error, request, reply);
      } catch (thrown) {
        if (!reply.sent) await reply.send(asError(thrown));
        return;
      }
      if (reply.sent) return;
    }
    await builtIn(error, decision, reply);
  };

  const handler = <T>(fn: (request: never, reply: FastifyReply) => T) =>
    function (this: unknown, request: FastifyRequest, reply: FastifyReply): T {
      if (!guard.admitted.has(request)) throw new Error('portcullis: this handler ran without its hook before it; add the hook to the route');
      return fn.call(this, request as never, reply);
    };

  return Object.assign(hook, {
    ready: () => authorizer.ready(),
    close: () => authorizer.close(),
    authorizer,
    authOf: (request: FastifyRequest) => authOf(guard, request),
    handler,
  }) as unknown as FastifyAuthHook<Claims, boolean>;
}

export interface PortcullisFastifyOptions extends Pick<FastifyHookOptions, 'optional' | 'credentialsRequired' | 'denial' | 'onDeny'> {
  /** The auth/validator block, or an authorizer built elsewhere. */
  validator: AuthorizerSource;
  /** The authorizer's own options (logger, cache size, shared key sets…). */
  authorizer?: AuthorizerOptions;
}

/**
 * A plugin that applies to the scope it is registered in (what
 * `fastify-plugin` does, through the same `skip-override` symbol), and closes
 * its key set with the instance.
 */
export const portcullisFastify = Object.assign(
  async function portcullisFastify(fastify: FastifyInstance, options: PortcullisFastifyOptions): Promise<void> {
    const { validator, authorizer, ...guardOptions } = options;
    const hook = createFastifyHook(validator, { ...authorizer, ...guardOptions });
    if (!fastify.hasRequestDecorator('auth')) fastify.decorateRequest('auth', null);
    fastify.addHook('onRequest', hook);
    fastify.addHook('onClose', async () => hook.close());
    await hook.ready();
  },
  { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'portcullis' },
);
