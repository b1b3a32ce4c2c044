/** Answers the gateway writes itself (not a backend's): small, fixed, JSON. */
import type { ServerResponse } from 'node:http';

export const JSON_TYPE = 'application/json; charset=utf-8';

export function sendJson(res: ServerResponse, status: number, body: string, extra?: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...extra, 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendEmpty(res: ServerResponse, status: number, extra?: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...extra, 'content-length': '0' });
  res.end();
}

export const BODIES = Object.freeze({
  notFound: '{"error":"not_found"}',
  methodNotAllowed: '{"error":"method_not_allowed"}',
  tooLarge: '{"error":"request_body_too_large"}',
  badGateway: '{"error":"bad_gateway"}',
  gatewayTimeout: '{"error":"gateway_timeout"}',
});
