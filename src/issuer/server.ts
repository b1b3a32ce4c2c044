/**
 * HTTP front of the development issuer: Descope's key, discovery and
 * access-key exchange endpoints (descope.md §2, §8), plus admin routes for
 * minting and rotation and the token debugger page (debugger.ts), which
 * answer loopback clients only.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger, type Logger } from '../lib/logger.js';
import { findUser, type IssuerAccessKey, type IssuerSettings } from './config.js';
import { DEMO_ACCESS_KEY_SECRET } from './default-config.js';
import { IssuerRequestError, type Issuer } from './issuer.js';
import { parseMintRequest } from './mint-request.js';
import { urlHost } from '../http/server.js';
import { isLocalRequest, isLoopbackHost } from './loopback.js';
import { checkDebuggerRequest, createDebuggerApi, DEBUGGER_API_PREFIX, DEBUGGER_PATH, type DebuggerApi, type DebuggerOptions } from './debugger.js';
import { DEBUGGER_PAGE_HEADERS, DEBUGGER_PAGE_HTML } from './debugger-page.js';

export { isLoopbackHost } from './loopback.js';

export interface IssuerServer {
  readonly port: number;
  /** Where the server listens, e.g. http://127.0.0.1:4000. */
  readonly url: string;
  /** Origin used in `iss` and discovery: the public base URL, else `url`. */
  readonly baseUrl: string;
  /** The token debugger page, or undefined when it is off (`debugger: false`, or a non-loopback host without allowOnNetwork). */
  readonly debuggerUrl: string | undefined;
  close(): Promise<void>;
}

export interface IssuerServerOptions {
  host?: string;
  port?: number;
  logger?: Logger;
  /** Serve the published demo access key on a non-loopback host anyway (the CLI's --allow-demo-key-on-network). */
  allowDemoKeyOnNetwork?: boolean;
  /**
   * "Log out everywhere" for `POST /admin/logout {"sub": "alice"}`: revokes the subject's tokens issued
   * so far wherever the gateways look (the demo: its gateway's revocation store). Unset: 501.
   */
  onLogout?: (sub: string) => Promise<{ before: number }>;
  /** The token debugger at /debugger: on by default on a loopback host; `false` turns it off. */
  debugger?: DebuggerOptions | false;
}

const MAX_BODY_BYTES = 64 * 1024;
const JSON_HEADERS = { 'content-type': 'application/json', 'x-content-type-options': 'nosniff' } as const;

type Handler = (req: IncomingMessage, body: unknown) => Promise<unknown> | unknown;
interface Route {
  method: 'GET' | 'POST';
  handler: Handler;
  admin?: boolean;
  /** Responses carry tokens: never cache them. */
  secret?: boolean;
}

export async function startIssuerServer(issuer: Issuer, options: IssuerServerOptions = {}): Promise<IssuerServer> {
  const logger = options.logger ?? silentLogger;
  const host = options.host ?? '127.0.0.1';
  checkDemoKeyExposure(issuer.settings, host, options.allowDemoKeyOnNetwork === true);
  const pid = issuer.settings.projectId;
  let baseUrl = '';
  // On a non-loopback host a proxy on this machine could make remote clients look local: off unless asked for.
  const debuggerOptions = options.debugger === false ? undefined : (options.debugger ?? {});
  const debuggerApi =
    debuggerOptions !== undefined && (isLoopbackHost(host) || debuggerOptions.allowOnNetwork === true)
      ? createDebuggerApi(issuer, debuggerOptions, () => baseUrl)
      : undefined;

  const discovery = (issuerUrl: string) => () => ({
    issuer: issuerUrl,
    jwks_uri: `${baseUrl}/${pid}/.well-known/jwks.json`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...new Set(issuer.keyStore.published().map((key) => key.alg))],
    claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'drn', 'amr', 'roles', 'permissions', 'tenants', 'dct'],
  });

  const routes = new Map<string, Route>([
    [`/v2/keys/${pid}`, { method: 'GET', handler: () => issuer.jwks() }],
    // Descope's v1 answers a bare array, not a JWKS object (descope.md §2).
    [`/v1/keys/${pid}`, { method: 'GET', handler: () => issuer.jwks().keys }],
    [`/${pid}/.well-known/jwks.json`, { method: 'GET', handler: () => issuer.jwks() }],
    [`/${pid}/.well-known/openid-configuration`, { method: 'GET', handler: () => discovery(`${baseUrl}/${pid}`)() }],
    [`/v1/apps/${pid}/.well-known/openid-configuration`, { method: 'GET', handler: () => discovery(`${baseUrl}/v1/apps/${pid}`)() }],
    [
      '/v1/auth/accesskey/exchange',
      { method: 'POST', secret: true, handler: (req, body) => issuer.exchangeAccessKey(req.headers.authorization, body, baseUrl) },
    ],
    ['/admin/mint', { method: 'POST', admin: true, secret: true, handler: (_req, body) => issuer.mintSession(parseMintRequest(body), baseUrl) }],
    [
      '/admin/rotate',
      {
        method: 'POST',
        admin: true,
        handler: async () => {
          const key = await issuer.rotate();
          return { kid: key.kid, alg: key.alg, published: issuer.keyStore.published().map((k) => k.kid) };
        },
      },
    ],
    [
      '/admin/logout',
      {
        method: 'POST',
        admin: true,
        handler: async (_req, body) => {
          const request = (body ?? {}) as { sub?: unknown; user?: unknown };
          let sub = request.sub;
          if (typeof request.user === 'string' && sub === undefined) {
            // A demo user by short name, email or id, as `portcullis token --user` takes it.
            const user = findUser(issuer.settings, request.user);
            if (user === undefined || user === 'ambiguous') throw new IssuerRequestError(400, 'unknown_user', `no single configured user is named ${JSON.stringify(request.user)}`);
            sub = user.id;
          }
          if (typeof sub !== 'string' || sub === '' || sub.length > 1024) throw new IssuerRequestError(400, 'bad_request', 'the body must be {"sub": "<user id>"} or {"user": "alice"}');
          if (options.onLogout === undefined) {
            throw new IssuerRequestError(501, 'not_configured', 'this issuer is not connected to a revocation store; use `portcullis revoke -c <gateway config> --sub <id>`');
          }
          const { before } = await options.onLogout(sub);
          return { sub, revokedBefore: new Date(before * 1000).toISOString() };
        },
      },
    ],
    ['/health', { method: 'GET', handler: () => ({ status: 'ok', project_id: pid }) }],
  ]);

  async function handleDebugger(req: IncomingMessage, res: ServerResponse, api: DebuggerApi, path: string): Promise<void> {
    const call = path === DEBUGGER_PATH ? undefined : path.slice(DEBUGGER_API_PREFIX.length);
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const allowed = call === undefined ? 'GET' : 'POST';
    if (method !== allowed) {
      res.setHeader('allow', allowed === 'GET' ? 'GET, HEAD' : 'POST');
      throw new IssuerRequestError(405, 'method_not_allowed', `use ${allowed}`);
    }
    checkDebuggerRequest(req, call !== undefined);
    if (call === undefined) {
      res.writeHead(200, { ...DEBUGGER_PAGE_HEADERS, 'content-length': Buffer.byteLength(DEBUGGER_PAGE_HTML) });
      res.end(req.method === 'HEAD' ? undefined : DEBUGGER_PAGE_HTML);
      return;
    }
    const result = await api.call(call, await readJsonBody(req, true));
    send(res, 200, result, true, false);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = pathOf(req.url);
    if (debuggerApi !== undefined && path !== undefined && (path === DEBUGGER_PATH || path.startsWith(DEBUGGER_API_PREFIX))) {
      return handleDebugger(req, res, debuggerApi, path);
    }
    const route = path === undefined ? undefined : routes.get(path);
    if (!route) throw new IssuerRequestError(404, 'not_found', 'no such endpoint');
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (method !== route.method) {
      res.setHeader('allow', route.method === 'GET' ? 'GET, HEAD' : 'POST');
      throw new IssuerRequestError(405, 'method_not_allowed', `use ${route.method}`);
    }
    if (route.admin) checkAdminAccess(req);
    const body = route.method === 'POST' ? await readJsonBody(req, route.admin === true) : undefined;
    const result = await route.handler(req, body);
    send(res, 200, result, route.secret === true, req.method === 'HEAD');
  }

  const server = createServer((req, res) => {
    handle(req, res)
      .catch((error: unknown) => {
        if (error instanceof IssuerRequestError) return send(res, error.status, error.toBody(), false, req.method === 'HEAD');
        logger.error({ err: (error as Error).message }, 'issuer: request failed');
        send(res, 500, { errorCode: 'internal', errorDescription: 'internal error', errorMessage: 'internal error' }, false, false);
      })
      .finally(() => logger.debug({ method: req.method, path: pathOf(req.url), status: res.statusCode }, 'issuer: request'));
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4000, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${urlHost(host)}:${port}`;
  baseUrl = issuer.settings.publicBaseUrl ?? url;
  logger.info({ url, projectId: pid }, 'issuer: listening');

  return {
    port,
    url,
    baseUrl,
    debuggerUrl: debuggerApi === undefined ? undefined : `${url}${DEBUGGER_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The published demo access key when `host` would serve it beyond this machine. */
export function exposedDemoKey(settings: IssuerSettings, host: string): IssuerAccessKey | undefined {
  if (isLoopbackHost(host)) return undefined;
  return settings.accessKeys.find((key) => key.key === DEMO_ACCESS_KEY_SECRET);
}

/**
 * Throws when the demo key would be served on a non-loopback host without `allow`; returns the key
 * when it is served there with `allow` (the caller warns), else undefined.
 */
export function checkDemoKeyExposure(settings: IssuerSettings, host: string, allow: boolean): IssuerAccessKey | undefined {
  const key = exposedDemoKey(settings, host);
  if (key !== undefined && !allow) {
    throw new Error(
      `refusing to serve the built-in demo access key (${key.id}) on ${JSON.stringify(host)}, which is not a loopback address: ` +
        'its secret is published, so anyone who can reach this port could exchange it for tokens. ' +
        'Listen on 127.0.0.1, use --config with access keys of your own, or pass --allow-demo-key-on-network',
    );
  }
  return key;
}

function pathOf(rawUrl: string | undefined): string | undefined {
  if (rawUrl === undefined || !rawUrl.startsWith('/')) return undefined;
  const end = rawUrl.search(/[?#]/);
  return end === -1 ? rawUrl : rawUrl.slice(0, end);
}

/**
 * Admin routes mint tokens for anyone who asks, so only local clients may ask
 * (see isLocalRequest). Requiring a JSON body forces a CORS preflight, which
 * this server never grants, on any cross-site browser request.
 */
function checkAdminAccess(req: IncomingMessage): void {
  if (!isLocalRequest(req)) throw new IssuerRequestError(403, 'admin_loopback_only', 'admin routes answer loopback clients only');
}

async function readJsonBody(req: IncomingMessage, requireJsonType: boolean): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (requireJsonType && type !== 'application/json') {
    throw new IssuerRequestError(415, 'unsupported_media_type', 'send Content-Type: application/json');
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw new IssuerRequestError(413, 'body_too_large', `the body exceeds ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new IssuerRequestError(413, 'body_too_large', `the body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new IssuerRequestError(400, 'bad_request', 'the body is not valid JSON');
  }
}

function send(res: ServerResponse, status: number, body: unknown, secret: boolean, headOnly: boolean): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...JSON_HEADERS,
    'content-length': Buffer.byteLength(text),
    ...(secret ? { 'cache-control': 'no-store' } : {}),
  });
  res.end(headOnly ? undefined : text);
}
