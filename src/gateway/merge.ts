/**
 * KrakenD's merging (krakend-compat.md §6, lura `proxy/merging.go`): every
 * backend is called in parallel within the endpoint timeout; each JSON object
 * is merged shallowly in arrival order (a later answer wins a key collision);
 * `X-KrakenD-Completed` says whether every backend answered well and in time.
 * No successful backend → 500 with an empty body (lura's default error
 * status), or the backend's own status with `return_error_code`, or 502
 * `{"error":"bad_gateway"}` when a backend's answer was over the size limits
 * (a portcullis limit KrakenD does not have, reported as the proxy failure it is),
 * or nested too deep. With `router.return_error_msg` that body says why, one
 * line per failure. A backend with `return_error_details` that fails by its
 * status adds `error_<name>` to the data instead, so the answer is 200 and
 * incomplete. Numbers keep their literal text from decoding to writing, as
 * KrakenD's `UseNumber` does (json-literals.ts).
 */
import type { ServerResponse } from 'node:http';
import { BODIES, JSON_CONTENT_TYPE as JSON_TYPE } from '../http/response.js';
import type { BackendEncoding, Encoding, FlatmapOp } from '../config/plan.js';
import { applyFlatmap } from './flatmap.js';
import { isKeptNumber, parseKeepingNumbers, stringifyKeepingNumbers } from './json-literals.js';

export type Merged = Record<string, unknown>;

export interface DecodedBody {
  readonly data: Merged;
  /** The data holds number literals kept as markers (json-literals.ts). */
  readonly literals: boolean;
}

/** Why a 2xx body could not be used: not the JSON expected, or nested past MAX_JSON_DEPTH. */
export type BodyFailure = 'invalid' | 'too_deep';

/**
 * A backend body as data, its number literals kept. `string` wraps the text
 * as `{"content": …}`. JSON objects are used as they are and arrays are
 * wrapped as `{"collection": […]}`; with `is_collection` the body must be an
 * array (or null, as Go decodes it) and an object fails the backend, as in
 * KrakenD. With `json`, anything else (scalars, invalid or empty JSON) fails
 * the backend; `safejson` wraps a scalar or null as `{"result": …}` (lura's
 * SafeJSONDecoder).
 */
export function decodeBackendBody(text: string, encoding: BackendEncoding, isCollection = false): DecodedBody | BodyFailure {
  if (encoding === 'string') return { data: { content: text }, literals: false };
  const decoded = parseKeepingNumbers(text);
  if (!decoded.ok) return decoded.reason;
  const value = decoded.value;
  if (Array.isArray(value) || (isCollection && value === null)) return { data: { collection: value }, literals: decoded.literals };
  if (isCollection) return 'invalid';
  if (value === null || typeof value !== 'object') return encoding === 'safejson' ? { data: { result: value }, literals: decoded.literals } : 'invalid';
  return { data: value as Merged, literals: decoded.literals };
}

/** Accumulates backend results as they arrive. */
export class MergeState {
  /** Null prototype: a backend key named `__proto__` stays plain data. */
  readonly data: Merged = Object.create(null) as Merged;
  succeeded = 0;
  failed = 0;
  /** Failed backends whose `return_error_details` put an `error_<name>` key into the data. */
  detailed = 0;
  /** First error status of a backend with `return_error_code`. */
  errorStatus: number | undefined = undefined;
  /** Some backend failed because its answer was over max_backend_response_size or max_buffered_bytes, or nested too deep. */
  overLimit = false;
  /** Some merged answer holds kept number literals, to be put back when written. */
  literals = false;
  readonly expected: number;
  /** `router.return_error_msg`: an answer without data carries `messages` as its body. */
  readonly returnErrorMsg: boolean;
  /** Why backends failed, in arrival order (lura joins its errors the same way). */
  readonly messages: string[] = [];

  constructor(expected: number, returnErrorMsg = false) {
    this.expected = expected;
    this.returnErrorMsg = returnErrorMsg;
  }

  add(data: Merged, literals = false): void {
    Object.assign(this.data, data);
    if (literals) this.literals = true;
    this.succeeded += 1;
  }

  /** A failed backend whose error details are data (lura answers them like a backend response, only incomplete). */
  addDetails(data: Merged, message: string): void {
    Object.assign(this.data, data);
    this.failed += 1;
    this.detailed += 1;
    this.messages.push(message);
  }

  fail(passStatus: number | undefined, overLimit = false, message?: string): void {
    this.failed += 1;
    if (passStatus !== undefined && this.errorStatus === undefined) this.errorStatus = passStatus;
    if (overLimit) this.overLimit = true;
    if (message !== undefined) this.messages.push(message);
  }

  /** Something that failed the answer without being a backend's own result (the endpoint timeout). */
  note(message: string): void {
    this.messages.push(message);
  }

  get done(): boolean {
    return this.succeeded + this.failed >= this.expected;
  }

  get complete(): boolean {
    return this.succeeded === this.expected;
  }

  /** There is something to answer with: a backend's data or a backend's error details. */
  get hasData(): boolean {
    return this.succeeded > 0 || this.detailed > 0;
  }
}

/** The `error_<name>` entry of return_error_details, with lura's field names; empty fields are left out (Go's omitempty). */
export function errorDetails(name: string, status: number, body: string | undefined, contentType: string | undefined): Merged {
  const details: Merged = { http_status_code: status };
  if (body !== undefined && body !== '') details.http_body = body;
  if (contentType !== undefined && contentType !== '') details.http_body_encoding = contentType;
  return { [`error_${name}`]: details };
}

/** The merged data as JSON text, every number as its backend wrote it. */
export function mergedJson(state: MergeState, flatmap?: readonly FlatmapOp[]): string {
  return stringifyKeepingNumbers(finalData(state, flatmap), state.literals);
}

/** The merged data, after the endpoint's own flatmap_filter when it has one (lura's flatmap middleware). */
export function finalData(state: MergeState, flatmap: readonly FlatmapOp[] | undefined): Merged {
  return flatmap === undefined || !state.hasData ? state.data : applyFlatmap(flatmap, state.data);
}

/**
 * Writes the merged answer (or the failure status) in the endpoint's output
 * encoding. `data` is what finalData made of the state (the signer may have
 * changed it in between).
 */
export function writeMerged(res: ServerResponse, state: MergeState, output: Encoding, extra: string[] | undefined, data: Merged = state.data): void {
  if (res.headersSent || res.destroyed) return;
  const completed = state.complete ? 'true' : 'false';
  if (!state.hasData && state.errorStatus === undefined && state.overLimit) {
    const headers = ['content-type', JSON_TYPE, 'content-length', String(BODIES.badGateway.length), 'x-krakend-completed', completed];
    if (extra) headers.push(...extra);
    res.writeHead(502, headers);
    res.end(BODIES.badGateway);
    return;
  }
  if (!state.hasData) {
    // lura writes the error text as is; net/http sniffs it as plain text, whatever the backend's type was.
    const message = state.returnErrorMsg && state.messages.length > 0 ? state.messages.join('\n') : '';
    const headers = ['x-krakend-completed', completed, 'content-length', String(Buffer.byteLength(message))];
    if (message !== '') headers.push('content-type', 'text/plain; charset=utf-8');
    if (extra) headers.push(...extra);
    res.writeHead(state.errorStatus ?? 500, headers);
    res.end(message);
    return;
  }
  let body: string;
  let type: string;
  if (output === 'string') {
    // lura's string render writes the `content` key as text (a kept number is not text).
    const content = data.content;
    body = typeof content === 'string' && !isKeptNumber(content) ? content : '';
    type = 'text/plain; charset=utf-8';
  } else {
    body = stringifyKeepingNumbers(data, state.literals);
    type = JSON_TYPE;
  }
  const headers = ['content-type', type, 'content-length', String(Buffer.byteLength(body)), 'x-krakend-completed', completed];
  if (extra) headers.push(...extra);
  res.writeHead(200, headers);
  res.end(body);
}
