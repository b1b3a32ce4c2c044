/**
 * KrakenD's built-in test endpoints (lura `router/gin/debug.go`, `echo.go`),
 * off unless the root says `debug_endpoint` / `echo_endpoint`. They matter
 * because many KrakenD configs (examples, tutorials, krakend-ce's own tests)
 * use the gateway's own `/__debug/` as a backend.
 *
 * - `/__debug/…`, any method: `{"message":"pong"}`. KrakenD logs the whole
 *   request at debug level; portcullis logs the method, path and header
 *   names only, never a value (a token is a header value).
 * - `/__echo/…`, any method: the request as JSON, with KrakenD's field names
 *   and Go's shapes (canonical header names, lists of values, sorted keys).
 *   Unlike KrakenD, credential values are redacted: Authorization,
 *   Proxy-Authorization, Cookie values, every validator's token header and
 *   query key. Echoing them would hand a page that can read the answer
 *   (through CORS) its visitors' HttpOnly cookies, and any caller the
 *   credentials a proxy in front adds.
 *
 * Both read the request body within the gateway's body limit (413 past it).
 * `/__debug` and `/__echo` without the slash are served too: gin redirects
 * them to the slash form, which clients following redirects end up at.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { canonicalHeaderName } from '../lib/headers.js';
import type { Logger } from '../lib/logger.js';
import { BODIES, JSON_CONTENT_TYPE, sendJson } from '../http/response.js';

export const DEBUG_PREFIX = '/__debug';
export const ECHO_PREFIX = '/__echo';
const PONG = '{"message":"pong"}';
const REDACTED = '[redacted]';
const REDACTED_IN_URI = encodeURIComponent(REDACTED);

/** `/__debug`, `/__debug/` and anything under it. */
export function isUnder(path: string, prefix: string): boolean {
  return path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 0x2f);
}

export interface EchoOptions {
  readonly maxBodyBytes: number;
  /** Lower-case header names whose values are never echoed. */
  readonly credentialHeaders: ReadonlySet<string>;
  /** Query keys whose values are never echoed. */
  readonly credentialQueryKeys: ReadonlySet<string>;
}

export function serveDebug(req: IncomingMessage, res: ServerResponse, path: string, maxBodyBytes: number, logger: Logger): void {
  readBody(req, res, maxBodyBytes, (body) => {
    logger.debug({ method: req.method, path, headers: Object.keys(req.headers), bodyBytes: body.length }, '[ENDPOINT: /__debug/*] request');
    sendJson(res, 200, PONG);
  });
}

export function serveEcho(req: IncomingMessage, res: ServerResponse, options: EchoOptions): void {
  readBody(req, res, options.maxBodyBytes, (body) => {
    const text = JSON.stringify(echoOf(req, body.toString('utf8'), options));
    res.writeHead(200, { 'content-type': JSON_CONTENT_TYPE, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
  });
}

/** The echo document: lura's `echoResponse`, field for field. */
export function echoOf(req: IncomingMessage, body: string, options: Pick<EchoOptions, 'credentialHeaders' | 'credentialQueryKeys'>): object {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  const rawQuery = q === -1 ? '' : url.slice(q + 1);
  const redactedQuery = redactQuery(rawQuery, options.credentialQueryKeys);
  const params = new URLSearchParams(redactedQuery);
  const querystring: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const key of [...new Set(params.keys())].sort()) querystring[key] = params.getAll(key);
  const sorted = new URLSearchParams(params);
  sorted.sort();
  return {
    req_uri: q === -1 ? rawPath : `${rawPath}?${redactedQuery}`,
    req_uri_details: { fragment: '', host: req.headers.host ?? '', path: decodePath(rawPath), query: sorted.toString(), user: '' },
    req_method: req.method ?? '',
    req_querystring: querystring,
    req_body: body,
    req_headers: echoHeaders(req, options.credentialHeaders),
  };
}

/** Go's `http.Header` of the request: canonical names, lists of values, without Host (Go keeps it apart). */
function echoHeaders(req: IncomingMessage, credentials: ReadonlySet<string>): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  const distinct = req.headersDistinct;
  const names = Object.keys(distinct)
    .filter((name) => name !== 'host')
    .map((name) => [canonicalHeaderName(name), name] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [canonical, name] of names) {
    const values = distinct[name] ?? [];
    out[canonical] = !credentials.has(name) ? values : values.map((value) => (name === 'cookie' ? redactCookie(value) : redactCredential(value)));
  }
  return out;
}

/** `Bearer eyJ…` → `Bearer [redacted]`: the scheme shows what was sent, the credential does not. */
function redactCredential(value: string): string {
  const space = value.indexOf(' ');
  return space > 0 ? `${value.slice(0, space)} ${REDACTED}` : REDACTED;
}

/** `a=1; b=2` → `a=[redacted]; b=[redacted]`: which cookies arrived, not their values. */
function redactCookie(value: string): string {
  return value
    .split(';')
    .map((pair) => {
      const name = pair.split('=', 1)[0]!.trim();
      return name === '' ? '' : `${name}=${REDACTED}`;
    })
    .filter((pair) => pair !== '')
    .join('; ');
}

function redactQuery(rawQuery: string, keys: ReadonlySet<string>): string {
  if (keys.size === 0 || rawQuery === '') return rawQuery;
  return rawQuery
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawKey = eq === -1 ? pair : pair.slice(0, eq);
      return keys.has(decodeQueryPart(rawKey)) ? `${rawKey}=${REDACTED_IN_URI}` : pair;
    })
    .join('&');
}

function decodeQueryPart(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

function decodePath(rawPath: string): string {
  try {
    return decodeURIComponent(rawPath);
  } catch {
    return rawPath;
  }
}

/** Reads the body within the limit, then calls `done`; past the limit: 413, and the connection is closed. */
function readBody(req: IncomingMessage, res: ServerResponse, maxBytes: number, done: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let total = 0;
  let over = false;
  req.on('data', (chunk: Buffer) => {
    if (over) return;
    total += chunk.length;
    if (total > maxBytes) {
      over = true;
      chunks.length = 0;
      // The rest is not read: close instead of parsing it as the next request.
      res.shouldKeepAlive = false;
      sendJson(res, 413, BODIES.tooLarge);
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (!over) done(Buffer.concat(chunks, total));
  });
  req.on('error', () => undefined);
}
