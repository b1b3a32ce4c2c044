/**
 * The buffered-bytes budget of merging endpoints gives back every byte it
 * lends: after a success, a backend that breaks mid-body, an answer over the
 * per-backend limit, an answer the budget cannot hold, a client that leaves,
 * the endpoint timeout (with and without data already merged), error bodies
 * kept for the answer and an answer reached through a redirect, the count is
 * 0 again. The forwarder runs behind a plain node:http server here so the
 * test can read the budget it was given.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createStripRule } from '../../src/authorizer/identity-headers.js';
import type { EndpointPlan } from '../../src/config/compile.js';
import { compilePathBuilder, patternQueryKeys } from '../../src/gateway/backend-url.js';
import { createBodyBudget, type BodyBudget } from '../../src/gateway/body-budget.js';
import { ClientGoneError, type EndpointRuntime } from '../../src/gateway/exchange.js';
import { createForwarder } from '../../src/gateway/forward.js';
import { createBackendPools, type BackendPools } from '../../src/gateway/pools.js';
import { startBackendServer, type BackendServer } from '../support/backend-server.js';
import { call } from './harness.js';
import { createMemoryLogger, type MemoryLogger } from '../support/logger.js';
import { planFrom } from '../support/plan.js';

const KiB = 1024;
const LIMIT = 1024 * KiB;
const BUDGET = 512 * KiB;

function jsonOfSize(size: number): Buffer {
  return Buffer.from(`{"pad":"${'x'.repeat(size - 10)}"}`);
}

describe('BodyBudget', () => {
  it('takes what fits, refuses what does not without taking it, and counts gives', () => {
    const budget = createBodyBudget(10);
    assert.equal(budget.tryTake(6), true);
    assert.equal(budget.tryTake(5), false);
    assert.equal(budget.inUse, 6);
    assert.equal(budget.tryTake(4), true);
    assert.equal(budget.inUse, 10);
    budget.give(6);
    budget.give(4);
    assert.equal(budget.inUse, 0);
  });
});

describe('buffered-bytes accounting of merging calls', () => {
  let backend: BackendServer;
  let front: Server;
  let frontUrl: string;
  let pools: BackendPools;
  let logger: MemoryLogger;
  const budget: BodyBudget = createBodyBudget(BUDGET);
  /** Resolves when the front server's response for a request closed (after the forwarder's close hook ran). */
  const frontClosed: Promise<void>[] = [];
  const backendCut: Promise<boolean>[] = [];
  let openGate: () => void = () => undefined;
  const lingering = new Set<ServerResponse>();

  function watch(res: ServerResponse): void {
    backendCut.push(new Promise((resolve) => res.on('close', () => resolve(!res.writableFinished))));
    lingering.add(res);
    res.on('error', () => undefined);
  }

  before(async () => {
    backend = await startBackendServer();
    backend.on('/ok', (_req, res) => {
      const body = jsonOfSize(256 * KiB);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
    });
    for (const declared of [false, true]) {
      // Half of a 384 KiB answer, then the connection dies: counted as it arrived, or taken whole from the headers.
      backend.on(declared ? '/reset-declared' : '/reset', (_req, res) => {
        watch(res);
        res.writeHead(200, { 'content-type': 'application/json', ...(declared ? { 'content-length': 384 * KiB } : {}) });
        res.write(Buffer.alloc(192 * KiB, 0x20), () => res.socket?.destroy());
      });
      // 128 KiB of a 384 KiB answer, then nothing.
      backend.on(declared ? '/stall-declared' : '/stall', (_req, res) => {
        watch(res);
        res.writeHead(200, { 'content-type': 'application/json', ...(declared ? { 'content-length': 384 * KiB } : {}) });
        res.write(Buffer.alloc(128 * KiB, 0x20));
      });
    }
    backend.on('/over', (_req, res) => {
      watch(res);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(jsonOfSize(2 * LIMIT));
    });
    backend.on('/over-budget', (_req, res) => {
      watch(res);
      const body = jsonOfSize(768 * KiB);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
    });
    backend.on('/error-body', (_req, res) => {
      const body = jsonOfSize(64 * KiB);
      res.writeHead(404, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
    });
    backend.on('/to-ok', (_req, res) => void res.writeHead(302, { location: '/ok', 'content-length': 0 }).end());
    backend.on('/gated', (_req, res) => {
      watch(res);
      const gate = new Promise<void>((resolve) => (openGate = resolve));
      void gate.then(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"gated":true}'));
    });

    const ep = (endpoint: string, paths: string[], timeout = '5s') => ({
      endpoint,
      timeout,
      backend: paths.map((url_pattern) => ({ host: [backend.url], url_pattern })),
    });
    const plan = planFrom({
      version: 3,
      endpoints: [
        ep('/ok', ['/ok']),
        ep('/reset', ['/reset']),
        ep('/reset-declared', ['/reset-declared']),
        ep('/over', ['/over']),
        ep('/over-budget', ['/over-budget']),
        ep('/stall', ['/stall'], '200ms'),
        ep('/stall-declared', ['/stall-declared'], '200ms'),
        ep('/client-leaves', ['/stall']),
        ep('/client-leaves-declared', ['/stall-declared']),
        ep('/ok-and-stall', ['/ok', '/stall'], '200ms'),
        ep('/ok-and-gated', ['/ok', '/gated']),
        { endpoint: '/details', backend: [{ host: [backend.url], url_pattern: '/error-body', extra_config: { 'backend/http': { return_error_details: 'b' } } }] },
        { endpoint: '/code-and-msg', backend: [{ host: [backend.url], url_pattern: '/error-body', extra_config: { 'backend/http': { return_error_code: true } } }] },
        ep('/redirected', ['/to-ok']),
      ],
    });
    pools = createBackendPools();
    logger = createMemoryLogger();
    // router.return_error_msg is service-wide; set on its endpoint alone here, so the other cases keep their empty error bodies.
    const withMessage = (endpoint: EndpointPlan) => (endpoint.path === '/code-and-msg' ? { ...endpoint, returnErrorMsg: true } : endpoint);
    const runtimes = new Map<string, EndpointRuntime>(plan.endpoints.map((endpoint) => [endpoint.path, runtimeOf(withMessage(endpoint), pools)]));
    const forwarder = createForwarder({ maxBodyBytes: LIMIT, logger, maxBackendResponseBytes: LIMIT, budget });
    front = createServer((req, res) => {
      const exchange = forwarder.forward(req, res, runtimes.get(req.url!)!, {}, '', undefined, 'request-id');
      frontClosed.push(
        new Promise((resolve) =>
          res.on('close', () => {
            // What the gateway's close hook does when the client leaves.
            if (exchange !== undefined && !exchange.settled && !res.writableFinished) {
              exchange.settled = true;
              exchange.abort(new ClientGoneError());
            }
            resolve();
          }),
        ),
      );
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  });

  after(async () => {
    openGate();
    for (const res of lingering) res.destroy();
    front.closeAllConnections();
    await new Promise((resolve) => front.close(resolve));
    await pools.destroy();
    await backend.close();
  });

  async function settled(path: string): Promise<{ status: number; text: string }> {
    frontClosed.length = 0;
    const answer = await call(`${frontUrl}${path}`);
    await frontClosed[0];
    return answer;
  }

  it('is 0 after a success', async () => {
    const answer = await settled('/ok');
    assert.equal(answer.status, 200);
    assert.equal(answer.text.length, 256 * KiB);
    assert.equal(budget.inUse, 0);
  });

  for (const path of ['/reset', '/reset-declared']) {
    it(`is 0 after a backend that breaks mid-body (${path})`, async () => {
      const answer = await settled(path);
      assert.equal(answer.status, 500);
      assert.match(logger.text(), new RegExp(`\\[ENDPOINT: ${path}\\] Error #0: `));
      assert.equal(budget.inUse, 0);
    });
  }

  it('is 0 after an answer over the per-backend limit', async () => {
    const answer = await settled('/over');
    assert.equal(answer.status, 502);
    assert.equal(budget.inUse, 0);
  });

  it('is 0 after an answer the budget cannot hold', async () => {
    const answer = await settled('/over-budget');
    assert.equal(answer.status, 502);
    assert.match(logger.text(), /\[ENDPOINT: \/over-budget\] Error #0: buffered backend responses over max_buffered_bytes \(524288 bytes\)/);
    assert.equal(budget.inUse, 0);
  });

  for (const path of ['/stall', '/stall-declared']) {
    it(`is 0 after the endpoint timeout cut a body mid-way (${path})`, async () => {
      backendCut.length = 0;
      const answer = await settled(path);
      assert.equal(answer.status, 500);
      assert.equal(await backendCut[0], true);
      assert.equal(budget.inUse, 0);
    });
  }

  it('is 0 after error bodies kept for the answer (return_error_details; return_error_code with return_error_msg)', async () => {
    const details = await settled('/details');
    assert.equal(details.status, 200);
    assert.equal(JSON.parse(details.text).error_b.http_body.length, 64 * KiB);
    assert.equal(budget.inUse, 0);
    const passed = await settled('/code-and-msg');
    assert.equal(passed.status, 404);
    assert.equal(passed.text.length, 64 * KiB);
    assert.equal(budget.inUse, 0);
  });

  it('is 0 after an answer reached through a redirect', async () => {
    const answer = await settled('/redirected');
    assert.equal(answer.status, 200);
    assert.equal(answer.text.length, 256 * KiB);
    assert.equal(budget.inUse, 0);
  });

  it('is 0 after the timeout when one answer was already merged and another still arriving', async () => {
    const answer = await settled('/ok-and-stall');
    assert.equal(answer.status, 200);
    assert.equal(answer.text.length, 256 * KiB);
    assert.equal(budget.inUse, 0);
  });

  it('holds a merged answer until the whole merge is written, then is 0', async () => {
    frontClosed.length = 0;
    const pending = call(`${frontUrl}/ok-and-gated`);
    // The /ok answer is in and decoded; its bytes stay counted while /gated keeps the merge open.
    await until(() => (budget.inUse === 256 * KiB ? true : undefined));
    openGate();
    const answer = await pending;
    assert.equal(answer.status, 200);
    assert.equal(JSON.parse(answer.text).gated, true);
    await frontClosed[0];
    assert.equal(budget.inUse, 0);
  });

  for (const path of ['/client-leaves', '/client-leaves-declared']) {
    it(`is 0 after the client leaves while a body is arriving (${path})`, async () => {
      backendCut.length = 0;
      frontClosed.length = 0;
      const req = httpRequest(`${frontUrl}${path}`, { agent: false });
      req.on('error', () => undefined);
      req.end();
      await until(() => (budget.inUse > 0 ? true : undefined));
      req.destroy();
      await until(() => frontClosed[0]);
      await frontClosed[0];
      assert.equal(await backendCut[0], true, 'the backend call was cut');
      assert.equal(budget.inUse, 0);
    });
  }

  it('is 0 after the client leaves while a merged answer waits for the other backend', async () => {
    frontClosed.length = 0;
    const req = httpRequest(`${frontUrl}/ok-and-gated`, { agent: false });
    req.on('error', () => undefined);
    req.end();
    await until(() => (budget.inUse === 256 * KiB ? true : undefined));
    req.destroy();
    await until(() => frontClosed[0]);
    await frontClosed[0];
    assert.equal(budget.inUse, 0);
  });
});

function runtimeOf(endpoint: EndpointPlan, pools: BackendPools): EndpointRuntime {
  return Object.freeze({
    plan: endpoint,
    authorizer: undefined,
    backends: endpoint.backends.map((backend) => ({
      plan: backend,
      target: pools.target(backend.hosts),
      buildPath: compilePathBuilder(backend.urlParts),
      reservedQueryKeys: patternQueryKeys(backend.urlPattern),
    })),
    noop: endpoint.outputEncoding === 'no-op',
    limits: { beforeAuth: undefined, afterAuth: undefined },
    claimPaths: false,
    strip: createStripRule([], []),
    metrics: undefined,
    gatewayCors: false,
    signer: undefined,
  });
}

async function until<T>(probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
