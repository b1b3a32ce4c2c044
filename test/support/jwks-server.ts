/**
 * A real JWKS server on 127.0.0.1 with injectable faults, for tests that must
 * exercise the actual HTTP client (timeouts, caps, redirects, outages).
 * Also key and token helpers built on jose.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type CryptoKey } from 'jose';

export type JwksServerMode =
  | 'ok'
  | 'down'
  | 'slow'
  | 'hold'
  | 'status500'
  | 'wrongContentType'
  | 'garbage'
  | 'huge'
  | 'hugeContentLength'
  | 'bareArray'
  | 'redirect'
  | 'redirectLoop';

export interface JwksDocument {
  keys: JWK[];
}

export interface JwksServer {
  /** URL of `path` on this server (default `/jwks`). */
  url(path?: string): string;
  setKeys(jwks: JwksDocument | readonly JWK[]): void;
  /** Switches the fault. `down` stops listening; any other mode brings the server back on the same port. */
  setMode(mode: JwksServerMode, options?: { delayMs?: number }): Promise<void>;
  /** Content-Type of the key set in `ok` mode (default `application/json`). */
  setContentType(contentType: string): void;
  /** Sets the `issuer` of the discovery document; its jwks_uri defaults to `url('/jwks')`. */
  setDiscovery(document: { issuer?: string; jwks_uri?: string }): void;
  /**
   * Answers requests for `path` (pathname) with a redirect to `location` (absolute
   * or relative, sent as given), whatever the mode; undefined removes it.
   */
  setRedirect(path: string, location: string | undefined, status?: number): void;
  /** Requests received for `path` (pathname, query ignored), or in total. */
  requestCount(path?: string): number;
  /** Resolves when the next request for `path` (default `/jwks`) arrives: a download is then in flight. */
  nextRequest(path?: string): Promise<void>;
  /** Answers the requests `hold` mode is holding, with the current keys. */
  release(): void;
  close(): Promise<void>;
}

export interface JwksServerOptions {
  /** Serve HTTPS with this PEM key and certificate. */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

export const DISCOVERY_PATH = '/.well-known/openid-configuration';
/** Always serves the keys: the target of the `redirect` mode, so following the redirect would succeed. */
export const REDIRECT_TARGET_PATH = '/redirect-target';

export async function startJwksServer(options: JwksServerOptions = {}): Promise<JwksServer> {
  let keys: JWK[] = [];
  let mode: JwksServerMode = 'ok';
  let delayMs = 5000;
  let contentType = 'application/json';
  let discovery: { issuer?: string; jwks_uri?: string } = {};
  const counts = new Map<string, number>();
  const redirects = new Map<string, { location: string; status: number }>();
  const timers = new Set<NodeJS.Timeout>();
  const held = new Set<ServerResponse>();
  const arrivals = new Set<{ path: string; arrived: () => void }>();
  let port = 0;
  const scheme = options.tls ? 'https' : 'http';

  const url = (path = '/jwks'): string => `${scheme}://127.0.0.1:${port}${path}`;

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    for (const waiter of arrivals) {
      if (waiter.path !== path) continue;
      arrivals.delete(waiter);
      waiter.arrived();
    }
    const redirect = redirects.get(path);
    if (redirect) {
      res.writeHead(redirect.status, { location: redirect.location }).end();
      return;
    }
    if (path === DISCOVERY_PATH && mode === 'ok') {
      return json(res, 200, { issuer: discovery.issuer ?? url(''), jwks_uri: discovery.jwks_uri ?? url('/jwks') });
    }
    if (path === REDIRECT_TARGET_PATH) return json(res, 200, { keys });
    switch (mode) {
      case 'hold':
        held.add(res);
        res.on('close', () => held.delete(res));
        return;
      case 'slow': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          json(res, 200, { keys });
        }, delayMs);
        // A pending slow answer must not keep the test process alive.
        timer.unref();
        timers.add(timer);
        return;
      }
      case 'status500':
        return json(res, 500, { error: 'server_error' });
      case 'wrongContentType':
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html>not a key set</html>');
        return;
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": [ this is not json');
        return;
      case 'huge':
        return streamHuge(res, false);
      case 'hugeContentLength':
        return streamHuge(res, true);
      case 'bareArray':
        return json(res, 200, keys);
      case 'redirect':
        res.writeHead(302, { location: url(REDIRECT_TARGET_PATH) }).end();
        return;
      case 'redirectLoop':
        res.writeHead(302, { location: req.url ?? '/' }).end();
        return;
      default:
        return json(res, 200, { keys }, contentType);
    }
  }

  const server: Server = options.tls ? createHttpsServer(options.tls, handle) : createHttpServer(handle);

  async function listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  async function stop(): Promise<void> {
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    held.clear();
    if (!server.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  await listen();
  return {
    url,
    setKeys(jwks) {
      keys = Array.isArray(jwks) ? [...(jwks as JWK[])] : [...(jwks as JwksDocument).keys];
    },
    async setMode(next, modeOptions) {
      if (modeOptions?.delayMs !== undefined) delayMs = modeOptions.delayMs;
      mode = next;
      if (next === 'down') await stop();
      else if (!server.listening) await listen();
    },
    setContentType(type) {
      contentType = type;
    },
    setDiscovery(document) {
      discovery = { ...document };
    },
    setRedirect(path, location, status = 302) {
      if (location === undefined) redirects.delete(path);
      else redirects.set(path, { location, status });
    },
    requestCount(path) {
      if (path === undefined) return [...counts.values()].reduce((a, b) => a + b, 0);
      return counts.get(path) ?? 0;
    },
    nextRequest(path = '/jwks') {
      return new Promise((resolve) => arrivals.add({ path, arrived: resolve }));
    },
    release() {
      for (const res of held) json(res, 200, { keys });
      held.clear();
    },
    close: stop,
  };
}

function json(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  res.writeHead(status, { 'content-type': contentType }).end(JSON.stringify(body));
}

/** 2 MiB of valid-looking JSON, written with backpressure, stopping if the client goes away. */
function streamHuge(res: ServerResponse, declareLength: boolean): void {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const total = 32;
  res.writeHead(200, {
    'content-type': 'application/json',
    ...(declareLength ? { 'content-length': String(chunk.length * total + 11) } : {}),
  });
  res.write('{"keys":[');
  let sent = 0;
  const pump = (): void => {
    while (sent < total && !res.destroyed) {
      sent += 1;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    if (!res.destroyed) res.end(']}');
  };
  pump();
}

export interface TestSigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  /** The public JWK as a JWKS would list it (kid, alg, use). */
  publicJwk: JWK;
}

/** A fresh key pair for `alg` (default RS256) with its public JWK. */
export async function generateSigningKey(kid: string, alg = 'RS256'): Promise<TestSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519' } : {});
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

/** Signs `claims` with the key; the header carries its kid and alg unless overridden. */
export async function mintToken(
  key: TestSigningKey,
  claims: JWTPayload = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, ...header }).sign(key.privateKey);
}

export function jwksOf(...keys: TestSigningKey[]): JwksDocument {
  return { keys: keys.map((key) => key.publicJwk) };
}
