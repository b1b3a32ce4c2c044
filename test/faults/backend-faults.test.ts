/**
 * A broken backend and a rude client, end to end through the gateway: the
 * backend down, slow, or resetting before or in the middle of its body; a
 * client that leaves mid-request or mid-upload. Each answer is bounded by the
 * endpoint timeout; `no-op` endpoints answer 502/504, merging endpoints answer
 * as KrakenD does (500, `X-KrakenD-Completed: false`). Afterwards no socket is
 * left open and the heap does not grow with the number of failed requests.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startBackendServer, unusedPort, type BackendServer } from '../support/backend-server.js';
import { startGateway, type Gateway } from '../../src/gateway/server.js';
import { forge, planFromObject, send, sleep } from '../security/support.js';

const SECRET = Buffer.alloc(32, 0x42);
const TIMEOUT_MS = 500;
/** The slow backend holds its answer this long; every bound below is far under it. */
const SLOW_MS = 10_000;
const LOOSE_BOUND_MS = 3000;
const MID_BODY_BYTES = 256 * 1024;

let backend: BackendServer;
let gateway: Gateway;
let token: string;
const backendAborts = { slow: 0, upload: 0 };

before(async () => {
  backend = await startBackendServer();
  backend.on('/slow', (_req, res, received) => {
    const timer = setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: received.path })), SLOW_MS);
    res.on('close', () => {
      clearTimeout(timer);
      if (!res.writableFinished) backendAborts.slow += 1;
    });
  });
  backend.on('/reset-before', (req) => req.socket.destroy());
  backend.on('/reset-mid', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(MID_BODY_BYTES * 4) });
    res.write(`{"a":"${'x'.repeat(MID_BODY_BYTES)}`);
    setTimeout(() => res.socket?.destroy(), 20);
  });
  const down = `http://127.0.0.1:${await unusedPort()}`;
  const endpoint = (path: string, host: string, target: string, encoding: 'no-op' | 'json', method = 'GET') => ({
    endpoint: path,
    method,
    output_encoding: encoding,
    extra_config: { 'auth/validator': { alg: 'HS256', jwk_keys: [{ kty: 'oct', k: SECRET.toString('base64url') }] } },
    backend: [{ host: [host], url_pattern: target, encoding }],
  });
  const endpoints = [];
  for (const encoding of ['no-op', 'json'] as const) {
    endpoints.push(
      endpoint(`/${encoding}/down`, down, '/down', encoding),
      endpoint(`/${encoding}/slow`, backend.url, '/slow', encoding),
      endpoint(`/${encoding}/reset-before`, backend.url, '/reset-before', encoding),
      endpoint(`/${encoding}/reset-mid`, backend.url, '/reset-mid', encoding),
      endpoint(`/${encoding}/ok`, backend.url, '/ok', encoding),
    );
  }
  endpoints.push(endpoint('/upload', backend.url, '/upload', 'no-op', 'POST'));
  const plan = planFromObject({ version: 3, timeout: `${TIMEOUT_MS}ms`, endpoints });
  gateway = await startGateway(plan, { host: '127.0.0.1', port: 0, accessLog: false });
  await gateway.ready();
  const now = Math.floor(Date.now() / 1000);
  token = forge({ alg: 'HS256' }, { sub: 'alice', exp: now + 3600 }, 'HS256', SECRET);
});

after(async () => {
  await gateway?.close();
  await backend?.close();
});

/** GET through a fresh connection; a connection cut mid-answer resolves as `cut` instead of rejecting. */
async function hit(path: string): Promise<{ status: number; body: string; completed?: string; elapsedMs: number; cut: boolean }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = httpRequest(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      const finish = (cut: boolean) =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          completed: res.headers['x-krakend-completed'] as string | undefined,
          elapsedMs: performance.now() - started,
          cut,
        });
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => finish(!res.complete));
      res.on('error', () => finish(true));
      res.on('aborted', () => finish(true));
    });
    req.on('error', () => resolve({ status: 0, body: '', elapsedMs: performance.now() - started, cut: true }));
    req.end();
  });
}

const EXPECTED: Record<string, { status: number; body?: string; cut?: boolean }> = {
  '/no-op/down': { status: 502, body: '{"error":"bad_gateway"}' },
  '/no-op/slow': { status: 504, body: '{"error":"gateway_timeout"}' },
  '/no-op/reset-before': { status: 502, body: '{"error":"bad_gateway"}' },
  // The backend's status line is already relayed: the only honest signal left is a cut connection.
  '/no-op/reset-mid': { status: 200, cut: true },
  '/json/down': { status: 500 },
  '/json/slow': { status: 500 },
  '/json/reset-before': { status: 500 },
  '/json/reset-mid': { status: 500 },
};

async function checkAll(): Promise<void> {
  await Promise.all(
    Object.entries(EXPECTED).map(async ([path, want]) => {
      const answer = await hit(path);
      assert.equal(answer.status, want.status, `${path}: ${answer.body}`);
      assert.equal(answer.cut, want.cut ?? false, `${path}: cut`);
      if (want.body !== undefined) assert.equal(answer.body, want.body, path);
      if (path.startsWith('/json')) assert.equal(answer.completed, 'false', path);
      assert.ok(answer.elapsedMs < LOOSE_BOUND_MS, `${path} took ${Math.round(answer.elapsedMs)} ms`);
    }),
  );
}

function tcpSockets(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'TCPSocketWrap').length;
}

/** Waits for open sockets to fall to `limit` (keep-alive sockets close on their own timers). */
async function settleSockets(limit: number, withinMs = 3000): Promise<number> {
  const started = performance.now();
  while (tcpSockets() > limit && performance.now() - started < withinMs) await sleep(50);
  return tcpSockets();
}

// The test runner has no --expose-gc; the flag can still be set at runtime and gc() fetched from a fresh context.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('backend faults through the gateway', () => {
  it('down, slow, or reset before or mid-body: 502/504 (no-op) or 500 (merging), within the endpoint timeout', async () => {
    assert.equal((await hit('/no-op/ok')).status, 200);
    assert.equal((await hit('/json/ok')).status, 200);
    await checkAll();
  });

  it('a client that leaves mid-request cancels the backend call', async () => {
    for (const path of ['/no-op/slow', '/json/slow']) {
      // Slow calls cut by earlier tests may still be landing; count from a quiet moment so only ours is seen.
      for (let last = -1; last !== backendAborts.slow; ) {
        last = backendAborts.slow;
        await sleep(150);
      }
      const before = backendAborts.slow;
      const seen = backend.received('/slow').length;
      const req = httpRequest(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${token}` }, agent: false });
      req.on('error', () => undefined);
      req.end();
      // Leave once the backend has the request.
      const started = performance.now();
      while (backend.received('/slow').length === seen && performance.now() - started < LOOSE_BOUND_MS) await sleep(10);
      req.destroy();
      while (backendAborts.slow === before && performance.now() - started < LOOSE_BOUND_MS) await sleep(10);
      assert.equal(backendAborts.slow, before + 1, `${path}: the backend call outlived the client`);
    }
  });

  it('a client that leaves mid-upload: the backend upload is cut, and the gateway keeps serving', async () => {
    backend.on('/upload', () => undefined);
    const req = httpRequest(`${gateway.url}/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'transfer-encoding': 'chunked', 'content-type': 'application/octet-stream' },
      agent: false,
    });
    req.on('error', () => undefined);
    req.write(Buffer.alloc(64 * 1024, 1));
    await sleep(100);
    req.destroy();
    await sleep(200);
    // The echo backend records a request only once its body ended: a cut upload must never look complete.
    assert.equal(backend.received('/upload').length, 0, 'the backend received a complete body from an abandoned upload');
    assert.equal((await hit('/no-op/ok')).status, 200);
  });

  it('after many failures no socket is left open and the heap does not grow with the failures', async (t) => {
    // Warm up, so pools, lazy modules and JIT state exist before measuring.
    await checkAll();
    const baselineSockets = await settleSockets(0);
    const baselineHeap = heapAfterGc();
    const ROUNDS = 8;
    for (let i = 0; i < ROUNDS; i++) await checkAll();
    const during = tcpSockets();
    const sockets = await settleSockets(baselineSockets);
    assert.ok(sockets <= baselineSockets, `open sockets grew from ${baselineSockets} to ${sockets}`);
    const grownBytes = heapAfterGc() - baselineHeap;
    // 64 failed requests, two per round carrying 256 KiB: leaking those bodies alone would be 4 MiB.
    assert.ok(grownBytes < 2 * 1024 * 1024, `heap grew by ${(grownBytes / 1048576).toFixed(1)} MiB over ${ROUNDS} rounds`);
    t.diagnostic(`sockets: ${baselineSockets} before, ${during} right after, ${sockets} settled; heap growth ${(grownBytes / 1024).toFixed(0)} KiB`);
    const requests = await send(gateway.url, '/no-op/ok', { token });
    assert.equal(requests.status, 200);
  });
});
