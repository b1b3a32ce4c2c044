/**
 * Fastify: `app.register(portcullisFastify, { validator })` guards every route
 * of the registering scope with an onRequest hook (before the body is read);
 * `createFastifyHook(validator)` gives the hook for one route's `onRequest`.
 * An allowed request carries `request.auth`; a denial is answered with the
 * core's status, `WWW-Authenticate` and JSON body. Fastify is only a type
 * dependency: nothing here loads it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthorizerOptions } from '../../runtime/create-authorizer.js';
import { denialHeaders } from '../../http/response.js';
import { acceptRequest, authorizeNode, resolveAuthorizer, type AuthorizerSource, type RequestAuth } from './core.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the portcullis hook on allowed requests; null elsewhere. */
    auth: RequestAuth | null;
  }
}

export type FastifyAuthHook = ((request: FastifyRequest, reply: FastifyReply) => Promise<void>) & { ready(): Promise<void>; close(): void };

export function createFastifyHook(source: AuthorizerSource, options?: AuthorizerOptions): FastifyAuthHook {
  const authorizer = resolveAuthorizer(source, options);
  const hook = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const decision = await authorizeNode(authorizer, request.headers, request.url, request.params as Record<string, string> | undefined);
    if (decision.allowed) {
      request.auth = acceptRequest(request.raw, authorizer, decision);
      return;
    }
    // Sending from an async hook ends the request; Fastify skips the handler.
    await reply.code(decision.status).headers(denialHeaders(decision)).send(decision.body ?? '');
  };
  return Object.assign(hook, { ready: () => authorizer.ready(), close: () => authorizer.close() });
}

export interface PortcullisFastifyOptions {
  /** The auth/validator block, or an authorizer built elsewhere. */
  validator: AuthorizerSource;
  authorizer?: AuthorizerOptions;
}

/**
 * A plugin that applies to the scope it is registered in (what
 * `fastify-plugin` does, through the same `skip-override` symbol), and closes
 * its key set with the instance.
 */
export const portcullisFastify = Object.assign(
  async function portcullisFastify(fastify: FastifyInstance, options: PortcullisFastifyOptions): Promise<void> {
    const hook = createFastifyHook(options.validator, options.authorizer);
    if (!fastify.hasRequestDecorator('auth')) fastify.decorateRequest('auth', null);
    fastify.addHook('onRequest', hook);
    fastify.addHook('onClose', async () => hook.close());
    await hook.ready();
  },
  { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'portcullis' },
);
