/**
 * CORS as a browser sees it: headless Chromium loads a page from one origin
 * (127.0.0.1:A) whose script calls the gateway on another (127.0.0.1:B), and
 * the test asserts what the page could read. Simple and preflighted requests,
 * with and without credentials (an HttpOnly cookie the validator reads, and a
 * bearer token), from the allowed origin, from another port, and from
 * `localhost`, which is another origin than `127.0.0.1`. The browser is the
 * judge here: the HTTP-level details are in cors.test.ts.
 *
 * One browser for the whole file; skipped when Chromium is not installed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer } from '../support/jwks-server.js';
import { startBackendServer, type BackendServer } from '../support/backend-server.js';
import { nowSeconds } from '../support/clock.js';
import type { MemoryLogger } from '../support/logger.js';
import type { Gateway } from '../../src/gateway/server.js';
import { ACCESS_MESSAGE } from '../../src/gateway/access-log.js';
import { startTestGateway } from './harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `Chromium not found at ${CHROMIUM} (set CHROMIUM_PATH)`;

/** What the page's script could see of one fetch. */
type Seen = { read: true; status: number; total: string | null; hidden: string | null; body: string } | { read: false; error: string };

async function startPageServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>app</title><p>app</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('gateway: CORS in a browser', { skip }, () => {
  let jwks: JwksServer;
  let backend: BackendServer;
  let gateway: Gateway;
  let logger: MemoryLogger;
  let browser: Browser;
  let context: BrowserContext;
  let app: { server: Server; port: number };
  let other: { server: Server; port: number };
  let token: string;
  const pages = new Map<string, Page>();

  before(async () => {
    jwks = await startJwksServer();
    const key = await generateSigningKey('browser-1');
    jwks.setKeys(jwksOf(key));
    token = await mintToken(key, { sub: 'alice', exp: nowSeconds() + 600 });
    backend = await startBackendServer();
    backend.on('/items', (_req, res) => {
      // The backend's own "*" would make a credentialed read fail; the gateway's answer must replace it.
      res.writeHead(200, { 'content-type': 'application/json', 'x-total': '42', 'x-hidden': 'no', 'access-control-allow-origin': '*' });
      res.end('{"items":[1,2]}');
    });
    app = await startPageServer();
    other = await startPageServer();
    const validator = { alg: 'RS256', jwk_url: jwks.url('/jwks'), propagate_claims: [['sub', 'X-User']] };
    ({ gateway, logger } = await startTestGateway({
      version: 3,
      extra_config: {
        'security/cors': {
          allow_origins: [`http://127.0.0.1:${app.port}`],
          allow_methods: ['GET', 'POST', 'PUT'],
          allow_headers: ['Authorization', 'Content-Type', 'X-Custom'],
          expose_headers: ['X-Total'],
          allow_credentials: true,
        },
      },
      endpoints: [
        { endpoint: '/items', output_encoding: 'no-op', backend: [{ host: [backend.url], url_pattern: '/items' }] },
        { endpoint: '/me', input_headers: ['X-User'], extra_config: { 'auth/validator': validator }, backend: [{ host: [backend.url], url_pattern: '/me' }] },
        { endpoint: '/orders', method: 'PUT', extra_config: { 'auth/validator': validator }, backend: [{ host: [backend.url], url_pattern: '/orders' }] },
      ],
    }));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    context = await browser.newContext();
    // Cookies are per host, not per port: the gateway on 127.0.0.1:B gets it on credentialed calls (same site).
    await context.addCookies([{ name: 'access_token', value: token, domain: '127.0.0.1', path: '/', httpOnly: true, sameSite: 'Lax' }]);
  });

  after(async () => {
    await browser?.close();
    await gateway?.close();
    await backend?.close();
    await jwks?.close();
    for (const page of [app, other]) page?.server.close();
  });

  /** A tab on `origin`, opened once. */
  async function pageAt(origin: string): Promise<Page> {
    let page = pages.get(origin);
    if (page === undefined) {
      page = await context.newPage();
      await page.goto(`${origin}/`);
      pages.set(origin, page);
    }
    return page;
  }

  async function fetchFrom(origin: string, path: string, init: RequestInit = {}): Promise<Seen> {
    const page = await pageAt(origin);
    return page.evaluate(
      async ({ url, init }) => {
        try {
          const response = await fetch(url, init);
          return {
            read: true as const,
            status: response.status,
            total: response.headers.get('x-total'),
            hidden: response.headers.get('x-hidden'),
            body: await response.text(),
          };
        } catch (error) {
          return { read: false as const, error: String(error) };
        }
      },
      { url: `${gateway.url}${path}`, init },
    );
  }

  const appOrigin = () => `http://127.0.0.1:${app.port}`;
  const preflights = (path: string) =>
    logger.lines.filter((line) => line.msg === ACCESS_MESSAGE && (line.obj as { method?: string }).method === 'OPTIONS' && (line.obj as { path?: string }).path === path).length;

  it('the allowed origin reads a simple answer, only the exposed headers, with or without credentials', async () => {
    for (const credentials of ['same-origin', 'include'] as const) {
      const seen = await fetchFrom(appOrigin(), '/items', { credentials });
      assert.deepEqual(seen, { read: true, status: 200, total: '42', hidden: null, body: '{"items":[1,2]}' }, credentials);
    }
  });

  it('the HttpOnly session cookie goes only with credentials: include, and the page reads both the 200 and the 401', async () => {
    const withCookie = await fetchFrom(appOrigin(), '/me', { credentials: 'include' });
    assert.equal(withCookie.read && withCookie.status, 200);
    assert.equal(withCookie.read && (JSON.parse(withCookie.body) as { headers: Record<string, string> }).headers['x-user'], 'alice');
    const without = await fetchFrom(appOrigin(), '/me');
    assert.equal(without.read && without.status, 401);
  });

  it('a preflighted PUT with a bearer token passes the preflight (answered before the validator); one with a header not allowed is never sent', async () => {
    const before = preflights('/orders');
    const seen = await fetchFrom(appOrigin(), '/orders', { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'x-custom': '1', 'content-type': 'application/json' }, body: '{"n":1}' });
    assert.equal(seen.read && seen.status, 200);
    assert.equal(seen.read && (JSON.parse(seen.body) as { body: string }).body, '{"n":1}');
    assert.equal(preflights('/orders'), before + 1);

    // A header outside allow_headers fails the preflight: the page reads nothing and the PUT is never sent.
    const puts = backend.received('/orders').length;
    const refused = await fetchFrom(appOrigin(), '/orders', { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'x-other': '1' } });
    assert.equal(refused.read, false);
    assert.match((refused as { error: string }).error, /TypeError: Failed to fetch/);
    assert.equal(backend.received('/orders').length, puts);
  });

  it('another port, and localhost for 127.0.0.1, are other origins: nothing readable, and no preflighted call is sent', async () => {
    for (const origin of [`http://127.0.0.1:${other.port}`, `http://localhost:${app.port}`]) {
      const items = backend.received('/items').length;
      const simple = await fetchFrom(origin, '/items');
      assert.equal(simple.read, false, origin);
      // A simple request is sent; CORS only keeps the answer from the page.
      assert.equal(backend.received('/items').length, items + 1, origin);
      const puts = backend.received('/orders').length;
      const preflighted = await fetchFrom(origin, '/orders', { method: 'PUT', headers: { authorization: `Bearer ${token}` } });
      assert.equal(preflighted.read, false, origin);
      assert.equal(backend.received('/orders').length, puts, origin);
    }
  });
});
