/**
 * Backend calls through undici (pools.ts holds the connections). Calls go through
 * `dispatch` with small handler objects rather than `request`/`stream`: the
 * gateway already has the request's state in one place (the Exchange), and
 * skipping the AbortSignal, the body readable and the end-of-stream listeners
 * halves undici's cost per call (profiled; see docs/gateway-operations.md).
 * `no-op` endpoints stream the backend's answer straight into the client
 * response; merged endpoints read each answer whole (see merge.ts).
 */
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { HOP_BY_HOP } from '../lib/headers.js';
import { REQUEST_ID_HEADER } from '../http/request-id.js';
import type { Exchange } from './exchange.js';

export interface BackendCall {
  readonly path: string;
  readonly method: string;
  readonly headers: string[];
  readonly body: Readable | Buffer | null;
}

function dispatchOptions(call: BackendCall): Dispatcher.DispatchOptions {
  return { path: call.path, method: call.method as Dispatcher.HttpMethod, headers: call.headers, body: call.body };
}

/** Response headers never relayed; node frames the body itself. */
const HOP_BY_HOP_RESPONSE = HOP_BY_HOP;

/** Lengths of the hop-by-hop names: most headers are ruled out without lower-casing them. */
const HOP_BY_HOP_LENGTHS: ReadonlySet<number> = new Set([...HOP_BY_HOP_RESPONSE].map((name) => name.length));

/**
 * undici's raw header list (Buffers, original case) → a headers object for
 * node's writeHead, hop-by-hop removed and repeated headers kept as lists.
 * The response already carries the gateway's X-Request-Id (set with
 * setHeader), and node merges a flat header list into such a response one
 * setHeader at a time, losing repeats such as two Set-Cookie lines; an object
 * with lists keeps them. The backend's own X-Request-Id never replaces ours.
 */
export function relayedHeaders(raw: readonly (Buffer | string)[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase();
    if (HOP_BY_HOP_LENGTHS.has(name.length) && HOP_BY_HOP_RESPONSE.has(name)) continue;
    if (name === REQUEST_ID_HEADER) continue;
    const value = raw[i + 1]!.toString('latin1');
    const previous = out[name];
    if (previous === undefined) out[name] = value;
    else if (typeof previous === 'string') out[name] = [previous, value];
    else previous.push(value);
  }
  return out;
}

export type NoopDone = (exchange: Exchange, error: Error | null) => void;

/**
 * Pure proxy (`no-op`): status, headers (minus hop-by-hop, original case) and
 * body as the backend sent them, written into the client response with
 * backpressure. `done` runs once, when the body ended or the call failed.
 */
export function dispatchNoop(exchange: Exchange, pool: Dispatcher, call: BackendCall, done: NoopDone): void {
  pool.dispatch(dispatchOptions(call), new NoopHandler(exchange, done));
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
    res.writeHead(statusCode, relayedHeaders(rawHeaders));
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

/** Largest backend body read for merging; a bigger one fails that backend instead of exhausting memory. */
export const MAX_MERGED_BODY_BYTES = 64 * 1024 * 1024;

export class BackendBodyTooLargeError extends Error {
  constructor() {
    super(`backend body exceeds ${MAX_MERGED_BODY_BYTES} bytes`);
    this.name = 'BackendBodyTooLargeError';
  }
}

/** What a merged call reports: the status and, for a 2xx, the whole body as text. */
export interface MergeCallResult<T> {
  readonly context: T;
  readonly status: number;
  /** The body for a 2xx answer; undefined when the status already failed the backend. */
  readonly text: string | undefined;
  readonly error: Error | null;
}

export type MergeDone<T> = (result: MergeCallResult<T>) => void;

/** Calls a backend and reads its whole body when the status is a success (2xx). */
export function dispatchForMerge<T>(exchange: Exchange, pool: Dispatcher, call: BackendCall, context: T, done: MergeDone<T>): void {
  pool.dispatch(dispatchOptions(call), new BufferHandler(exchange, context, done));
}

class BufferHandler<T> implements MergeCallResult<T> {
  readonly #exchange: Exchange;
  readonly context: T;
  readonly #done: MergeDone<T>;
  #abort: ((error?: Error) => void) | null = null;
  #chunks: Buffer[] = [];
  #total = 0;
  status = 0;
  text: string | undefined = undefined;
  error: Error | null = null;

  constructor(exchange: Exchange, context: T, done: MergeDone<T>) {
    this.#exchange = exchange;
    this.context = context;
    this.#done = done;
  }

  onConnect(abort: (error?: Error) => void): void {
    this.#abort = abort;
    this.#exchange.addBackendAbort(abort);
  }

  onHeaders(statusCode: number): boolean {
    if (statusCode >= 200) this.status = statusCode;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#total += chunk.length;
    if (this.#total > MAX_MERGED_BODY_BYTES) {
      this.#abort?.(new BackendBodyTooLargeError());
      return false;
    }
    // An error answer's body is read to keep the connection reusable, but not kept.
    if (this.status >= 200 && this.status <= 299) this.#chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.status >= 200 && this.status <= 299) {
      const chunks = this.#chunks;
      this.text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
    }
    this.#chunks = [];
    this.#done(this);
  }

  onError(error: Error): void {
    this.error = error;
    this.#chunks = [];
    this.#done(this);
  }
}
