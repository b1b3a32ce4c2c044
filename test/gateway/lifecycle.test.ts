/**
 * Start, stop and the edges of the request path: a broken validator stops
 * startup, health can be renamed or removed, a key fetched on demand (the
 * asynchronous authorize path) lets the request through, close() drains.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { createConnection } from 'node:net';
import { ConfigError } from '../../src/config/validate.js';
import { startGateway, type Gateway } from '../../src/gateway/server.js';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer } from '../support/jwks-server.js';
import { startBackendServer, unusedPort, type BackendServer } from '../support/backend-server.js';
import { ManualClock, nowSeconds } from '../support/clock.js';
import { createMemoryLogger } from '../support/logger.js';
import { planFrom } from '../support/plan.js';
import { call, startTestGateway } from './harness.js';

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('gateway lifecycle', () => {
  let backend: BackendServer;
  let jwks: JwksServer;

  before(async () => {
    backend = await startBackendServer();
    jwks = await startJwksServer();
  });

  after(async () => {
    await backend?.close();
    await jwks?.close();
  });

  it('refuses to start, and listens on nothing, when a validator cannot be built', async () => {
    const port = await unusedPort();
    const plan = planFrom({
      version: 3,
      endpoints: [
        {
          endpoint: '/x',
          extra_config: { 'auth/validator': { alg: 'RS256', jwk_local_path: '/nonexistent/jwks.json', disable_jwk_security: true } },
          backend: [{ host: [backend.url], url_pattern: '/x' }],
        },
      ],
    });
    await assert.rejects(startGateway(plan, { host: '127.0.0.1', port }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /^\$\.endpoints\[0\]\.extra_config\["auth\/validator"\]/);
      return true;
    });
    assert.equal(await refused(port), true);
  });

  it('logs "Validator disabled for this endpoint" for endpoints without auth', async () => {
    const logger = createMemoryLogger();
    const gateway = await startGateway(planFrom({ version: 3, endpoints: [{ endpoint: '/open', backend: [{ host: [backend.url], url_pattern: '/o' }] }] }), {
      host: '127.0.0.1',
      port: 0,
      logger,
    });
    await gateway.close();
    assert.ok(logger.lines.some((line) => line.level === 'info' && line.msg === '[ENDPOINT: /open][JWTValidator] Validator disabled for this endpoint'));
  });

  it('serves health on a renamed path, and not at all when disabled', async () => {
    const endpoints = [{ endpoint: '/open', backend: [{ host: [backend.url], url_pattern: '/o' }] }];
    const renamed = await startTestGateway({ version: 3, extra_config: { router: { health_path: '/healthz' } }, endpoints });
    const disabled = await startTestGateway({ version: 3, extra_config: { router: { disable_health: true } }, endpoints });
    try {
      assert.equal((await call(`${renamed.gateway.url}/healthz`)).status, 200);
      assert.equal((await call(`${renamed.gateway.url}/__health`)).status, 404);
      const post = await call(`${renamed.gateway.url}/healthz`, { method: 'POST' });
      assert.equal(post.status, 405);
      assert.equal(post.headers.allow, 'GET, HEAD');
      assert.equal((await call(`${disabled.gateway.url}/__health`)).status, 404);
    } finally {
      await renamed.gateway.close();
      await disabled.gateway.close();
    }
  });

  it('lets a token through once its new key is fetched on demand', async () => {
    const first = await generateSigningKey('rot-1');
    const second = await generateSigningKey('rot-2');
    jwks.setKeys(jwksOf(first));
    const clock = new ManualClock();
    const { gateway } = await startTestGateway(
      {
        version: 3,
        endpoints: [
          {
            endpoint: '/p',
            extra_config: { 'auth/validator': { alg: 'RS256', jwk_url: jwks.url('/jwks'), failed_jwk_key_cooldown: '1s' } },
            backend: [{ host: [backend.url], url_pattern: '/p' }],
          },
        ],
      },
      { gateway: { clock } },
    );
    try {
      jwks.setKeys(jwksOf(first, second));
      // An unknown kid may trigger a download once per cooldown, counted from the startup download.
      clock.advance(1000);
      const token = await mintToken(second, { sub: 'U2', exp: nowSeconds() + 300 });
      const answer = await call(`${gateway.url}/p`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(answer.status, 200);
      assert.equal(answer.json<{ path: string }>().path, '/p');
    } finally {
      await gateway.close();
    }
  });

  it('close() lets an in-flight request finish, then refuses connections', async () => {
    let reached!: (res: ServerResponse) => void;
    const held = new Promise<ServerResponse>((resolve) => (reached = resolve));
    backend.on('/slow-close', (_req, res) => reached(res));
    const { gateway }: { gateway: Gateway } = await startTestGateway({
      version: 3,
      endpoints: [{ endpoint: '/slow', backend: [{ host: [backend.url], url_pattern: '/slow-close' }] }],
    });
    const inFlight = call(`${gateway.url}/slow`);
    // The backend holds the request, so it is in flight for certain when close() starts.
    const res = await held;
    const closed = gateway.close();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"done":true}');
    const answer = await inFlight;
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.json(), { done: true });
    await closed;
    assert.equal(await refused(gateway.port), true);
  });
});
