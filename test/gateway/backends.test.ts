/**
 * Backend calls: json merging with X-KrakenD-Completed, partial and total
 * failures, encodings, no-op streaming, timeouts, a backend that is down,
 * request body limits and clients that leave mid-request.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { startBackendServer, unusedPort, type BackendServer } from '../support/backend-server.js';
import type { Gateway } from '../../src/gateway/server.js';
import type { MemoryLogger } from '../support/logger.js';
import { call, rawCall, startTestGateway } from './harness.js';

const TIMEOUT_MS = 400;
const MAX_BODY = 1024;

describe('gateway: backends', () => {
  let backend: BackendServer;
  let gateway: Gateway;
  let logger: MemoryLogger;
  let down: string;
  let garbage: TcpServer;
  let reset: TcpServer;
  const pendingTimers = new Set<NodeJS.Timeout>();
  /** How each call to the slow backend ended, in arrival order. */
  const slowCalls: Promise<'answered' | 'cut'>[] = [];

  before(async () => {
    backend = await startBackendServer();
    down = `http://127.0.0.1:${await unusedPort()}`;
    // Not HTTP at all, and an HTTP answer that dies mid-body.
    garbage = createTcpServer((socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n\r\nnonsense'));
    reset = createTcpServer((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"partial":');
        setTimeout(() => socket.resetAndDestroy(), 20);
      });
    });
    const listen = (server: TcpServer) => new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`)));
    const garbageUrl = await listen(garbage);
    const resetUrl = await listen(reset);
    const json = (body: unknown, status = 200) => (_req: unknown, res: ServerResponse) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'x-backend': 'yes' }).end(text);
    };
    // With ?r=<id>, /b answers only once the /a call of the same id has been answered, so /b arrives second
    // and wins the collision on `shared`; without it (the "still serving" calls) both answer at once.
    const aAnswered = new Map<string, { promise: Promise<void>; resolve: () => void }>();
    const answeredA = (id: string) => {
      let entry = aAnswered.get(id);
      if (!entry) {
        let resolve!: () => void;
        entry = { promise: new Promise<void>((done) => (resolve = done)), resolve };
        aAnswered.set(id, entry);
      }
      return entry;
    };
    backend.on('/a', (_req, res, received) => {
      const id = new URLSearchParams(received.query).get('r');
      if (id !== null) res.once('finish', () => answeredA(id).resolve());
      json({ a: 1, shared: 'a' })(undefined, res);
    });
    backend.on('/b', (_req, res, received) => {
      const id = new URLSearchParams(received.query).get('r');
      if (id === null) return json({ b: 2, shared: 'b' })(undefined, res);
      void answeredA(id).promise.then(() => json({ b: 2, shared: 'b' })(undefined, res));
    });
    backend.on('/array', json([{ id: 1 }, { id: 2 }]));
    backend.on('/text', (_req, res) => void res.writeHead(200, { 'content-type': 'text/plain' }).end('hello <b>'));
    backend.on('/garbage', (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"oops'));
    backend.on('/teapot', json({ error: 'short and stout' }, 418));
    backend.on('/proto', (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"__proto__":{"polluted":true},"ok":1}'));
    backend.on('/slow', (_req, res) => {
      // Answers long after the endpoint timeout; how each call ended is recorded, so a test can see the gateway cut it.
      const timer = setTimeout(() => json({ late: true })(undefined, res), 2000);
      pendingTimers.add(timer);
      slowCalls.push(new Promise((resolve) => res.on('close', () => resolve(res.writableFinished ? 'answered' : 'cut'))));
    });
    backend.on('/stream', (_req, res) => {
      res.writeHead(201, { 'content-type': 'text/event-stream', 'x-custom': 'passthrough', 'set-cookie': ['a=1', 'b=2'], 'x-krakend-completed': 'true' });
      res.write('part-1;');
      const timer = setTimeout(() => res.end('part-2'), 50);
      pendingTimers.add(timer);
    });
    // Header names that are also the names of Object.prototype members.
    backend.on('/odd-headers', (_req, res) => void res.writeHead(200, [['constructor', 'c1'], ['constructor', 'c2'], ['__proto__', 'p1'], ['toString', 't1'], ['content-type', 'text/plain']] as unknown as Record<string, string>).end('odd'));
    backend.on('/status404', (_req, res) => void res.writeHead(404, { 'content-type': 'text/plain' }).end('backend says no'));
    backend.on('/slow-body', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first;');
      const timer = setTimeout(() => res.end('never in time'), 2000);
      pendingTimers.add(timer);
    });

    const ep = (endpoint: string, backends: object[], extra: object = {}) => ({ endpoint, backend: backends, ...extra });
    const noop = { output_encoding: 'no-op' };
    const config = {
      version: 3,
      timeout: '3s',
      endpoints: [
        ep('/merge', [{ host: [backend.url], url_pattern: '/a' }, { host: [backend.url], url_pattern: '/b' }], { input_query_strings: ['r'] }),
        ep('/partial', [{ host: [backend.url], url_pattern: '/a' }, { host: [down], url_pattern: '/b' }]),
        ep('/all-down', [{ host: [down], url_pattern: '/a' }, { host: [down], url_pattern: '/b' }]),
        ep('/json-down', [{ host: [down], url_pattern: '/a' }]),
        ep('/array', [{ host: [backend.url], url_pattern: '/array' }]),
        ep('/text', [{ host: [backend.url], url_pattern: '/text', encoding: 'string' }]),
        ep('/garbage', [{ host: [backend.url], url_pattern: '/garbage' }, { host: [backend.url], url_pattern: '/a' }]),
        ep('/teapot', [{ host: [backend.url], url_pattern: '/teapot' }]),
        ep('/teapot-code', [{ host: [backend.url], url_pattern: '/teapot', extra_config: { 'backend/http': { return_error_code: true } } }]),
        ep('/proto', [{ host: [backend.url], url_pattern: '/proto' }]),
        ep('/slow-json', [{ host: [backend.url], url_pattern: '/slow' }, { host: [backend.url], url_pattern: '/a' }], { timeout: `${TIMEOUT_MS}ms` }),
        ep('/slow-json-only', [{ host: [backend.url], url_pattern: '/slow' }], { timeout: `${TIMEOUT_MS}ms` }),
        ep('/stream', [{ host: [backend.url], url_pattern: '/stream', encoding: 'no-op' }], noop),
        ep('/noop-404', [{ host: [backend.url], url_pattern: '/status404', encoding: 'no-op' }], noop),
        ep('/odd-headers', [{ host: [backend.url], url_pattern: '/odd-headers', encoding: 'no-op' }], noop),
        ep('/slow-noop', [{ host: [backend.url], url_pattern: '/slow', encoding: 'no-op' }], { ...noop, timeout: `${TIMEOUT_MS}ms` }),
        ep('/slow-body', [{ host: [backend.url], url_pattern: '/slow-body', encoding: 'no-op' }], { ...noop, timeout: `${TIMEOUT_MS}ms` }),
        ep('/down-noop', [{ host: [down], url_pattern: '/x', encoding: 'no-op' }], noop),
        ep('/upload', [{ host: [backend.url], url_pattern: '/upload', encoding: 'no-op' }], { ...noop, method: 'POST', input_headers: ['*'] }),
        ep('/upload-merge', [{ host: [backend.url], url_pattern: '/up1' }, { host: [backend.url], url_pattern: '/up2' }], { method: 'POST' }),
        ep('/garbage-noop', [{ host: [garbageUrl], url_pattern: '/', encoding: 'no-op' }], noop),
        ep('/garbage-json', [{ host: [garbageUrl], url_pattern: '/' }]),
        ep('/reset-noop', [{ host: [resetUrl], url_pattern: '/', encoding: 'no-op' }], noop),
        ep('/reset-json', [{ host: [resetUrl], url_pattern: '/' }, { host: [backend.url], url_pattern: '/a' }]),
        ep('/round-robin', [{ host: [backend.url, `${backend.url}/second`], url_pattern: '/rr' }]),
      ],
    };
    ({ gateway, logger } = await startTestGateway(config, { limits: { maxBodySize: MAX_BODY } }));
  });

  after(async () => {
    for (const timer of pendingTimers) clearTimeout(timer);
    await gateway?.close();
    await backend?.close();
    garbage?.close();
    reset?.close();
  });

  describe('json merging', () => {
    it('merges two backends shallowly in arrival order with X-KrakenD-Completed: true', async () => {
      const answer = await call(`${gateway.url}/merge?r=in-order`);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['x-krakend-completed'], 'true');
      assert.match(String(answer.headers['content-type']), /^application\/json/);
      assert.equal(answer.headers['x-backend'], undefined, 'backend headers are not relayed by json endpoints');
      assert.deepEqual(answer.json(), { a: 1, shared: 'b', b: 2 });
      assert.equal(backend.received('/b').at(-1)?.query, 'r=in-order', '/b was not held for its /a');
    });

    it('answers partial data with X-KrakenD-Completed: false when one backend is down', async () => {
      const answer = await call(`${gateway.url}/partial`);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['x-krakend-completed'], 'false');
      assert.deepEqual(answer.json(), { a: 1, shared: 'a' });
    });

    it('answers 500 with an empty body when no backend succeeded', async () => {
      for (const path of ['/all-down', '/json-down']) {
        const answer = await call(`${gateway.url}${path}`);
        assert.equal(answer.status, 500, path);
        assert.equal(answer.headers['x-krakend-completed'], 'false');
        assert.equal(answer.text, '');
      }
      assert.ok(logger.lines.some((line) => line.level === 'error' && line.msg.startsWith('[ENDPOINT: /all-down] Error #')));
    });

    it('counts a backend that does not speak HTTP or dies mid-body as failed', async () => {
      assert.equal((await call(`${gateway.url}/garbage-json`)).status, 500);
      const partial = await call(`${gateway.url}/reset-json`);
      assert.equal(partial.status, 200);
      assert.equal(partial.headers['x-krakend-completed'], 'false');
      assert.deepEqual(partial.json(), { a: 1, shared: 'a' });
    });

    it('wraps an array as {"collection": […]}', async () => {
      const answer = await call(`${gateway.url}/array`);
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.json(), { collection: [{ id: 1 }, { id: 2 }] });
    });

    it('wraps a string-encoded backend as {"content": …}', async () => {
      const answer = await call(`${gateway.url}/text`);
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.json(), { content: 'hello <b>' });
    });

    it('counts an unparseable body as a failed backend, never a crash', async () => {
      const answer = await call(`${gateway.url}/garbage`);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['x-krakend-completed'], 'false');
      assert.deepEqual(answer.json(), { a: 1, shared: 'a' });
    });

    it('hides a backend error status as 500, or passes it with return_error_code (empty body)', async () => {
      const hidden = await call(`${gateway.url}/teapot`);
      assert.equal(hidden.status, 500);
      const passed = await call(`${gateway.url}/teapot-code`);
      assert.equal(passed.status, 418);
      assert.equal(passed.text, '');
    });

    it('keeps a backend key named __proto__ as plain data', async () => {
      const answer = await call(`${gateway.url}/proto`);
      assert.equal(answer.status, 200);
      assert.deepEqual(JSON.parse(answer.text), JSON.parse('{"__proto__":{"polluted":true},"ok":1}'));
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });

    it('answers at the endpoint timeout: partial data, or 500 when nothing arrived; the slow call is cut', async () => {
      // The slow backend answers {"late": true} long after the timeout: an answer that waited for it would merge it.
      let first = slowCalls.length;
      const partial = await call(`${gateway.url}/slow-json`);
      assert.equal(partial.status, 200);
      assert.equal(partial.headers['x-krakend-completed'], 'false');
      assert.deepEqual(partial.json(), { a: 1, shared: 'a' });
      assert.equal(await slowCalls[first], 'cut', 'the gateway let the slow backend call run on');

      first = slowCalls.length;
      const nothing = await call(`${gateway.url}/slow-json-only`);
      assert.equal(nothing.status, 500);
      assert.equal(await slowCalls[first], 'cut', 'the gateway let the slow backend call run on');
    });

    it('sends a buffered copy of the body to every backend', async () => {
      const answer = await call(`${gateway.url}/upload-merge`, { method: 'POST', body: '{"x":1}', headers: { 'content-type': 'application/json' } });
      assert.equal(answer.status, 200);
      assert.equal(backend.received('/up1').at(-1)?.body, '{"x":1}');
      assert.equal(backend.received('/up2').at(-1)?.body, '{"x":1}');
    });

    it('spreads calls round-robin across the hosts of a backend', async () => {
      await call(`${gateway.url}/round-robin`);
      await call(`${gateway.url}/round-robin`);
      assert.equal(backend.received('/rr').length, 1);
      assert.equal(backend.received('/second/rr').length, 1);
    });
  });

  describe('no-op', () => {
    it('streams status, headers and body unchanged', async () => {
      const answer = await call(`${gateway.url}/stream`);
      assert.equal(answer.status, 201);
      assert.equal(answer.headers['content-type'], 'text/event-stream');
      assert.equal(answer.headers['x-custom'], 'passthrough');
      assert.deepEqual(answer.headers['set-cookie'], ['a=1', 'b=2']);
      // As lura writes it on every no-op answer; the backend's own "true" does not get through.
      assert.equal(answer.headers['x-krakend-completed'], 'false');
      assert.equal(answer.text, 'part-1;part-2');
    });

    it('relays headers named like Object.prototype members as plain headers', async () => {
      const answer = await call(`${gateway.url}/odd-headers`);
      assert.equal(answer.status, 200);
      assert.equal(answer.text, 'odd');
      assert.deepEqual(answer.headers.constructor, ['c1', 'c2']);
      assert.equal(answer.headers['__proto__' as string], 'p1');
      assert.equal(answer.headers.tostring, 't1');
    });

    it('passes a backend error status and body through', async () => {
      const answer = await call(`${gateway.url}/noop-404`);
      assert.equal(answer.status, 404);
      assert.equal(answer.text, 'backend says no');
    });

    it('answers 504 at the endpoint timeout, and cuts the slow call', async () => {
      const first = slowCalls.length;
      const answer = await call(`${gateway.url}/slow-noop`);
      assert.equal(answer.status, 504);
      assert.deepEqual(answer.json(), { error: 'gateway_timeout' });
      assert.equal(await slowCalls[first], 'cut', 'the gateway let the slow backend call run on');
    });

    it('cuts the connection when the timeout hits mid-body, so a truncated body never looks complete', async () => {
      await assert.rejects(call(`${gateway.url}/slow-body`));
    });

    it('answers 502 for a backend that does not speak HTTP, and cuts the connection when one dies mid-body', async () => {
      const answer = await call(`${gateway.url}/garbage-noop`);
      assert.equal(answer.status, 502);
      await assert.rejects(call(`${gateway.url}/reset-noop`));
      assert.equal((await call(`${gateway.url}/merge`)).status, 200, 'still serving');
    });

    it('answers 502 when the backend is down', async () => {
      const answer = await call(`${gateway.url}/down-noop`);
      assert.equal(answer.status, 502);
      assert.deepEqual(answer.json(), { error: 'bad_gateway' });
    });
  });

  describe('request bodies', () => {
    it('streams a body within the limit', async () => {
      const body = 'x'.repeat(MAX_BODY);
      const answer = await call(`${gateway.url}/upload`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
      assert.equal(answer.status, 200);
      assert.equal(answer.json<{ body: string }>().body, body);
    });

    it('answers 413 when Content-Length exceeds the limit, without calling the backend', async () => {
      const before = backend.received('/upload').length;
      const answer = await call(`${gateway.url}/upload`, { method: 'POST', body: 'x'.repeat(MAX_BODY + 1) });
      assert.equal(answer.status, 413);
      assert.deepEqual(answer.json(), { error: 'request_body_too_large' });
      assert.equal(backend.received('/upload').length, before);
    });

    it('answers 413 when a chunked body passes the limit', async () => {
      const chunk = 'y'.repeat(400);
      const answer = await rawCall(`${gateway.url}/upload`, {
        method: 'POST',
        headers: { 'transfer-encoding': 'chunked' },
        chunks: [chunk, chunk, chunk, chunk],
      });
      assert.equal(answer.status, 413);
      assert.deepEqual(answer.json(), { error: 'request_body_too_large' });
    });

    it('answers 413 for an oversized chunked body sent to several backends', async () => {
      const answer = await rawCall(`${gateway.url}/upload-merge`, {
        method: 'POST',
        headers: { 'transfer-encoding': 'chunked' },
        chunks: ['z'.repeat(MAX_BODY), 'z'],
      });
      assert.equal(answer.status, 413);
    });

    it('survives a client that aborts mid-body and keeps serving', async () => {
      // Each client leaves once the gateway has passed its request on to the backend.
      const uploading = backend.nextArrival('/upload');
      const upload = httpRequest(`${gateway.url}/upload`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, agent: false });
      upload.on('error', () => undefined);
      upload.write('partial');
      await uploading;
      upload.destroy();

      const waiting = backend.nextArrival('/slow');
      const slow = httpRequest(`${gateway.url}/slow-noop`, { agent: false });
      slow.on('error', () => undefined);
      slow.end();
      await waiting;
      slow.destroy();

      const answer = await call(`${gateway.url}/merge`);
      assert.equal(answer.status, 200);
    });
  });
});
