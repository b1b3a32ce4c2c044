/**
 * A real nginx in front of portcullis forward-auth and an echo backend, all
 * on 127.0.0.1, running examples/nginx/portcullis.conf and portcullis.json as
 * shipped (only ports and the JWKS URL are swapped in). Checks what a client
 * gets (200 / 401 with the challenge / 403) and what the backend receives.
 *
 * nginx comes from the distribution (.ci/run installs it). Without it the
 * test fails in CI and is skipped, with the reason, elsewhere.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startForwardAuth, type ForwardAuthServer } from '../../src/adapters/forward-auth/server.js';
import { compileGateway } from '../../src/config/compile.js';
import { parseConfigText } from '../../src/config/load.js';
import { startBackendServer, unusedPort, type BackendServer } from '../support/backend-server.js';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { nginxSkip as skip, startNginx, swapOnce, type NginxProcess } from './nginx-process.js';
import { nowSeconds } from '../support/clock.js';
import { FORWARD_AUTH_EXAMPLE, forwardAuthExample } from '../support/forward-auth-example.js';

const EXAMPLE_CONF = 'examples/nginx/portcullis.conf';

const swap = (text: string, from: string, to: string): string => swapOnce(text, from, to, EXAMPLE_CONF);

describe('nginx auth_request in front of portcullis forward-auth', { skip }, () => {
  let jwks: JwksServer;
  let key: TestSigningKey;
  let backend: BackendServer;
  let forwardAuth: ForwardAuthServer;
  let nginx: NginxProcess;
  let base: string;
  const token = (claims: Record<string, unknown> = {}) =>
    mintToken(key, { iss: 'https://api.descope.com/v1/apps/P2abc', aud: ['P2abc'], sub: 'U2alice', roles: ['viewer'], exp: nowSeconds() + 600, ...claims });

  before(async () => {
    key = await generateSigningKey('nginx-key');
    jwks = await startJwksServer();
    jwks.setKeys(jwksOf(key));
    backend = await startBackendServer();

    const plan = compileGateway(parseConfigText(JSON.stringify(forwardAuthExample(jwks.url())), FORWARD_AUTH_EXAMPLE).config);
    forwardAuth = await startForwardAuth(plan, { proxy: 'nginx', host: '127.0.0.1', port: 0, accessLog: false });
    await forwardAuth.ready();

    const port = await unusedPort();
    let site = readFileSync(EXAMPLE_CONF, 'utf8');
    site = swap(site, 'server 127.0.0.1:9000;', `server 127.0.0.1:${forwardAuth.port};`);
    site = swap(site, 'server 127.0.0.1:8000;', `server 127.0.0.1:${backend.port};`);
    site = swap(site, 'listen 8080;', `listen 127.0.0.1:${port};`);
    nginx = await startNginx(() => site, [port]);
    base = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    await nginx?.stop();
    await forwardAuth?.close();
    await backend?.close();
    await jwks?.close();
  });

  async function get(path: string, headers: Record<string, string> = {}, method = 'GET') {
    const response = await request(`${base}${path}`, { method: method as 'GET', headers });
    return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
  }

  test('allowed: the backend gets the request with the claim headers, client copies replaced', async () => {
    const jwt = await token({ roles: ['viewer', 'support'] });
    const before = backend.requests.length;
    const answer = await get('/orders/42?expand=1', { authorization: `Bearer ${jwt}`, 'x-user': 'root', 'x-roles': 'admin' });
    assert.equal(answer.status, 200);
    const received = backend.requests.slice(before);
    assert.equal(received.length, 1);
    assert.equal(received[0]!.url, '/orders/42?expand=1');
    assert.equal(received[0]!.headers['x-user'], 'U2alice');
    assert.equal(received[0]!.headers['x-roles'], 'viewer,support');
  });

  test('allowed by cookie (Descope DS)', async () => {
    const answer = await get('/orders/7', { cookie: `DS=${await token()}` });
    assert.equal(answer.status, 200);
    assert.equal(JSON.parse(answer.text).headers['x-user'], 'U2alice');
  });

  test('401: nginx answers with portcullis\'s WWW-Authenticate; the backend never sees it', async () => {
    const before = backend.requests.length;
    const missing = await get('/orders/42');
    assert.equal(missing.status, 401);
    assert.equal(missing.headers['www-authenticate'], 'Bearer');
    const expired = await get('/orders/42', { authorization: `Bearer ${await token({ exp: nowSeconds() - 3600 })}` });
    assert.equal(expired.status, 401);
    assert.match(String(expired.headers['www-authenticate']), /^Bearer error="invalid_token"/);
    const forged = await get('/orders/42', { authorization: `Bearer ${(await token()).slice(0, -4)}AAAA` });
    assert.equal(forged.status, 401);
    assert.equal(backend.requests.length, before);
  });

  test('403: the policy of the endpoint picked by the original method', async () => {
    const before = backend.requests.length;
    const viewer = `Bearer ${await token()}`;
    assert.equal((await get('/orders/42', { authorization: viewer })).status, 200);
    assert.equal((await get('/orders/42', { authorization: viewer }, 'DELETE')).status, 403);
    assert.equal((await get('/orders/42', { authorization: `Bearer ${await token({ roles: ['admin'] })}` }, 'DELETE')).status, 200);
    assert.equal((await get('/orders/42', { authorization: `Bearer ${await token({ roles: [] })}` })).status, 403);
    // Not in the config: fail closed.
    assert.equal((await get('/admin', { authorization: viewer })).status, 403);
    assert.equal(backend.requests.length, before + 2);
  });

  test('a public endpoint passes without a token, and a client-sent X-User is dropped', async () => {
    const answer = await get('/status', { 'x-user': 'root' });
    assert.equal(answer.status, 200);
    const echoed = JSON.parse(answer.text) as { headers: Record<string, string> };
    assert.equal(echoed.headers['x-user'], undefined);
  });

  test('the auth location is internal', async () => {
    assert.equal((await get('/_portcullis')).status, 404);
  });
});
