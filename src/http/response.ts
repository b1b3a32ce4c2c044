/**
 * The answers portcullis writes itself, shared by every door: a Decision's
 * denial (so it looks the same from the gateway, forward-auth and the
 * middleware: the status, the RFC 6750 challenge and the core's JSON body,
 * never cacheable), and the small fixed JSON answers of its own.
 */
import type { ServerResponse } from 'node:http';
import type { Deny } from '../authorizer/decision.js';

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** The headers of a denial, for transports that set headers themselves (Fastify). */
export function denialHeaders(deny: Deny): Record<string, string> {
  const headers: Record<string, string> = {};
  if (deny.wwwAuthenticate !== undefined) headers['www-authenticate'] = deny.wwwAuthenticate;
  if (deny.body !== undefined) headers['content-type'] = JSON_CONTENT_TYPE;
  // A denial depends on the token, never on a cacheable resource.
  headers['cache-control'] = 'no-store';
  return headers;
}

export function writeDenial(res: ServerResponse, deny: Deny): void {
  if (res.headersSent || res.destroyed) return;
  const body = deny.body ?? '';
  res.writeHead(deny.status, { ...denialHeaders(deny), 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** A small JSON answer of our own (route not found, bad forward request): never cacheable. */
export function writeJson(res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void {
  sendJson(res, status, body, { ...extra, 'cache-control': 'no-store' });
}

export function sendJson(res: ServerResponse, status: number, body: string, extra?: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...extra, 'content-type': JSON_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendEmpty(res: ServerResponse, status: number, extra?: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...extra, 'content-length': '0' });
  res.end();
}

/** Adds to the `Vary` already set on `res` (by CORS, say) instead of replacing it. */
export function addVary(res: ServerResponse, value: string): void {
  const existing = res.getHeader('vary');
  res.setHeader('vary', existing === undefined ? value : `${String(existing)}, ${value}`);
}

/** The fixed bodies of portcullis's own answers. */
export const BODIES = Object.freeze({
  notFound: '{"error":"not_found"}',
  methodNotAllowed: '{"error":"method_not_allowed"}',
  tooLarge: '{"error":"request_body_too_large"}',
  badGateway: '{"error":"bad_gateway"}',
  gatewayTimeout: '{"error":"gateway_timeout"}',
  routeNotFound: '{"error":"route_not_found"}',
  badForwardRequest: '{"error":"bad_forward_request"}',
  internalError: '{"error":"internal_error"}',
  health: '{"status":"ok"}',
  shuttingDown: '{"error":"shutting_down"}',
  rate_limited: '{"error":"rate_limited"}',
  endpoint_rate_limited: '{"error":"endpoint_rate_limited"}',
  rate_limiter_unavailable: '{"error":"rate_limiter_unavailable"}',
});

/** A rate-limit refusal: 429 or 503 with the limiter's headers (Retry-After, RateLimit), never cacheable. */
export function writeLimited(res: ServerResponse, refusal: { status: number; code: 'rate_limited' | 'endpoint_rate_limited' | 'rate_limiter_unavailable'; headers: Readonly<Record<string, string>> }): void {
  writeJson(res, refusal.status, BODIES[refusal.code], { ...refusal.headers });
}
