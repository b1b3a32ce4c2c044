/**
 * A gateway in front of a fault-injecting JWKS server and an echo backend, all
 * on 127.0.0.1, built from an in-memory config through the real loader and
 * compiler. Tests hold the registry, so they can read key-set status (fetch
 * count, last error) without reaching into the gateway.
 */
import assert from 'node:assert/strict';
import { Pool } from 'undici';
import { createKeySetRegistry, type KeySetRegistry } from '../../src/keys/registry.js';
import type { KeySetStatus } from '../../src/keys/key-set.js';
import type { Clock } from '../../src/lib/clock.js';
import { startGateway, type Gateway } from '../../src/gateway/server.js';
import { startBackendServer, type BackendServer } from '../support/backend-server.js';
import { nowSeconds } from '../support/clock.js';
import { mintToken, type TestSigningKey } from '../support/jwks-server.js';
import { createMemoryLogger, type MemoryLogger } from '../support/logger.js';
import { planFrom } from '../support/plan.js';

export interface FaultRig {
  readonly gateway: Gateway;
  readonly backend: BackendServer;
  readonly registry: KeySetRegistry;
  readonly logger: MemoryLogger;
  /** A keep-alive client pool to the gateway. */
  readonly client: Pool;
  status(): KeySetStatus;
  /** GET `path` with `Authorization: Bearer <token>` (or none); resolves with status, body and elapsed time. */
  get(path: string, token?: string): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined>; elapsedMs: number }>;
  close(): Promise<void>;
}

export interface FaultRigOptions {
  /** The auth/validator block of the one endpoint `/p`. */
  validator: Record<string, unknown>;
  clock?: Clock;
  /** Do not wait for the first key-set load before returning. */
  noWait?: boolean;
}

export async function startFaultRig(options: FaultRigOptions): Promise<FaultRig> {
  const backend = await startBackendServer();
  const logger = createMemoryLogger();
  const registry = createKeySetRegistry({ logger, ...(options.clock ? { clock: options.clock } : {}) });
  const plan = planFrom(
    {
      version: 3,
      timeout: '2s',
      endpoints: [{ endpoint: '/p', extra_config: { 'auth/validator': options.validator }, backend: [{ host: [backend.url], url_pattern: '/p' }] }],
    },
    { strict: true, checkSources: true },
  );
  const gateway = await startGateway(plan, {
    host: '127.0.0.1',
    port: 0,
    logger,
    keySets: registry,
    accessLog: false,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  if (!options.noWait) await gateway.ready();
  const client = new Pool(gateway.url, { connections: 256 });
  return {
    gateway,
    backend,
    registry,
    logger,
    client,
    status() {
      const [status] = registry.statuses();
      assert.ok(status, 'the gateway registered no key set');
      return status;
    },
    async get(path, token) {
      const started = performance.now();
      const response = await client.request({ path, method: 'GET', headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
      const body = await response.body.text();
      return { status: response.statusCode, body, headers: response.headers, elapsedMs: performance.now() - started };
    },
    async close() {
      await client.close();
      await gateway.close();
      registry.close();
      await backend.close();
    },
  };
}

/** A token that has never been seen, so the verified-token cache cannot answer for it. */
let serial = 0;
/** A token issued "now": by the real time, or by `clock` when the gateway under test runs on a manual one. */
export function freshToken(key: TestSigningKey, kid = key.kid, clock?: { now(): number }): Promise<string> {
  serial += 1;
  const now = clock === undefined ? nowSeconds() : Math.floor(clock.now() / 1000);
  return mintToken(key, { sub: 'alice', jti: `t${serial}`, iat: now, exp: now + 3600 }, { kid });
}
