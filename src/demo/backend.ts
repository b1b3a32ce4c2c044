/**
 * The demo backend: answers every request with what it received (method,
 * path, query and the headers the gateway forwarded), so the effect of
 * `input_headers` and `propagate_claims` is visible in the response.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EchoBackend {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** Request bodies are counted, not echoed: the demo never needs them and they could be large. */
export async function startEchoBackend(options: { host?: string; port?: number } = {}): Promise<EchoBackend> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => {
      bodyBytes += chunk.length;
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://backend');
      const text = JSON.stringify({
        backend: 'portcullis demo echo',
        method: req.method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body_bytes: bodyBytes,
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
    });
    req.on('error', () => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 9000, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
