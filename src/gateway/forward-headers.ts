/**
 * The headers a backend sees (krakend-compat.md §4, zero trust): only
 * `Content-Type` plus the endpoint's `input_headers` (`*` = all but
 * hop-by-hop), then the propagated claims, which reach the backend only when
 * their name passes the same allowlist (KrakenD's rule). `X-Forwarded-For`,
 * `X-Forwarded-Host` and `X-Request-Id` are always set, and W3C trace context
 * (`traceparent`, `tracestate`) passes through when it is well formed.
 */
import type { IncomingMessage } from 'node:http';
import type { PropagatedHeader } from '../authorizer/propagate.js';
import { dashed, type StripRule } from '../authorizer/identity-headers.js';
import { HOP_BY_HOP, headerSafe } from '../lib/headers.js';
import { REQUEST_ID_HEADER, validTraceparent, validTracestate } from '../http/request-id.js';

/**
 * Never forwarded: hop-by-hop headers (RFC 9110 §7.6.1), `host` (the backend's
 * own is set by the client library), `content-length` (the body framing is
 * ours to set) and `expect` (the 100-continue exchange ends at the gateway).
 */
export const NOT_FORWARDED: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP,
  'host',
  'content-length',
  'expect',
  // Set by the gateway below, from the connection rather than from the client, or checked first.
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-via',
  'x-request-id',
  'traceparent',
  'tracestate',
]);

/** KrakenD sends its own User-Agent when the client's is not forwarded, and else names itself in X-Forwarded-Via. */
export const GATEWAY_USER_AGENT = 'portcullis';

/**
 * Builds undici's flat header list `[name, value, name, value, …]` with
 * lower-case names. Client headers the `strip` rule owns are dropped before
 * the propagated values are added, so a client can never smuggle its own
 * value through.
 */
export function buildBackendHeaders(
  req: IncomingMessage,
  inputHeaders: ReadonlySet<string> | '*',
  propagated: readonly PropagatedHeader[] | undefined,
  strip: StripRule,
  requestId: string,
): string[] {
  const headers = req.headers;
  const out: string[] = [];
  let userAgent = false;
  if (inputHeaders === '*') {
    const connectionTokens = connectionListed(headers.connection);
    for (const name in headers) {
      // `X_Forwarded_For` is X-Forwarded-For to CGI-style backends: the gateway's own headers go in every spelling.
      if (NOT_FORWARDED.has(dashed(name)) || strip.owns(name)) continue;
      if (connectionTokens !== undefined && connectionTokens.includes(name)) continue;
      const value = headers[name];
      if (value === undefined) continue;
      if (name === 'user-agent') userAgent = true;
      pushValue(out, name, value);
    }
  } else {
    const contentType = headers['content-type'];
    if (contentType !== undefined && !strip.owns('content-type')) out.push('content-type', contentType);
    for (const name of inputHeaders) {
      if (name === 'content-type' || NOT_FORWARDED.has(dashed(name)) || strip.owns(name)) continue;
      const value = headers[name];
      if (value === undefined) continue;
      if (name === 'user-agent') userAgent = true;
      pushValue(out, name, value);
    }
  }
  if (propagated !== undefined) {
    for (let i = 0; i < propagated.length; i++) {
      const header = propagated[i]!;
      const name = header.name.toLowerCase();
      if (inputHeaders !== '*' && !inputHeaders.has(name)) continue;
      if (NOT_FORWARDED.has(name)) continue;
      const value = header.value;
      if (typeof value === 'string') out.push(name, headerSafe(value));
      else for (let j = 0; j < value.length; j++) out.push(name, headerSafe(value[j]!));
    }
  }
  const clientIp = clientAddress(req);
  const priorHops = forwardedFor(headers['x-forwarded-for'], inputHeaders);
  out.push('x-forwarded-for', priorHops === undefined ? clientIp : `${priorHops}, ${clientIp}`);
  const host = headers.host;
  if (host !== undefined) out.push('x-forwarded-host', host);
  out.push(userAgent ? 'x-forwarded-via' : 'user-agent', GATEWAY_USER_AGENT);
  out.push(REQUEST_ID_HEADER, requestId);
  // Trace context passes through unchanged, whatever input_headers says, when it is well formed.
  const traceparent = validTraceparent(headers.traceparent);
  if (traceparent !== undefined) {
    out.push('traceparent', traceparent);
    const tracestate = validTracestate(headers.tracestate);
    if (tracestate !== undefined) out.push('tracestate', tracestate);
  }
  return out;
}

/** The peer address; an IPv4 client of a dual-stack listener shows as `::ffff:1.2.3.4`, which backends expect as `1.2.3.4`. */
function clientAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * The client's own X-Forwarded-For chain is kept only when the endpoint trusts
 * it (lists it in input_headers, or `*`); otherwise a client could forge the
 * hops a backend sees.
 */
function forwardedFor(value: string | string[] | undefined, inputHeaders: ReadonlySet<string> | '*'): string | undefined {
  if (value === undefined || value.length === 0) return undefined;
  if (typeof value !== 'string') value = value.join(', ');
  if (inputHeaders !== '*' && !inputHeaders.has('x-forwarded-for')) return undefined;
  return value;
}

function pushValue(out: string[], name: string, value: string | string[]): void {
  if (typeof value === 'string') out.push(name, value);
  else for (let i = 0; i < value.length; i++) out.push(name, value[i]!);
}

/** Header names the client marked hop-by-hop through `Connection: a, b`. */
function connectionListed(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  if (lower === 'keep-alive' || lower === 'close') return undefined;
  return lower.split(',').map((token) => token.trim());
}
