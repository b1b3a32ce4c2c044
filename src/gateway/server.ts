/**
 * The gateway (design.md §2): node:http in front, the router, the authorizer
 * per endpoint, then undici to the backends (forward.ts). Everything per
 * endpoint is built before the first request; the request path does no config
 * reads and no regular-expression building, and stays synchronous until the
 * backend call unless a token names a key the key set must download first.
 *
 * What a request is served with (plan, authorizers, router, runtimes) is one
 * `Serving` object, read once when the request arrives. A reload builds a new
 * one from a new plan, bound with the same key-set registry, and swaps it in:
 * requests in flight finish on the old one, new ones use the new one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import { performance } from 'node:perf_hooks';
import type { Decision } from '../authorizer/decision.js';
import { createStripRule } from '../authorizer/identity-headers.js';
import type { EndpointPlan, GatewayPlan } from '../config/compile.js';
import { ConfigError } from '../config/validate.js';
import { createKeySetRegistry, type KeySetRegistry } from '../keys/registry.js';
import { createListenerTls, type ListenerTls } from '../runtime/listener-tls.js';
import { resolveDeps, type Deps } from '../lib/deps.js';
import type { Logger } from '../lib/logger.js';
import { createLogLimiter } from '../lib/log-limiter.js';
import { REQUEST_ID_HEADER, requestIdOf } from '../http/request-id.js';
import { IdentifiedResponse } from './identified-response.js';
import { BODIES, sendEmpty, sendJson, writeDenial, writeLimited } from '../http/response.js';
import { createLimitedServer, drain, listen, watchHandshakes, type Listening, type Server } from '../http/server.js';
import type { EndpointMetrics, RequestMetrics } from '../metrics/prometheus.js';
import { createRouter, type Router } from '../routing/router.js';
import type { Claims } from '../jwt/parse.js';
import { bindPlan, type BoundPlan } from '../runtime/bind-plan.js';
import { createFleetState, type FleetState } from '../runtime/fleet-state.js';
import type { LimitOutcome, LimitStep } from '../runtime/rate-limits.js';
import { readinessOfPlan, type Readiness } from '../runtime/readiness.js';
import { ACCESS_MESSAGE, type AccessEntry, type AccessLog } from './access-log.js';
import { compilePathBuilder, patternQueryKeys } from './backend-url.js';
import { createCors, type Cors } from './cors.js';
import { DEBUG_PREFIX, ECHO_PREFIX, isUnder, serveDebug, serveEcho, type EchoOptions } from './debug-echo.js';
import { ClientGoneError, type BackendRuntime, type EndpointRuntime, type Exchange } from './exchange.js';
import { createForwarder, type Forwarder } from './forward.js';
import { sendHealth } from './health.js';
import { loadSigners, type ResponseSigner } from './signer.js';
import { createBackendPools } from './pools.js';

export interface GatewayOptions extends Partial<Deps> {
  /** Shared key sets; by default the gateway owns one registry for all its endpoints (and its reloads). */
  keySets?: KeySetRegistry;
  /** Shared Redis connections, revocation store and rate-limit buckets; by default the gateway owns them. */
  fleet?: FleetState;
  /** Listening address; default the plan's `listen_ip`, else every interface. */
  host?: string;
  /** Listening port; default the plan's (8080). 0 picks a free port. */
  port?: number;
  /**
   * One INFO line per request: true (default) writes it through `logger`,
   * a function writes it itself (the CLI passes the fast batched writer),
   * false turns it off.
   */
  accessLog?: boolean | AccessLog;
  /** How long `close()` waits for in-flight requests before cutting connections (default 10 s). */
  drainTimeoutMs?: number;
  /**
   * How long `close()` keeps the idle keep-alive connections open first, so a
   * client that sends one more request on them gets a clean 503 with
   * `Connection: close` instead of a reset (default 0; the CLI uses 1 s).
   */
  drainGraceMs?: number;
  /** Request metrics (Prometheus); none by default. */
  metrics?: RequestMetrics;
}

export interface Gateway {
  readonly port: number;
  readonly url: string;
  /** The address actually bound. */
  readonly address: string;
  /** Stops accepting, lets in-flight requests finish (bounded), then releases sockets and key sets. */
  close(): Promise<void>;
  /** Resolves once every key set finished its first load attempt. */
  ready(): Promise<void>;
  /** Whether every key set can serve keys now, with the readiness endpoint's body. */
  readiness(): Readiness;
  /**
   * Serves `plan` from now on. Binding errors (a broken key file) reject and the
   * running plan stays. Listening settings (port, address, server limits) need a
   * restart; they are kept, with a warning. Certificate, key and CA files are
   * re-read and TLS settings applied to new connections; turning HTTPS or
   * client certificates on or off needs a restart and rejects the reload.
   */
  reload(plan: GatewayPlan): Promise<void>;
  /** What the running plan and its parts are, for metrics. */
  readonly bound: () => BoundPlan;
}

export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
const SERVICE = '[SERVICE: Gateway]';

/** What a request is served with; replaced whole by a reload. */
interface Serving {
  readonly plan: GatewayPlan;
  readonly bound: BoundPlan;
  readonly runtimes: ReadonlyMap<EndpointPlan, EndpointRuntime>;
  readonly router: Router<EndpointPlan>;
  readonly forwarder: Forwarder;
  readonly healthPath: string | undefined;
  readonly readyPath: string | undefined;
  readonly ownMetrics: EndpointMetrics | undefined;
  /** `security/cors`, compiled; undefined when CORS is off. */
  readonly cors: Cors | undefined;
  /** /__echo/ settings, or undefined when `echo_endpoint` is off. */
  readonly echo: EchoOptions | undefined;
  readonly debugEndpoint: boolean;
}

/**
 * What the close hook and the access log need about one request, in one small
 * fixed shape. (Extra fields on node's ServerResponse cost shape transitions
 * of a 40-field object on every request: measured, several µs.)
 */
class RequestState implements AccessEntry {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly method: string;
  readonly path: string;
  readonly startedAt: number;
  readonly socket: Socket;
  readonly socketBytesAtStart: number;
  exchange: Exchange | undefined;
  endpoint: string | undefined;
  metrics: EndpointMetrics | undefined;
  code: string | undefined;
  status: number;
  durationMs: number;
  bytes: number;
  aborted: boolean;
  /** Neighbours in the in-flight list (InFlightList). */
  previousInFlight: RequestState | undefined;
  nextInFlight: RequestState | undefined;

  constructor(req: IncomingMessage, res: ServerResponse, requestId: string, path: string, startedAt: number) {
    this.req = req;
    this.res = res;
    this.requestId = requestId;
    this.method = req.method ?? '';
    this.path = path;
    this.startedAt = startedAt;
    this.socket = req.socket;
    this.socketBytesAtStart = req.socket.bytesWritten;
    this.exchange = undefined;
    this.endpoint = undefined;
    this.metrics = undefined;
    this.code = undefined;
    this.status = 0;
    this.durationMs = 0;
    this.bytes = 0;
    this.aborted = false;
    this.previousInFlight = undefined;
    this.nextInFlight = undefined;
  }

  get client(): string {
    const address = this.socket.remoteAddress ?? '';
    return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  }
}

/**
 * The requests in flight, linked through the requests themselves. A Set did
 * the same job, but under load it kept every request's objects alive across
 * young-generation collections (measured: ~2 MB promoted per scavenge against
 * ~0.1 MB without it, and about 15% fewer requests a second): a list costs
 * nothing to leave.
 */
class InFlightList {
  first: RequestState | undefined = undefined;

  add(state: RequestState): void {
    state.nextInFlight = this.first;
    if (this.first !== undefined) this.first.previousInFlight = state;
    this.first = state;
  }

  remove(state: RequestState): void {
    const { previousInFlight: previous, nextInFlight: next } = state;
    if (previous !== undefined) previous.nextInFlight = next;
    else if (this.first === state) this.first = next;
    else return;
    if (next !== undefined) next.previousInFlight = previous;
    state.previousInFlight = undefined;
    state.nextInFlight = undefined;
  }
}

export async function startGateway(firstPlan: GatewayPlan, options: GatewayOptions = {}): Promise<Gateway> {
  const deps = resolveDeps(options);
  const { logger } = deps;
  const accessLog = accessLogFor(options.accessLog ?? true, logger);
  const metrics = options.metrics;
  const timed = accessLog !== undefined || metrics !== undefined;
  const drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
  const ownsRegistry = options.keySets === undefined;
  const keySets = options.keySets ?? createKeySetRegistry(deps);
  const ownsFleet = options.fleet === undefined;
  const fleet: FleetState = options.fleet ?? createFleetState(deps);
  const pools = createBackendPools({ keepAliveTimeoutMs: 4000 });
  // A client over its limit sends many requests: one line per refusal would be a log flood of its own.
  const refusals = createLogLimiter({
    ratePerSecond: 1,
    burst: 10,
    clock: deps.clock,
    onSuppressed: (suppressed, total) => logger.info({ suppressed, total }, `${SERVICE} more rate-limit refusals not logged`),
  });
  const limitLog = (line: string, code: string): void => {
    if (refusals.take(code)) logger.info(line);
  };
  const inFlight = new InFlightList();
  let draining = false;

  function serve(plan: GatewayPlan, signers: ReadonlyMap<EndpointPlan, ResponseSigner>): Serving {
    // A broken validator (a missing key file, a weak key) throws ConfigError here, before anything is swapped or listens.
    const bound = bindPlan(plan, { ...deps, keySets, fleet });
    const runtimes = new Map<EndpointPlan, EndpointRuntime>();
    for (const endpoint of plan.endpoints) runtimes.set(endpoint, buildRuntime(endpoint, bound, plan.cors !== undefined, signers.get(endpoint)));
    return {
      plan,
      bound,
      runtimes,
      router: createRouter(plan.endpoints),
      forwarder: createForwarder({
        maxBodyBytes: plan.limits.maxBodySize,
        logger,
        maxBackendResponseBytes: plan.responseBuffers.maxBackendResponseSize,
        maxBufferedBytes: plan.responseBuffers.maxBufferedBytes,
      }),
      healthPath: plan.healthPath,
      readyPath: plan.readyPath,
      ownMetrics: metrics?.endpoint({ path: '(gateway)', method: '', backends: [] }),
      cors: plan.cors === undefined ? undefined : createCors(plan.cors, logger),
      echo: plan.echoEndpoint
        ? { maxBodyBytes: plan.limits.maxBodySize, credentialHeaders: plan.credentialHeaders, credentialQueryKeys: plan.credentialQueryKeys }
        : undefined,
      debugEndpoint: plan.debugEndpoint,
    };
  }

  function buildRuntime(endpoint: EndpointPlan, bound: BoundPlan, gatewayCors: boolean, signer: ResponseSigner | undefined): EndpointRuntime {
    const authorizer = bound.authorizerFor(endpoint);
    const backends: BackendRuntime[] = endpoint.backends.map((backend) => ({
      plan: backend,
      target: pools.target(backend.hosts, backend.redirects.origins),
      buildPath: compilePathBuilder(backend.urlParts),
      reservedQueryKeys: patternQueryKeys(backend.urlPattern),
    }));
    const claimPaths = endpoint.backends.some((backend) => backend.urlParts.some((part) => part.kind === 'claim'));
    // Every identity header any endpoint sets is stripped on every endpoint, public ones included.
    const strip = createStripRule(bound.identityHeaders, authorizer?.policy.checkedHeaders ?? []);
    const endpointMetrics = metrics?.endpoint({
      path: endpoint.path,
      method: endpoint.method,
      backends: endpoint.backends.map((backend) => `${new URL(backend.hosts[0] ?? 'http://unknown').origin}${backend.urlPattern.split('?')[0]}`),
    });
    return Object.freeze({
      plan: endpoint,
      authorizer,
      backends: Object.freeze(backends),
      noop: endpoint.outputEncoding === 'no-op',
      claimPaths,
      strip,
      metrics: endpointMetrics,
      limits: bound.limitsFor(endpoint),
      gatewayCors,
      signer,
    });
  }

  let serving: Serving;
  let listenerTls: ListenerTls | undefined;
  try {
    // Signing keys are read (or downloaded) before anything listens: a login endpoint never answers unsigned.
    serving = serve(firstPlan, await loadSigners(firstPlan));
    // Certificate and key files are read before anything listens: a broken one refuses to start, naming its JSON path.
    listenerTls = firstPlan.tls === undefined ? undefined : createListenerTls(firstPlan.tls);
  } catch (error) {
    if (ownsRegistry) keySets.close();
    if (ownsFleet) await fleet.close();
    await pools.destroy();
    throw error;
  }
  const server: Server = createLimitedServer(firstPlan.limits, handle, listenerTls?.serverOptions, IdentifiedResponse);
  if (listenerTls !== undefined) watchHandshakes(server, logger, SERVICE);
  for (const warning of listenerTls?.warnings ?? []) logger.warn(`${SERVICE} ${warning}`);

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const current = serving;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const requestId = requestIdOf(req.headers[REQUEST_ID_HEADER]);
    // Written with the head (identified-response.ts), so a relayed answer keeps node's fast path.
    (res as IdentifiedResponse).requestId = requestId;
    const state = new RequestState(req, res, requestId, path, timed ? performance.now() : 0);
    inFlight.add(state);
    res.on('close', () => onResponseClose(state));
    const method = req.method ?? 'GET';
    // Before everything else, as KrakenD wraps its whole router: a preflight never reaches routing or a validator.
    if (current.cors !== undefined && current.cors.apply(req, res)) return;

    if (current.healthPath !== undefined && path === current.healthPath) {
      // Liveness: the process is alive, draining or not.
      state.endpoint = current.healthPath;
      if (method === 'GET' || method === 'HEAD') sendHealth(res, method);
      else sendJson(res, 405, BODIES.methodNotAllowed, { allow: 'GET, HEAD' });
      return;
    }
    if (draining) {
      // A request on a connection opened before the drain (readiness included): a clean 503 and close, never a reset.
      res.shouldKeepAlive = false;
      sendJson(res, 503, BODIES.shuttingDown, { connection: 'close', 'retry-after': '1' });
      return;
    }
    if (current.readyPath !== undefined && path === current.readyPath) {
      state.endpoint = current.readyPath;
      if (method !== 'GET' && method !== 'HEAD') return sendJson(res, 405, BODIES.methodNotAllowed, { allow: 'GET, HEAD' });
      const readiness = readinessOfPlan(current.bound, deps.clock.now());
      return sendJson(res, readiness.ready ? 200 : 503, method === 'HEAD' ? '' : readiness.body, { 'cache-control': 'no-store' });
    }
    const serviceLimit = current.bound.serviceLimit;
    if (serviceLimit !== undefined) {
      return gate(state, serviceLimit, undefined, undefined, () => route(state, current, url, q, path, method));
    }
    route(state, current, url, q, path, method);
  }

  /**
   * Runs a rate-limit step, then `next` if it lets the request through (with its headers set),
   * else answers 429/503 itself. Synchronous unless a limiter waits for Redis.
   */
  function gate(state: RequestState, step: LimitStep, params: Record<string, string> | undefined, claims: Claims | undefined, next: () => void): void {
    const req = state.req;
    let outcome: LimitOutcome | Promise<LimitOutcome>;
    try {
      outcome = step({ remoteAddress: req.socket.remoteAddress, headers: req.headers, params, claims }, deps.clock.now());
    } catch (error) {
      return internalError(state.res, state.endpoint ?? SERVICE, error);
    }
    if (outcome instanceof Promise) {
      outcome.then(
        (settled) => afterGate(state, settled, next),
        (error: unknown) => internalError(state.res, state.endpoint ?? SERVICE, error),
      );
    } else {
      afterGate(state, outcome, next);
    }
  }

  function afterGate(state: RequestState, outcome: LimitOutcome, next: () => void): void {
    const res = state.res;
    if (res.destroyed) return;
    if (!outcome.allowed) {
      state.code = outcome.code;
      metrics?.limited(state.endpoint ?? '(service)', outcome.code);
      limitLog(`${state.endpoint === undefined ? SERVICE : `[ENDPOINT: ${state.endpoint}]`} ${outcome.code} (${outcome.detail})`, outcome.code);
      return writeLimited(res, outcome);
    }
    for (const name in outcome.headers) res.setHeader(name, outcome.headers[name]!);
    next();
  }

  function route(state: RequestState, current: Serving, url: string, q: number, path: string, method: string): void {
    const { req, res } = state;
    if (current.debugEndpoint && isUnder(path, DEBUG_PREFIX)) {
      state.endpoint = '/__debug/*';
      return serveDebug(req, res, path, current.plan.limits.maxBodySize, logger);
    }
    if (current.echo !== undefined && isUnder(path, ECHO_PREFIX)) {
      state.endpoint = '/__echo/*';
      return serveEcho(req, res, current.echo);
    }
    const match = current.router.match(method, path);
    if (match.kind !== 'found') {
      state.metrics = current.ownMetrics;
      state.metrics?.started();
      if (match.kind === 'not_found') return sendJson(res, 404, BODIES.notFound);
      return sendJson(res, 405, BODIES.methodNotAllowed, { allow: match.allow.join(', ') });
    }

    const runtime = current.runtimes.get(match.endpoint)!;
    state.endpoint = match.endpoint.path;
    state.metrics = runtime.metrics;
    state.metrics?.started();
    const query = q === -1 ? '' : url.slice(q + 1);
    const before = runtime.limits.beforeAuth;
    if (before !== undefined) return gate(state, before, match.params, undefined, () => authorize(state, current, runtime, match.params, query));
    authorize(state, current, runtime, match.params, query);
  }

  function authorize(state: RequestState, current: Serving, runtime: EndpointRuntime, params: Record<string, string>, query: string): void {
    const { req, res, requestId } = state;
    const authorizer = runtime.authorizer;
    if (authorizer === undefined) {
      const after = runtime.limits.afterAuth;
      const forward = (): void => {
        state.exchange = current.forwarder.forward(req, res, runtime, params, query, undefined, requestId);
      };
      if (after !== undefined) return gate(state, after, params, undefined, forward);
      return forward();
    }
    const authStartedAt = state.metrics === undefined ? 0 : performance.now();
    let decision: Decision | Promise<Decision>;
    try {
      decision = authorizer.authorize({ headers: req.headers, query, params });
    } catch (error) {
      return internalError(res, runtime, error);
    }
    if (decision instanceof Promise) {
      decision.then(
        (settled) => respond(state, current, runtime, params, query, settled, authStartedAt),
        (error: unknown) => internalError(res, runtime, error),
      );
    } else {
      respond(state, current, runtime, params, query, decision, authStartedAt);
    }
  }

  function respond(
    state: RequestState,
    current: Serving,
    runtime: EndpointRuntime,
    params: Record<string, string>,
    query: string,
    decision: Decision,
    authStartedAt: number,
  ): void {
    state.metrics?.authorized(decision.allowed ? 'allow' : decision.code, (performance.now() - authStartedAt) / 1000);
    const res = state.res;
    // The client may have left while a key was being fetched.
    if (res.destroyed) return;
    if (decision.allowed) {
      const forward = (): void => {
        state.exchange = current.forwarder.forward(state.req, res, runtime, params, query, decision, state.requestId);
      };
      const after = runtime.limits.afterAuth;
      if (after !== undefined) return gate(state, after, params, decision.claims, forward);
      return forward();
    }
    state.code = decision.code;
    // A denied request never reaches a backend and carries no X-KrakenD headers.
    writeDenial(res, decision);
  }

  function internalError(res: ServerResponse, where: EndpointRuntime | string, error: unknown): void {
    const label = typeof where === 'string' ? where : where.plan.label;
    logger.error({ err: { name: (error as Error)?.name, message: (error as Error)?.message } }, `${label} unexpected error`);
    sendEmpty(res, 500);
  }

  function onResponseClose(state: RequestState): void {
    inFlight.remove(state);
    const res = state.res;
    const exchange = state.exchange;
    if (exchange !== undefined && !exchange.settled && !res.writableFinished) {
      // The client left: stop the backend calls made on its behalf.
      exchange.settled = true;
      exchange.abort(new ClientGoneError());
    }
    if (!timed) return;
    state.status = res.statusCode;
    state.aborted = !res.writableFinished;
    state.durationMs = Math.round((performance.now() - state.startedAt) * 1000) / 1000;
    state.bytes = state.socket.bytesWritten - state.socketBytesAtStart;
    state.metrics?.finished(state.status, state.durationMs / 1000);
    accessLog?.(state);
  }

  let listening: Listening;
  try {
    listening = await listen(server, { port: options.port ?? firstPlan.port, host: options.host ?? firstPlan.listenIp });
  } catch (error) {
    if (ownsRegistry) keySets.close();
    await pools.destroy();
    throw error;
  }
  logger.info(
    { address: listening.address, port: listening.port },
    `${SERVICE} Listening on port ${listening.port} (address ${listening.address})${listenerTls ? `, HTTPS: ${listenerTls.summary}` : ''}`,
  );

  let closing: Promise<void> | undefined;
  return {
    port: listening.port,
    url: listening.url,
    address: listening.address,
    ready: () => serving.bound.ready(),
    readiness: () => readinessOfPlan(serving.bound, deps.clock.now()),
    bound: () => serving.bound,
    async reload(plan) {
      // TLS files first: reading them opens nothing, and a broken one must refuse the reload before key sets are bound.
      const swapTls = prepareTlsReload(listenerTls, plan);
      const signers = await loadSigners(plan);
      const next = serve(plan, signers);
      warnAboutRestartOnlyChanges(serving.plan, plan, logger);
      serving = next;
      if (swapTls !== undefined) {
        swapTls(server as TlsServer);
        logger.info(`${SERVICE} reload: certificates and TLS settings re-read; new connections use them`);
      }
      // Key sets only the old plan used are closed; requests still on the old plan fail closed.
      keySets.retainOnly(next.bound.usedKeySets);
      await fleet.retainOnly(next.bound.fleetParts);
      logger.info(`${SERVICE} configuration reloaded (${plan.endpoints.length} endpoints)`);
    },
    close() {
      draining = true;
      // Answers still being prepared tell their clients not to send another request on this connection.
      for (let state = inFlight.first; state !== undefined; state = state.nextInFlight) if (!state.res.headersSent) state.res.shouldKeepAlive = false;
      closing ??= graceThenDrain(server, options.drainGraceMs ?? 0, drainTimeoutMs)
        .then(() => pools.destroy())
        .finally(async () => {
          if (ownsRegistry) keySets.close();
          if (ownsFleet) await fleet.close();
        });
      return closing;
    },
  };
}

/**
 * node's server.close() also closes idle keep-alive connections at once, and a
 * client that sends on one just then sees a reset. During the grace the
 * listener stays open and every request is answered 503 with Connection:
 * close; the grace ends early once no connection is left.
 */
async function graceThenDrain(server: Server, graceMs: number, deadlineMs: number): Promise<void> {
  const graceEnds = Date.now() + graceMs;
  while (Date.now() < graceEnds) {
    const open = await new Promise<number>((resolve) => server.getConnections((error, count) => resolve(error ? 0 : count)));
    if (open === 0) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(50, Math.max(1, graceEnds - Date.now()))));
  }
  await drain(server, deadlineMs);
}

/** Turning TLS on or off changes what the listening socket speaks: a restart, never a silent half-reload. */
function prepareTlsReload(running: ListenerTls | undefined, next: GatewayPlan): ((server: TlsServer) => void) | undefined {
  if (running === undefined && next.tls === undefined) return undefined;
  if (running === undefined || next.tls === undefined) {
    throw new ConfigError([{ path: '$.tls', message: `turning HTTPS ${running === undefined ? 'on' : 'off'} needs a restart` }]);
  }
  return running.prepareReload(next.tls);
}

function warnAboutRestartOnlyChanges(previous: GatewayPlan, next: GatewayPlan, logger: Logger): void {
  const changed: string[] = [];
  if (previous.port !== next.port) changed.push('port');
  if (previous.listenIp !== next.listenIp) changed.push('listen_ip');
  if (JSON.stringify(previous.limits) !== JSON.stringify(next.limits)) changed.push('extra_config["portcullis/server"] limits');
  if (changed.length > 0) logger.warn(`${SERVICE} reload: ${changed.join(', ')} changed; they apply at the next restart`);
}

function accessLogFor(option: boolean | AccessLog, logger: Logger): AccessLog | undefined {
  if (typeof option === 'function') return option;
  if (!option) return undefined;
  return (entry) =>
    logger.info(
      {
        requestId: entry.requestId,
        method: entry.method,
        path: entry.path,
        endpoint: entry.endpoint,
        status: entry.status,
        ...(entry.code !== undefined ? { code: entry.code } : {}),
        durationMs: entry.durationMs,
        client: entry.client,
        bytes: entry.bytes,
        ...(entry.aborted ? { aborted: true } : {}),
      },
      ACCESS_MESSAGE,
    );
}
