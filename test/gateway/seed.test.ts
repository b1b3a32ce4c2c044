/**
 * The seed config from the Descope integration guide, served unchanged with
 * `jwk_url` pointing at a local JWKS server: health, 401, a valid token
 * reaching the backend, 404 and 405.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { startBackendServer, type BackendServer } from '../support/backend-server.js';
import type { Gateway } from '../../src/gateway/server.js';
import { nowSeconds } from '../support/clock.js';
import type { MemoryLogger } from '../support/logger.js';
import { call, startTestGateway } from './harness.js';

const PID = 'P2seedproject0000000000000000';

describe('gateway: the Descope seed config', () => {
  let jwks: JwksServer;
  let backend: BackendServer;
  let gateway: Gateway;
  let logger: MemoryLogger;
  let key: TestSigningKey;

  before(async () => {
    jwks = await startJwksServer();
    key = await generateSigningKey('seed-1');
    jwks.setKeys(jwksOf(key));
    backend = await startBackendServer();
    const config = {
      version: 3,
      timeout: '3s',
      endpoints: [
        {
          endpoint: '/descope-protected',
          extra_config: { 'auth/validator': { alg: 'RS256', jwk_url: jwks.url(`/v2/keys/${PID}`), disable_jwk_security: false } },
          backend: [{ host: [backend.url], url_pattern: '/__health' }],
        },
      ],
    };
    ({ gateway, logger } = await startTestGateway(config));
  });

  after(async () => {
    await gateway?.close();
    await backend?.close();
    await jwks?.close();
  });

  it('answers /__health with KrakenD\'s body, without auth', async () => {
    const answer = await call(`${gateway.url}/__health`);
    assert.equal(answer.status, 200);
    assert.match(String(answer.headers['content-type']), /^application\/json/);
    const body = answer.json<{ agents: object; now: string; status: string }>();
    assert.deepEqual(Object.keys(body), ['agents', 'now', 'status']);
    assert.deepEqual(body.agents, {});
    assert.equal(body.status, 'ok');
    assert.match(body.now, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,9})? \+0000 UTC m=\+\d+\.\d{9}$/);
  });

  it('rejects a request without a token with 401 and WWW-Authenticate, and never calls the backend', async () => {
    const before = backend.requests.length;
    const answer = await call(`${gateway.url}/descope-protected`);
    assert.equal(answer.status, 401);
    assert.equal(answer.headers['www-authenticate'], 'Bearer');
    assert.match(String(answer.headers['content-type']), /^application\/json/);
    const body = answer.json<{ error: string; code: string }>();
    assert.equal(body.error, 'unauthorized');
    assert.equal(body.code, 'token_missing');
    assert.equal(answer.headers['x-krakend-completed'], undefined);
    assert.equal(backend.requests.length, before);
  });

  it('rejects a token signed by an unknown key with 401 invalid_token', async () => {
    const stranger = await generateSigningKey('seed-1');
    const token = await mintToken(stranger, { sub: 'U1', exp: nowSeconds() + 300 });
    const answer = await call(`${gateway.url}/descope-protected`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(answer.status, 401);
    assert.match(String(answer.headers['www-authenticate']), /error="invalid_token"/);
    assert.equal(answer.json<{ code: string }>().code, 'signature_invalid');
    assert.ok(!logger.text().includes(token), 'the token must never be logged');
  });

  it('passes a valid token through to the backend answer', async () => {
    const token = await mintToken(key, { sub: 'U1', iss: `https://api.descope.com/${PID}`, exp: nowSeconds() + 300 });
    const answer = await call(`${gateway.url}/descope-protected`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['x-krakend-completed'], 'true');
    const echoed = answer.json<{ method: string; path: string; headers: Record<string, string> }>();
    assert.equal(echoed.method, 'GET');
    assert.equal(echoed.path, '/__health');
    // Zero trust: the Authorization header is not in input_headers, so the backend never sees the token.
    assert.equal(echoed.headers.authorization, undefined);
    assert.ok(!logger.text().includes(token));
  });

  it('answers 404 for an unknown path', async () => {
    const answer = await call(`${gateway.url}/nope`);
    assert.equal(answer.status, 404);
    assert.deepEqual(answer.json(), { error: 'not_found' });
  });

  it('answers 405 with Allow for a known path and another method', async () => {
    const answer = await call(`${gateway.url}/descope-protected`, { method: 'DELETE' });
    assert.equal(answer.status, 405);
    assert.equal(answer.headers.allow, 'GET');
    assert.deepEqual(answer.json(), { error: 'method_not_allowed' });
  });

  it('logs one access line per request, without query strings or headers', async () => {
    const count = logger.lines.length;
    await call(`${gateway.url}/nope?secret=hunter2`, { headers: { authorization: 'Bearer abc.def.ghi' } });
    // The access line is written when the response closes, just after the client sees it.
    await logger.waitFor((line) => line.msg === '[SERVICE: Gateway] request' && logger.lines.indexOf(line) >= count);
    const access = logger.lines.slice(count).filter((line) => line.msg === '[SERVICE: Gateway] request');
    assert.equal(access.length, 1);
    const fields = access[0]!.obj as Record<string, unknown>;
    assert.equal(fields.method, 'GET');
    assert.equal(fields.path, '/nope');
    assert.equal(fields.status, 404);
    assert.equal(typeof fields.durationMs, 'number');
    assert.ok(!logger.text().includes('hunter2'));
    assert.ok(!logger.text().includes('abc.def.ghi'));
  });
});
