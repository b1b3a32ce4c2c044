/**
 * What an operator relies on, through a real gateway on 127.0.0.1: readiness
 * (503 until the keys load, 200 after, 503 again past jwk_max_stale), request
 * ids and trace context, Prometheus metrics whose labels come only from the
 * config, reloads that swap the config without touching requests in flight,
 * and a drain that tells clients to close.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, Agent } from 'node:http';
import { compileGateway, type GatewayPlan } from '../../src/config/compile.js';
import { parseConfigText } from '../../src/config/load.js';
import { startGateway, type Gateway } from '../../src/gateway/server.js';
import { createPrometheusMetrics } from '../../src/metrics/prometheus.js';
import { startBackendServer, type BackendServer } from '../support/backend-server.js';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';

const now = (): number => Math.floor(Date.now() / 1000);

function plan(config: unknown): GatewayPlan {
  return compileGateway(parseConfigText(JSON.stringify(config), 'ops.json', { strict: true }).config);
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(url: string, headers: Record<string, string> = {}, agent?: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, ...(agent ? { agent } : { agent: false }) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

let jwks: JwksServer;
let backend: BackendServer;
let key: TestSigningKey;

before(async () => {
  jwks = await startJwksServer();
  key = await generateSigningKey('ops-1');
  jwks.setKeys(jwksOf(key));
  backend = await startBackendServer();
});
after(async () => {
  await backend.close();
  await jwks.close();
});

function config(roles: string[], extra: Record<string, unknown> = {}): unknown {
  return {
    version: 3,
    endpoints: [
      {
        endpoint: '/orders/{id}',
        extra_config: { 'auth/validator': { alg: 'RS256', jwk_url: jwks.url('/jwks'), roles, ...extra } },
        backend: [{ host: [backend.url], url_pattern: '/orders/{id}' }],
      },
      { endpoint: '/public', backend: [{ host: [backend.url], url_pattern: '/public' }] },
    ],
  };
}

describe('readiness', () => {
  test('503 while a key set has never loaded, 200 once it has; the body names each source without its query', async () => {
    await jwks.setMode('status500');
    const gateway = await startGateway(plan(config(['admin'], { jwk_url: `${jwks.url('/jwks')}?secret=s3cr3t` })), { host: '127.0.0.1', port: 0, accessLog: false });
    try {
      await gateway.ready();
      const before = await get(`${gateway.url}/__ready`);
      assert.equal(before.status, 503);
      const body = JSON.parse(before.body) as { status: string; keySets: { source: string; state: string; lastError?: string }[] };
      assert.equal(body.status, 'not_ready');
      assert.equal(body.keySets.length, 1);
      assert.equal(body.keySets[0]!.state, 'loading');
      assert.ok(!before.body.includes('s3cr3t'), 'the query string of the JWKS URL is not shown');
      // Liveness is unaffected.
      assert.equal((await get(`${gateway.url}/__health`)).status, 200);

      await jwks.setMode('ok');
      // The key set retries on its own (after about a second without keys): wait for it, by polling.
      let ready = await get(`${gateway.url}/__ready`);
      for (let tries = 0; ready.status !== 200 && tries < 200; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        ready = await get(`${gateway.url}/__ready`);
      }
      const token = await mintToken(key, { exp: now() + 60, roles: ['admin'] });
      assert.equal((await get(`${gateway.url}/orders/1`, { authorization: `Bearer ${token}` })).status, 200);
      assert.equal(ready.status, 200);
      assert.deepEqual(
        (JSON.parse(ready.body) as { keySets: { state: string; keys: number }[] }).keySets.map(({ state, keys }) => ({ state, keys })),
        [{ state: 'loaded', keys: 1 }],
      );
      assert.equal(gateway.readiness().ready, true);
    } finally {
      await gateway.close();
      await jwks.setMode('ok');
    }
  });
});

describe('request ids and trace context', () => {
  let gateway: Gateway;
  before(async () => {
    gateway = await startGateway(plan(config(['admin'])), { host: '127.0.0.1', port: 0, accessLog: false });
    await gateway.ready();
  });
  after(() => gateway.close());

  test('a plain incoming X-Request-Id is kept, sent to the backend and back to the client', async () => {
    const answer = await get(`${gateway.url}/public`, { 'x-request-id': 'req-123.abc' });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['x-request-id'], 'req-123.abc');
    assert.equal(backend.requests.at(-1)!.headers['x-request-id'], 'req-123.abc');
  });

  test('a missing, long or odd X-Request-Id is replaced by a new one, also on denials and 404s', async () => {
    for (const sent of [undefined, 'x'.repeat(129), 'bad id\twith controls', '<script>']) {
      const answer = await get(`${gateway.url}/orders/1`, sent === undefined ? {} : { 'x-request-id': sent });
      assert.equal(answer.status, 401);
      const id = String(answer.headers['x-request-id']);
      assert.match(id, /^[0-9a-f-]{36}$/, `for ${JSON.stringify(sent)}`);
    }
    const notFound = await get(`${gateway.url}/nope`);
    assert.equal(notFound.status, 404);
    assert.match(String(notFound.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });

  test('a valid traceparent and tracestate pass through unchanged; an invalid one is dropped', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await get(`${gateway.url}/public`, { traceparent, tracestate: 'vendor=abc' });
    assert.equal(backend.requests.at(-1)!.headers.traceparent, traceparent);
    assert.equal(backend.requests.at(-1)!.headers.tracestate, 'vendor=abc');
    for (const bad of ['00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'garbage']) {
      await get(`${gateway.url}/public`, { traceparent: bad, tracestate: 'vendor=abc' });
      assert.equal(backend.requests.at(-1)!.headers.traceparent, undefined, bad);
      assert.equal(backend.requests.at(-1)!.headers.tracestate, undefined, bad);
    }
  });
});

describe('metrics', () => {
  test('requests, decisions, backends, key sets and the cache, labelled by the config only', async () => {
    const ref: { gateway?: Gateway } = {};
    const metrics = createPrometheusMetrics({
      keySets: () => ref.gateway?.bound().usedKeySets.map((keySet) => keySet.status()) ?? [],
      cache: () => ref.gateway?.bound().cache,
    });
    const gateway = await startGateway(plan(config(['admin'])), { host: '127.0.0.1', port: 0, accessLog: false, metrics });
    ref.gateway = gateway;
    try {
      await gateway.ready();
      const admin = await mintToken(key, { exp: now() + 60, roles: ['admin'] });
      const reader = await mintToken(key, { exp: now() + 60, roles: ['reader'] });
      for (let i = 0; i < 3; i++) assert.equal((await get(`${gateway.url}/orders/${1000 + i}`, { authorization: `Bearer ${admin}` })).status, 200);
      assert.equal((await get(`${gateway.url}/orders/7`, { authorization: `Bearer ${reader}` })).status, 403);
      assert.equal((await get(`${gateway.url}/orders/7`)).status, 401);
      assert.equal((await get(`${gateway.url}/no/such/path/secret-value`)).status, 404);
      const text = await metrics.exposition();
      const value = (series: string): number => {
        const line = text.split('\n').find((l) => l.startsWith(`${series} `));
        assert.ok(line, `no ${series} in\n${text}`);
        return Number(line.split(' ')[1]);
      };
      assert.equal(value('portcullis_http_requests_total{endpoint="/orders/{id}",method="GET",status_class="2xx"}'), 3);
      assert.equal(value('portcullis_http_requests_total{endpoint="/orders/{id}",method="GET",status_class="4xx"}'), 2);
      assert.equal(value('portcullis_authorization_decisions_total{endpoint="/orders/{id}",decision="allow"}'), 3);
      assert.equal(value('portcullis_authorization_decisions_total{endpoint="/orders/{id}",decision="insufficient_roles"}'), 1);
      assert.equal(value('portcullis_authorization_decisions_total{endpoint="/orders/{id}",decision="token_missing"}'), 1);
      assert.equal(value(`portcullis_backend_request_duration_seconds_count{endpoint="/orders/{id}",backend="${backend.url}/orders/{id}"}`), 3);
      assert.equal(value(`portcullis_jwks_keys{key_source="${jwks.url('/jwks')}"}`), 1);
      assert.equal(value(`portcullis_jwks_ready{key_source="${jwks.url('/jwks')}"}`), 1);
      assert.ok(value(`portcullis_jwks_downloads_total{key_source="${jwks.url('/jwks')}",result="ok"}`) >= 1);
      // Two distinct tokens verified (misses), then two more requests with the admin token (hits).
      assert.ok(value('portcullis_token_cache_hits_total') >= 2);
      assert.equal(value('portcullis_token_cache_entries'), 2);
      assert.equal(value('portcullis_http_requests_in_flight'), 0);
      // Cardinality: no raw paths, ids or subjects as label values. Sample values are left out of the search: the
      // process metrics (memory bytes, CPU seconds) are numbers that sometimes contain the digits 1001.
      const withoutValues = text
        .split('\n')
        .map((line) => (line.startsWith('#') || !line.includes(' ') ? line : line.slice(0, line.lastIndexOf(' '))))
        .join('\n');
      assert.ok(!withoutValues.includes('secret-value') && !withoutValues.includes('1001') && !withoutValues.includes('/orders/7'), 'a request value became a label');
    } finally {
      await gateway.close();
    }
  });
});

describe('reload', () => {
  test('a changed role takes effect on the next request; a config that cannot bind is refused and the old one keeps serving', async () => {
    const gateway = await startGateway(plan(config(['admin'])), { host: '127.0.0.1', port: 0, accessLog: false });
    try {
      await gateway.ready();
      const reader = await mintToken(key, { exp: now() + 60, roles: ['reader'] });
      const auth = { authorization: `Bearer ${reader}` };
      assert.equal((await get(`${gateway.url}/orders/1`, auth)).status, 403);
      const fetchesBefore = jwks.requestCount('/jwks');
      await gateway.reload(plan(config(['reader'])));
      assert.equal((await get(`${gateway.url}/orders/1`, auth)).status, 200);
      assert.equal(jwks.requestCount('/jwks'), fetchesBefore, 'an unchanged key source is not downloaded again');

      const broken = plan({
        version: 3,
        endpoints: [{ endpoint: '/x', extra_config: { 'auth/validator': { alg: 'RS256', jwk_local_path: '/nonexistent/jwks.json' } }, backend: [{ host: [backend.url], url_pattern: '/x' }] }],
      });
      await assert.rejects(gateway.reload(broken), /jwk_local_path/);
      assert.equal((await get(`${gateway.url}/orders/1`, auth)).status, 200, 'the running config still serves');
    } finally {
      await gateway.close();
    }
  });
});

describe('drain', () => {
  test('an answer written during the drain says Connection: close; a new request on an old connection gets a clean 503', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let arrivals = 0;
    let bothArrived!: () => void;
    const reached = new Promise<void>((resolve) => (bothArrived = resolve));
    backend.on('/slow', (_req, res) => {
      if (++arrivals === 2) bothArrived();
      void held.then(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
    });
    const gateway = await startGateway(
      plan({ version: 3, timeout: '10s', endpoints: [{ endpoint: '/slow', backend: [{ host: [backend.url], url_pattern: '/slow' }] }, { endpoint: '/public', backend: [{ host: [backend.url], url_pattern: '/public' }] }] }),
      { host: '127.0.0.1', port: 0, accessLog: false, drainTimeoutMs: 5000, drainGraceMs: 2000 },
    );
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    // Keep-alive connections of their own: without a drain, their answers would keep the connection open.
    const slowAgent = new Agent({ keepAlive: true });
    try {
      // Open a keep-alive connection, then start two slow requests on others, with a quick one finishing between
      // them: every request still in flight, wherever it sits among the others, must learn about the drain.
      assert.equal((await get(`${gateway.url}/public`, {}, agent)).status, 200);
      const slow = get(`${gateway.url}/slow`, {}, slowAgent);
      assert.equal((await get(`${gateway.url}/public`)).status, 200);
      const slowToo = get(`${gateway.url}/slow`, {}, slowAgent);
      await reached;
      const closed = gateway.close();
      // A follow-up request on the idle keep-alive connection gets a clean 503, never a reset.
      const followUp = await get(`${gateway.url}/public`, {}, agent);
      assert.equal(followUp.status, 503);
      assert.equal(followUp.headers.connection, 'close');
      assert.deepEqual(JSON.parse(followUp.body), { error: 'shutting_down' });
      release();
      for (const answer of await Promise.all([slow, slowToo])) {
        assert.equal(answer.status, 200);
        assert.equal(answer.headers.connection, 'close');
      }
      await closed;
    } finally {
      release();
      agent.destroy();
      slowAgent.destroy();
    }
  });
});
