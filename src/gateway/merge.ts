/**
 * KrakenD's merging (krakend-compat.md §6, lura `proxy/merging.go`): every
 * backend is called in parallel within the endpoint timeout; each JSON object
 * is merged shallowly in arrival order (a later answer wins a key collision);
 * `X-KrakenD-Completed` says whether every backend answered well and in time.
 * No successful backend → 500 with an empty body (lura's default error
 * status), or the backend's own status with `return_error_code`, or 502
 * `{"error":"bad_gateway"}` when a backend's answer was over the size limits
 * or nested too deep (portcullis limits KrakenD does not have, reported as the
 * proxy failure they are). Numbers keep their literal text from decoding to
 * writing, as KrakenD's `UseNumber` does (json-literals.ts).
 */
import type { ServerResponse } from 'node:http';
import { BODIES, JSON_CONTENT_TYPE as JSON_TYPE } from '../http/response.js';
import type { Encoding, FlatmapOp } from '../config/plan.js';
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
 * KrakenD. Anything else (scalars, invalid or empty JSON) fails the backend.
 */
export function decodeBackendBody(text: string, encoding: Encoding, isCollection = false): DecodedBody | BodyFailure {
  if (encoding === 'string') return { data: { content: text }, literals: false };
  const decoded = parseKeepingNumbers(text);
  if (!decoded.ok) return decoded.reason;
  const value = decoded.value;
  if (Array.isArray(value) || (isCollection && value === null)) return { data: { collection: value }, literals: decoded.literals };
  if (isCollection || value === null || typeof value !== 'object') return 'invalid';
  return { data: value as Merged, literals: decoded.literals };
}

/** Accumulates backend results as they arrive. */
export class MergeState {
  /** Null prototype: a backend key named `__proto__` stays plain data. */
  readonly data: Merged = Object.create(null) as Merged;
  succeeded = 0;
  failed = 0;
  /** First error status of a backend with `return_error_code`. */
  errorStatus: number | undefined = undefined;
  /** Some backend failed because its answer was over max_backend_response_size or max_buffered_bytes, or nested too deep. */
  overLimit = false;
  /** Some merged answer holds kept number literals, to be put back when written. */
  literals = false;
  readonly expected: number;

  constructor(expected: number) {
    this.expected = expected;
  }

  add(data: Merged, literals = false): void {
    Object.assign(this.data, data);
    if (literals) this.literals = true;
    this.succeeded += 1;
  }

  fail(passStatus: number | undefined, overLimit = false): void {
    this.failed += 1;
    if (passStatus !== undefined && this.errorStatus === undefined) this.errorStatus = passStatus;
    if (overLimit) this.overLimit = true;
  }

  get done(): boolean {
    return this.succeeded + this.failed >= this.expected;
  }

  get complete(): boolean {
    return this.succeeded === this.expected;
  }
}

/** The merged data as JSON text, every number as its backend wrote it. */
export function mergedJson(state: MergeState, flatmap?: readonly FlatmapOp[]): string {
  return stringifyKeepingNumbers(mergedData(state, flatmap), state.literals);
}

/** The merged data, after the endpoint's own flatmap_filter when it has one (lura's flatmap middleware). */
function mergedData(state: MergeState, flatmap: readonly FlatmapOp[] | undefined): Merged {
  return flatmap === undefined ? state.data : applyFlatmap(flatmap, state.data);
}

/** Writes the merged answer (or the failure status) in the endpoint's output encoding. */
export function writeMerged(res: ServerResponse, state: MergeState, output: Encoding, extra: string[] | undefined, flatmap?: readonly FlatmapOp[]): void {
  if (res.headersSent || res.destroyed) return;
  const completed = state.complete ? 'true' : 'false';
  if (state.succeeded === 0 && state.errorStatus === undefined && state.overLimit) {
    const headers = ['content-type', JSON_TYPE, 'content-length', String(BODIES.badGateway.length), 'x-krakend-completed', completed];
    if (extra) headers.push(...extra);
    res.writeHead(502, headers);
    res.end(BODIES.badGateway);
    return;
  }
  if (state.succeeded === 0) {
    const headers = ['x-krakend-completed', completed, 'content-length', '0'];
    if (extra) headers.push(...extra);
    res.writeHead(state.errorStatus ?? 500, headers);
    res.end();
    return;
  }
  let body: string;
  let type: string;
  if (output === 'string') {
    // lura's string render writes the `content` key as text (a kept number is not text).
    const content = mergedData(state, flatmap).content;
    body = typeof content === 'string' && !isKeptNumber(content) ? content : '';
    type = 'text/plain; charset=utf-8';
  } else {
    body = mergedJson(state, flatmap);
    type = JSON_TYPE;
  }
  const headers = ['content-type', type, 'content-length', String(Buffer.byteLength(body)), 'x-krakend-completed', completed];
  if (extra) headers.push(...extra);
  res.writeHead(200, headers);
  res.end(body);
}
