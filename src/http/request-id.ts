/**
 * Request ids and W3C trace context. A request id the client (or the proxy in
 * front) sends is kept when it is short and plain, so one id follows a request
 * through every hop; otherwise a new one is made. Trace context is passed on
 * only when it is well formed, so a malformed `traceparent` cannot confuse the
 * backends' tracers.
 */
import { randomUUID } from 'node:crypto';

export const REQUEST_ID_HEADER = 'x-request-id';

const ACCEPTED_ID = /^[A-Za-z0-9._:/+=-]{1,128}$/;
// version-traceid-parentid-flags; version ff is invalid (W3C Trace Context §3.2.2.1).
const TRACEPARENT = /^(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;
const TRACESTATE = /^[\x20-\x7e]{1,512}$/;

/** The client's X-Request-Id when it is acceptable (one value, ≤ 128 plain characters), else a new UUID. */
export function requestIdOf(value: string | string[] | undefined): string {
  return typeof value === 'string' && ACCEPTED_ID.test(value) ? value : randomUUID();
}

/** `traceparent` when well formed (version 00 exactly, later versions by prefix), else undefined. */
export function validTraceparent(value: string | string[] | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const candidate = value.startsWith('00-') ? value : value.slice(0, 55);
  return TRACEPARENT.test(candidate) ? candidate : undefined;
}

/** `tracestate`, only next to a valid traceparent, and only printable ASCII up to 512 characters. */
export function validTracestate(value: string | string[] | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  return TRACESTATE.test(value) ? value : undefined;
}
