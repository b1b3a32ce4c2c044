/**
 * The gateway (design.md §2): node:http in front, the router, the authorizer
 * per endpoint, then undici to the backends (forward.ts). Everything per
 * endpoint is built before the first request; the request path does no config
 * reads and no regular-expression building, and stays synchronous until the
 * backend call unless a token names a key the key set must download first.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Decision } from '../authorizer/decision.js';
import type { EndpointPlan, GatewayPlan } from '../config/compile.js';
import type { KeySetRegistry } from '../keys/registry.js';
import { bindPlan } from '../runtime/bind.js';
import type { Deps } from '../lib/deps.js';
import { createLimitedServer, drain, listen, type Listening } from '../http/server.js';
import { silentLogger, type Logger } from '../lib/logger.js';
import { ACCESS_MESSAGE, type AccessLog } from './access-log.js';
import { compilePathBuilder, patternQueryKeys } from './backend-url.js';
import { createStripRule } from '../authorizer/identity-headers.js';
import { ClientGoneError, type BackendRuntime, type EndpointRuntime, type Exchange } from './exchange.js';
import { createForwarder } from './forward.js';
import { sendHealth } from './health.js';
import { createBackendPools } from './pools.js';
import { BODIES, sendEmpty, sendJson, writeDenial } from '../http/response.js';
import { createRouter } from '../routing/router.js';

export interface GatewayOptions extends Partial<Deps> {
  /** Shared key sets; by default the gateway owns one registry for all its endpoints. */
  keySets?: KeySetRegistry;
  /** Listening address; default the plan's `listen_ip`, else every interface. */
  host?: string;
  /** Listening port; default the plan's (8080). 0 picks a free port. */
  port?: number;
  /**
   * One INFO line per request: true (default) writes it through `logger`,
   * a function writes it itself (the CLI passes pino-logger's fast writer),
   * false turns it off.
   */
  accessLog?: boolean | AccessLog;
  /** How long `close()` waits for in-flight requests before cutting connections (default 10 s). */
  drainTimeoutMs?: number;
}

export interface Gateway {
  readonly port: number;
  readonly url: string;
  /** Stops accepting, lets in-flight requests finish (bounded), then releases sockets and key sets. */
  close(): Promise<void>;
  /** Resolves once every key set finished its first load attempt. */
  ready(): Promise<void>;
}

export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
const SERVICE = '[SERVICE: Gateway]';

/**
 * What the close hook needs about one request, in one small fixed shape.
 * (Extra fields on node's ServerResponse cost shape transitions of a
 * 40-field object on every request: measured, several µs.)
 */
class RequestState {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly path: string;
  readonly startedAt: number;
  exchange: Exchange | undefined;

  constructor(req: IncomingMessage, res: ServerResponse, path: string, startedAt: number) {
    this.req = req;
    this.res = res;
    this.path = path;
    this.startedAt = startedAt;
    this.exchange = undefined;
  }
}

export async function startGateway(plan: GatewayPlan, options: GatewayOptions = {}): Promise<Gateway> {
  const logger = options.logger ?? silentLogger;
  const accessLog = accessLogFor(options.accessLog ?? true, logger);
  const drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
  // A broken validator (a missing key file, a weak key) throws ConfigError here, before anything listens.
  const bound = bindPlan(plan, { logger, clock: options.clock, dispatcher: options.dispatcher, keySets: options.keySets });
  const pools = createBackendPools({ keepAliveTimeoutMs: 4000 });
  const runtimes = new Map<EndpointPlan, EndpointRuntime>();
  const releaseAuth = (): void => bound.close();

  function buildRuntime(endpoint: EndpointPlan): EndpointRuntime {
    const authorizer = bound.authorizerFor(endpoint);
    const backends: BackendRuntime[] = endpoint.backends.map((backend) => ({
      plan: backend,
      target: pools.target(backend.hosts),
      buildPath: compilePathBuilder(backend.urlParts),
      reservedQueryKeys: patternQueryKeys(backend.urlPattern),
    }));
    const claimPaths = endpoint.backends.some((backend) => backend.urlParts.some((part) => part.kind === 'claim'));
    // Every identity header any endpoint sets is stripped on every endpoint, public ones included.
    const strip = createStripRule(bound.identityHeaders, authorizer?.policy.checkedHeaders ?? []);
    return Object.freeze({ plan: endpoint, authorizer, backends: Object.freeze(backends), noop: endpoint.outputEncoding === 'no-op', claimPaths, strip });
  }
  for (const endpoint of plan.endpoints) runtimes.set(endpoint, buildRuntime(endpoint));

  const router = createRouter(plan.endpoints);
  const forwarder = createForwarder({ maxBodyBytes: plan.limits.maxBodySize, logger });
  const healthPath = plan.healthPath;
  const limits = plan.limits;
  let draining = false;

  const server: Server = createLimitedServer(limits, handle);

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const state = new RequestState(req, res, path, accessLog === undefined ? 0 : performance.now());
    res.on('close', () => onResponseClose(state));
    if (draining) res.shouldKeepAlive = false;
    const method = req.method ?? 'GET';

    if (healthPath !== undefined && path === healthPath) {
      if (method === 'GET' || method === 'HEAD') sendHealth(res, method);
      else sendJson(res, 405, BODIES.methodNotAllowed, { allow: 'GET, HEAD' });
      return;
    }
    const match = router.match(method, path);
    if (match.kind === 'not_found') return sendJson(res, 404, BODIES.notFound);
    if (match.kind === 'method_not_allowed') return sendJson(res, 405, BODIES.methodNotAllowed, { allow: match.allow.join(', ') });

    const runtime = runtimes.get(match.endpoint)!;
    const query = q === -1 ? '' : url.slice(q + 1);
    const authorizer = runtime.authorizer;
    if (authorizer === undefined) {
      state.exchange = forwarder.forward(req, res, runtime, match.params, query, undefined);
      return;
    }
    let decision: Decision | Promise<Decision>;
    try {
      decision = authorizer.authorize({ headers: req.headers, query, params: match.params });
    } catch (error) {
      return internalError(res, runtime, error);
    }
    if (decision instanceof Promise) {
      decision.then(
        (settled) => respond(state, runtime, match.params, query, settled),
        (error: unknown) => internalError(res, runtime, error),
      );
    } else {
      respond(state, runtime, match.params, query, decision);
    }
  }

  function respond(state: RequestState, runtime: EndpointRuntime, params: Record<string, string>, query: string, decision: Decision): void {
    const res = state.res;
    // The client may have left while a key was being fetched.
    if (res.destroyed) return;
    if (decision.allowed) {
      state.exchange = forwarder.forward(state.req, res, runtime, params, query, decision);
      return;
    }
    // A denied request never reaches a backend and carries no X-KrakenD headers.
    writeDenial(res, decision);
  }

  function internalError(res: ServerResponse, runtime: EndpointRuntime, error: unknown): void {
    logger.error({ err: { name: (error as Error)?.name, message: (error as Error)?.message } }, `${runtime.plan.label} unexpected error`);
    sendEmpty(res, 500);
  }

  function onResponseClose(state: RequestState): void {
    const res = state.res;
    const exchange = state.exchange;
    if (exchange !== undefined && !exchange.settled && !res.writableFinished) {
      // The client left: stop the backend calls made on its behalf.
      exchange.settled = true;
      exchange.abort(new ClientGoneError());
    }
    if (accessLog !== undefined) {
      const durationMs = Math.round((performance.now() - state.startedAt) * 1000) / 1000;
      accessLog(state.req.method ?? '', state.path, res.statusCode, durationMs, !res.writableFinished);
    }
  }

  let listening: Listening;
  try {
    listening = await listen(server, { port: options.port ?? plan.port, host: options.host ?? plan.listenIp });
  } catch (error) {
    releaseAuth();
    await pools.destroy();
    throw error;
  }
  const port = listening.port;
  logger.info(`${SERVICE} Listening on port ${port}`);

  let closing: Promise<void> | undefined;
  return {
    port,
    url: listening.url,
    ready: () => bound.ready(),
    close() {
      draining = true;
      closing ??= drain(server, drainTimeoutMs)
        .then(() => pools.destroy())
        .finally(releaseAuth);
      return closing;
    },
  };
}

function accessLogFor(option: boolean | AccessLog, logger: Logger): AccessLog | undefined {
  if (typeof option === 'function') return option;
  if (!option) return undefined;
  return (method, path, status, durationMs, aborted) =>
    logger.info(aborted ? { method, path, status, durationMs, aborted } : { method, path, status, durationMs }, ACCESS_MESSAGE);
}
