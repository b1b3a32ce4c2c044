/**
 * CORS in the gateway, as KrakenD's `security/cors` (krakend-cors over
 * rs/cors) does it: it wraps the whole server, so it runs before routing,
 * health and authorization. A preflight (OPTIONS with
 * Access-Control-Request-Method) is answered at once, since a browser never
 * sends credentials on one and a validator would refuse it; every other
 * request gets `Vary: Origin` and, when its origin and method are allowed, the
 * Access-Control-Allow-* headers, then goes on as usual.
 *
 * A disallowed origin, method or header is not an error: the answer simply
 * lacks the Access-Control-Allow-* headers and the browser keeps it from the
 * page (rs/cors). The server still serves simple requests from such pages:
 * CORS decides what a page may read, not who may call.
 *
 * The plan is compiled once (config/compile-cors.ts): exact origins in a Set,
 * wildcards as prefix/suffix pairs, so a request costs a few lookups.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CorsPlan } from '../config/plan.js';
import type { Logger } from '../lib/logger.js';

export interface Cors {
  /** Sets the CORS headers on `res`; true when the request was a preflight and has been answered. */
  apply(req: IncomingMessage, res: ServerResponse): boolean;
}

const PREFLIGHT_VARY = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';
const PREFLIGHT_VARY_PNA = `${PREFLIGHT_VARY}, Access-Control-Request-Private-Network`;
/** A serialised origin (RFC 6454 §6.2) as browsers send it: one scheme://host[:port], no list, no path. */
const ORIGIN_SHAPE = /^[a-z][a-z0-9+.-]*:\/\/[^\s,/?#]+$/i;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function createCors(plan: CorsPlan, logger: Logger): Cors {
  const preflightVary = plan.allowPrivateNetwork ? PREFLIGHT_VARY_PNA : PREFLIGHT_VARY;
  const log = plan.debug ? (message: string, details: object) => logger.debug(details, `[CORS] ${message}`) : undefined;

  function originAllowed(origin: string): boolean {
    if (plan.anyOrigin) return true;
    if (origin !== 'null' && !ORIGIN_SHAPE.test(origin)) return false;
    const lower = origin.toLowerCase();
    if (plan.origins.has(lower)) return true;
    for (const { prefix, suffix } of plan.originWildcards) {
      if (lower.length >= prefix.length + suffix.length && lower.startsWith(prefix) && lower.endsWith(suffix)) return true;
    }
    return false;
  }

  // OPTIONS is always allowed, as in rs/cors: it is the preflight's own method.
  const methodAllowed = (method: string): boolean => {
    const upper = method.toUpperCase();
    return upper === 'OPTIONS' || plan.methods.has(upper);
  };

  /** The requested header names, or undefined when one of them is not allowed (or not a header name). */
  function allowedRequestHeaders(value: string | undefined): string[] | undefined {
    if (value === undefined) return [];
    const names: string[] = [];
    for (const part of value.split(',')) {
      const name = part.trim();
      if (name === '') continue;
      if (!TOKEN.test(name)) return undefined;
      if (!plan.anyHeader && !plan.headers.has(name.toLowerCase())) return undefined;
      names.push(name);
    }
    return names;
  }

  function preflight(req: IncomingMessage, res: ServerResponse, requestedMethod: string): boolean {
    res.setHeader('vary', preflightVary);
    const origin = req.headers.origin;
    const verdict = preflightVerdict(req, res, origin, requestedMethod);
    log?.(`preflight ${verdict}`, { origin, method: requestedMethod, headers: req.headers['access-control-request-headers'] });
    if (plan.optionsPassthrough) return false;
    // 204 carries no framing header at all (RFC 9110 §8.6); any other status says its body is empty.
    if (plan.optionsSuccessStatus === 204) res.writeHead(204);
    else res.writeHead(plan.optionsSuccessStatus, { 'content-length': '0' });
    res.end();
    return true;
  }

  function preflightVerdict(req: IncomingMessage, res: ServerResponse, origin: string | undefined, requestedMethod: string): string {
    if (origin === undefined || origin === '') return 'without Origin: no CORS headers';
    if (!originAllowed(origin)) return 'from an origin not allowed: no CORS headers';
    if (!methodAllowed(requestedMethod)) return 'for a method not allowed: no CORS headers';
    const headers = allowedRequestHeaders(req.headers['access-control-request-headers']);
    if (headers === undefined) return 'asking for headers not allowed: no CORS headers';
    res.setHeader('access-control-allow-origin', plan.anyOrigin ? '*' : origin);
    // Echoing the one method and the headers asked for is enough (Fetch), and keeps the lists private.
    res.setHeader('access-control-allow-methods', requestedMethod);
    if (headers.length > 0) res.setHeader('access-control-allow-headers', headers.join(', '));
    if (plan.allowCredentials) res.setHeader('access-control-allow-credentials', 'true');
    if (plan.allowPrivateNetwork && req.headers['access-control-request-private-network'] === 'true') {
      res.setHeader('access-control-allow-private-network', 'true');
    }
    if (plan.maxAgeSeconds > 0) res.setHeader('access-control-max-age', String(plan.maxAgeSeconds));
    return 'allowed';
  }

  function actual(req: IncomingMessage, res: ServerResponse): void {
    // Whatever the origin: a cache must not hand one origin's answer (with or without CORS headers) to another.
    res.setHeader('vary', 'Origin');
    const origin = req.headers.origin;
    if (origin === undefined || origin === '') return;
    if (!originAllowed(origin) || !methodAllowed(req.method ?? '')) {
      log?.('request from an origin or with a method not allowed: no CORS headers', { origin, method: req.method });
      return;
    }
    res.setHeader('access-control-allow-origin', plan.anyOrigin ? '*' : origin);
    if (plan.exposeHeaders !== '') res.setHeader('access-control-expose-headers', plan.exposeHeaders);
    if (plan.allowCredentials) res.setHeader('access-control-allow-credentials', 'true');
  }

  return {
    apply(req, res) {
      const requestedMethod = req.method === 'OPTIONS' ? req.headers['access-control-request-method'] : undefined;
      if (typeof requestedMethod === 'string' && requestedMethod !== '') return preflight(req, res, requestedMethod);
      actual(req, res);
      return false;
    },
  };
}

/**
 * The headers a `no-op` backend sent, made to agree with the gateway's CORS:
 * the gateway's Access-Control-* headers win (two Access-Control-Allow-Origin
 * values make browsers refuse the answer), and its `Vary` is kept beside the
 * backend's (writeHead would otherwise replace it).
 */
export function withGatewayCors(res: ServerResponse, headers: Record<string, string | string[]>): Record<string, string | string[]> {
  for (const name of Object.keys(headers)) {
    if (name.startsWith('access-control-')) delete headers[name];
  }
  const ours = res.getHeader('vary');
  const theirs = headers.vary;
  if (typeof ours === 'string' && theirs !== undefined) headers.vary = [ours, ...(typeof theirs === 'string' ? [theirs] : theirs)];
  return headers;
}
