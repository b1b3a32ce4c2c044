/**
 * Merging endpoints read whole backend answers into memory: a per-backend
 * limit (`max_backend_response_size`) and a budget shared by every request in
 * flight (`max_buffered_bytes`) keep that bounded. Real gateway, real backend
 * sending a few MiB per answer, small limits in the config.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import type { Gateway } from '../../src/gateway/server.js';
import { startBackendServer, type BackendServer } from '../support/backend-server.js';
import { call, startTestGateway } from './harness.js';
import type { MemoryLogger } from '../support/logger.js';

const MiB = 1024 * 1024;
const LIMIT = 3 * MiB;
const BUDGET = 4.5 * MiB;
const WITHIN = MiB / 2;

/** A JSON object of exactly `size` bytes. */
function jsonOfSize(size: number): Buffer {
  const shell = '{"pad":""}';
  return Buffer.from(`{"pad":"${'x'.repeat(size - shell.length)}"}`);
}

/** Resolves when the client side of `res` went away before the answer was complete. */
function abortedBeforeFinish(res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => res.on('close', () => resolve(!res.writableFinished)));
}

describe('merging endpoints: backend answer limits', () => {
  let backend: BackendServer;
  let gateway: Gateway;
  let logger: MemoryLogger;
  /** Opens the second half of every /trickle answer waiting for it. */
  let openGate: () => void = () => undefined;
  let gate: Promise<void> = Promise.resolve();
  /** Lets every /trickle answer end, once its last MiB is written. */
  let openEndGate: () => void = () => undefined;
  let endGate: Promise<void> = Promise.resolve();
  const trickleAborts: Promise<boolean>[] = [];
  /** /trickle calls the gateway cut before their end. */
  let trickleCuts = 0;
  const slowAborts: Promise<boolean>[] = [];
  const lingering = new Set<ServerResponse>();

  function closeGate(): void {
    gate = new Promise((resolve) => (openGate = resolve));
    endGate = new Promise((resolve) => (openEndGate = resolve));
  }

  before(async () => {
    backend = await startBackendServer();
    backend.on('/small', (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"small":true}'));
    backend.on('/within', (_req, res) => {
      const body = jsonOfSize(WITHIN);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
    });
    backend.on('/over-declared', (_req, res) => {
      const body = jsonOfSize(4 * MiB);
      res.on('error', () => undefined);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
    });
    backend.on('/over-chunked', (_req, res) => {
      // No Content-Length: the limit can only be found while reading.
      const body = jsonOfSize(4 * MiB);
      res.on('error', () => undefined);
      res.writeHead(200, { 'content-type': 'application/json' });
      for (let at = 0; at < body.length; at += 256 * 1024) res.write(body.subarray(at, at + 256 * 1024));
      res.end();
    });
    backend.on('/teapot-big', (_req, res) => {
      res.on('error', () => undefined);
      res.writeHead(418, { 'content-type': 'text/plain' });
      res.end(Buffer.alloc(4 * MiB, 0x74));
    });
    for (const declared of [false, true]) {
      backend.on(declared ? '/trickle-declared' : '/trickle', (_req, res) => {
        // 2 MiB at once, the last MiB when the test opens the gate, the end when it opens the end gate; chunked, or
        // with its Content-Length. Holding the end keeps every answer in flight until the test has seen its cuts.
        const body = jsonOfSize(LIMIT);
        trickleAborts.push(
          abortedBeforeFinish(res).then((cut) => {
            if (cut) trickleCuts += 1;
            return cut;
          }),
        );
        res.on('error', () => undefined);
        res.writeHead(200, { 'content-type': 'application/json', ...(declared ? { 'content-length': body.length } : {}) });
        res.write(body.subarray(0, 2 * MiB));
        void gate
          .then(() => {
            if (!res.destroyed) res.write(body.subarray(2 * MiB, LIMIT - 1));
            return endGate;
          })
          .then(() => {
            if (!res.destroyed) res.end(body.subarray(LIMIT - 1));
          });
      });
    }
    backend.on('/slow-big', (_req, res) => {
      // A large answer still arriving at the endpoint timeout: 1 MiB, then nothing.
      const body = jsonOfSize(LIMIT);
      slowAborts.push(abortedBeforeFinish(res));
      lingering.add(res);
      res.on('error', () => undefined);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.write(body.subarray(0, MiB));
    });

    const ep = (endpoint: string, paths: string[], extra: object = {}) => ({
      endpoint,
      backend: paths.map((url_pattern) => ({ host: [backend.url], url_pattern })),
      ...extra,
    });
    ({ gateway, logger } = await startTestGateway({
      version: 3,
      timeout: '10s',
      extra_config: { 'portcullis/server': { max_backend_response_size: LIMIT, max_buffered_bytes: BUDGET } },
      endpoints: [
        ep('/within', ['/within']),
        ep('/over-declared', ['/over-declared']),
        ep('/over-chunked', ['/over-chunked']),
        ep('/over-and-small', ['/over-declared', '/small']),
        ep('/over-code', ['/over-declared'], { output_encoding: 'string' }),
        ep('/trickle', ['/trickle']),
        ep('/trickle-declared', ['/trickle-declared']),
        ep('/teapot-big', ['/teapot-big']),
        {
          endpoint: '/teapot-big-code',
          backend: [{ host: [backend.url], url_pattern: '/teapot-big', extra_config: { 'backend/http': { return_error_code: true } } }],
        },
        ep('/slow-big', ['/slow-big'], { timeout: '300ms' }),
      ],
    }));
  });

  after(async () => {
    openGate();
    openEndGate();
    for (const res of lingering) res.destroy();
    await gateway?.close();
    await backend?.close();
  });

  it('answers 502 {"error":"bad_gateway"} when the only backend answers over max_backend_response_size, declared or chunked', async () => {
    for (const path of ['/over-declared', '/over-chunked']) {
      const answer = await call(`${gateway.url}${path}`);
      assert.equal(answer.status, 502, path);
      assert.deepEqual(answer.json(), { error: 'bad_gateway' });
      assert.equal(answer.headers['x-krakend-completed'], 'false');
      assert.match(answer.headers['content-type'] ?? '', /^application\/json/);
    }
    assert.match(logger.text(), /\[ENDPOINT: \/over-declared\] Error #0: backend response over max_backend_response_size \(3145728 bytes\)/);
    assert.match(logger.text(), /\[ENDPOINT: \/over-chunked\] Error #0: backend response over max_backend_response_size/);
  });

  it('keeps the other backends of a merge: 200 with X-KrakenD-Completed: false', async () => {
    const answer = await call(`${gateway.url}/over-and-small`);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['x-krakend-completed'], 'false');
    assert.deepEqual(answer.json(), { small: true });
  });

  it('answers 502 the same way for a string endpoint', async () => {
    const answer = await call(`${gateway.url}/over-code`);
    assert.equal(answer.status, 502);
    assert.deepEqual(answer.json(), { error: 'bad_gateway' });
  });

  it('fails a large error answer by its status: return_error_code still passes it on, and it is no 502', async () => {
    const passed = await call(`${gateway.url}/teapot-big-code`);
    assert.equal(passed.status, 418);
    assert.equal(passed.text, '');
    const plain = await call(`${gateway.url}/teapot-big`);
    assert.equal(plain.status, 500);
    assert.equal(plain.text, '');
  });

  it('serves answers within the limit next to concurrent ones over it', async () => {
    const paths = ['/over-declared', '/within', '/over-declared', '/over-chunked', '/within', '/over-declared'];
    const answers = await Promise.all(paths.map((path) => call(`${gateway.url}${path}`)));
    assert.deepEqual(
      answers.map((answer) => answer.status),
      paths.map((path) => (path === '/within' ? 200 : 502)),
    );
    // At most 3 MiB (the chunked one, before it is cut) plus the two within ones: they always fit the budget.
    for (const [i, answer] of answers.entries()) if (paths[i] === '/within') assert.equal(answer.text.length, WITHIN);
  });

  for (const path of ['/trickle', '/trickle-declared']) {
    it(`fails the calls that would take the buffered total past max_buffered_bytes, then frees the budget (${path})`, async () => {
      // Three answers of 3 MiB against a 4.5 MiB budget. Chunked, each is counted as it arrives: 2 MiB of each come
      // first (6 MiB: one must fail, and the two left fit), then the last MiB of those two (6 MiB again: one more must
      // fail). Declared, each takes its 3 MiB when its headers arrive: one fits, the two others fail before reading.
      // Either way exactly one answer fits, whatever the order of arrival: no answer can end, and give its bytes
      // back, before the second cut.
      closeGate();
      trickleAborts.length = 0;
      trickleCuts = 0;
      const pending = [0, 1, 2].map(() => call(`${gateway.url}${path}`));
      const aborts = await until(() => (trickleAborts.length === 3 ? [...trickleAborts] : undefined));
      await bounded(
        Promise.race(aborts.map((aborted) => aborted.then((cut) => (cut ? undefined : new Promise<never>(() => undefined))))),
        'call cut while the first 2 MiB of each were on their way',
      );
      openGate();
      await until(() => (trickleCuts >= 2 ? true : undefined));
      openEndGate();
      const answers = await Promise.all(pending);
      assert.deepEqual(answers.map((answer) => answer.status).sort(), [200, 502, 502]);
      const ok = answers.find((answer) => answer.status === 200)!;
      assert.equal(ok.text.length, LIMIT);
      for (const answer of answers.filter((a) => a.status === 502)) assert.deepEqual(answer.json(), { error: 'bad_gateway' });
      assert.match(logger.text(), new RegExp(`\\[ENDPOINT: ${path}\\] Error #0: buffered backend responses over max_buffered_bytes \\(4718592 bytes\\)`));

      // Everything was given back: a full-size answer fits again, and two in a row do too.
      for (let i = 0; i < 2; i++) {
        const again = await call(`${gateway.url}${path}`);
        assert.equal(again.status, 200);
        assert.equal(again.text.length, LIMIT);
      }
    });
  }

  it('answers at the endpoint timeout while a large body is still arriving, and cuts that body', async () => {
    slowAborts.length = 0;
    const answer = await call(`${gateway.url}/slow-big`);
    // KrakenD's timeout answer for a merging endpoint with nothing merged.
    assert.equal(answer.status, 500);
    assert.equal(answer.text, '');
    assert.equal(answer.headers['x-krakend-completed'], 'false');
    assert.match(logger.text(), /\[ENDPOINT: \/slow-big\] endpoint timeout reached/);
    assert.equal(await slowAborts[0], true, 'the backend saw its answer cut');
    // The bytes it held are back: the whole budget is usable.
    assert.equal((await call(`${gateway.url}/trickle`)).status, 200);
  });
});

async function until<T>(probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Rejects, naming what never happened, when `promise` has not settled within `timeoutMs`. */
async function bounded<T>(promise: Promise<T>, what: string, timeoutMs = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs)));
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
