/**
 * One client request on its way through the gateway: what the proxy steps
 * share (the compiled endpoint, the deadline, the backend calls to cancel)
 * and the few ways it can end. Every field is assigned in the constructor so
 * the object keeps one shape on the hot path.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Authorizer } from '../runtime/create-authorizer.js';
import type { EndpointLimits } from '../runtime/rate-limits.js';
import type { BackendPlan, EndpointPlan } from '../config/compile.js';
import type { PathBuilder } from './backend-url.js';
import type { StripRule } from '../authorizer/identity-headers.js';
import type { EndpointMetrics } from '../metrics/prometheus.js';
import type { BodyBudget } from './body-budget.js';
import type { MergeState } from './merge.js';
import type { ResponseSigner } from './signer.js';
import type { BackendTarget } from './pools.js';

export interface BackendRuntime {
  readonly plan: BackendPlan;
  readonly target: BackendTarget;
  readonly buildPath: PathBuilder;
  /** Query keys the url_pattern sets itself; client pairs with these keys are dropped. */
  readonly reservedQueryKeys: ReadonlySet<string> | undefined;
}

export interface EndpointRuntime {
  readonly plan: EndpointPlan;
  readonly authorizer: Authorizer | undefined;
  readonly backends: readonly BackendRuntime[];
  /** `output_encoding: no-op`: a pure proxy of exactly one backend. */
  readonly noop: boolean;
  /** Some backend's url_pattern reads a `{JWT.claim}`. */
  readonly claimPaths: boolean;
  /** Client headers never forwarded from this endpoint (identity headers of every endpoint, other spellings of checked ones). */
  readonly strip: StripRule;
  /** Request metrics, when they are on. */
  readonly metrics: EndpointMetrics | undefined;
  /** Rate limits before and after authorization. */
  readonly limits: EndpointLimits;
  /** The gateway answers CORS itself (`security/cors`): a no-op backend's CORS headers give way to it. */
  readonly gatewayCors: boolean;
  /** `auth/signer`: signs parts of the merged answer before it is written. */
  readonly signer: ResponseSigner | undefined;
}

export class Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly endpoint: EndpointRuntime;
  timer: NodeJS.Timeout | undefined;
  timedOut: boolean;
  bodyTooLarge: boolean;
  /** Set once the gateway has chosen the answer; later backend results are ignored. */
  settled: boolean;
  /** Results gathered so far by a merging endpoint, for an answer at the timeout. */
  merge: MergeState | undefined;
  /** Why the backend calls were cancelled; set once. */
  abortReason: Error | undefined;
  /** When the backend calls started (performance.now()), for metrics; 0 without metrics. */
  startedAt: number;
  /** Bit i is set once backend i answered or failed: at the timeout the others count as timed out. */
  backendsDone: number;
  #backendAborts: ((reason: Error) => void)[] | undefined;
  /** Bytes of merged backend answers this exchange holds until its answer is written, and the budget they count in. */
  #heldBytes: number;
  #budget: BodyBudget | undefined;

  constructor(req: IncomingMessage, res: ServerResponse, endpoint: EndpointRuntime) {
    this.req = req;
    this.res = res;
    this.endpoint = endpoint;
    this.timer = undefined;
    this.timedOut = false;
    this.bodyTooLarge = false;
    this.settled = false;
    this.merge = undefined;
    this.abortReason = undefined;
    this.startedAt = endpoint.metrics === undefined ? 0 : performance.now();
    this.backendsDone = 0;
    this.#backendAborts = undefined;
    this.#heldBytes = 0;
    this.#budget = undefined;
  }

  /** Starts the endpoint timeout, which covers the whole pipe (all backends, merging, streaming). */
  startTimer(onTimeout: (exchange: Exchange) => void): void {
    this.timer = setTimeout(onTimeout, this.endpoint.plan.timeoutMs, this);
  }

  clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Called by a backend call once it is on a socket; a call that starts after the abort is cancelled at once. */
  addBackendAbort(abort: (reason: Error) => void): void {
    if (this.abortReason !== undefined) return abort(this.abortReason);
    if (this.#backendAborts === undefined) this.#backendAborts = [abort];
    else this.#backendAborts.push(abort);
  }

  /**
   * Keeps the bytes of a merged answer counted until this exchange's answer is
   * written (the decoded data lives that long); an exchange already cancelled
   * gives them back at once.
   */
  holdBuffered(budget: BodyBudget, bytes: number): void {
    if (this.abortReason !== undefined) return budget.give(bytes);
    this.#budget = budget;
    this.#heldBytes += bytes;
  }

  /**
   * Gives the held bytes back once the answer has left (the response's
   * `close`): until then the merged body is still in memory, in the socket's
   * write queue when the client reads slowly. Taken off the exchange now, so a
   * later abort does not give them back twice.
   */
  releaseBufferedAfterAnswer(): void {
    const bytes = this.#heldBytes;
    const budget = this.#budget;
    if (bytes === 0 || budget === undefined) return;
    this.#heldBytes = 0;
    if (this.res.destroyed) return budget.give(bytes);
    this.res.once('close', () => budget.give(bytes));
  }

  /** Gives back every byte held by holdBuffered at once; abort does, since an aborted exchange sends no merged data. */
  releaseBuffered(): void {
    if (this.#budget === undefined) return;
    this.#budget.give(this.#heldBytes);
    this.#heldBytes = 0;
  }

  /** Stops the timer, gives back held answer bytes and cancels every backend call still running. */
  abort(reason: Error): void {
    this.clearTimer();
    this.releaseBuffered();
    if (this.abortReason !== undefined) return;
    this.abortReason = reason;
    const aborts = this.#backendAborts;
    if (aborts === undefined) return;
    this.#backendAborts = undefined;
    for (let i = 0; i < aborts.length; i++) aborts[i]!(reason);
  }
}

export class GatewayTimeoutError extends Error {
  constructor() {
    super('endpoint timeout reached');
    this.name = 'GatewayTimeoutError';
  }
}

export class BodyTooLargeError extends Error {
  constructor() {
    super('request body exceeds the limit');
    this.name = 'BodyTooLargeError';
  }
}

export class ClientGoneError extends Error {
  constructor() {
    super('client closed the connection');
    this.name = 'ClientGoneError';
  }
}
