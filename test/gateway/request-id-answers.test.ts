/**
 * Every answer of the gateway carries exactly one `X-Request-Id`, written
 * with its head (src/gateway/identified-response.ts): relayed no-op answers
 * (with and without headers set before the head: rate-limit fields, CORS),
 * merged answers, denials, routing answers, health, readiness, preflights and
 * refusals. A relayed answer keeps its repeated headers (two Set-Cookie
 * lines) and never the backend's own request id.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import type { Gateway } from '../../src/gateway/server.js';
import { startBackendServer, type BackendServer } from '../support/backend-server.js';
import { startTestGateway } from './harness.js';

interface Seen {
  status: number;
  ids: string[];
  cookies: string[];
}

/** The status, every X-Request-Id line and every Set-Cookie line of one answer, from the raw header list. */
async function seen(url: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<Seen> {
  const response = await request(url, { method: (init.method ?? 'GET') as 'GET', headers: init.headers ?? {} });
  await response.body.text();
  const raw = response.headers;
  const lines = (name: string): string[] => {
    const value = raw[name];
    return value === undefined ? [] : Array.isArray(value) ? value : [value];
  };
  return { status: response.statusCode, ids: lines('x-request-id'), cookies: lines('set-cookie') };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('X-Request-Id on every kind of answer', () => {
  let backend: BackendServer;
  let plain: Gateway;
  let withCors: Gateway;

  before(async () => {
    backend = await startBackendServer();
    backend.on('/cookies', (_req, res) => {
      res.writeHead(200, [
        ['Set-Cookie', 'a=1'],
        ['Set-Cookie', 'b=2'],
        ['X-Request-Id', 'backend-made'],
        ['Content-Type', 'text/plain'],
      ].flat() as unknown as Record<string, string>);
      res.end('cookies');
    });
    backend.on('/json', (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
    const endpoints = [
      { endpoint: '/noop', output_encoding: 'no-op', backend: [{ host: [backend.url], url_pattern: '/cookies' }] },
      {
        endpoint: '/noop-limited',
        output_encoding: 'no-op',
        // Its RateLimit fields are set on the response before the backend's head arrives.
        extra_config: { 'qos/ratelimit/router': { client_max_rate: 1, every: '1h', client_capacity: 1, strategy: 'ip' } },
        backend: [{ host: [backend.url], url_pattern: '/cookies' }],
      },
      { endpoint: '/merged', backend: [{ host: [backend.url], url_pattern: '/json' }] },
      { endpoint: '/guarded', extra_config: { 'auth/validator': { alg: 'RS256', jwk_url: 'http://127.0.0.1:9/jwks' } }, backend: [{ host: [backend.url], url_pattern: '/json' }] },
      { endpoint: '/post-only', method: 'POST', backend: [{ host: [backend.url], url_pattern: '/json' }] },
    ];
    ({ gateway: plain } = await startTestGateway({ version: 3, endpoints }));
    ({ gateway: withCors } = await startTestGateway({
      version: 3,
      extra_config: { 'security/cors': { allow_origins: ['https://app.example'], allow_methods: ['GET'] } },
      endpoints,
    }));
  });

  after(async () => {
    await plain?.close();
    await withCors?.close();
    await backend?.close();
  });

  it('a relayed no-op answer: one id of ours, both cookies, with or without headers set before its head', async () => {
    for (const [gateway, path, origin] of [
      [plain, '/noop', undefined],
      [plain, '/noop-limited', undefined],
      [withCors, '/noop', 'https://app.example'],
    ] as const) {
      const answer = await seen(`${gateway.url}${path}`, origin === undefined ? {} : { headers: { origin } });
      assert.equal(answer.status, 200, path);
      assert.equal(answer.ids.length, 1, `${path}: ${answer.ids.join(' | ')}`);
      assert.match(answer.ids[0]!, UUID);
      assert.deepEqual(answer.cookies, ['a=1', 'b=2'], path);
    }
  });

  it('a client-sent id is answered back, on a relayed answer too', async () => {
    const answer = await seen(`${plain.url}/noop`, { headers: { 'x-request-id': 'client-42' } });
    assert.deepEqual(answer.ids, ['client-42']);
  });

  it('merged answers, denials, routing answers, health, readiness, preflights and rate-limit refusals', async () => {
    const cases: [Gateway, string, { method?: string; headers?: Record<string, string> }, number][] = [
      [plain, '/merged', {}, 200],
      [plain, '/guarded', {}, 401],
      [plain, '/nowhere', {}, 404],
      [plain, '/post-only', {}, 405],
      [plain, '/__health', {}, 200],
      [plain, '/__ready', {}, 503],
      [withCors, '/merged', { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' } }, 204],
      [plain, '/noop-limited', {}, 429],
    ];
    for (const [gateway, path, init, status] of cases) {
      const answer = await seen(`${gateway.url}${path}`, init);
      assert.equal(answer.status, status, `${init.method ?? 'GET'} ${path}`);
      assert.equal(answer.ids.length, 1, `${init.method ?? 'GET'} ${path}: ${answer.ids.join(' | ')}`);
      assert.match(answer.ids[0]!, UUID);
    }
  });
});
