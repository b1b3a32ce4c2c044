/**
 * A real Caddy in front of portcullis forward-auth and an echo backend, all
 * on 127.0.0.1, running examples/caddy/Caddyfile and examples/nginx/
 * portcullis.json as shipped (only ports and the JWKS URL are swapped in).
 * Caddy's forward_auth sends the original method and URI as Traefik does, so
 * portcullis runs with `--proxy traefik`. Checks what a client gets (200 /
 * 401 with the challenge / 403) and what the backend receives, above all that
 * no identity header a client sends reaches the backend.
 *
 * Caddy comes from the distribution (.ci/run installs it). Without it the
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
import { nowSeconds } from '../support/clock.js';
import { FORWARD_AUTH_EXAMPLE, forwardAuthExample } from '../support/forward-auth-example.js';
import { swapOnce } from '../nginx/nginx-process.js';
import { caddySkip as skip, startCaddy, type CaddyProcess } from './caddy-process.js';

const EXAMPLE_CADDYFILE = 'examples/caddy/Caddyfile';

const swap = (text: string, from: string, to: string): string => swapOnce(text, from, to, EXAMPLE_CADDYFILE);

describe('Caddy forward_auth in front of portcullis forward-auth --proxy traefik', { skip }, () => {
  let jwks: JwksServer;
  let key: TestSigningKey;
  let backend: BackendServer;
  let forwardAuth: ForwardAuthServer;
  let caddy: CaddyProcess;
  let base: string;
  const token = (claims: Record<string, unknown> = {}) =>
    mintToken(key, { iss: 'https://api.descope.com/v1/apps/P2abc', aud: ['P2abc'], sub: 'U2alice', roles: ['viewer'], exp: nowSeconds() + 600, ...claims });

  before(async () => {
    key = await generateSigningKey('caddy-key');
    jwks = await startJwksServer();
    jwks.setKeys(jwksOf(key));
    backend = await startBackendServer();

    const plan = compileGateway(parseConfigText(JSON.stringify(forwardAuthExample(jwks.url())), FORWARD_AUTH_EXAMPLE).config);
    forwardAuth = await startForwardAuth(plan, { proxy: 'traefik', host: '127.0.0.1', port: 0, accessLog: false });
    await forwardAuth.ready();

    const port = await unusedPort();
    let site = readFileSync(EXAMPLE_CADDYFILE, 'utf8');
    site = swap(site, 'forward_auth 127.0.0.1:9000 {', `forward_auth 127.0.0.1:${forwardAuth.port} {`);
    site = swap(site, 'reverse_proxy 127.0.0.1:8000', `reverse_proxy 127.0.0.1:${backend.port}`);
    site = swap(site, ':8080 {', `:${port} {\n\tbind 127.0.0.1`);
    caddy = await startCaddy(site, [port]);
    base = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    await caddy?.stop();
    await forwardAuth?.close();
    await backend?.close();
    await jwks?.close();
  });

  async function send(path: string, headers: Record<string, string> = {}, method = 'GET') {
    const response = await request(`${base}${path}`, { method: method as 'GET', headers });
    return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
  }

  test('allowed: the backend gets the request with the claim headers; client copies, in any spelling, are replaced', async () => {
    const jwt = await token({ roles: ['viewer', 'support'] });
    const before = backend.requests.length;
    const answer = await send('/orders/42?expand=1', { authorization: `Bearer ${jwt}`, 'x-user': 'root', 'x-roles': 'admin', x_user: 'root', X_Roles: 'admin' });
    assert.equal(answer.status, 200);
    const received = backend.requests.slice(before);
    assert.equal(received.length, 1);
    assert.equal(received[0]!.url, '/orders/42?expand=1');
    assert.equal(received[0]!.headers['x-user'], 'U2alice');
    assert.equal(received[0]!.headers['x-roles'], 'viewer,support');
    assert.equal(received[0]!.headers.x_user, undefined);
    assert.equal(received[0]!.headers.x_roles, undefined);
  });

  test('allowed by cookie (Descope DS)', async () => {
    const answer = await send('/orders/7', { cookie: `DS=${await token()}` });
    assert.equal(answer.status, 200);
    assert.equal((JSON.parse(answer.text) as { headers: Record<string, string> }).headers['x-user'], 'U2alice');
  });

  test("401: Caddy passes portcullis's answer through (challenge and JSON body); the backend never sees the request", async () => {
    const before = backend.requests.length;
    const missing = await send('/orders/42', { 'x-user': 'U2alice' });
    assert.equal(missing.status, 401);
    assert.equal(missing.headers['www-authenticate'], 'Bearer');
    assert.equal((JSON.parse(missing.text) as { code: string }).code, 'token_missing');
    const expired = await send('/orders/42', { authorization: `Bearer ${await token({ exp: nowSeconds() - 3600 })}` });
    assert.equal(expired.status, 401);
    assert.match(String(expired.headers['www-authenticate']), /^Bearer error="invalid_token"/);
    assert.equal((JSON.parse(expired.text) as { code: string }).code, 'token_expired');
    const forged = await send('/orders/42', { authorization: `Bearer ${(await token()).slice(0, -4)}AAAA` });
    assert.equal(forged.status, 401);
    assert.equal(backend.requests.length, before);
  });

  test('403: the policy of the endpoint picked by the original method; unknown routes fail closed', async () => {
    const before = backend.requests.length;
    const viewer = `Bearer ${await token()}`;
    const wrongRole = await send('/orders/42', { authorization: viewer }, 'DELETE');
    assert.equal(wrongRole.status, 403);
    assert.match(String(wrongRole.headers['www-authenticate']), /^Bearer error="insufficient_scope"/);
    assert.equal((JSON.parse(wrongRole.text) as { code: string }).code, 'insufficient_roles');
    assert.equal((await send('/orders/42', { authorization: `Bearer ${await token({ roles: ['admin'] })}` }, 'DELETE')).status, 200);
    assert.equal((await send('/orders/42', { authorization: `Bearer ${await token({ roles: [] })}` })).status, 403);
    const unknown = await send('/admin', { authorization: viewer });
    assert.equal(unknown.status, 403);
    assert.equal(unknown.text, '{"error":"route_not_found"}');
    assert.equal(backend.requests.length, before + 1);
    assert.equal(backend.requests.at(-1)!.method, 'DELETE');
  });

  test('a client cannot choose the route it is judged as: Caddy overwrites X-Forwarded-Method and X-Forwarded-Uri', async () => {
    const before = backend.requests.length;
    // /status is public; the request is for /orders/42 (and DELETE needs admin).
    const asStatus = { 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/status' };
    assert.equal((await send('/orders/42', asStatus)).status, 401);
    assert.equal((await send('/orders/42', { ...asStatus, authorization: `Bearer ${await token()}` }, 'DELETE')).status, 403);
    assert.equal(backend.requests.length, before);
  });

  test('a public endpoint passes without a token, and a client-sent X-User reaches the backend empty', async () => {
    const before = backend.requests.length;
    const answer = await send('/status', { 'x-user': 'root', x_user: 'root', 'x-roles': 'admin' });
    assert.equal(answer.status, 200);
    const received = backend.requests.slice(before);
    assert.equal(received.length, 1);
    // forward-auth answers every identity header, empty here; copy_headers sets the empty value.
    assert.equal(received[0]!.headers['x-user'], '');
    assert.equal(received[0]!.headers['x-roles'], '');
    assert.equal(received[0]!.headers.x_user, undefined);
  });
});
