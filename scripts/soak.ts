/**
 * Soak test (not in CI): N minutes of mixed valid and invalid traffic through
 * the gateway, with a signing-key rotation every minute, then a report of the
 * wrong decisions (must be 0), the 5xx count (must be 0) and the gateway's RSS
 * at the start and at the end.
 *
 *   npm run soak -- --minutes 10 --connections 32
 *   (or: tsx scripts/soak.ts --minutes 10)
 *
 * Process tree: this process runs the JWKS server, the echo backend and the
 * load; the gateway runs in a child process, so its RSS is its own.
 *
 * The leak check after many failed backend calls (sockets, heap) is
 * scripts/soak-backend-faults.ts (`npm run soak:faults`).
 *
 * Every request's expected answer is decided when it is sent. Around a
 * rotation the outcome of a token of the outgoing key depends on whether the
 * gateway has refreshed yet, so such tokens are sent only when the answer is
 * certain: as valid while their key is published and signing, as invalid once
 * the key has been gone for longer than the refresh interval plus a margin.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import type { GatewayPlan } from '../src/config/compile.js';
import { compileGateway } from '../src/config/compile.js';
import { checkPlanSources } from '../src/runtime/bind.js';
import { parseConfigText } from '../src/config/load.js';
import { ConfigError } from '../src/config/validate.js';
import { startGateway } from '../src/gateway/server.js';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type TestSigningKey } from '../test/support/jwks-server.js';
import { startBackendServer } from '../test/support/backend-server.js';

const SELF = fileURLToPath(import.meta.url);
/** Background JWKS refresh (cache_duration) and the margin after which a removed key must be refused. */
const REFRESH_S = 5;
const CERTAIN_AFTER_MS = (REFRESH_S + 3) * 1000;

type ChildMessage = { type: 'listening'; url: string } | { type: 'memory'; rss: number; heapUsed: number } | { type: 'error'; message: string };

if (process.argv[2] === 'gateway') await runGatewayChild();
else await runSoak();

// ------------------------------------------------------------------ gateway child

async function runGatewayChild(): Promise<void> {
  const config = JSON.parse(process.env.SOAK_CONFIG ?? '{}') as unknown;
  let plan: GatewayPlan;
  try {
    plan = compileGateway(parseConfigText(JSON.stringify(config), 'soak.json', { strict: true }).config);
    const issues = checkPlanSources(plan);
    if (issues.length > 0) throw new ConfigError(issues);
  } catch (error) {
    process.send!({ type: 'error', message: (error as Error).message } satisfies ChildMessage);
    process.exit(1);
  }
  const gateway = await startGateway(plan, { host: '127.0.0.1', port: 0, accessLog: false });
  await gateway.ready();
  process.on('message', (message: { type: string }) => {
    if (message.type === 'memory') {
      const { rss, heapUsed } = process.memoryUsage();
      process.send!({ type: 'memory', rss, heapUsed } satisfies ChildMessage);
    } else if (message.type === 'stop') {
      void gateway.close().then(() => process.exit(0));
    }
  });
  process.send!({ type: 'listening', url: gateway.url } satisfies ChildMessage);
}

function nextMessage(child: ChildProcess, type: ChildMessage['type']): Promise<ChildMessage> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ChildMessage) => {
      if (message.type === 'error') {
        child.off('message', onMessage);
        reject(new Error(`gateway: ${message.message}`));
      } else if (message.type === type) {
        child.off('message', onMessage);
        resolve(message);
      }
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
  });
}

// ------------------------------------------------------------------ load

interface Epoch {
  key: TestSigningKey;
  /** Tokens reused many times (the verified-token cache path). */
  valid: string[];
  /** Valid tokens without the required role: 403. */
  forbidden: string[];
  expired: string[];
  /** Set once the key has left the JWKS. */
  removedAt?: number;
}

interface Tally {
  sent: number;
  wrong: number;
  fiveXx: number;
  transportErrors: number;
  byKind: Map<string, { sent: number; wrong: number }>;
  examples: string[];
}

async function runSoak(): Promise<void> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: process.env.SOAK_MINUTES ?? '5' },
      connections: { type: 'string', default: process.env.SOAK_CONNECTIONS ?? '16' },
      'rotate-every': { type: 'string', default: process.env.SOAK_ROTATE_S ?? '60' },
    },
  });
  const durationMs = Number(values.minutes) * 60_000;
  const connections = Math.max(1, Number(values.connections));
  const rotateEveryMs = Math.max(CERTAIN_AFTER_MS * 2, Number(values['rotate-every']) * 1000);
  if (!(durationMs > 0)) throw new Error('--minutes must be a positive number');

  const jwks = await startJwksServer();
  const backend = await startBackendServer();
  const stranger = await generateSigningKey('stranger');
  let generation = 0;
  const newEpoch = async (): Promise<Epoch> => {
    generation += 1;
    const key = await generateSigningKey(`soak-${generation}`);
    const now = Math.floor(Date.now() / 1000);
    const mint = (extra: Record<string, unknown>, i: number) => mintToken(key, { sub: `user-${i}`, roles: ['user'], iat: now, exp: now + 3 * 3600, ...extra });
    return {
      key,
      valid: await Promise.all(Array.from({ length: 200 }, (_, i) => mint({}, i))),
      forbidden: await Promise.all(Array.from({ length: 20 }, (_, i) => mint({ roles: ['guest'] }, i))),
      expired: await Promise.all(Array.from({ length: 20 }, (_, i) => mint({ iat: now - 7200, exp: now - 3600 }, i))),
    };
  };
  let current = await newEpoch();
  const retired: Epoch[] = [];
  jwks.setKeys(jwksOf(current.key));

  const config = {
    version: 3,
    timeout: '5s',
    endpoints: [
      {
        endpoint: '/api/{id}',
        input_headers: ['X-User'],
        extra_config: {
          'auth/validator': {
            alg: 'RS256',
            jwk_url: jwks.url('/jwks'),
            cache_duration: REFRESH_S,
            failed_jwk_key_cooldown: '1s',
            roles: ['user'],
            propagate_claims: [['sub', 'X-User']],
          },
        },
        backend: [{ host: [backend.url], url_pattern: '/echo/{id}' }],
      },
    ],
  };
  const child = fork(SELF, ['gateway'], { env: { ...process.env, SOAK_CONFIG: JSON.stringify(config) }, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { url } = (await nextMessage(child, 'listening')) as { url: string };
  const memory = async () => (await (child.send({ type: 'memory' }), nextMessage(child, 'memory'))) as { rss: number; heapUsed: number };
  const pool = new Pool(url, { connections, pipelining: 1 });

  // Warm up, so the RSS at the start is that of a running gateway and not of a cold one.
  for (let i = 0; i < 200; i++) await (await pool.request({ path: `/api/${i}`, method: 'GET', headers: { authorization: `Bearer ${current.valid[i % 200]}` } })).body.text();
  const start = await memory();

  const tally: Tally = { sent: 0, wrong: 0, fiveXx: 0, transportErrors: 0, byKind: new Map(), examples: [] };
  let rotations = 0;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

  async function rotate(): Promise<void> {
    const incoming = await newEpoch();
    jwks.setKeys(jwksOf(current.key, incoming.key));
    // The outgoing key keeps signing until the incoming one is surely known, then leaves the JWKS.
    await sleep(CERTAIN_AFTER_MS);
    const outgoing = current;
    current = incoming;
    // Requests chosen just before the switch are still in flight; let them finish before the key leaves.
    await sleep(1000);
    jwks.setKeys(jwksOf(incoming.key));
    outgoing.removedAt = Date.now();
    retired.push(outgoing);
    if (retired.length > 3) retired.shift();
    rotations += 1;
  }

  /** One request: what is sent, and the status it must get. */
  async function choose(): Promise<{ kind: string; token: string | undefined; expect: number }> {
    const roll = Math.random();
    const certainlyRemoved = retired.filter((epoch) => epoch.removedAt !== undefined && Date.now() - epoch.removedAt > CERTAIN_AFTER_MS);
    if (roll < 0.45) return { kind: 'valid (cached)', token: pick(current.valid), expect: 200 };
    if (roll < 0.55) {
      const now = Math.floor(Date.now() / 1000);
      return { kind: 'valid (fresh)', token: await mintToken(current.key, { sub: 'fresh', roles: ['user'], jti: String(Math.random()), exp: now + 600 }), expect: 200 };
    }
    if (roll < 0.62) return { kind: 'missing role', token: pick(current.forbidden), expect: 403 };
    if (roll < 0.69) return { kind: 'expired', token: pick(current.expired), expect: 401 };
    if (roll < 0.76) {
      const [h, p, s] = pick(current.valid).split('.') as [string, string, string];
      const flipped = s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11);
      return { kind: 'tampered signature', token: `${h}.${p}.${flipped}`, expect: 401 };
    }
    if (roll < 0.8) {
      const [, p] = pick(current.valid).split('.') as [string, string];
      return { kind: 'alg none', token: `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`, expect: 401 };
    }
    if (roll < 0.85) {
      const now = Math.floor(Date.now() / 1000);
      return { kind: 'unknown kid', token: await mintToken(stranger, { roles: ['user'], exp: now + 600 }, { kid: `stranger-${Math.floor(Math.random() * 1e9)}` }), expect: 401 };
    }
    if (roll < 0.9) return { kind: 'garbage', token: pick(['x', 'a.b.c', 'Bearer', '...', 'eyJ.eyJ.', 'ä'.repeat(3)].map(encodeURIComponent)), expect: 401 };
    if (roll < 0.95 && certainlyRemoved.length > 0) return { kind: 'removed key', token: pick(pick(certainlyRemoved).valid), expect: 401 };
    return { kind: 'no token', token: undefined, expect: 401 };
  }

  async function worker(deadline: number): Promise<void> {
    while (Date.now() < deadline) {
      const { kind, token, expect } = await choose();
      let status = 0;
      try {
        const response = await pool.request({ path: `/api/${tally.sent % 1000}`, method: 'GET', headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
        await response.body.text();
        status = response.statusCode;
      } catch {
        tally.transportErrors += 1;
      }
      tally.sent += 1;
      const entry = tally.byKind.get(kind) ?? { sent: 0, wrong: 0 };
      entry.sent += 1;
      if (status >= 500) tally.fiveXx += 1;
      if (status !== expect) {
        tally.wrong += 1;
        entry.wrong += 1;
        if (tally.examples.length < 10) tally.examples.push(`${kind}: expected ${expect}, got ${status || 'a transport error'}`);
      }
      tally.byKind.set(kind, entry);
    }
  }

  const startedAt = Date.now();
  const deadline = startedAt + durationMs;
  const rotation = (async () => {
    while (Date.now() + rotateEveryMs < deadline) {
      await sleep(rotateEveryMs - CERTAIN_AFTER_MS);
      await rotate();
    }
  })();
  const progress = setInterval(() => {
    const elapsedS = Math.round((Date.now() - startedAt) / 1000);
    console.log(`[soak] ${elapsedS}s: ${tally.sent} requests, ${tally.wrong} wrong, ${tally.fiveXx} 5xx, ${rotations} rotations`);
  }, 30_000);
  await Promise.all([...Array.from({ length: connections }, () => worker(deadline)), rotation]);
  clearInterval(progress);
  const elapsedS = (Date.now() - startedAt) / 1000;
  await sleep(1000);
  const end = await memory();

  child.send({ type: 'stop' });
  await new Promise((resolve) => child.once('exit', resolve));
  await pool.close();
  await backend.close();
  await jwks.close();

  const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;
  console.log('');
  console.log(`soak: ${(elapsedS / 60).toFixed(1)} min, ${tally.sent} requests (${Math.round(tally.sent / elapsedS)}/s), ${connections} connections, ${rotations} key rotations, ${jwks.requestCount('/jwks')} JWKS downloads`);
  for (const [kind, entry] of [...tally.byKind.entries()].sort()) console.log(`  ${kind.padEnd(20)} ${String(entry.sent).padStart(9)} sent, ${entry.wrong} wrong`);
  console.log(`wrong decisions: ${tally.wrong} (must be 0)`);
  console.log(`5xx answers:     ${tally.fiveXx}`);
  console.log(`transport errors: ${tally.transportErrors}`);
  console.log(`gateway RSS:     ${mib(start.rss)} at the start, ${mib(end.rss)} at the end (heap ${mib(start.heapUsed)} → ${mib(end.heapUsed)})`);
  for (const example of tally.examples) console.log(`  e.g. ${example}`);
  process.exitCode = tally.wrong === 0 && tally.fiveXx === 0 && tally.transportErrors === 0 ? 0 : 1;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
