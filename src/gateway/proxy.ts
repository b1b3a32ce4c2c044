/**
 * Backend calls through undici (pools.ts holds the connections). Calls go through
 * `dispatch` with small handler objects rather than `request`/`stream`: the
 * gateway already has the request's state in one place (the Exchange), and
 * skipping the AbortSignal, the body readable and the end-of-stream listeners
 * halves undici's cost per call (profiled; see docs/gateway-operations.md).
 * `no-op` endpoints stream the backend's answer straight into the client
 * response; merged endpoints read each answer whole (see merge.ts), within
 * a per-answer limit and a budget shared by all requests (body-budget.ts).
 */
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { HOP_BY_HOP, headerListToObject } from '../lib/headers.js';
import { REQUEST_ID_HEADER } from '../http/request-id.js';
import type { BodyBudget } from './body-budget.js';
import type { Exchange } from './exchange.js';
import { withGatewayCors } from './cors.js';
import { dispatchFollowing, type RedirectRoute } from './redirect.js';

export interface BackendCall {
  /** `scheme://host[:port]` of the pool the call goes to, where relative redirects resolve. */
  readonly origin: string;
  readonly path: string;
  readonly method: string;
  readonly headers: string[];
  readonly body: Readable | Buffer | null;
}

/** Response headers never relayed; node frames the body itself. */
const HOP_BY_HOP_RESPONSE = HOP_BY_HOP;
const COMPLETED_HEADER = 'x-krakend-completed';

/** Lengths of the hop-by-hop names: most headers are ruled out without lower-casing them. */
const HOP_BY_HOP_LENGTHS: ReadonlySet<number> = new Set([...HOP_BY_HOP_RESPONSE].map((name) => name.length));

/** Whether a backend response header is ours to write, or hop-by-hop, and so never relayed. */
function notRelayed(lowerName: string): boolean {
  return (HOP_BY_HOP_LENGTHS.has(lowerName.length) && HOP_BY_HOP_RESPONSE.has(lowerName)) || lowerName === REQUEST_ID_HEADER || lowerName === COMPLETED_HEADER;
}

/**
 * undici's raw header list (Buffers, original case) → node's flat header
 * list, hop-by-hop and the gateway's own headers removed, repeats kept as
 * repeats. Given to writeHead whole, it takes node's fast path (see
 * identified-response.ts, which adds the request id).
 */
export function relayedHeaderList(raw: readonly (Buffer | string)[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    if (notRelayed(name.toLowerCase())) continue;
    out.push(name, raw[i + 1]!.toString('latin1'));
  }
  return out;
}

/**
 * The same as an object (lower-case names, repeats as lists), for answers that
 * merge the backend's headers with the gateway's CORS headers.
 */
export function relayedHeaders(raw: readonly (Buffer | string)[]): Record<string, string | string[]> {
  return headerListToObject(relayedHeaderList(raw));
}

export type NoopDone = (exchange: Exchange, error: Error | null) => void;

/**
 * Pure proxy (`no-op`): status, headers (minus hop-by-hop, original case) and
 * body as the backend sent them, written into the client response with
 * backpressure. `done` runs once, when the body ended or the call failed.
 * Redirects are followed along `route` (redirect.ts); without one, a 3xx is relayed.
 */
export function dispatchNoop(exchange: Exchange, pool: Dispatcher, call: BackendCall, done: NoopDone, route?: RedirectRoute): void {
  dispatchFollowing(exchange, pool, call, new NoopHandler(exchange, done), route);
}

// The classic handler interface is undici's native one; the controller-based
// one is wrapped into it on every call.
class NoopHandler {
  readonly #exchange: Exchange;
  readonly #done: NoopDone;
  #resume: (() => void) | null = null;

  constructor(exchange: Exchange, done: NoopDone) {
    this.#exchange = exchange;
    this.#done = done;
  }

  onConnect(abort: (error?: Error) => void): void {
    this.#exchange.addBackendAbort(abort);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx informational answers (100 Continue) are not relayed.
    if (statusCode < 200) return true;
    const res = this.#exchange.res;
    // lura marks every no-op answer incomplete (it has no merged data to vouch for); the backend cannot set it.
    if (this.#exchange.endpoint.gatewayCors) {
      const headers = relayedHeaders(rawHeaders);
      headers[COMPLETED_HEADER] = 'false';
      res.writeHead(statusCode, withGatewayCors(res, headers));
    } else {
      const headers = relayedHeaderList(rawHeaders);
      headers.push(COMPLETED_HEADER, 'false');
      res.writeHead(statusCode, headers);
    }
    this.#resume = resume;
    return true;
  }

  onData(chunk: Buffer): boolean {
    const res = this.#exchange.res;
    if (res.write(chunk)) return true;
    if (res.destroyed) return true;
    res.once('drain', this.#resume!);
    return false;
  }

  onComplete(): void {
    this.#exchange.res.end();
    this.#done(this.#exchange, null);
  }

  onError(error: Error): void {
    this.#done(this.#exchange, error);
  }
}

/** How much of a backend's answer a merging call may read. */
export interface MergeReadLimits {
  /** `max_backend_response_size`: bytes of one answer. */
  readonly maxBytes: number;
  /** `max_buffered_bytes`: bytes all merging calls in flight may hold together. */
  readonly budget: BodyBudget;
}

/** A backend answer that cannot be read within the limits; the endpoint answers 502 when no backend succeeded. */
export class BackendResponseLimitError extends Error {}

export class BackendResponseTooLargeError extends BackendResponseLimitError {
  constructor(maxBytes: number) {
    super(`backend response over max_backend_response_size (${maxBytes} bytes)`);
    this.name = 'BackendResponseTooLargeError';
  }
}

export class BufferBudgetExceededError extends BackendResponseLimitError {
  constructor(maxBytes: number) {
    super(`buffered backend responses over max_buffered_bytes (${maxBytes} bytes)`);
    this.name = 'BufferBudgetExceededError';
  }
}

/** What a merged call reports: the status and, for a 2xx, the whole body as text. */
export interface MergeCallResult<T> {
  readonly context: T;
  readonly status: number;
  /** The body for a 2xx answer; undefined when the status already failed the backend. */
  readonly text: string | undefined;
  /** With `keepErrorBody`, the body of a failed status (undefined when it was over max_backend_response_size). */
  readonly errorText: string | undefined;
  /** The answer's Content-Type, when it had one. */
  readonly contentType: string | undefined;
  readonly error: Error | null;
  /**
   * The bytes of a successful body still counted in the budget, handed over
   * (and zeroed here): the receiver gives them back once the data is no longer
   * held. A failed call has already given its bytes back.
   */
  takeHeld(): number;
}

export type MergeDone<T> = (result: MergeCallResult<T>) => void;

export interface MergeCallOptions {
  /** Where redirects may lead; undefined: a redirect is the answer (no_redirect). */
  readonly route?: RedirectRoute | undefined;
  /** Read the body of a failed status too (return_error_details, or return_error_code with return_error_msg). */
  readonly keepErrorBody?: boolean;
}

/** Calls a backend and reads its whole body, within `limits`, when the status is a success (2xx), or with keepErrorBody any status. */
export function dispatchForMerge<T>(
  exchange: Exchange,
  pool: Dispatcher,
  call: BackendCall,
  context: T,
  limits: MergeReadLimits,
  done: MergeDone<T>,
  options: MergeCallOptions = {},
): void {
  dispatchFollowing(exchange, pool, call, new BufferHandler(exchange, context, limits, done, options.keepErrorBody === true), options.route);
}

const isSuccess = (status: number): boolean => status >= 200 && status <= 299;

/** The value of a header in undici's raw list (Buffers, original case); undefined when absent. */
function rawHeader(raw: readonly (Buffer | string)[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length !== name.length || key.toString('latin1').toLowerCase() !== name) continue;
    return raw[i + 1]!.toString('latin1');
  }
  return undefined;
}

/** The declared Content-Length of an answer; undefined when absent or not a plain number. */
function declaredContentLength(raw: readonly (Buffer | string)[]): number | undefined {
  const value = rawHeader(raw, 'content-length')?.trim();
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

class BufferHandler<T> implements MergeCallResult<T> {
  readonly #exchange: Exchange;
  readonly context: T;
  readonly #done: MergeDone<T>;
  readonly #limits: MergeReadLimits;
  readonly #keepErrorBody: boolean;
  /** This answer's body is kept: a success, or a failure whose body is wanted. */
  #keep = false;
  #abort: ((error?: Error) => void) | null = null;
  #chunks: Buffer[] = [];
  #total = 0;
  /** Bytes taken from the budget for #chunks: the declared length up front, else what arrived. */
  #held = 0;
  #reserved = false;
  /** Why this handler stopped reading itself, to tell its own cut from a failure of the call. */
  #cut: Error | null = null;
  status = 0;
  text: string | undefined = undefined;
  errorText: string | undefined = undefined;
  contentType: string | undefined = undefined;
  error: Error | null = null;

  constructor(exchange: Exchange, context: T, limits: MergeReadLimits, done: MergeDone<T>, keepErrorBody: boolean) {
    this.#exchange = exchange;
    this.context = context;
    this.#limits = limits;
    this.#done = done;
    this.#keepErrorBody = keepErrorBody;
  }

  onConnect(abort: (error?: Error) => void): void {
    this.#abort = abort;
    this.#exchange.addBackendAbort(abort);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true;
    this.status = statusCode;
    this.#keep = isSuccess(statusCode) || this.#keepErrorBody;
    this.contentType = rawHeader(rawHeaders, 'content-type');
    const declared = declaredContentLength(rawHeaders);
    if (declared === undefined) return true;
    // A declared size over the limit fails the call before a byte is read.
    if (declared > this.#limits.maxBytes) return this.#stop(new BackendResponseTooLargeError(this.#limits.maxBytes));
    // A declared body takes its whole size from the budget now: one that cannot fit fails before reading, instead of
    // reading part of it and crowding out answers that would have fitted. (undici fails a body longer than declared.)
    if (this.#keep) {
      if (!this.#limits.budget.tryTake(declared)) return this.#stop(new BufferBudgetExceededError(this.#limits.budget.maxBytes));
      this.#held = declared;
      this.#reserved = true;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#total += chunk.length;
    if (this.#total > this.#limits.maxBytes) return this.#stop(new BackendResponseTooLargeError(this.#limits.maxBytes));
    // An error answer's body is read to keep the connection reusable, but not kept unless asked for.
    if (!this.#keep) return true;
    if (!this.#reserved) {
      // A body of unknown length (chunked) is counted as it arrives.
      if (!this.#limits.budget.tryTake(chunk.length)) return this.#stop(new BufferBudgetExceededError(this.#limits.budget.maxBytes));
      this.#held += chunk.length;
    }
    this.#chunks.push(chunk);
    return true;
  }

  /** Cuts the call; undici reports it through onError, which gives the bytes back. */
  #stop(reason: Error): false {
    this.#cut = reason;
    this.#abort?.(reason);
    return false;
  }

  onComplete(): void {
    if (this.#keep) {
      const chunks = this.#chunks;
      const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
      if (isSuccess(this.status)) this.text = text;
      else this.errorText = text;
    }
    this.#chunks = [];
    this.#done(this);
  }

  onError(error: Error): void {
    this.#chunks = [];
    this.#limits.budget.give(this.#held);
    this.#held = 0;
    // An error answer cut for its size failed by its status (return_error_code passes it on), not as a broken call.
    if (error !== this.#cut || this.status === 0 || isSuccess(this.status)) this.error = error;
    this.#done(this);
  }

  takeHeld(): number {
    const held = this.#held;
    this.#held = 0;
    return held;
  }
}
