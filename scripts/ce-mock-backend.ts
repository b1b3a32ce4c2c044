/**
 * The backend krakend-ce's integration specs expect behind the gateway,
 * written from the behaviour its tests describe (an echo, a collection, a
 * delayed echo, redirects, an XML document, a JWKS), so scripts/ce-specs.ts
 * can replay those specs against portcullis. Answers are shaped the way Go's
 * net/http and encoding/json shape them (sorted keys, `<>&` escaped, a
 * trailing newline, canonical header names), because some specs compare
 * bodies byte for byte.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface CeMockBackend {
  origin: string;
  port: number;
  close(): Promise<void>;
}

export interface CeMockOptions {
  /** How long /delayed/ waits before answering; the specs were written for 200 ms against a 100 ms timeout. */
  delayMs?: number;
  /** A JWKS file served at /jwk/symmetric (the specs' tokens are signed with its key); 404 when absent. */
  jwksFile?: string;
}

/** Go's encoding/json output for the values an echo holds: sorted keys, HTML-safe escaping. */
export function goJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(goJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${goString(k)}:${goJson(v)}`).join(',')}}`;
  }
  if (typeof value === 'string') return goString(value);
  return JSON.stringify(value);
}

function goString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Go's textproto.CanonicalMIMEHeaderKey for the ASCII names HTTP uses. */
export function canonicalHeader(name: string): string {
  return name
    .split('-')
    .map((part) => (part.length === 0 ? part : part[0]!.toUpperCase() + part.slice(1).toLowerCase()))
    .join('-');
}

function requestHeaders(req: IncomingMessage, drop: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    // Go moves Host out of the header map into Request.Host.
    if (name === 'host' || drop.includes(name) || values === undefined) continue;
    out[canonicalHeader(name)] = values;
  }
  return out;
}

function queryMap(search: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(search)) (out[k] ??= []).push(v);
  return out;
}

function decodedPath(pathname: string): string {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return pathname;
  }
}

function send(res: ServerResponse, status: number, headers: Record<string, string | string[]>, body: string): void {
  const bytes = Buffer.from(body);
  res.writeHead(status, { ...headers, 'Content-Length': String(bytes.length) });
  res.end(bytes);
}

/** net/http's http.Error. */
function goError(res: ServerResponse, status: number, text: string): void {
  send(res, status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' }, `${text}\n`);
}

/** net/http's http.Redirect for a GET or HEAD request. */
function goRedirect(res: ServerResponse, location: string, status: number): void {
  const text: Record<number, string> = {
    301: 'Moved Permanently',
    302: 'Found',
    303: 'See Other',
    307: 'Temporary Redirect',
    308: 'Permanent Redirect',
  };
  const escaped = location.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&#34;');
  send(res, status, { Location: location, 'Content-Type': 'text/html; charset=utf-8' }, `<a href="${escaped}">${text[status] ?? ''}</a>.\n\n`);
}

/** The specs' backend rejects any call whose X-Forwarded-For is not a single loopback address. */
function forwardedForIsLoopback(req: IncomingMessage): boolean {
  const value = req.headers['x-forwarded-for'];
  if (typeof value !== 'string') return false;
  const kind = isIP(value);
  if (kind === 4) return value.startsWith('127.');
  if (kind === 6) return value === '::1' || value === '0:0:0:0:0:0:0:1';
  return false;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function echo(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const answer: Record<string, unknown> = {
    path: decodedPath(url.pathname),
    query: queryMap(url.search),
    headers: requestHeaders(req, ['x-forwarded-for']),
    foo: 42,
  };
  if (url.searchParams.get('dump_body') === '1') answer.body = await readBody(req);
  send(res, 200, { 'Content-Type': 'application/json', 'Set-Cookie': ['test1=test1', 'test2=test2'] }, `${goJson(answer)}\n`);
}

const SUBTREES = ['/param_forwarding/', '/collection/', '/delayed/', '/redirect/'];

export async function startCeMockBackend(options: CeMockOptions = {}): Promise<CeMockBackend> {
  const delayMs = options.delayMs ?? 200;
  const jwks = options.jwksFile === undefined ? undefined : readFileSync(options.jwksFile, 'utf8');
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://backend.invalid');
    const path = url.pathname;
    const subtree = SUBTREES.find((prefix) => path.startsWith(prefix));
    if (subtree !== undefined && !forwardedForIsLoopback(req)) return goError(res, 400, 'invalid X-Forwarded-For');
    if (path === '/xml') {
      if (!forwardedForIsLoopback(req)) return goError(res, 400, 'invalid X-Forwarded-For');
      return send(res, 200, { 'Content-Type': 'application/xml; charset=utf-8' }, '<?xml version="1.0" encoding="UTF-8"?>\n<item kind="sample"><title>mock</title></item>');
    }
    if (path === '/jwk/symmetric') {
      return jwks === undefined ? goError(res, 404, '404 page not found') : send(res, 200, { 'Content-Type': 'application/json' }, jwks);
    }
    switch (subtree) {
      case '/param_forwarding/':
        return echo(req, res, url);
      case '/delayed/':
        await new Promise((r) => setTimeout(r, delayMs));
        return echo(req, res, url);
      case '/collection/': {
        const items = Array.from({ length: 10 }, (_, i) => ({ path: decodedPath(path), i }));
        return send(res, 200, { 'Content-Type': 'application/json' }, `${goJson(items)}\n`);
      }
      case '/redirect/': {
        const status = url.searchParams.get('status');
        const code = Number(status);
        if (status === null || !Number.isInteger(code) || status.trim() === '') return goError(res, 400, `strconv.Atoi: parsing "${status ?? ''}": invalid syntax`);
        return goRedirect(res, `/param_forwarding/${url.search}`, code);
      }
      default:
        // Go's ServeMux redirects a subtree's root without its slash.
        if (SUBTREES.includes(`${path}/`)) return goRedirect(res, `${path}/${url.search}`, 301);
        return goError(res, 404, '404 page not found');
    }
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) goError(res, 500, 'mock backend error');
      else res.destroy();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
