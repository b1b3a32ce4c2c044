/**
 * The HTTP server lifecycle every listener shares (gateway, forward-auth, the
 * issuer): node:http options from the configured limits (node:https with the
 * same limits when TLS options are given), listening with the port-in-use
 * error surfaced, a URL to print, and a bounded drain on close.
 */
import { createServer, type RequestListener, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TlsOptions } from 'node:tls';
import type { Logger } from '../lib/logger.js';

/** A listener made by createLimitedServer: plain HTTP, or HTTPS. */
export type Server = HttpServer | HttpsServer;

export interface ServerLimits {
  maxHeaderSize: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

/** With `tls`, the server speaks HTTPS (node:https takes the same limits). */
export function createLimitedServer(limits: ServerLimits, handler: RequestListener, tls?: TlsOptions, responseClass?: typeof ServerResponse): Server {
  const options = {
    ...(responseClass !== undefined ? { ServerResponse: responseClass } : {}),
    maxHeaderSize: limits.maxHeaderSize,
    requestTimeout: limits.requestTimeoutMs,
    // node refuses a headers timeout above the request timeout.
    headersTimeout: limits.requestTimeoutMs > 0 ? Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) : limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // How often slow clients are checked against those timeouts; node's 30 s default lets them linger far too long.
    connectionsCheckingInterval: 1000,
  };
  return tls === undefined ? createServer(options, handler) : createHttpsServer({ ...tls, ...options }, handler);
}

/**
 * A failed handshake (no client certificate, an old TLS version, a plain HTTP
 * request) ends before any request: one debug line with the client address and
 * OpenSSL's error code, nothing the client sent.
 */
export function watchHandshakes(server: Server, logger: Logger, service: string): void {
  server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    logger.debug({ client: socket.remoteAddress, code: error.code }, `${service} TLS handshake failed`);
  });
}

export interface Listening {
  readonly port: number;
  /** A URL this machine can use to reach the server (wildcard addresses become loopback). */
  readonly url: string;
  /** The address actually bound. */
  readonly address: string;
}

/** Listens; rejects with the server's error (EADDRINUSE, EACCES) instead of emitting it. */
export async function listen(server: Server, where: { port: number; host: string | undefined }): Promise<Listening> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: where.port, host: where.host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const scheme = server instanceof HttpsServer ? 'https' : 'http';
  return { port: address.port, url: `${scheme}://${urlHost(address.address)}:${address.port}`, address: address.address };
}

/**
 * Stops accepting, closes idle keep-alive connections as their requests end,
 * and cuts whatever is left at the deadline.
 */
export async function drain(server: Server, deadlineMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // Keep-alive connections become idle as their last request finishes; close them as they do.
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  const deadline = setTimeout(() => server.closeAllConnections(), deadlineMs);
  try {
    await closed;
  } finally {
    clearInterval(sweep);
    clearTimeout(deadline);
  }
}

/** A host for a URL: wildcard addresses are reachable on loopback; IPv6 goes in brackets. */
export function urlHost(address: string): string {
  if (address === '0.0.0.0' || address === '') return '127.0.0.1';
  if (address === '::') return '[::1]';
  return address.includes(':') ? `[${address}]` : address;
}
