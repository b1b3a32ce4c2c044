/**
 * A gateway in front of a broken backend: down, slow (holds its answer far
 * past the endpoint timeout), or resetting before or in the middle of its body,
 * each behind a `no-op` and a merging (`json`) endpoint. Shared by the fault
 * tests and the soak tier's leak check (scripts/soak-backend-faults.ts).
 */
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { startGateway, type Gateway } from '../../src/gateway/server.js';
import { startBackendServer, unusedPort, type BackendServer } from '../support/backend-server.js';
import { nowSeconds } from '../support/clock.js';
import { planFrom } from '../support/plan.js';
import { forge } from '../security/support.js';

export const TIMEOUT_MS = 500;
/** The slow backend holds its answer this long, far past the endpoint timeout: an answer that needed it proves the timeout failed. */
const SLOW_MS = 10_000;
const MID_BODY_BYTES = 256 * 1024;
const SECRET = Buffer.alloc(32, 0x42);

export interface Hit {
  status: number;
  body: string;
  completed?: string;
  cut: boolean;
}

export interface BackendFaultRig {
  readonly gateway: Gateway;
  readonly backend: BackendServer;
  readonly token: string;
  /** Calls to the slow backend that are still open, and how many were cut before they answered. */
  readonly slow: { readonly open: number; readonly aborted: number; untilNoneOpen(): Promise<void> };
  /** GET through a fresh connection; a connection cut mid-answer resolves as `cut` instead of rejecting. */
  hit(path: string): Promise<Hit>;
  /** Every faulty endpoint at once, each checked against its expected answer. */
  checkAll(): Promise<void>;
  close(): Promise<void>;
}

export const EXPECTED: Record<string, { status: number; body?: string; cut?: boolean }> = {
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

export async function startBackendFaultRig(): Promise<BackendFaultRig> {
  const backend = await startBackendServer();
  const slowChanged = new EventEmitter();
  const slow = { open: 0, aborted: 0 };
  backend.on('/slow', (_req, res, received) => {
    slow.open += 1;
    const timer = setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: received.path })), SLOW_MS);
    res.on('close', () => {
      clearTimeout(timer);
      slow.open -= 1;
      if (!res.writableFinished) slow.aborted += 1;
      slowChanged.emit('change');
    });
    slowChanged.emit('change');
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
  const plan = planFrom({ version: 3, timeout: `${TIMEOUT_MS}ms`, endpoints }, { strict: true, checkSources: true });
  const gateway = await startGateway(plan, { host: '127.0.0.1', port: 0, accessLog: false });
  await gateway.ready();
  const token = forge({ alg: 'HS256' }, { sub: 'alice', exp: nowSeconds() + 3600 }, 'HS256', SECRET);

  function hit(path: string): Promise<Hit> {
    return new Promise((resolve) => {
      const req = httpRequest(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        const finish = (cut: boolean) =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), completed: res.headers['x-krakend-completed'] as string | undefined, cut });
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => finish(!res.complete));
        res.on('error', () => finish(true));
        res.on('aborted', () => finish(true));
      });
      req.on('error', () => resolve({ status: 0, body: '', cut: true }));
      req.end();
    });
  }

  return {
    gateway,
    backend,
    token,
    slow: {
      get open() {
        return slow.open;
      },
      get aborted() {
        return slow.aborted;
      },
      async untilNoneOpen() {
        while (slow.open > 0) await once(slowChanged, 'change');
      },
    },
    hit,
    async checkAll() {
      await Promise.all(
        Object.entries(EXPECTED).map(async ([path, want]) => {
          const answer = await hit(path);
          assert.equal(answer.status, want.status, `${path}: ${answer.body}`);
          assert.equal(answer.cut, want.cut ?? false, `${path}: cut`);
          if (want.body !== undefined) assert.equal(answer.body, want.body, path);
          if (path.startsWith('/json')) assert.equal(answer.completed, 'false', path);
        }),
      );
    },
    async close() {
      await gateway.close();
      await backend.close();
    },
  };
}
