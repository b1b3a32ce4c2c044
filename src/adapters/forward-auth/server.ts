/**
 * The forward-auth door: a small HTTP service that nginx `auth_request`,
 * Traefik `forwardAuth` and Envoy's HTTP `ext_authz` ask "may this request
 * pass?". It reads the gateway config (backends are ignored: the proxy has its
 * own), picks the endpoint by the original method and path with the gateway's
 * router, and answers with the core's Decision:
 *
 * - allow: 200, empty body, the propagated claim headers: every identity
 *   header the config knows, empty when this endpoint or token has no value,
 *   so the proxy overwrites client copies even on public routes;
 * - deny: the Decision's 401/403/503 with `WWW-Authenticate` and JSON body;
 * - a route the config does not list: 403 (fail closed; nginx would turn a
 *   404 into a 500 anyway);
 * - a check request without the original method/URI: 400 (a proxy
 *   misconfiguration; nginx answers the client 500).
 *
 * - over a rate limit: 429 or 503 with Retry-After (Traefik and Envoy pass
 *   it on; nginx `auth_request` turns any status but 401/403 into 500).
 * Endpoints with `auth/signer` are refused: the answer never passes through here.
 * With `tls`, checks are served over HTTPS (and mTLS) like the gateway.
 *
 * Its own paths (requests that are not checks): the health endpoint, and the
 * readiness endpoint (503 until every key set has loaded).
 *
 * The X-Original-* / X-Forwarded-* headers are trusted as they arrive, so this
 * port must be reachable by the proxy only.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Allow, Decision } from '../../authorizer/decision.js';
import type { EndpointPlan, GatewayPlan } from '../../config/compile.js';
import { performance } from 'node:perf_hooks';
import { REQUEST_ID_HEADER, requestIdOf } from '../../http/request-id.js';
import type { RequestMetrics } from '../../metrics/prometheus.js';
import { readinessOfPlan, type Readiness } from '../../runtime/readiness.js';
import { headerSafe } from '../../lib/headers.js';
import { createRouter } from '../../routing/router.js';
import type { KeySetRegistry } from '../../keys/registry.js';
import { bindPlan, type BoundPlan } from '../../runtime/bind-plan.js';
import { ConfigError } from '../../config/validate.js';
import type { Deps } from '../../lib/deps.js';
import { createLimitedServer, drain, listen, watchHandshakes, type Listening, type Server } from '../../http/server.js';
import { createListenerTls, type ListenerTls } from '../../runtime/listener-tls.js';
import { silentLogger } from '../../lib/logger.js';
import { systemClock } from '../../lib/clock.js';
import { BODIES, writeDenial, writeJson, writeLimited } from '../../http/response.js';
import type { Claims } from '../../jwt/parse.js';
import type { FleetState } from '../../runtime/fleet-state.js';
import type { LimitOutcome, LimitStep } from '../../runtime/rate-limits.js';
import { createOriginalRequestReader, type ForwardAuthProxy, type OriginalRequest } from './original-request.js';

export interface ForwardAuthOptions extends Partial<Deps> {
  /** Which proxy sends the checks, and so where the original request is read from. */
  proxy: ForwardAuthProxy;
  /** Envoy: the `http_service.path_prefix`, removed from the check path. */
  pathPrefix?: string;
  /** Shared key sets; by default the server owns one registry for all endpoints. */
  keySets?: KeySetRegistry;
  /** Shared Redis connections, revocation store and rate-limit buckets; by default the server owns them. */
  fleet?: FleetState;
  /** Listening address; default the plan's `listen_ip`, else every interface. */
  host?: string;
  /** Listening port; default the plan's. 0 picks a free port. */
  port?: number;
  /** One INFO line per check (default true). */
  accessLog?: boolean;
  /** Request metrics (Prometheus); none by default. */
  metrics?: RequestMetrics;
}

export interface ForwardAuthHandler {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Resolves once every key set finished its first load attempt. */
  ready(): Promise<void>;
  /** Whether every key set can serve keys now, with the readiness endpoint's body. */
  readiness(): Readiness;
  readonly bound: BoundPlan;
  close(): Promise<void>;
}

export interface ForwardAuthServer {
  readonly port: number;
  readonly url: string;
  ready(): Promise<void>;
  readiness(): Readiness;
  readonly bound: BoundPlan;
  close(): Promise<void>;
}

/** The bodies forward-auth answers itself (the library exports them under this name). */
export const FORWARD_AUTH_BODIES = BODIES;

const SERVICE = '[SERVICE: ForwardAuth]';

/** Builds every endpoint's authorizer up front; throws ConfigError on a broken validator. */
export function createForwardAuthHandler(plan: GatewayPlan, options: ForwardAuthOptions): ForwardAuthHandler {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const readOriginal = createOriginalRequestReader(options.proxy, options.pathPrefix);
  refuseProxyAddressLimits(plan);
  refuseSigners(plan);
  const bound = bindPlan(plan, { logger, clock: options.clock, dispatcher: options.dispatcher, keySets: options.keySets, fleet: options.fleet });
  // Every identity header the config can set. Each allow names them all (empty when unset), so a proxy
  // that copies response headers over the request's (Envoy) also overwrites client copies on public routes.
  const identityHeaders = bound.identityHeaders;
  const router = createRouter(plan.endpoints);
  const healthPath = plan.healthPath;
  const readyPath = plan.readyPath;
  const accessLog = options.accessLog ?? true;
  const metrics = options.metrics;
  const endpointMetrics = new Map(plan.endpoints.map((endpoint) => [endpoint, metrics?.endpoint({ path: endpoint.path, method: endpoint.method, backends: [] })]));
  const unmatchedMetrics = metrics?.endpoint({ path: '(forward-auth)', method: '', backends: [] });

  function log(original: OriginalRequest | undefined, endpoint: EndpointPlan | undefined, status: number, code: string | undefined, startedAt: number, requestId: string): void {
    const seconds = (performance.now() - startedAt) / 1000;
    (endpoint === undefined ? unmatchedMetrics : endpointMetrics.get(endpoint))?.finished(status, seconds);
    if (!accessLog) return;
    // Never the URI's query string: it may carry a token (query_key).
    logger.info(
      {
        requestId,
        method: original?.method,
        path: original?.path,
        endpoint: endpoint?.path,
        status,
        ...(code !== undefined ? { code } : {}),
        durationMs: Math.round(seconds * 1e6) / 1000,
      },
      `${SERVICE} check`,
    );
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const startedAt = performance.now();
    // The proxy's id for the original request (nginx: proxy_set_header X-Request-Id $request_id), or a new one.
    const requestId = requestIdOf(req.headers[REQUEST_ID_HEADER]);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    const read = readOriginal(req);
    if (read.kind === 'own') {
      const own = req.method === 'GET' || req.method === 'HEAD';
      if (healthPath !== undefined && read.path === healthPath && own) {
        return writeJson(res, 200, FORWARD_AUTH_BODIES.health);
      }
      if (readyPath !== undefined && read.path === readyPath && own) {
        const readiness = readinessOfPlan(bound, clock.now());
        return writeJson(res, readiness.ready ? 200 : 503, readiness.body);
      }
      logger.warn(`${SERVICE} a request without the original method and URI: is the proxy configured for "${options.proxy}"?`);
      return writeJson(res, 400, FORWARD_AUTH_BODIES.badForwardRequest);
    }
    if (read.kind === 'invalid') {
      logger.warn(`${SERVICE} bad check request: ${read.reason}`);
      unmatchedMetrics?.started();
      writeJson(res, 400, FORWARD_AUTH_BODIES.badForwardRequest);
      return log(undefined, undefined, 400, undefined, startedAt, requestId);
    }
    const original = read.request;
    const match = router.match(original.method, original.path);
    if (match.kind !== 'found') {
      unmatchedMetrics?.started();
      writeJson(res, 403, match.kind === 'not_found' ? FORWARD_AUTH_BODIES.routeNotFound : FORWARD_AUTH_BODIES.methodNotAllowed);
      return log(original, undefined, 403, undefined, startedAt, requestId);
    }
    const endpoint = match.endpoint;
    const metric = endpointMetrics.get(endpoint);
    metric?.started();
    const limits = bound.limitsFor(endpoint);
    const check = (): void => authorize(req, res, original, endpoint, match.params, startedAt, requestId);
    const serviceThenEndpoint = (): void => (limits.beforeAuth === undefined ? check() : gate(req, res, limits.beforeAuth, match.params, undefined, original, endpoint, startedAt, requestId, check));
    if (bound.serviceLimit !== undefined) return gate(req, res, bound.serviceLimit, match.params, undefined, original, endpoint, startedAt, requestId, serviceThenEndpoint);
    serviceThenEndpoint();
  }

  function gate(
    req: IncomingMessage,
    res: ServerResponse,
    step: LimitStep,
    params: Record<string, string>,
    claims: Claims | undefined,
    original: OriginalRequest,
    endpoint: EndpointPlan,
    startedAt: number,
    requestId: string,
    next: () => void,
  ): void {
    const done = (outcome: LimitOutcome): void => {
      if (res.destroyed) return;
      if (!outcome.allowed) {
        metrics?.limited(endpoint.path, outcome.code);
        writeLimited(res, outcome);
        return log(original, endpoint, outcome.status, outcome.code, startedAt, requestId);
      }
      for (const name in outcome.headers) res.setHeader(name, outcome.headers[name]!);
      next();
    };
    const outcome = step({ remoteAddress: req.socket.remoteAddress, headers: req.headers, params, claims }, clock.now());
    if (outcome instanceof Promise) {
      outcome.then(done, (error: unknown) => {
        logger.error({ err: { name: (error as Error)?.name, message: (error as Error)?.message } }, `${endpoint.label} unexpected error`);
        writeJson(res, 500, BODIES.internalError);
      });
    } else {
      done(outcome);
    }
  }

  function authorize(req: IncomingMessage, res: ServerResponse, original: OriginalRequest, endpoint: EndpointPlan, params: Record<string, string>, startedAt: number, requestId: string): void {
    const authorizer = bound.authorizerFor(endpoint);
    const after = bound.limitsFor(endpoint).afterAuth;
    if (authorizer === undefined) {
      // An endpoint without auth/validator is public: the proxy lets it through with no identity.
      const pass = (): void => {
        for (const name of identityHeaders) res.setHeader(name, '');
        res.writeHead(200, { 'content-length': '0', 'cache-control': 'no-store' }).end();
        log(original, endpoint, 200, undefined, startedAt, requestId);
      };
      if (after !== undefined) return gate(req, res, after, params, undefined, original, endpoint, startedAt, requestId, pass);
      return pass();
    }
    const settle = (decision: Decision): void => {
      if (decision.allowed && after !== undefined && !res.destroyed) {
        endpointMetrics.get(endpoint)?.authorized('allow', (performance.now() - startedAt) / 1000);
        return gate(req, res, after, params, decision.claims, original, endpoint, startedAt, requestId, () => answer(res, decision, original, endpoint, startedAt, requestId, false));
      }
      answer(res, decision, original, endpoint, startedAt, requestId);
    };
    const decision = authorizer.authorize({ headers: req.headers, query: original.query, params });
    if (decision instanceof Promise) {
      decision.then(
        settle,
        (error: unknown) => {
          logger.error({ err: { name: (error as Error)?.name, message: (error as Error)?.message } }, `${endpoint.label} unexpected error`);
          writeJson(res, 500, BODIES.internalError);
        },
      );
    } else {
      settle(decision);
    }
  }

  function answer(res: ServerResponse, decision: Decision, original: OriginalRequest, endpoint: EndpointPlan, startedAt: number, requestId: string, count = true): void {
    if (count) endpointMetrics.get(endpoint)?.authorized(decision.allowed ? 'allow' : decision.code, (performance.now() - startedAt) / 1000);
    if (res.destroyed) return;
    if (!decision.allowed) {
      writeDenial(res, decision);
      return log(original, endpoint, decision.status, decision.code, startedAt, requestId);
    }
    try {
      writeAllow(res, decision, identityHeaders);
    } catch (error) {
      // A header name node refuses (from config) must not crash the process, nor allow.
      logger.error({ err: { name: (error as Error)?.name, message: (error as Error)?.message } }, `${SERVICE} cannot write the claim headers`);
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      return writeJson(res, 500, BODIES.internalError);
    }
    log(original, endpoint, 200, undefined, startedAt, requestId);
  }

  return {
    handle,
    ready: () => bound.ready(),
    readiness: () => readinessOfPlan(bound, clock.now()),
    bound,
    close: () => bound.close(),
  };
}

/**
 * Behind a proxy every check comes from the proxy's address: a client limit
 * keyed by it would be one bucket for every client. Such a limit must name
 * the header the proxy sets with the client's address.
 */
function refuseProxyAddressLimits(plan: GatewayPlan): void {
  const limits = [...(plan.serviceRateLimit ? [plan.serviceRateLimit] : []), ...plan.endpoints.flatMap((endpoint) => endpoint.rateLimits)];
  const issues = limits
    .filter((limit) => limit.client?.strategy === 'ip' && limit.client.key === undefined)
    .map((limit) => ({
      path: `${limit.path}.key`,
      message: 'forward-auth sees every check come from the proxy: name the header that carries the client address (e.g. "X-Forwarded-For", which the proxy must overwrite)',
    }));
  if (issues.length > 0) throw new ConfigError(issues);
}

/**
 * The proxy hands the backend's answer to the client itself: an endpoint that
 * signs its answer (a login) would give out the claims unsigned.
 */
function refuseSigners(plan: GatewayPlan): void {
  const issues = plan.endpoints.flatMap((endpoint) =>
    endpoint.signer === undefined
      ? []
      : [{ path: endpoint.signer.path, message: 'forward-auth cannot sign answers (the proxy passes the backend answer to the client unsigned); serve this endpoint with `portcullis run`' }],
  );
  if (issues.length > 0) throw new ConfigError(issues);
}

/** 200 with every identity header (empty where this endpoint sets none); the proxy copies the ones it is told to. */
function writeAllow(res: ServerResponse, allow: Allow, identityHeaders: readonly string[]): void {
  if (res.headersSent) return;
  for (const name of identityHeaders) res.setHeader(name, '');
  for (const { name, value } of allow.headers) {
    res.setHeader(name, typeof value === 'string' ? headerSafe(value) : value.map(headerSafe));
  }
  res.setHeader('content-length', '0');
  res.setHeader('cache-control', 'no-store');
  res.writeHead(200).end();
}

export async function startForwardAuth(plan: GatewayPlan, options: ForwardAuthOptions): Promise<ForwardAuthServer> {
  const logger = options.logger ?? silentLogger;
  const handler = createForwardAuthHandler(plan, options);
  let listenerTls: ListenerTls | undefined;
  try {
    // A proxy that checks over HTTPS (Traefik, Envoy) gets the gateway's tls block, client certificates included.
    listenerTls = plan.tls === undefined ? undefined : createListenerTls(plan.tls);
  } catch (error) {
    handler.close();
    throw error;
  }
  const server: Server = createLimitedServer(plan.limits, handler.handle, listenerTls?.serverOptions);
  if (listenerTls !== undefined) watchHandshakes(server, logger, SERVICE);
  for (const warning of listenerTls?.warnings ?? []) logger.warn(`${SERVICE} ${warning}`);
  let listening: Listening;
  try {
    listening = await listen(server, { port: options.port ?? plan.port, host: options.host ?? plan.listenIp });
  } catch (error) {
    handler.close();
    throw error;
  }
  logger.info(`${SERVICE} Listening on port ${listening.port} for ${options.proxy} checks${listenerTls ? `, HTTPS: ${listenerTls.summary}` : ''}`);
  let closing: Promise<void> | undefined;
  return {
    port: listening.port,
    url: listening.url,
    ready: () => handler.ready(),
    readiness: () => handler.readiness(),
    bound: handler.bound,
    close() {
      // Checks are short; a proxy's pooled connection must not hold shutdown open for long.
      closing ??= drain(server, 2000).finally(async () => handler.close());
      return closing;
    },
  };
}
