/**
 * A real backend on 127.0.0.1 for gateway tests. By default it echoes what it
 * received (method, path, query, headers, body) as JSON; tests register
 * handlers per path for other answers (slow, errors, streams, garbage) and read
 * `requests` to see exactly what the gateway forwarded.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  path: string;
  /** Raw query string without `?`. */
  query: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type BackendHandler = (req: IncomingMessage, res: ServerResponse, received: ReceivedRequest) => void;

export interface BackendServer {
  /** Base URL, e.g. `http://127.0.0.1:4312`. */
  readonly url: string;
  readonly port: number;
  readonly requests: ReceivedRequest[];
  /** Answers requests for this exact path (query ignored) with `handler` instead of the echo. */
  on(path: string, handler: BackendHandler): void;
  /** Requests received for this path. */
  received(path: string): ReceivedRequest[];
  /** Resolves with the next request for this path as soon as its headers arrive (before its body, which `received` waits for). */
  nextArrival(path: string): Promise<IncomingMessage>;
  close(): Promise<void>;
}

export function echo(res: ServerResponse, received: ReceivedRequest, status = 200): void {
  const body = JSON.stringify({ method: received.method, path: received.path, query: received.query, headers: received.headers, body: received.body });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}

export async function startBackendServer(): Promise<BackendServer> {
  const handlers = new Map<string, BackendHandler>();
  const requests: ReceivedRequest[] = [];
  const arrivals = new Set<{ path: string; arrived: (req: IncomingMessage) => void }>();

  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    for (const waiter of arrivals) {
      if (waiter.path !== path) continue;
      arrivals.delete(waiter);
      waiter.arrived(req);
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => undefined);
    req.on('end', () => {
      const received: ReceivedRequest = {
        method: req.method ?? 'GET',
        url,
        path,
        query: q === -1 ? '' : url.slice(q + 1),
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(received);
      const handler = handlers.get(received.path);
      if (handler) handler(req, res, received);
      else echo(res, received);
    });
  });
  server.keepAliveTimeout = 10_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    on: (path, handler) => void handlers.set(path, handler),
    received: (path) => requests.filter((r) => r.path === path),
    nextArrival: (path) => new Promise((resolve) => arrivals.add({ path, arrived: resolve })),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** A port nothing listens on (bound, then released), for "backend down" cases. */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
