/**
 * Path walks against a real nginx: a route parameter or a token claim that
 * carries an encoded "/", "\", a control byte or a dot segment must never
 * become a different path on the other side. nginx decodes %2F and resolves
 * dot segments before it picks a location (and merges "//"), so whatever the
 * authorizer lets through is re-read there as another resource. Each case
 * reads nginx's access log (raw request line, normalised URI, status) to say
 * exactly what nginx was asked and what it served.
 *
 * How each attack worked before parameters and claims were checked
 * (gateway: `/public/{file}`, `/files/{name}` for role user, `/admin/{x}` for
 * role admin, `/my/orders` → `/tenants/{JWT.tenant}/orders`; forward-auth:
 * `/api/files/{name}` for role user, public `/api/pub/{name}`, `/api/orders/{id}`
 * for role admin, nginx `proxy_pass http://app/;`):
 * - `/public/..%2Fadmin`: file=`../admin`, re-encoded as `..%2Fadmin`; nginx serves `/admin` (ADMIN-SECRET).
 * - `/public/%2e%2e%2fadmin`: the same walk with the dots encoded too.
 * - `/public/x%2F..%2F..%2Fadmin`: two levels up from a fake subfolder; nginx serves `/admin`.
 * - `/files/..%2Fadmin%2Fsecret` with a user token: passes the user check, nginx serves `/admin/secret`.
 * - `/public/a%2Fb`: one parameter becomes two segments `/public/a/b` at nginx.
 * - `/public/..%5Cadmin`: forwarded as is; nginx on Unix keeps `\` in the name, a backend that reads it as a separator walks.
 * - `/public/a%00b`: forwarded; nginx refuses it with 400, so the backend was reached with a NUL.
 * - `/public/a%01b` (and other control bytes): forwarded; nginx serves `/public/a\x01b`.
 * - tenant claim missing or "": `/tenants//orders`, which nginx's merge_slashes serves as `/tenants/orders`.
 * - tenant "../admin": `/tenants/..%2Fadmin/orders`, nginx serves `/admin/orders` (ADMIN-SECRET).
 * - tenant "a/b": nginx serves `/tenants/a/b/orders`.
 * - tenant {"x":1}, ["a"], true, null: JSON text as a tenant id (`/tenants/%7B%22x%22%3A1%7D/orders`, …).
 * - tenant "." or "..": already refused with 403, but with `"error":"forbidden"`, not `unroutable_claim`.
 * - forward-auth `/api/files/..%2forders%2f1` with a user token: matches files/{name} and is allowed, while
 *   nginx normalises the URI to `/api/orders/1` and the app receives `GET /orders/1` (an admin route).
 * - forward-auth `/api/pub/..%2forders%2f1` with no token at all: the same walk through the public route.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startForwardAuth, type ForwardAuthServer } from '../../src/adapters/forward-auth/server.js';
import type { Gateway } from '../../src/gateway/server.js';
import { startBackendServer, unusedPort, type BackendServer } from '../support/backend-server.js';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { nowSeconds } from '../support/clock.js';
import { planFrom } from '../support/plan.js';
import { startTestGateway } from '../gateway/harness.js';
import {
  createAccessLog,
  nginxSkip as skip,
  rawGet,
  startNginx,
  swapOnce,
  walkLogFormat,
  type AccessLog,
  type AccessLogEntry,
  type NginxProcess,
} from './nginx-process.js';

const NOT_FOUND = '{"error":"not_found"}';
const ROUTE_NOT_FOUND = '{"error":"route_not_found"}';
const EXAMPLE_CONF = 'examples/nginx/portcullis.conf';

/** The 403 body for a claim that cannot fill url_pattern; its exact shape is the lead's to settle, either field will do. */
function isUnroutable(body: string): boolean {
  try {
    const parsed = JSON.parse(body) as { code?: unknown; error?: unknown };
    return parsed.code === 'unroutable_claim' || parsed.error === 'unroutable_claim';
  } catch {
    return false;
  }
}

/** One access-log entry as one line, so a failing assertion shows what nginx was asked and what it served. */
const show = (entry: AccessLogEntry): string => `${entry.request} => ${entry.uri} (${entry.status})`;

/**
 * The inside of nginx's `http { }`: a backend with default path handling
 * (merge_slashes on, %2F decoded, dot segments resolved) whose admin area
 * answers with a body no other location has.
 */
function backendSite(dir: string, port: number): string {
  return `
  ${walkLogFormat('walk')}
  server {
    listen 127.0.0.1:${port};
    access_log ${join(dir, 'backend.log')} walk;
    default_type text/plain;
    location = /admin { return 200 "ADMIN-SECRET $uri"; }
    location /admin/ { return 200 "ADMIN-SECRET $uri"; }
    location /public/ { return 200 "PUBLIC $uri"; }
    location /files/ { return 200 "FILE $uri"; }
    location /tenants/ { return 200 "TENANT $uri"; }
    # Not logged: a request the test sends after each case, see settled().
    location = /__flush { access_log off; return 204; }
    location / { return 404 "NGINX-404 $uri"; }
  }`;
}

describe('path walk: the gateway in front of a real nginx backend', { skip }, () => {
  let jwks: JwksServer;
  let key: TestSigningKey;
  let nginx: NginxProcess;
  let nginxPort: number;
  let log: AccessLog;
  let gateway: Gateway;

  const token = (claims: Record<string, unknown>): Promise<string> => mintToken(key, { sub: 'U1', exp: nowSeconds() + 600, ...claims });
  const bearer = async (claims: Record<string, unknown>): Promise<Record<string, string>> => ({ authorization: `Bearer ${await token(claims)}` });

  before(async () => {
    key = await generateSigningKey('walk-gw');
    jwks = await startJwksServer();
    jwks.setKeys(jwksOf(key));
    nginxPort = await unusedPort();
    nginx = await startNginx((dir) => backendSite(dir, nginxPort), [nginxPort]);
    log = createAccessLog(join(nginx.dir, 'backend.log'));
    // no-op: nginx's answer reaches the client byte for byte, so a failure shows which location served it.
    const endpoint = (path: string, urlPattern: string, validator?: { roles?: string[] }) => ({
      endpoint: path,
      output_encoding: 'no-op',
      ...(validator ? { extra_config: { 'auth/validator': { alg: 'RS256', jwk_url: jwks.url(), ...validator } } } : {}),
      backend: [{ host: [`http://127.0.0.1:${nginxPort}`], url_pattern: urlPattern, encoding: 'no-op' }],
    });
    ({ gateway } = await startTestGateway({
      version: 3,
      endpoints: [
        endpoint('/public/{file}', '/public/{file}'),
        endpoint('/files/{name}', '/files/{name}', { roles: ['user'] }),
        endpoint('/admin/{x}', '/admin/{x}', { roles: ['admin'] }),
        endpoint('/my/orders', '/tenants/{JWT.tenant}/orders', {}),
      ],
    }));
  });

  after(async () => {
    await gateway?.close();
    await nginx?.stop();
    await jwks?.close();
  });

  /**
   * nginx (one process, no workers) writes a request's log line in the same
   * event-loop turn as its last response byte, so once it has answered a
   * later request every earlier line is in the file.
   */
  async function settled(): Promise<string[]> {
    assert.equal((await rawGet(nginxPort, '/__flush')).status, 204);
    return log.take().map(show);
  }

  async function throughGateway(path: string, headers: Record<string, string> = {}) {
    log.take();
    const answer = await rawGet(gateway.port, path, headers);
    return { status: answer.status, body: answer.text, nginx: await settled() };
  }

  test('control: the client sends the path as given and nginx really walks it (the backend is exposed)', async () => {
    log.take();
    const direct = await rawGet(nginxPort, '/public/..%2Fadmin');
    assert.deepEqual(
      { status: direct.status, body: direct.text, nginx: await settled() },
      { status: 200, body: 'ADMIN-SECRET /admin', nginx: ['GET /public/..%2Fadmin HTTP/1.1 => /admin (200)'] },
    );
    const viaSlashes = await rawGet(nginxPort, '/tenants//orders');
    assert.deepEqual(
      { status: viaSlashes.status, body: viaSlashes.text, nginx: await settled() },
      { status: 200, body: 'TENANT /tenants/orders', nginx: ['GET /tenants//orders HTTP/1.1 => /tenants/orders (200)'] },
    );
  });

  describe('a route parameter that would walk: 404 not_found, nginx never asked', () => {
    const publicCases = [
      '/public/..%2Fadmin',
      '/public/%2e%2e%2fadmin',
      '/public/x%2F..%2F..%2Fadmin',
      '/public/a%2Fb',
      '/public/..%5Cadmin',
      '/public/%2e%2e',
      '/public/%2E',
      '/public/a%00b',
      '/public/a%01b',
      '/public/a%0Ab',
      '/public/a%1Fb',
      '/public/a%7Fb',
    ];
    for (const path of publicCases) {
      test(`public route: GET ${path}`, async () => {
        assert.deepEqual(await throughGateway(path), { status: 404, body: NOT_FOUND, nginx: [] });
      });
    }

    for (const path of ['/files/..%2Fadmin%2Fsecret', '/files/%2e%2e%2fadmin%2fsecret']) {
      test(`user-only route into the admin one: GET ${path} with a user token`, async () => {
        assert.deepEqual(await throughGateway(path, await bearer({ roles: ['user'] })), { status: 404, body: NOT_FOUND, nginx: [] });
      });
    }
  });

  describe('controls: ordinary parameters still reach nginx, byte for byte', () => {
    test('a plain file name', async () => {
      assert.deepEqual(await throughGateway('/public/readme.txt'), {
        status: 200,
        body: 'PUBLIC /public/readme.txt',
        nginx: ['GET /public/readme.txt HTTP/1.1 => /public/readme.txt (200)'],
      });
    });

    test('an encoded space, and dots that are not a dot segment', async () => {
      assert.deepEqual(await throughGateway('/public/a%20b.txt'), {
        status: 200,
        body: 'PUBLIC /public/a b.txt',
        nginx: ['GET /public/a%20b.txt HTTP/1.1 => /public/a b.txt (200)'],
      });
      assert.deepEqual(await throughGateway('/public/...'), {
        status: 200,
        body: 'PUBLIC /public/...',
        nginx: ['GET /public/... HTTP/1.1 => /public/... (200)'],
      });
    });

    test('roles: a user reads files, only an admin reads the admin area', async () => {
      const user = await bearer({ roles: ['user'] });
      assert.deepEqual(await throughGateway('/files/report.txt', user), {
        status: 200,
        body: 'FILE /files/report.txt',
        nginx: ['GET /files/report.txt HTTP/1.1 => /files/report.txt (200)'],
      });
      const denied = await throughGateway('/admin/secret', user);
      assert.deepEqual({ status: denied.status, nginx: denied.nginx }, { status: 403, nginx: [] });
      assert.deepEqual(await throughGateway('/admin/secret', await bearer({ roles: ['admin'] })), {
        status: 200,
        body: 'ADMIN-SECRET /admin/secret',
        nginx: ['GET /admin/secret HTTP/1.1 => /admin/secret (200)'],
      });
    });
  });

  describe('a {JWT.tenant} claim that cannot be a path segment: 403 unroutable_claim, nginx never asked', () => {
    const claims: [string, Record<string, unknown>][] = [
      ['missing', {}],
      ['""', { tenant: '' }],
      ['"../admin"', { tenant: '../admin' }],
      ['"a/b"', { tenant: 'a/b' }],
      ['"..\\\\admin"', { tenant: '..\\admin' }],
      ['".."', { tenant: '..' }],
      ['"."', { tenant: '.' }],
      ['"a\\u0000b"', { tenant: 'a\u0000b' }],
      ['"a\\nb"', { tenant: 'a\nb' }],
      ['"a\\u007fb"', { tenant: 'a\u007fb' }],
      ['{"x":1}', { tenant: { x: 1 } }],
      ['["a"]', { tenant: ['a'] }],
      ['true', { tenant: true }],
      ['null', { tenant: null }],
    ];
    for (const [label, claim] of claims) {
      test(`tenant ${label}`, async () => {
        const answer = await throughGateway('/my/orders', await bearer(claim));
        assert.deepEqual(
          { status: answer.status, body: isUnroutable(answer.body) ? 'unroutable_claim' : answer.body, nginx: answer.nginx },
          { status: 403, body: 'unroutable_claim', nginx: [] },
        );
      });
    }

    test('control: a string or a number tenant fills the pattern', async () => {
      assert.deepEqual(await throughGateway('/my/orders', await bearer({ tenant: 'acme' })), {
        status: 200,
        body: 'TENANT /tenants/acme/orders',
        nginx: ['GET /tenants/acme/orders HTTP/1.1 => /tenants/acme/orders (200)'],
      });
      assert.deepEqual(await throughGateway('/my/orders', await bearer({ tenant: 42 })), {
        status: 200,
        body: 'TENANT /tenants/42/orders',
        nginx: ['GET /tenants/42/orders HTTP/1.1 => /tenants/42/orders (200)'],
      });
    });
  });
});

describe('path walk: nginx auth_request and forward-auth, proxy_pass with a URI part', { skip }, () => {
  let jwks: JwksServer;
  let key: TestSigningKey;
  let app: BackendServer;
  let forwardAuth: ForwardAuthServer;
  let nginx: NginxProcess;
  let frontPort: number;
  let log: AccessLog;

  const bearer = async (roles: string[]): Promise<Record<string, string>> => ({
    authorization: `Bearer ${await mintToken(key, { sub: 'U1', roles, exp: nowSeconds() + 600 })}`,
  });

  before(async () => {
    key = await generateSigningKey('walk-fa');
    jwks = await startJwksServer();
    jwks.setKeys(jwksOf(key));
    app = await startBackendServer();
    const validator = (roles: string[]) => ({ 'auth/validator': { alg: 'RS256', jwk_url: jwks.url(), roles } });
    const plan = planFrom({
      version: 3,
      host: ['http://127.0.0.1:8000'],
      endpoints: [
        { endpoint: '/api/files/{name}', extra_config: validator(['user']), backend: [{ url_pattern: '/files/{name}' }] },
        { endpoint: '/api/pub/{name}', backend: [{ url_pattern: '/pub/{name}' }] },
        { endpoint: '/api/orders/{id}', extra_config: validator(['admin']), backend: [{ url_pattern: '/orders/{id}' }] },
      ],
    });
    forwardAuth = await startForwardAuth(plan, { proxy: 'nginx', host: '127.0.0.1', port: 0, accessLog: false });
    await forwardAuth.ready();

    // The shipped auth location, in front of a prefix location whose proxy_pass has a URI part:
    // nginx then sends the app the decoded, normalised URI, not the one portcullis checked.
    frontPort = await unusedPort();
    const swap = (text: string, from: string, to: string): string => swapOnce(text, from, to, EXAMPLE_CONF);
    nginx = await startNginx((dir) => {
      let site = readFileSync(EXAMPLE_CONF, 'utf8');
      site = swap(site, 'server 127.0.0.1:9000;', `server 127.0.0.1:${forwardAuth.port};`);
      site = swap(site, 'server 127.0.0.1:8000;', `server 127.0.0.1:${app.port};`);
      site = swap(
        site,
        'listen 8080;',
        `listen 127.0.0.1:${frontPort};\n    access_log ${join(dir, 'front.log')} walk;\n    location = /__flush { access_log off; return 204; }`,
      );
      site = swap(site, 'location / {', 'location /api/ {');
      site = swap(site, 'proxy_pass http://app;', 'proxy_pass http://app/;');
      return `  ${walkLogFormat('walk')}\n${site}`;
    }, [frontPort]);
    log = createAccessLog(join(nginx.dir, 'front.log'));
  });

  after(async () => {
    await nginx?.stop();
    await forwardAuth?.close();
    await app?.close();
    await jwks?.close();
  });

  /** What the client got, what the app received (its own record, complete once nginx answered) and nginx's log line. */
  async function throughNginx(path: string, headers: Record<string, string> = {}) {
    log.take();
    const before = app.requests.length;
    const answer = await rawGet(frontPort, path, headers);
    assert.equal((await rawGet(frontPort, '/__flush')).status, 204);
    return { status: answer.status, app: app.requests.slice(before).map((received) => `${received.method} ${received.url}`), nginx: log.take().map(show) };
  }

  /** The check exactly as the shipped auth location sends it, straight to forward-auth. */
  async function check(uri: string, headers: Record<string, string>) {
    const answer = await rawGet(forwardAuth.port, '/auth', { ...headers, 'x-original-method': 'GET', 'x-original-uri': uri, 'x-original-host': 'localhost' });
    return { status: answer.status, body: answer.text };
  }

  const walks: [string, string, () => Promise<Record<string, string>>][] = [
    ['/api/files/..%2forders%2f1', '/api/orders/1', () => bearer(['user'])],
    ['/api/files/x%2f..%2f..%2forders%2f1', '/api/orders/1', () => bearer(['user'])],
    ['/api/pub/..%2forders%2f1', '/api/orders/1', async () => ({})],
  ];
  for (const [path, normalised, headers] of walks) {
    test(`GET ${path}: forward-auth denies the unknown route, nginx answers 403, the app gets nothing`, async () => {
      const sent = await headers();
      assert.deepEqual(
        { client: await throughNginx(path, sent), check: await check(path, sent) },
        { client: { status: 403, app: [], nginx: [`GET ${path} HTTP/1.1 => ${normalised} (403)`] }, check: { status: 403, body: ROUTE_NOT_FOUND } },
      );
    });
  }

  test('GET /api/files/..%5corders%5c1: a backslash in the parameter is an unknown route too', async () => {
    const user = await bearer(['user']);
    const answer = await throughNginx('/api/files/..%5corders%5c1', user);
    assert.deepEqual(
      { client: { status: answer.status, app: answer.app }, check: await check('/api/files/..%5corders%5c1', user) },
      { client: { status: 403, app: [] }, check: { status: 403, body: ROUTE_NOT_FOUND } },
    );
  });

  describe('controls', () => {
    test('a user reads a file; nginx passes the name on re-encoded', async () => {
      const user = await bearer(['user']);
      assert.deepEqual(await throughNginx('/api/files/report.txt', user), {
        status: 200,
        app: ['GET /files/report.txt'],
        nginx: ['GET /api/files/report.txt HTTP/1.1 => /api/files/report.txt (200)'],
      });
      assert.deepEqual(await throughNginx('/api/files/a%20b.txt', user), {
        status: 200,
        app: ['GET /files/a%20b.txt'],
        nginx: ['GET /api/files/a%20b.txt HTTP/1.1 => /api/files/a b.txt (200)'],
      });
    });

    test('the orders route is the admin\'s: a user gets 403 and the app nothing, an admin gets through', async () => {
      assert.deepEqual(await throughNginx('/api/orders/1', await bearer(['user'])), {
        status: 403,
        app: [],
        nginx: ['GET /api/orders/1 HTTP/1.1 => /api/orders/1 (403)'],
      });
      assert.deepEqual(await throughNginx('/api/orders/1', await bearer(['admin'])), {
        status: 200,
        app: ['GET /orders/1'],
        nginx: ['GET /api/orders/1 HTTP/1.1 => /api/orders/1 (200)'],
      });
    });

    test('the public route needs no token', async () => {
      assert.deepEqual(await throughNginx('/api/pub/readme'), {
        status: 200,
        app: ['GET /pub/readme'],
        nginx: ['GET /api/pub/readme HTTP/1.1 => /api/pub/readme (200)'],
      });
    });
  });
});
