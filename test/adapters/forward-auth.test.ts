/**
 * The forward-auth server over real HTTP on 127.0.0.1: where it reads the
 * original request for each proxy, what it answers (claim headers on allow,
 * the core's denial, fail-closed 403 for unknown routes, 400 for a broken
 * check request), and the CLI around it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import fc from 'fast-check';
import { startForwardAuth, type ForwardAuthServer } from '../../src/adapters/forward-auth/server.js';
import { createOriginalRequestReader, type ForwardAuthProxy } from '../../src/adapters/forward-auth/original-request.js';
import { createMemoryLogger, type MemoryLogger } from '../support/logger.js';
import { killAll, runPortcullis, spawnPortcullis } from '../support/cli.js';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { nowSeconds } from '../support/clock.js';
import { planFrom } from '../support/plan.js';

let jwks: JwksServer;
let key: TestSigningKey;

function config(jwkUrl: string, validatorExtra: Record<string, unknown> = {}): Record<string, unknown> {
  const validator = {
    alg: 'RS256',
    jwk_url: jwkUrl,
    issuer: 'https://issuer.test',
    audience: ['shop'],
    roles: ['admin'],
    query_key: 'access_token',
    propagate_claims: [
      ['sub', 'X-User'],
      ['tenant', 'X-Tenant'],
    ],
    ...validatorExtra,
  };
  return {
    version: 3,
    host: ['http://127.0.0.1:1'],
    endpoints: [
      { endpoint: '/orders/{id}', method: 'GET', extra_config: { 'auth/validator': validator }, backend: [{ url_pattern: '/orders/{id}' }] },
      { endpoint: '/orders/{id}', method: 'DELETE', extra_config: { 'auth/validator': { ...validator, roles: ['root'] } }, backend: [{ url_pattern: '/x' }] },
      { endpoint: '/public', method: 'GET', backend: [{ url_pattern: '/public' }] },
    ],
  };
}

async function token(claims: Record<string, unknown> = {}): Promise<string> {
  return mintToken(key, { iss: 'https://issuer.test', aud: 'shop', sub: 'U2alice', roles: ['admin'], exp: nowSeconds() + 600, ...claims });
}

async function check(server: ForwardAuthServer, path: string, headers: Record<string, string | string[]>, method = 'GET') {
  const response = await request(`${server.url}${path}`, { method: method as 'GET', headers });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text };
}

before(async () => {
  key = await generateSigningKey('fa-key');
  jwks = await startJwksServer();
  jwks.setKeys(jwksOf(key));
});
after(() => jwks.close());

async function withServer(proxy: ForwardAuthProxy, run: (server: ForwardAuthServer, logger: MemoryLogger) => Promise<void>, options: { pathPrefix?: string; raw?: unknown } = {}) {
  const logger = createMemoryLogger();
  const server = await startForwardAuth(planFrom(options.raw ?? config(jwks.url())), {
    proxy,
    host: '127.0.0.1',
    port: 0,
    logger,
    ...(options.pathPrefix ? { pathPrefix: options.pathPrefix } : {}),
  });
  await server.ready();
  try {
    await run(server, logger);
  } finally {
    await server.close();
  }
}

describe('nginx auth_request checks', () => {
  test('allow: 200, empty body, every propagated claim header (empty when the claim is missing)', async () => {
    await withServer('nginx', async (server, logger) => {
      const jwt = await token();
      const answer = await check(server, '/auth', { authorization: `Bearer ${jwt}`, 'x-original-method': 'GET', 'x-original-uri': '/orders/42?x=1', 'x-original-host': 'shop.example' });
      assert.equal(answer.status, 200);
      assert.equal(answer.text, '');
      assert.equal(answer.headers['x-user'], 'U2alice');
      assert.equal(answer.headers['x-tenant'], '');
      assert.equal(answer.headers['cache-control'], 'no-store');
      assert.ok(!logger.text().includes(jwt), 'the token is never logged');
      assert.match(logger.text(), /"path":"\/orders\/42"/);
    });
  });

  test('deny: the core status, WWW-Authenticate and JSON body', async () => {
    await withServer('nginx', async (server) => {
      const missing = await check(server, '/auth', { 'x-original-method': 'GET', 'x-original-uri': '/orders/42' });
      assert.equal(missing.status, 401);
      assert.equal(missing.headers['www-authenticate'], 'Bearer');
      assert.equal(JSON.parse(missing.text).code, 'token_missing');

      const expired = await check(server, '/auth', { authorization: `Bearer ${await token({ exp: nowSeconds() - 3600 })}`, 'x-original-method': 'GET', 'x-original-uri': '/orders/42' });
      assert.equal(expired.status, 401);
      assert.match(String(expired.headers['www-authenticate']), /^Bearer error="invalid_token"/);
      assert.equal(JSON.parse(expired.text).code, 'token_expired');

      const viewer = await check(server, '/auth', { authorization: `Bearer ${await token({ roles: ['viewer'] })}`, 'x-original-method': 'GET', 'x-original-uri': '/orders/42' });
      assert.equal(viewer.status, 403);
      assert.match(String(viewer.headers['www-authenticate']), /error="insufficient_scope"/);
      assert.equal(viewer.headers['x-user'], undefined, 'no identity on a denial');
    });
  });

  test('the original method picks the endpoint and its policy', async () => {
    await withServer('nginx', async (server) => {
      const admin = `Bearer ${await token()}`;
      const get = await check(server, '/auth', { authorization: admin, 'x-original-method': 'GET', 'x-original-uri': '/orders/42' });
      const del = await check(server, '/auth', { authorization: admin, 'x-original-method': 'DELETE', 'x-original-uri': '/orders/42' });
      assert.equal(get.status, 200);
      assert.equal(del.status, 403);
      assert.equal(JSON.parse(del.text).code, 'insufficient_roles');
    });
  });

  test('unknown routes and methods fail closed with 403', async () => {
    await withServer('nginx', async (server) => {
      const admin = `Bearer ${await token()}`;
      const unknown = await check(server, '/auth', { authorization: admin, 'x-original-method': 'GET', 'x-original-uri': '/admin' });
      assert.equal(unknown.status, 403);
      assert.deepEqual(JSON.parse(unknown.text), { error: 'route_not_found' });
      const method = await check(server, '/auth', { authorization: admin, 'x-original-method': 'POST', 'x-original-uri': '/orders/42' });
      assert.equal(method.status, 403);
      assert.deepEqual(JSON.parse(method.text), { error: 'method_not_allowed' });
      // A dot segment never resolves into a listed route.
      const dots = await check(server, '/auth', { authorization: admin, 'x-original-method': 'GET', 'x-original-uri': '/public/../orders/42' });
      assert.equal(dots.status, 403);
    });
  });

  test('an endpoint without auth/validator is public: 200 with every identity header empty', async () => {
    await withServer('nginx', async (server) => {
      const answer = await check(server, '/auth', { 'x-original-method': 'GET', 'x-original-uri': '/public?q=1', 'x-user': 'root' });
      assert.equal(answer.status, 200);
      // Empty, so a proxy copying them (Envoy, Traefik) overwrites a client-sent X-User.
      assert.equal(answer.headers['x-user'], '');
      assert.equal(answer.headers['x-tenant'], '');
    });
  });

  test('percent-encoded paths, absolute-form URIs and a query-string token', async () => {
    await withServer('nginx', async (server) => {
      const jwt = await token();
      const encoded = await check(server, '/auth', { authorization: `Bearer ${jwt}`, 'x-original-method': 'GET', 'x-original-uri': '/%6Frders/42' });
      assert.equal(encoded.status, 200);
      const absolute = await check(server, '/auth', { authorization: `Bearer ${jwt}`, 'x-original-method': 'GET', 'x-original-uri': 'http://shop.example/orders/42' });
      assert.equal(absolute.status, 200);
      const query = await check(server, '/auth', { 'x-original-method': 'GET', 'x-original-uri': `/orders/42?access_token=${jwt}` });
      assert.equal(query.status, 200);
      assert.equal(query.headers['x-user'], 'U2alice');
    });
  });

  test('a check request without the original method or URI is a 400, never an allow', async () => {
    await withServer('nginx', async (server, logger) => {
      const admin = `Bearer ${await token()}`;
      const noMethod = await check(server, '/auth', { authorization: admin, 'x-original-uri': '/orders/42' });
      assert.equal(noMethod.status, 400);
      assert.deepEqual(JSON.parse(noMethod.text), { error: 'bad_forward_request' });
      const noUri = await check(server, '/auth', { authorization: admin, 'x-original-method': 'GET' });
      assert.equal(noUri.status, 400);
      const repeated = await check(server, '/auth', { authorization: admin, 'x-original-method': 'GET', 'x-original-uri': ['/public', '/orders/42'] });
      assert.equal(repeated.status, 400);
      const notPath = await check(server, '/auth', { authorization: admin, 'x-original-method': 'GET', 'x-original-uri': 'orders/42' });
      assert.equal(notPath.status, 400);
      const badMethod = await check(server, '/auth', { authorization: admin, 'x-original-method': 'G E T', 'x-original-uri': '/orders/42' });
      assert.equal(badMethod.status, 400);
      assert.match(logger.text(), /is the proxy configured for "nginx"/);
    });
  });

  test('the health path answers only requests that are not checks', async () => {
    await withServer('nginx', async (server) => {
      const health = await check(server, '/__health', {});
      assert.equal(health.status, 200);
      assert.deepEqual(JSON.parse(health.text), { status: 'ok' });
      const asCheck = await check(server, '/__health', { 'x-original-method': 'GET', 'x-original-uri': '/orders/42' });
      assert.equal(asCheck.status, 401);
    });
  });

  test('no keys could ever be loaded: 503 keys_unavailable, never an allow', async () => {
    const down = await startJwksServer();
    await down.setMode('status500');
    try {
      await withServer(
        'nginx',
        async (server) => {
          const answer = await check(server, '/auth', { authorization: `Bearer ${await token()}`, 'x-original-method': 'GET', 'x-original-uri': '/orders/42' });
          assert.equal(answer.status, 503);
          assert.equal(JSON.parse(answer.text).code, 'keys_unavailable');
          assert.equal(answer.headers['www-authenticate'], undefined);
        },
        { raw: config(down.url()) },
      );
    } finally {
      await down.close();
    }
  });
});

describe('Traefik forwardAuth checks', () => {
  test('reads X-Forwarded-Method and X-Forwarded-Uri, and ignores a client-sent X-Original-URI', async () => {
    await withServer('traefik', async (server) => {
      const viewer = `Bearer ${await token({ roles: ['viewer'] })}`;
      const answer = await check(server, '/', {
        authorization: viewer,
        'x-forwarded-method': 'GET',
        'x-forwarded-uri': '/orders/42',
        'x-forwarded-host': 'shop.example',
        'x-forwarded-proto': 'https',
        // A client trying to be judged as the public route.
        'x-original-uri': '/public',
        'x-original-method': 'GET',
      });
      assert.equal(answer.status, 403);
      assert.equal(JSON.parse(answer.text).code, 'insufficient_roles');
    });
  });

  test('allow copies the claims into headers Traefik can name in authResponseHeaders', async () => {
    await withServer('traefik', async (server) => {
      const answer = await check(server, '/', { authorization: `Bearer ${await token({ tenant: 'T1' })}`, 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/orders/7' });
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['x-user'], 'U2alice');
      assert.equal(answer.headers['x-tenant'], 'T1');
    });
  });
});

describe('Envoy ext_authz (HTTP service) checks', () => {
  test('the check path minus path_prefix and the check method are the original request', async () => {
    await withServer(
      'envoy',
      async (server) => {
        const admin = `Bearer ${await token()}`;
        const get = await check(server, '/ext_authz/orders/42?x=1', { authorization: admin });
        assert.equal(get.status, 200);
        assert.equal(get.headers['x-user'], 'U2alice');
        const del = await check(server, '/ext_authz/orders/42', { authorization: admin }, 'DELETE');
        assert.equal(del.status, 403);
        const unknown = await check(server, '/ext_authz/admin', { authorization: admin });
        assert.equal(unknown.status, 403);
        // Outside the prefix: only the health path answers.
        assert.equal((await check(server, '/__health', {})).status, 200);
        assert.equal((await check(server, '/orders/42', { authorization: admin })).status, 400);
      },
      { pathPrefix: '/ext_authz' },
    );
  });
});

describe('portcullis forward-auth (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-fa-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('serves checks from a config file and stops cleanly on SIGTERM (the built CLI as a real process)', async () => {
    const file = join(dir, 'fa.json');
    writeFileSync(file, JSON.stringify(config(jwks.url())));
    const run = spawnPortcullis(['forward-auth', '-c', file, '--proxy', 'nginx', '-p', '0', '--listen-ip', '127.0.0.1']);
    try {
      const [, port] = await run.waitForOutput(/Listening on port (\d+)/);
      const response = await request(`http://127.0.0.1:${port}/auth`, {
        headers: { authorization: `Bearer ${await token()}`, 'x-original-method': 'GET', 'x-original-uri': '/orders/1' },
      });
      await response.body.text();
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['x-user'], 'U2alice');
      run.child.kill('SIGTERM');
      assert.deepEqual(await run.ended, { code: 0, signal: null }, run.stderr());
    } finally {
      killAll([run]);
    }
  });

  test('in process: serves with the flags given, then stops with exit 0', async () => {
    const file = join(dir, 'fa-in-process.json');
    writeFileSync(file, JSON.stringify(config(jwks.url())));
    const run = await runPortcullis(['forward-auth', '-c', file, '--proxy', 'envoy', '--path-prefix', '/ext_authz', '-p', '0', '--log-level', 'warn'], {
      whileServing: async (url) => {
        const allowed = await request(`${url}/ext_authz/orders/1`, { headers: { authorization: `Bearer ${await token()}` } });
        await allowed.body.text();
        assert.equal(allowed.statusCode, 200);
        assert.equal(allowed.headers['x-user'], 'U2alice');
      },
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.logs, '', '--log-level warn: no info lines');
  });

  test("says that the config's CORS and test endpoints are the gateway's only", async () => {
    const file = join(dir, 'fa-cors.json');
    writeFileSync(file, JSON.stringify({ ...config(jwks.url()), debug_endpoint: true, extra_config: { 'security/cors': { allow_origins: ['https://app.example'] } } }));
    const run = await runPortcullis(['forward-auth', '-c', file, '--proxy', 'nginx', '-p', '0', '--log-level', 'warn'], { whileServing: async () => undefined });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.logs, /security\/cors is not applied by forward-auth: answer CORS preflights in the proxy, before its auth subrequest/);
    assert.match(run.logs, /debug_endpoint and echo_endpoint are not served by forward-auth/);
  });

  test('a broken config names its JSON path and exits 1; --proxy is required and --path-prefix must start with "/"', async () => {
    const file = join(dir, 'bad.json');
    const raw = config(jwks.url()) as { endpoints: { extra_config?: Record<string, Record<string, unknown>> }[] };
    raw.endpoints[0]!.extra_config!['auth/validator']!.alg = 'none';
    writeFileSync(file, JSON.stringify(raw));
    const bad = await runPortcullis(['forward-auth', '-c', file, '--proxy', 'nginx', '-p', '0']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /ERROR parsing the configuration file: \$\.endpoints\[0\]\.extra_config\["auth\/validator"\]\.alg/);
    assert.equal(bad.logs, '', 'nothing started');

    const noProxy = await runPortcullis(['forward-auth', '-c', file]);
    assert.notEqual(noProxy.code, 0);
    assert.match(noProxy.stderr, /--proxy/);

    const prefix = await runPortcullis(['forward-auth', '-c', file, '--proxy', 'envoy', '--path-prefix', 'ext_authz']);
    assert.notEqual(prefix.code, 0);
    assert.match(prefix.stderr, /--path-prefix <prefix>' argument 'ext_authz' is invalid\. must start with "\/"\./);
  });
});

describe('reading the original request', () => {
  test('any method, URI and prefix: never throws; a check always has a path starting with "/" and no "?"', () => {
    const headerValue = fc.oneof(fc.string(), fc.constantFrom('/', '/orders/1?x=#y', 'http://h', 'https://h/p?q', '*', '//x'));
    fc.assert(
      fc.property(
        fc.constantFrom<ForwardAuthProxy>('nginx', 'traefik', 'envoy'),
        fc.string(),
        fc.option(fc.array(headerValue, { minLength: 1, maxLength: 2 }), { nil: undefined }),
        fc.option(fc.array(headerValue, { minLength: 1, maxLength: 2 }), { nil: undefined }),
        fc.oneof(fc.string(), fc.constant('/ext_authz/orders?x=1')),
        (proxy, prefix, uris, methods, url) => {
          const names = proxy === 'nginx' ? ['x-original-uri', 'x-original-method'] : ['x-forwarded-uri', 'x-forwarded-method'];
          const headersDistinct: Record<string, string[]> = {};
          if (uris) headersDistinct[names[0]!] = uris;
          if (methods) headersDistinct[names[1]!] = methods;
          const result = createOriginalRequestReader(proxy, `/${prefix}`)({ method: 'GET', url, headersDistinct });
          if (result.kind === 'check') {
            assert.ok(result.request.path.startsWith('/'));
            assert.ok(!result.request.path.includes('?'));
            assert.match(result.request.method, /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/);
          }
          if (proxy !== 'envoy' && (uris?.length ?? 0) > 1) assert.equal(result.kind, 'invalid');
        },
      ),
      { numRuns: 2000 },
    );
  });
});
