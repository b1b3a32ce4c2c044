/**
 * The middleware's modes beyond the default answer, over real HTTP on
 * 127.0.0.1 for Express, Fastify and node:http: denials handed to the app's
 * error handling as a PortcullisAuthError, optional mode (no token →
 * anonymous, a bad token still denied, client identity headers still
 * removed), `onDeny` answers and its failures, the typed `handler`/`authOf`
 * helpers refusing requests their middleware never saw, and the option
 * checks.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import express, { type NextFunction, type Request, type Response } from 'express';
import Fastify from 'fastify';
import { get, listen } from './middleware-harness.js';
import { PortcullisAuthError as RootAuthError } from '../../src/index.js';
import { portcullisExpress, PortcullisAuthError } from '../../src/adapters/middleware/express.js';
import { createFastifyHook, portcullisFastify, PortcullisAuthError as FastifyAuthError } from '../../src/adapters/middleware/fastify.js';
import { portcullisMiddleware, withAuthorization } from '../../src/adapters/middleware/node.js';
import type { ValidatorConfig } from '../../src/config/validator-schema.js';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { nowSeconds } from '../support/clock.js';

let jwks: JwksServer;
let key: TestSigningKey;

interface ShopClaims {
  sub: string;
  email: string;
  roles: string[];
}

function validator(extra: Partial<ValidatorConfig> = {}): ValidatorConfig {
  return { alg: 'RS256', jwk_url: jwks.url(), issuer: 'https://issuer.test', audience: ['shop'], propagate_claims: [['sub', 'X-User']], ...extra };
}

async function token(claims: Record<string, unknown> = {}): Promise<string> {
  return mintToken(key, { iss: 'https://issuer.test', aud: 'shop', sub: 'U2alice', email: 'alice@shop.test', roles: ['admin'], exp: nowSeconds() + 600, ...claims });
}

before(async () => {
  key = await generateSigningKey('modes-key');
  jwks = await startJwksServer();
  jwks.setKeys(jwksOf(key));
});
after(() => jwks.close());

describe('PortcullisAuthError', () => {
  test('one class whichever entry it is imported from; carries the answer, never the token', async () => {
    assert.equal(PortcullisAuthError, RootAuthError);
    assert.equal(FastifyAuthError, RootAuthError);
    const guard = portcullisExpress(validator(), { denial: 'error' });
    try {
      await guard.ready();
      const jwt = await token({ exp: nowSeconds() - 3600 });
      const caught = await new Promise<unknown>((resolve) => {
        const req = { headers: { authorization: `Bearer ${jwt}` }, url: '/x', originalUrl: '/x', params: {} } as unknown as Request;
        guard(req, {} as Response, resolve as NextFunction);
      });
      assert.ok(caught instanceof RootAuthError);
      assert.equal(caught.code, 'token_expired');
      assert.equal(caught.status, 401);
      assert.equal(caught.statusCode, 401);
      assert.equal(caught.message, 'The token has expired.');
      assert.match(String(caught.wwwAuthenticate), /^Bearer error="invalid_token"/);
      assert.deepEqual(caught.headers, { 'www-authenticate': caught.wwwAuthenticate, 'cache-control': 'no-store' });
      assert.equal(JSON.parse(caught.body!).code, 'token_expired');
      const everything = JSON.stringify({ ...caught, message: caught.message, stack: caught.stack });
      for (const part of jwt.split('.')) assert.ok(!everything.includes(part), 'no part of the token is in the error');
    } finally {
      guard.close();
    }
  });
});

describe('Express', () => {
  test('denial "error": next(err) reaches the app\'s error handler; the route never runs', async () => {
    const guard = portcullisExpress(validator({ roles: ['root'] }), { denial: 'error' });
    const app = express();
    let ran = 0;
    app.get('/x', guard, (_req, res) => void (ran++, res.send('secret')));
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      assert.ok(err instanceof PortcullisAuthError);
      res.status(err.status).set(err.headers).json({ mine: true, code: err.code });
    });
    const server = await listen(createServer(app));
    try {
      const missing = await get(`${server.url}/x`);
      assert.equal(missing.status, 401);
      assert.equal(missing.headers['www-authenticate'], 'Bearer');
      assert.equal(missing.headers['cache-control'], 'no-store');
      assert.deepEqual(missing.json(), { mine: true, code: 'token_missing' });
      const forbidden = await get(`${server.url}/x`, { authorization: `Bearer ${await token()}` });
      assert.equal(forbidden.status, 403);
      assert.deepEqual(forbidden.json(), { mine: true, code: 'insufficient_roles' });
      assert.equal(ran, 0);
    } finally {
      await server.close();
      guard.close();
    }
  });

  test('denial "error" with Express\'s own final handler: the status and the challenge survive', async () => {
    const guard = portcullisExpress(validator(), { denial: 'error' });
    const app = express();
    // finalhandler prints every error's stack unless the environment is "test".
    app.set('env', 'test');
    app.get('/x', guard, (_req, res) => void res.send('secret'));
    const server = await listen(createServer(app));
    try {
      const answer = await get(`${server.url}/x`, { authorization: 'Bearer a.b.c' });
      assert.equal(answer.status, 401);
      assert.match(String(answer.headers['www-authenticate']), /error="invalid_token"/);
      assert.ok(!answer.text.includes('secret'));
    } finally {
      await server.close();
      guard.close();
    }
  });

  test('optional: no token → anonymous (client identity headers removed); a bad token is still denied', async () => {
    const guard = portcullisExpress<ShopClaims>(validator(), { optional: true });
    const app = express();
    app.get('/feed', guard, guard.handler((req, res) => {
      res.json({ who: req.auth?.claims.email ?? null, xUser: req.headers['x-user'] ?? null, viaAuthOf: guard.authOf(req as never)?.claims.sub ?? null });
    }));
    const server = await listen(createServer(app));
    try {
      const anonymous = await get(`${server.url}/feed`, { 'x-user': 'root' });
      assert.equal(anonymous.status, 200);
      assert.deepEqual(anonymous.json(), { who: null, xUser: null, viaAuthOf: null });

      const signedIn = await get(`${server.url}/feed`, { authorization: `Bearer ${await token()}`, 'x-user': 'root' });
      assert.equal(signedIn.status, 200);
      assert.deepEqual(signedIn.json(), { who: 'alice@shop.test', xUser: 'U2alice', viaAuthOf: 'U2alice' });

      const bad = await get(`${server.url}/feed`, { authorization: 'Bearer a.b.c' });
      assert.equal(bad.status, 401);
      assert.equal(bad.json().code, 'token_malformed');
      const expired = await get(`${server.url}/feed`, { authorization: `Bearer ${await token({ exp: nowSeconds() - 3600 })}` });
      assert.equal(expired.status, 401);
      assert.equal(expired.json().code, 'token_expired');
      // A token in the cookie is a token: present, so verified.
      const badCookie = await get(`${server.url}/feed`, { cookie: 'access_token=a.b.c' });
      assert.equal(badCookie.status, 401);
    } finally {
      await server.close();
      guard.close();
    }
  });

  test('credentialsRequired: false is optional mode', async () => {
    const guard = portcullisExpress(validator(), { credentialsRequired: false });
    const app = express();
    app.get('/x', guard, (req, res) => void res.json({ auth: req.auth ?? null }));
    const server = await listen(createServer(app));
    try {
      assert.deepEqual((await get(`${server.url}/x`)).json(), { auth: null });
      assert.equal((await get(`${server.url}/x`, { authorization: 'Bearer nope' })).status, 401);
    } finally {
      await server.close();
      guard.close();
    }
  });

  test('onDeny answers; if it does not, the built-in answer follows; if it throws, next(err)', async () => {
    const seen: string[] = [];
    const custom = portcullisExpress(validator(), {
      onDeny: (error, _req, res) => void res.status(error.status).json({ custom: error.code }),
    });
    const silent = portcullisExpress(validator(), { onDeny: async (error) => void seen.push(error.code) });
    const failing = portcullisExpress(validator(), {
      onDeny: () => {
        throw new Error('onDeny broke');
      },
    });
    const app = express();
    let ran = 0;
    const route = (_req: Request, res: Response) => void (ran++, res.send('secret'));
    app.get('/custom', custom, route);
    app.get('/silent', silent, route);
    app.get('/failing', failing, route);
    app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => void res.status(500).json({ handled: err.message }));
    const server = await listen(createServer(app));
    try {
      const a = await get(`${server.url}/custom`);
      assert.equal(a.status, 401);
      assert.deepEqual(a.json(), { custom: 'token_missing' });
      const b = await get(`${server.url}/silent`, { authorization: 'Bearer a.b.c' });
      assert.equal(b.status, 401);
      assert.equal(b.json().code, 'token_malformed');
      assert.deepEqual(seen, ['token_malformed']);
      const c = await get(`${server.url}/failing`);
      assert.equal(c.status, 500);
      assert.deepEqual(c.json(), { handled: 'onDeny broke' });
      assert.equal(ran, 0);
    } finally {
      await server.close();
      for (const guard of [custom, silent, failing]) guard.close();
    }
  });

  test('an onDeny that throws a non-Error ("route") cannot skip to another, unguarded route', async () => {
    const guard = portcullisExpress(validator(), {
      onDeny: () => {
        // Express reads next('route') as "go to the next matching route".
        throw 'route';
      },
    });
    const app = express();
    app.set('env', 'test');
    app.get('/x', guard, (_req, res) => void res.send('guarded'));
    app.get('/x', (_req, res) => void res.send('the unguarded twin'));
    const server = await listen(createServer(app));
    try {
      const answer = await get(`${server.url}/x`);
      assert.equal(answer.status, 500);
      assert.ok(!answer.text.includes('unguarded'), answer.text);
    } finally {
      await server.close();
      guard.close();
    }
  });

  test('handler(fn) and authOf refuse a request the middleware never saw (a wiring mistake fails closed)', async () => {
    const guard = portcullisExpress<ShopClaims>(validator());
    const app = express();
    let ran = 0;
    app.get('/guarded', guard, guard.handler((req, res) => void res.json({ email: req.auth.claims.email, roles: req.auth.claims.roles })));
    app.get('/forgotten', guard.handler((_req, res) => void (ran++, res.send('secret'))));
    app.get('/peek', (req, res) => void res.json({ sub: guard.authOf(req).claims.sub }));
    app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => void res.status(500).json({ error: err.message }));
    const server = await listen(createServer(app));
    try {
      const jwt = await token();
      assert.deepEqual((await get(`${server.url}/guarded`, { authorization: `Bearer ${jwt}` })).json(), { email: 'alice@shop.test', roles: ['admin'] });
      const forgotten = await get(`${server.url}/forgotten`, { authorization: `Bearer ${jwt}` });
      assert.equal(forgotten.status, 500);
      assert.match(String(forgotten.json().error), /without its middleware/);
      const peek = await get(`${server.url}/peek`, { authorization: `Bearer ${jwt}` });
      assert.equal(peek.status, 500);
      assert.match(String(peek.json().error), /did not pass through this middleware/);
      assert.equal(ran, 0);
    } finally {
      await server.close();
      guard.close();
    }
  });

  test('bad options throw a TypeError naming the option', () => {
    assert.throws(() => portcullisExpress(validator(), { denial: 'throw' as never }), (e: Error) => e instanceof TypeError && /"denial"/.test(e.message));
    assert.throws(() => portcullisExpress(validator(), { optional: 'yes' as never }), /"optional"/);
    assert.throws(() => portcullisExpress(validator(), { optional: true, credentialsRequired: true } as never), /contradict/);
    assert.throws(() => portcullisExpress(validator(), { onDeny: 'x' as never }), /"onDeny"/);
  });
});

/** A Fastify logger whose lines land in an array. */
function captureLogs(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

describe('Fastify', () => {
  test('denial "error": through the app\'s error handler, or Fastify\'s default one with statusCode and the challenge', async () => {
    const app = Fastify();
    await app.register(async (scope) => {
      await scope.register(portcullisFastify, { validator: validator(), denial: 'error' });
      scope.setErrorHandler(async (error, _request, reply) => {
        assert.ok(error instanceof PortcullisAuthError);
        return reply.code(error.statusCode).headers(error.headers).send({ mine: error.code });
      });
      scope.get('/custom', async () => 'secret');
    });
    await app.register(async (scope) => {
      await scope.register(portcullisFastify, { validator: validator(), denial: 'error' });
      scope.get('/default', async () => 'secret');
    });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const custom = await get(`${url}/custom`);
      assert.equal(custom.status, 401);
      assert.equal(custom.headers['www-authenticate'], 'Bearer');
      assert.deepEqual(custom.json(), { mine: 'token_missing' });

      const fallback = await get(`${url}/default`, { authorization: 'Bearer a.b.c' });
      assert.equal(fallback.status, 401);
      assert.match(String(fallback.headers['www-authenticate']), /error="invalid_token"/);
      assert.equal(fallback.headers['cache-control'], 'no-store');
      assert.deepEqual(fallback.json(), { statusCode: 401, code: 'token_malformed', error: 'Unauthorized', message: 'The token is not a well-formed signed JWT.' });
    } finally {
      await app.close();
    }
  });

  test('a denial is logged through request.log (with its reqId), codes only', async () => {
    const { lines, stream } = captureLogs();
    const app = Fastify({ logger: { level: 'info', stream } });
    await app.register(portcullisFastify, { validator: validator({ roles: ['root'] }) });
    app.get('/x', async () => 'secret');
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const jwt = await token();
      assert.equal((await get(`${url}/x`, { authorization: `Bearer ${jwt}` })).status, 403);
      const denial = lines.find((line) => line.msg === 'portcullis: request denied');
      assert.ok(denial, JSON.stringify(lines));
      assert.equal(denial.code, 'insufficient_roles');
      assert.equal(denial.statusCode, 403);
      const incoming = lines.find((line) => line.msg === 'incoming request');
      assert.equal(denial.reqId, incoming?.reqId, 'the line belongs to the request');
      for (const part of jwt.split('.')) assert.ok(!JSON.stringify(lines).includes(part));
    } finally {
      await app.close();
    }
  });

  test('a global hook with optional mode: anonymous requests get request.auth null, a bad token is denied, onDeny answers', async () => {
    const hook = createFastifyHook<ShopClaims>(validator(), {
      optional: true,
      onDeny: async (error, _request, reply) => void (await reply.code(error.status).send({ custom: error.code })),
    });
    const app = Fastify();
    app.decorateRequest('auth', null);
    app.addHook('onRequest', hook);
    app.get('/feed', hook.handler(async (request) => ({ who: request.auth?.claims.email ?? null, xUser: request.headers['x-user'] ?? null, viaAuthOf: hook.authOf(request)?.claims.sub ?? null })));
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      assert.deepEqual((await get(`${url}/feed`, { 'x-user': 'root' })).json(), { who: null, xUser: null, viaAuthOf: null });
      assert.deepEqual((await get(`${url}/feed`, { authorization: `Bearer ${await token()}` })).json(), { who: 'alice@shop.test', xUser: 'U2alice', viaAuthOf: 'U2alice' });
      const bad = await get(`${url}/feed`, { authorization: 'Bearer a.b.c' });
      assert.equal(bad.status, 401);
      assert.deepEqual(bad.json(), { custom: 'token_malformed' });
    } finally {
      await app.close();
      hook.close();
    }
  });

  test('an onDeny that throws a string is a 500, never the string as a 200 body', async () => {
    const hook = createFastifyHook(validator(), {
      onDeny: () => {
        throw 'oops';
      },
    });
    const app = Fastify();
    app.get('/x', { onRequest: hook }, async () => 'secret');
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const answer = await get(`${url}/x`);
      assert.equal(answer.status, 500);
      assert.ok(!answer.text.includes('secret'));
    } finally {
      await app.close();
      hook.close();
    }
  });

  test('onDeny that throws goes to the error handler; handler(fn) without its hook is refused', async () => {
    const hook = createFastifyHook(validator(), {
      onDeny: () => {
        throw new Error('onDeny broke');
      },
    });
    const app = Fastify();
    let ran = 0;
    app.get('/x', { onRequest: hook }, async () => (ran++, 'secret'));
    app.get('/forgotten', hook.handler(async () => (ran++, 'secret')));
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const broken = await get(`${url}/x`);
      assert.equal(broken.status, 500);
      assert.equal(broken.json().message, 'onDeny broke');
      const forgotten = await get(`${url}/forgotten`, { authorization: `Bearer ${await token()}` });
      assert.equal(forgotten.status, 500);
      assert.equal(ran, 0);
    } finally {
      await app.close();
      hook.close();
    }
  });
});

describe('node:http', () => {
  test('connect-style denial "error" passes a PortcullisAuthError to next', async () => {
    const middleware = portcullisMiddleware(validator(), { denial: 'error' });
    const server = await listen(
      createServer((req, res) => {
        middleware(req, res, (error?: unknown) => {
          if (error instanceof RootAuthError) return void res.writeHead(error.status, { ...error.headers, 'x-mine': '1' }).end(error.code);
          res.end('secret');
        });
      }),
    );
    try {
      const answer = await get(`${server.url}/x`);
      assert.equal(answer.status, 401);
      assert.equal(answer.headers['x-mine'], '1');
      assert.equal(answer.headers['www-authenticate'], 'Bearer');
      assert.equal(answer.text, 'token_missing');
    } finally {
      await server.close();
      middleware.close();
    }
  });

  test('withAuthorization: optional mode, onDeny, and an onDeny failure answered 500 without running the handler', async () => {
    let ran = 0;
    const optional = withAuthorization<ShopClaims>(
      validator(),
      (req, res) => {
        ran++;
        res.end(JSON.stringify({ who: req.auth?.claims.email ?? null, xUser: req.headers['x-user'] ?? null }));
      },
      { optional: true, onDeny: (error, _req, res) => void res.writeHead(error.status, { 'content-type': 'text/plain' }).end(`custom ${error.code}`) },
    );
    const failing = withAuthorization(validator(), () => void ran++, {
      onDeny: async () => {
        throw new Error('onDeny broke');
      },
    });
    const a = await listen(createServer(optional));
    const b = await listen(createServer(failing));
    try {
      assert.deepEqual((await get(`${a.url}/x`, { 'x-user': 'root' })).json(), { who: null, xUser: null });
      assert.deepEqual((await get(`${a.url}/x`, { authorization: `Bearer ${await token()}` })).json(), { who: 'alice@shop.test', xUser: 'U2alice' });
      const bad = await get(`${a.url}/x`, { authorization: 'Bearer a.b.c' });
      assert.equal(bad.status, 401);
      assert.equal(bad.text, 'custom token_malformed');
      assert.equal(ran, 2);
      const broken = await get(`${b.url}/x`);
      assert.equal(broken.status, 500);
      assert.deepEqual(broken.json(), { error: 'internal_error' });
      assert.equal(ran, 2);
    } finally {
      await a.close();
      await b.close();
      optional.close();
      failing.close();
    }
  });
});
