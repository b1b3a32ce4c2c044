/**
 * Writing a Decision onto a node:http response, shared by the forward-auth
 * server and the middleware so a denial looks the same from every door:
 * the status, the RFC 6750 challenge and the JSON body of the core.
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

/** A small JSON answer of our own (route not found, bad forward request). */
export function writeJson(res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...extra, 'content-type': JSON_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}
