/**
 * The Node middleware over real HTTP on 127.0.0.1: `req.auth` on allow, the
 * propagated claim headers replacing client-sent copies, RFC 6750 denials,
 * route parameters reaching tenant rules, and a query-string token inside a
 * mounted Express router.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import { request } from 'undici';
import { get, listen } from './middleware-harness.js';
import { portcullisExpress } from '../../src/adapters/middleware/express.js';
import { createFastifyHook, portcullisFastify } from '../../src/adapters/middleware/fastify.js';
import { portcullisMiddleware, withAuthorization } from '../../src/adapters/middleware/node.js';
import { createAuthorizer } from '../../src/runtime/create-authorizer.js';
import type { ValidatorConfig } from '../../src/config/validator-schema.js';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { nowSeconds } from '../support/clock.js';

let jwks: JwksServer;
let key: TestSigningKey;

function validator(extra: Partial<ValidatorConfig> = {}): ValidatorConfig {
  return {
    alg: 'RS256',
    jwk_url: jwks.url(),
    issuer: 'https://issuer.test',
    audience: ['shop'],
    propagate_claims: [
      ['sub', 'X-User'],
      ['email', 'X-Email'],
    ],
    ...extra,
  };
}

async function token(claims: Record<string, unknown> = {}): Promise<string> {
  return mintToken(key, { iss: 'https://issuer.test', aud: 'shop', sub: 'U2alice', roles: ['admin'], exp: nowSeconds() + 600, tenants: { T1: { roles: ['admin'] } }, ...claims });
}

before(async () => {
  key = await generateSigningKey('mw-key');
  jwks = await startJwksServer();
  jwks.setKeys(jwksOf(key));
});
after(() => jwks.close());

describe('node:http', () => {
  test('allow: req.auth holds the claims; client copies of claim headers are replaced', async () => {
    const middleware = portcullisMiddleware(validator());
    const server = await listen(
      createServer((req, res) => {
        middleware(req, res, () => {
          const auth = (req as unknown as { auth: { claims: Record<string, unknown>; headers: unknown[] } }).auth;
          res.end(JSON.stringify({ sub: auth.claims.sub, xUser: req.headers['x-user'], xEmail: req.headers['x-email'], count: auth.headers.length }));
        });
      }),
    );
    try {
      const answer = await get(`${server.url}/x`, { authorization: `Bearer ${await token()}`, 'x-user': 'root', 'x-email': 'forged@evil.test' });
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.json(), { sub: 'U2alice', xUser: 'U2alice', xEmail: '', count: 2 });
    } finally {
      await server.close();
      middleware.close();
    }
  });

  test('deny: status, RFC 6750 challenge and JSON body; the handler never runs', async () => {
    let ran = false;
    const listener = withAuthorization(validator({ roles: ['root'] }), (_req, res) => {
      ran = true;
      res.end('secret');
    });
    const server = await listen(createServer(listener));
    try {
      const missing = await get(`${server.url}/x`);
      assert.equal(missing.status, 401);
      assert.equal(missing.headers['www-authenticate'], 'Bearer');
      assert.equal(missing.headers['content-type'], 'application/json; charset=utf-8');
      assert.deepEqual(missing.json(), { error: 'unauthorized', code: 'token_missing', message: 'No bearer token was presented.' });

      const bad = await get(`${server.url}/x`, { authorization: 'Bearer a.b.c' });
      assert.equal(bad.status, 401);
      assert.match(String(bad.headers['www-authenticate']), /^Bearer error="invalid_token", error_description="/);

      const forbidden = await get(`${server.url}/x`, { authorization: `Bearer ${await token()}` });
      assert.equal(forbidden.status, 403);
      assert.match(String(forbidden.headers['www-authenticate']), /error="insufficient_scope"/);
      assert.equal(forbidden.json().code, 'insufficient_roles');
      assert.equal(ran, false);
    } finally {
      await server.close();
      listener.close();
    }
  });

  test('error_body false: the challenge alone, no body', async () => {
    const listener = withAuthorization(validator({ error_body: false }), (_req, res) => res.end('ok'));
    const server = await listen(createServer(listener));
    try {
      const answer = await get(`${server.url}/x`, { authorization: 'Bearer nope' });
      assert.equal(answer.status, 401);
      assert.equal(answer.text, '');
      assert.equal(answer.headers['content-type'], undefined);
      assert.ok(answer.headers['www-authenticate']);
    } finally {
      await server.close();
      listener.close();
    }
  });
});

describe('Express', () => {
  test('route parameters reach tenant rules; a query token is read inside a mounted router', async () => {
    const tenantGuard = portcullisExpress(validator({ tenant: { from: 'param', name: 'tenant', roles: ['admin'] }, query_key: 'access_token' }));
    const app = express();
    const router = express.Router();
    router.get('/t/:tenant/orders', tenantGuard, (req, res) => {
      res.json({ sub: req.auth?.claims.sub, tenant: req.params.tenant });
    });
    app.use('/api', router);
    const server = await listen(createServer(app));
    try {
      const jwt = await token();
      const allowed = await get(`${server.url}/api/t/T1/orders`, { authorization: `Bearer ${jwt}` });
      assert.equal(allowed.status, 200);
      assert.deepEqual(allowed.json(), { sub: 'U2alice', tenant: 'T1' });

      const other = await get(`${server.url}/api/t/T2/orders`, { authorization: `Bearer ${jwt}` });
      assert.equal(other.status, 403);
      assert.equal(other.json().code, 'tenant_not_allowed');

      const viaQuery = await get(`${server.url}/api/t/T1/orders?access_token=${jwt}`);
      assert.equal(viaQuery.status, 200);
    } finally {
      await server.close();
      tenantGuard.close();
    }
  });

  test('an authorizer built elsewhere can be shared by several middlewares', async () => {
    const shared = createAuthorizer(validator());
    const app = express();
    app.get('/a', portcullisExpress(shared), (req, res) => void res.json({ who: req.auth?.claims.sub }));
    app.get('/b', portcullisExpress(shared), (req, res) => void res.json({ who: req.auth?.claims.sub }));
    const server = await listen(createServer(app));
    try {
      const jwt = await token();
      assert.equal((await get(`${server.url}/a`, { authorization: `Bearer ${jwt}` })).json().who, 'U2alice');
      assert.equal((await get(`${server.url}/b`, { authorization: `Bearer ${jwt}` })).json().who, 'U2alice');
      assert.equal(jwks.requestCount('/jwks') >= 1, true);
      assert.equal((await get(`${server.url}/b`)).status, 401);
    } finally {
      await server.close();
      shared.close();
    }
  });
});

describe('Fastify', () => {
  test('the plugin guards its scope before the body is read; request.auth on allow', async () => {
    const app = Fastify();
    let bodiesParsed = 0;
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
      bodiesParsed++;
      done(null, JSON.parse(body as string));
    });
    await app.register(async (scope) => {
      await scope.register(portcullisFastify, { validator: validator({ tenant: { from: 'param', name: 'tenant' } }) });
      scope.post('/t/:tenant/orders', async (request) => ({ sub: request.auth?.claims.sub, xUser: request.headers['x-user'] }));
    });
    app.get('/open', async (request) => ({ auth: request.auth ?? null }));
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const jwt = await token();
      const post = (path: string, headers: Record<string, string>) =>
        request(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"a":1}' });

      const allowed = await post('/t/T1/orders', { authorization: `Bearer ${jwt}`, 'x-user': 'forged' });
      assert.equal(allowed.statusCode, 200);
      assert.deepEqual(await allowed.body.json(), { sub: 'U2alice', xUser: 'U2alice' });
      assert.equal(bodiesParsed, 1);

      const denied = await post('/t/T9/orders', { authorization: `Bearer ${jwt}` });
      assert.equal(denied.statusCode, 403);
      assert.match(String(denied.headers['www-authenticate']), /error="insufficient_scope"/);
      assert.equal(((await denied.body.json()) as { code: string }).code, 'tenant_not_allowed');
      const missing = await post('/t/T1/orders', {});
      assert.equal(missing.statusCode, 401);
      assert.equal(missing.headers['www-authenticate'], 'Bearer');
      await missing.body.text();
      assert.equal(bodiesParsed, 1, 'a denied request body is never parsed');

      // Routes outside the registering scope are not guarded.
      assert.deepEqual((await get(`${url}/open`)).json(), { auth: null });
    } finally {
      await app.close();
    }
  });

  test('createFastifyHook guards a single route', async () => {
    const hook = createFastifyHook(validator());
    const app = Fastify();
    app.get('/guarded', { onRequest: hook }, async (request) => ({ sub: request.auth?.claims.sub }));
    app.get('/free', async () => ({ ok: true }));
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      assert.equal((await get(`${url}/guarded`)).status, 401);
      assert.equal((await get(`${url}/guarded`, { authorization: `Bearer ${await token()}` })).json().sub, 'U2alice');
      assert.equal((await get(`${url}/free`)).status, 200);
    } finally {
      await app.close();
      hook.close();
    }
  });
});

describe('spoofed identity headers are gone from every header view a handler can read', () => {
  // Node exposes request headers as `headers`, `headersDistinct` and `rawHeaders`; CGI-style code reads X_User as X-User.
  function views(req: { headers: Record<string, unknown>; headersDistinct: Record<string, unknown>; rawHeaders: string[] }) {
    const raw: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]!.toLowerCase();
      if (name.replace(/_/g, '-').startsWith('x-user') || name.replace(/_/g, '-') === 'x-tenant-id') raw.push(`${name}=${req.rawHeaders[i + 1]}`);
    }
    return {
      headers: [req.headers['x-user'], req.headers['x_user'], req.headers['x-tenant-id'], req.headers['x_tenant_id']],
      distinct: [req.headersDistinct['x-user'], req.headersDistinct['x_user'], req.headersDistinct['x_tenant_id']],
      raw: raw.sort(),
    };
  }
  const expected = {
    // JSON turns absent values into null.
    headers: ['U2alice', null, 'T1', null],
    distinct: [['U2alice'], null, null],
    raw: ['x-tenant-id=T1', 'x-user=U2alice'],
  };
  const spoofs = async (): Promise<string[]> => [
    'authorization', `Bearer ${await token()}`,
    'x-user', 'root',
    'X-User', 'root2',
    'X_User', 'root3',
    'x-tenant-id', 'T1',
    'X_Tenant_Id', 'T2',
  ];
  const guarded = () => validator({ propagate_claims: [['sub', 'X-User']], tenant: { from: 'header' } });

  async function send(url: string): Promise<Record<string, unknown>> {
    const response = await request(url, { headers: await spoofs() });
    assert.equal(response.statusCode, 200);
    return (await response.body.json()) as Record<string, unknown>;
  }

  test('node:http', async () => {
    const middleware = portcullisMiddleware(guarded());
    const server = await listen(createServer((req, res) => middleware(req, res, () => res.end(JSON.stringify(views(req as never))))));
    try {
      assert.deepEqual(await send(`${server.url}/x`), expected);
    } finally {
      await server.close();
      middleware.close();
    }
  });

  test('Express', async () => {
    const app = express();
    const middleware = portcullisExpress(guarded());
    app.get('/x', middleware, (req, res) => {
      res.json(views(req as never));
    });
    const server = await listen(createServer(app));
    try {
      assert.deepEqual(await send(`${server.url}/x`), expected);
    } finally {
      await server.close();
      middleware.close();
    }
  });

  test('Fastify', async () => {
    const app = Fastify();
    await app.register(portcullisFastify, { validator: guarded() });
    app.get('/x', async (request) => ({ ...views(request.raw as never), fastifyHeaders: request.headers['x-user'] }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const address = app.server.address() as AddressInfo;
      assert.deepEqual(await send(`http://127.0.0.1:${address.port}/x`), { ...expected, fastifyHeaders: 'U2alice' });
    } finally {
      await app.close();
    }
  });
});
