/**
 * An allowed request on its way to the backends (design.md §2 steps 3-4):
 * the backend request is built (headers, query, url_pattern, body), then
 * either streamed through (`no-op`) or fanned out and merged (`json`,
 * `string`), all within the endpoint timeout.
 *
 * Failure statuses: `no-op` answers 502 when the backend cannot be reached
 * or breaks before its status line, and 504 at the endpoint timeout; a
 * failure after the status line cuts the connection. Merging endpoints answer
 * as KrakenD does: partial data with `X-KrakenD-Completed: false`, or 500
 * when no backend succeeded (502 when an answer was over the size limits:
 * `max_backend_response_size` per answer, `max_buffered_bytes` across all
 * requests, or nested deeper than MAX_JSON_DEPTH). Each answer is shaped by
 * its backend's response manipulation before it is merged. A request body
 * over the limit answers 413. Backend redirects are followed within the
 * backend's origins (redirect.ts); the endpoint timeout covers every hop.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Allow } from '../authorizer/decision.js';
import type { Logger } from '../lib/logger.js';
import type { BackendOutcome } from '../metrics/prometheus.js';
import { performance } from 'node:perf_hooks';
import { filterQuery, UnroutableClaimError, withQuery } from './backend-url.js';
import { BodyTooLargeError, Exchange, GatewayTimeoutError, type BackendRuntime, type EndpointRuntime } from './exchange.js';
import { buildBackendHeaders } from './forward-headers.js';
import { decodeBackendBody, errorDetails, finalData, MergeState, writeMerged, type Merged } from './merge.js';
import type { ResponseSigner } from './signer.js';
import { MAX_JSON_DEPTH } from './json-literals.js';
import { shapeResponse } from './response-shape.js';
import { BackendResponseLimitError, dispatchForMerge, dispatchNoop, type BackendCall, type MergeCallResult, type MergeReadLimits } from './proxy.js';
import { createBodyBudget, type BodyBudget } from './body-budget.js';
import type { BackendTarget } from './pools.js';
import { BackendRedirectError, type RedirectRoute } from './redirect.js';
import { GATEWAY_DEFAULTS } from '../config/plan.js';
import { bufferedBody, declaredLength, hasRequestBody, streamedBody } from './request-body.js';
import { addVary, BODIES, sendEmpty, sendJson, writeDenial } from '../http/response.js';
import type { CachePlan } from '../config/plan.js';
import { denialFor } from '../authorizer/authorize.js';
import { AuthError } from '../jwt/errors.js';

export interface ForwarderOptions {
  maxBodyBytes: number;
  logger: Logger;
  /** `max_backend_response_size`: largest backend answer a merging endpoint reads (default 8 MiB). */
  maxBackendResponseBytes?: number;
  /** `max_buffered_bytes`: backend answer bytes all merging requests may hold at once (default 128 MiB). */
  maxBufferedBytes?: number;
  /** The budget itself, for tests that watch it; by default one is made from maxBufferedBytes. */
  budget?: BodyBudget;
}

export interface Forwarder {
  /** Starts the backend work; returns the exchange to cancel if the client leaves (undefined when answered at once). */
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    runtime: EndpointRuntime,
    params: Readonly<Record<string, string>>,
    rawQuery: string,
    allow: Allow | undefined,
    requestId: string,
  ): Exchange | undefined;
}

interface MergeContext {
  readonly exchange: Exchange;
  readonly state: MergeState;
  readonly backend: BackendRuntime;
  readonly index: number;
}

export function createForwarder(options: ForwarderOptions): Forwarder {
  const { maxBodyBytes, logger } = options;
  const budget = options.budget ?? createBodyBudget(options.maxBufferedBytes ?? GATEWAY_DEFAULTS.responseBuffers.maxBufferedBytes);
  const readLimits: MergeReadLimits = Object.freeze({
    maxBytes: options.maxBackendResponseBytes ?? GATEWAY_DEFAULTS.responseBuffers.maxBackendResponseSize,
    budget,
  });

  function forward(
    req: IncomingMessage,
    res: ServerResponse,
    runtime: EndpointRuntime,
    params: Readonly<Record<string, string>>,
    rawQuery: string,
    allow: Allow | undefined,
    requestId: string,
  ): Exchange | undefined {
    const endpoint = runtime.plan;
    const bodyPresent = hasRequestBody(req);
    const length = bodyPresent ? declaredLength(req) : undefined;
    if (length !== undefined && length > maxBodyBytes) {
      sendJson(res, 413, BODIES.tooLarge);
      return undefined;
    }

    // Claims fill url_pattern placeholders; one that cannot be a path segment refuses the request before any backend work.
    if (runtime.claimPaths) {
      try {
        for (let i = 0; i < runtime.backends.length; i++) runtime.backends[i]!.buildPath(params, allow?.claims);
      } catch (error) {
        if (!(error instanceof UnroutableClaimError)) throw error;
        logger.warn(`${endpoint.label} ${error.message}`);
        // Claim placeholders need a validator (compileGateway), so its prebuilt denial shape is there.
        writeDenial(res, denialFor(runtime.authorizer!.policy, new AuthError('unroutable_claim', error.message)));
        return undefined;
      }
    }

    const exchange = new Exchange(req, res, runtime);
    const headers = buildBackendHeaders(req, endpoint.inputHeaders, allow?.headers, runtime.strip, requestId);
    const query = filterQuery(rawQuery, endpoint.inputQueryStrings);
    const claims = allow?.claims;

    if (runtime.noop) {
      exchange.startTimer(onNoopTimeout);
      const backend = runtime.backends[0]!;
      const target = backend.target.next();
      if (length !== undefined) headers.push('content-length', String(length));
      const send = (body: BackendCall['body']) => {
        const call = backendCall(exchange, backend, target, params, claims, rawQuery, query, headers, body);
        dispatchNoop(exchange, target.pool, call, onNoopDone, redirectRoute(backend));
      };
      if (!bodyPresent) send(null);
      else if (!replaysBody(backend)) send(streamedBody(exchange, maxBodyBytes));
      else {
        bufferedBody(exchange, maxBodyBytes).then(
          (body) => {
            if (exchange.settled) return;
            if (body === undefined) return tooLarge(exchange);
            send(body);
          },
          () => undefined,
        );
      }
      return exchange;
    }

    exchange.startTimer(onMergeTimeout);
    const backends = runtime.backends;
    // A body is buffered when several backends need a copy, or when a redirect (307/308) may need it again.
    if (!bodyPresent || (backends.length === 1 && !replaysBody(backends[0]!))) {
      if (length !== undefined) headers.push('content-length', String(length));
      fanOut(exchange, params, claims, headers, rawQuery, query, bodyPresent ? streamedBody(exchange, maxBodyBytes) : null);
    } else {
      // Every backend needs its own copy of the body (lura clones the request).
      bufferedBody(exchange, maxBodyBytes).then(
        (body) => {
          if (exchange.settled) return;
          if (body === undefined) return tooLarge(exchange);
          fanOut(exchange, params, claims, headers, rawQuery, query, body);
        },
        // The client went away mid-body; the close hook already cancelled the exchange.
        () => undefined,
      );
    }
    return exchange;
  }

  function onNoopTimeout(exchange: Exchange): void {
    exchange.timer = undefined;
    exchange.timedOut = true;
    const reason = new GatewayTimeoutError();
    exchange.abort(reason);
    // A call still waiting for a connection has no abort hook yet: answer now.
    if (!exchange.settled) onNoopDone(exchange, reason);
  }

  function onNoopDone(exchange: Exchange, error: Error | null): void {
    exchange.clearTimer();
    if (exchange.settled) return;
    exchange.settled = true;
    if (error === null) return backendMetric(exchange, 0, 'ok');
    const res = exchange.res;
    if (exchange.bodyTooLarge) return tooLarge(exchange);
    if (clientGone(exchange)) return;
    backendMetric(exchange, 0, exchange.timedOut ? 'timeout' : 'error');
    logBackendError(exchange, 0, exchange.timedOut ? 'endpoint timeout reached' : error.message);
    // Once the backend's status is out, a failure can only cut the connection: a clean end would pass a truncated body off as complete.
    if (res.headersSent) return void res.destroy();
    if (exchange.timedOut) sendJson(res, 504, BODIES.gatewayTimeout);
    else sendJson(res, 502, BODIES.badGateway);
  }

  function fanOut(
    exchange: Exchange,
    params: Readonly<Record<string, string>>,
    claims: Allow['claims'] | undefined,
    headers: string[],
    rawQuery: string,
    query: string,
    body: BackendCall['body'],
  ): void {
    const backends = exchange.endpoint.backends;
    const state = new MergeState(backends.length, exchange.endpoint.plan.returnErrorMsg);
    exchange.merge = state;
    for (let i = 0; i < backends.length; i++) {
      const backend = backends[i]!;
      const target = backend.target.next();
      const call = backendCall(exchange, backend, target, params, claims, rawQuery, query, headers, body);
      const context: MergeContext = { exchange, state, backend, index: i };
      dispatchForMerge(exchange, target.pool, call, context, readLimits, onMergeResult, {
        route: redirectRoute(backend),
        keepErrorBody: backend.plan.returnErrorDetails !== undefined || (backend.plan.returnErrorCode && exchange.endpoint.plan.returnErrorMsg),
      });
    }
  }

  function onMergeResult(result: MergeCallResult<MergeContext>): void {
    const { exchange, state, backend, index } = result.context;
    if (exchange.settled) return budget.give(result.takeHeld());
    exchange.backendsDone |= 1 << index;
    if (result.error !== null) {
      if (exchange.bodyTooLarge) return tooLarge(exchange);
      if (clientGone(exchange)) return;
      backendMetric(exchange, index, 'error');
      state.fail(undefined, result.error instanceof BackendResponseLimitError, failureText(result.error));
      logBackendError(exchange, index, result.error.message);
    } else {
      const plan = backend.plan;
      const failedStatus = result.text === undefined;
      const decoded = failedStatus ? undefined : decodeBackendBody(result.text!, plan.encoding, plan.isCollection);
      const ok = typeof decoded === 'object';
      backendMetric(exchange, index, ok ? 'ok' : failedStatus ? 'status' : 'error');
      const details = plan.returnErrorDetails;
      if (ok) {
        // The decoded data lives until the merged answer is written: its bytes stay counted until then.
        exchange.holdBuffered(budget, result.takeHeld());
        state.add(plan.shape === undefined ? decoded.data : shapeResponse(plan.shape, decoded.data), decoded.literals);
      } else if (failedStatus && details !== undefined) {
        const message = `invalid status code ${result.status}`;
        exchange.holdBuffered(budget, result.takeHeld());
        state.addDetails(errorDetails(details, result.status, result.errorText, result.contentType), message);
        logBackendError(exchange, index, message);
      } else if (decoded === 'too_deep') {
        budget.give(result.takeHeld());
        const message = `response body nested deeper than ${MAX_JSON_DEPTH} levels`;
        state.fail(undefined, true, message);
        logBackendError(exchange, index, message);
      } else {
        const message = failedStatus ? `invalid status code ${result.status}` : 'invalid response body';
        // With return_error_code the error text is the backend's own body (lura's HTTPResponseError), held until answered.
        const passStatus = failedStatus && plan.returnErrorCode;
        const passBody = passStatus && result.errorText !== undefined;
        if (passBody) exchange.holdBuffered(budget, result.takeHeld());
        else budget.give(result.takeHeld());
        state.fail(passStatus ? result.status : undefined, false, passBody ? result.errorText : message);
        logBackendError(exchange, index, message);
      }
    }
    if (state.done) settleMerged(exchange, state);
  }

  function settleMerged(exchange: Exchange, state: MergeState): void {
    exchange.settled = true;
    exchange.clearTimer();
    // The endpoint's flatmap_filter runs on the merged answer before the signer, as lura's proxy stack does before the router's signer.
    const data = finalData(state, exchange.endpoint.plan.flatmap);
    const signer = exchange.endpoint.signer;
    if (signer !== undefined && state.succeeded > 0 && !signBeforeWriting(exchange, state, data, signer)) return;
    writeMerged(exchange.res, state, exchange.endpoint.plan.outputEncoding, cacheHeaders(exchange, state, data), data);
    exchange.releaseBufferedAfterAnswer();
    if (!state.done) exchange.abort(new GatewayTimeoutError());
  }

  /** Signs in place; on a failure the client gets a 500, never the claims unsigned. */
  function signBeforeWriting(exchange: Exchange, state: MergeState, data: Merged, signer: ResponseSigner): boolean {
    try {
      signer.sign(data, state.literals);
      return true;
    } catch (error) {
      logger.error(`${exchange.endpoint.plan.label} cannot sign the answer: ${(error as Error).name}`);
      exchange.releaseBufferedAfterAnswer();
      if (!state.done) exchange.abort(new GatewayTimeoutError());
      if (!exchange.res.headersSent && !exchange.res.destroyed) sendEmpty(exchange.res, 500);
      return false;
    }
  }

  function onMergeTimeout(exchange: Exchange): void {
    exchange.timer = undefined;
    exchange.timedOut = true;
    if (exchange.settled) return;
    for (let i = 0; i < exchange.endpoint.backends.length; i++) if ((exchange.backendsDone & (1 << i)) === 0) backendMetric(exchange, i, 'timeout');
    logBackendError(exchange, -1, 'endpoint timeout reached');
    const state = exchange.merge ?? new MergeState(exchange.endpoint.backends.length, exchange.endpoint.plan.returnErrorMsg);
    state.note('endpoint timeout reached');
    settleMerged(exchange, state);
  }

  function tooLarge(exchange: Exchange): void {
    exchange.settled = true;
    exchange.abort(new BodyTooLargeError());
    const { req, res } = exchange;
    // The rest of a chunked body is unread: close instead of parsing it as the next request.
    res.shouldKeepAlive = false;
    req.resume();
    sendJson(res, 413, BODIES.tooLarge);
  }

  /** The client closed its connection: nobody to answer, nothing worth logging as a backend failure. */
  function clientGone(exchange: Exchange): boolean {
    return (exchange.res.destroyed && !exchange.res.writableFinished) || exchange.req.errored !== null;
  }

  function logBackendError(exchange: Exchange, index: number, message: string): void {
    const label = exchange.endpoint.plan.label;
    logger.error(index >= 0 ? `${label} Error #${index}: ${message}` : `${label} ${message}`);
  }

  return { forward };
}

/**
 * `cache_ttl`'s Cache-Control, on complete answers with data only, as lura
 * sets it (`router/gin/endpoint.go`). An answer that may depend on who asked
 * is `private`, and varies on the credentials that tell callers apart, so
 * neither a shared cache nor a browser shared by two users hands it to
 * someone else (see CachePlan). Denials never come here; they are no-store.
 */
function cacheHeaders(exchange: Exchange, state: MergeState, data: Merged): string[] | undefined {
  const cache = exchange.endpoint.plan.cache;
  if (cache === undefined || !state.complete || isEmpty(data)) return undefined;
  if (!answersForCaller(cache, exchange.req)) return ['cache-control', cache.publicValue];
  if (cache.privateVary !== '') addVary(exchange.res, cache.privateVary);
  return ['cache-control', cache.privateValue];
}

function answersForCaller(cache: CachePlan, req: IncomingMessage): boolean {
  const names = cache.privateIf;
  if (names === 'always') return true;
  for (let i = 0; i < names.length; i++) if (req.headers[names[i]!] !== undefined) return true;
  return false;
}

function isEmpty(data: Record<string, unknown>): boolean {
  for (const _ in data) return false;
  return true;
}

function backendMetric(exchange: Exchange, index: number, outcome: BackendOutcome): void {
  const metrics = exchange.endpoint.metrics;
  if (metrics !== undefined) metrics.backend(index, outcome, (performance.now() - exchange.startedAt) / 1000);
}

/** What return_error_msg tells a client about a failed call: never an address or a URL of the backend. */
function failureText(error: Error): string {
  if (error instanceof BackendRedirectError) return error.clientText;
  if (error instanceof BackendResponseLimitError) return error.message;
  return 'backend call failed';
}

/** Where a backend's redirects may lead; undefined with no_redirect. */
function redirectRoute(backend: BackendRuntime): RedirectRoute | undefined {
  return backend.plan.redirects.follow ? backend.target : undefined;
}

/** send_body_on_redirect: the body is buffered so that a 307/308 can send it again. */
function replaysBody(backend: BackendRuntime): boolean {
  return backend.plan.redirects.follow && backend.plan.redirects.sendBody;
}

/** One call to `backend` at the host `target` chose: its path with parameters, claims and query filled in. */
function backendCall(
  exchange: Exchange,
  backend: BackendRuntime,
  target: ReturnType<BackendTarget['next']>,
  params: Readonly<Record<string, string>>,
  claims: Allow['claims'] | undefined,
  rawQuery: string,
  query: string,
  headers: string[],
  body: BackendCall['body'],
): BackendCall {
  const path = withQuery(backend.buildPath(params, claims), backendQuery(backend, exchange.endpoint.plan.inputQueryStrings, rawQuery, query));
  return { origin: target.origin, path: target.prefix + path, method: backend.plan.method, headers, body };
}

/** The endpoint's filtered query, or for a backend whose url_pattern sets query keys, the same without those keys. */
function backendQuery(backend: BackendRuntime, allowed: ReadonlySet<string> | '*', rawQuery: string, filtered: string): string {
  const reserved = backend.reservedQueryKeys;
  return reserved === undefined ? filtered : filterQuery(rawQuery, allowed, reserved);
}
