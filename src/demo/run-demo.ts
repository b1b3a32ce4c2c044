/**
 * `portcullis demo`: the issuer, an echo backend and the gateway on
 * examples/demo.json, wired together on loopback with no configuration and no
 * network. The demo config names the default ports; other ports are written
 * into a temporary copy, so the gateway always runs the real loader.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadGatewayPlan } from '../config/load.js';
import type { GatewayPlan } from '../config/compile.js';
import { startGateway, type Gateway } from '../gateway/server.js';
import { revocationEntryFor } from '../revocation/request.js';
import { silentLogger, type Logger } from '../lib/logger.js';
import { probePort } from '../lib/probe-port.js';
import { loadIssuerSettings } from '../issuer/config.js';
import { createIssuer, type Issuer } from '../issuer/issuer.js';
import { createKeyStore } from '../issuer/key-store.js';
import { startIssuerServer, type IssuerServer } from '../issuer/server.js';
import type { DebuggerGateway } from '../issuer/debugger.js';
import { createPlanExplainer } from '../runtime/explain-plan.js';
import { startEchoBackend, type EchoBackend } from './backend.js';
import { buildDemoCommands, demoVariables, type DemoCommand, type DemoTokens, type DemoVariable } from './commands.js';
import { DEMO_PORTS } from './ports.js';

export { DEMO_PORTS } from './ports.js';

const HOST = '127.0.0.1';

export interface DemoOptions {
  issuerPort?: number;
  backendPort?: number;
  gatewayPort?: number;
  /** Gateway config; default examples/demo.json of this package. */
  configPath?: string;
  logger?: Logger;
}

export interface Demo {
  readonly issuer: IssuerServer;
  readonly backend: EchoBackend;
  readonly gateway: Gateway;
  readonly configPath: string;
  readonly projectId: string;
  /** The tokens, printed once as `export NAME=…` lines that the commands read. */
  readonly variables: readonly DemoVariable[];
  readonly commands: readonly DemoCommand[];
  close(): Promise<void>;
}

/** A port the demo cannot bind; the message names the flag that changes it. */
export class DemoPortError extends Error {
  constructor(
    readonly port: number,
    readonly role: string,
    readonly flag: string,
    cause: NodeJS.ErrnoException,
  ) {
    const problem = cause.code === 'EACCES' ? 'cannot be used (permission denied)' : 'is already in use';
    super(`port ${port} (${role}) ${problem}; choose another with ${flag}`, { cause });
    this.name = 'DemoPortError';
  }
}

export function defaultDemoConfigPath(): string {
  // Walk up to the package root: this file runs from src/demo (tsx) or dist/src/demo (built).
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'examples', 'demo.json');
    if (existsSync(candidate) && existsSync(join(dir, 'package.json'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('examples/demo.json not found next to the portcullis package');
}

export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const logger = options.logger ?? silentLogger;
  const ports = {
    issuer: options.issuerPort ?? DEMO_PORTS.issuer,
    backend: options.backendPort ?? DEMO_PORTS.backend,
    gateway: options.gatewayPort ?? DEMO_PORTS.gateway,
  };
  const configPath = options.configPath ?? defaultDemoConfigPath();
  // Checked before anything starts, so a busy port leaves nothing half running.
  await assertPortFree(ports.issuer, 'issuer', '--issuer-port');
  await assertPortFree(ports.backend, 'backend', '--backend-port');
  await assertPortFree(ports.gateway, 'gateway', '--gateway-port');

  const settings = loadIssuerSettings(undefined);
  // Keys in memory: the demo leaves no files behind, and its tokens are minted fresh on every start.
  const issuer = createIssuer(settings, await createKeyStore({ alg: settings.alg, keepRotatedKeys: settings.keepRotatedKeys, logger }));
  const started: { close(): Promise<void> }[] = [];
  const closeAll = async (): Promise<void> => {
    for (const part of started.reverse()) await part.close();
  };
  try {
    const ref: { gateway?: Gateway } = {};
    // "Log out everywhere" from the issuer reaches the demo gateway's revocation set.
    const onLogout = async (sub: string): Promise<{ before: number }> => {
      const bound = ref.gateway?.bound();
      if (bound?.revocation === undefined || bound.plan.revocation === undefined) throw new Error('the demo gateway has no auth/revoker');
      const entry = revocationEntryFor({ kind: 'sub', value: sub }, bound.plan.revocation, Date.now() / 1000);
      await bound.revocation.revoke(entry);
      return { before: entry.before! };
    };
    // The debugger explains against the demo's gateway, which starts after the issuer (its config names the issuer's port).
    const debuggerTarget: { gateway?: DebuggerGateway } = {};
    const issuerServer = await listenOrExplain(
      () => startIssuerServer(issuer, { host: HOST, port: ports.issuer, logger, onLogout, debugger: { gateway: () => debuggerTarget.gateway } }),
      ports.issuer,
      'issuer',
      '--issuer-port',
    );
    started.push(issuerServer);
    const backend = await listenOrExplain(() => startEchoBackend({ host: HOST, port: ports.backend }), ports.backend, 'backend', '--backend-port');
    started.push(backend);
    const plan = loadDemoPlan(configPath, issuerServer.port, backend.port);
    const gateway = await listenOrExplain(() => startGateway(plan, { host: HOST, port: ports.gateway, logger }), ports.gateway, 'gateway', '--gateway-port');
    started.push(gateway);
    ref.gateway = gateway;
    await gateway.ready();
    const explainer = createPlanExplainer(plan);
    started.push({ close: async () => explainer.close() });
    debuggerTarget.gateway = { config: configPath, url: gateway.url, endpoints: explainer.endpoints, explain: (token) => explainer.explain(token) };

    const tokens = await mintDemoTokens(issuer, issuerServer);
    const accessKey = settings.accessKeys[0];
    if (!accessKey) throw new Error('the demo issuer config has no access key');
    const commands = buildDemoCommands(
      { gateway: gateway.url, issuer: issuerServer.url, healthPath: plan.healthPath },
      { projectId: settings.projectId, key: accessKey.key },
    );
    const variables = demoVariables(tokens);
    return { issuer: issuerServer, backend, gateway, configPath, projectId: settings.projectId, variables, commands, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

async function mintDemoTokens(issuer: Issuer, server: IssuerServer): Promise<DemoTokens> {
  const mint = (request: Parameters<Issuer['mintSession']>[0]): string => issuer.mintSession(request, server.baseUrl).sessionJwt;
  const accessKey = issuer.settings.accessKeys[0]!;
  // The machine token goes through the real HTTP exchange, as a client would get it.
  const res = await fetch(`${server.url}/v1/auth/accesskey/exchange`, {
    method: 'POST',
    headers: { authorization: `Bearer ${issuer.settings.projectId}:${accessKey.key}`, 'content-type': 'application/json' },
    body: '{"loginOptions":{}}',
  });
  if (res.status !== 200) throw new Error(`demo: the access-key exchange answered ${res.status}`);
  const { sessionJwt } = (await res.json()) as { sessionJwt: string };
  return {
    admin: mint({ user: 'alice' }),
    viewer: mint({ user: 'bob' }),
    expired: mint({ user: 'alice', ttlSeconds: -300 }),
    refresh: mint({ user: 'alice', claims: { drn: 'DSR' } }),
    machine: sessionJwt,
  };
}

/** The demo config with the issuer and backend URLs moved to the ports actually used. */
function loadDemoPlan(configPath: string, issuerPort: number, backendPort: number): GatewayPlan {
  if (issuerPort === DEMO_PORTS.issuer && backendPort === DEMO_PORTS.backend) return loadGatewayPlan(configPath).plan;
  const moved = moveOrigins(JSON.parse(readFileSync(configPath, 'utf8')) as unknown, [
    [`http://${HOST}:${DEMO_PORTS.issuer}`, `http://${HOST}:${issuerPort}`],
    [`http://${HOST}:${DEMO_PORTS.backend}`, `http://${HOST}:${backendPort}`],
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-demo-'));
  try {
    const path = join(dir, 'demo.json');
    writeFileSync(path, JSON.stringify(moved));
    return loadGatewayPlan(path).plan;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function moveOrigins(value: unknown, moves: readonly (readonly [string, string])[]): unknown {
  if (typeof value === 'string') {
    for (const [from, to] of moves) {
      if (value === from || value.startsWith(`${from}/`)) return to + value.slice(from.length);
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => moveOrigins(item, moves));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, moveOrigins(item, moves)]));
  }
  return value;
}

async function assertPortFree(port: number, role: string, flag: string): Promise<void> {
  try {
    await probePort(port, HOST);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw code === 'EADDRINUSE' || code === 'EACCES' ? new DemoPortError(port, role, flag, error as NodeJS.ErrnoException) : error;
  }
}

async function listenOrExplain<T>(start: () => Promise<T>, port: number, role: string, flag: string): Promise<T> {
  try {
    return await start();
  } catch (error) {
    // Another process can take the port between the check and the start.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') throw new DemoPortError(port, role, flag, error as NodeJS.ErrnoException);
    throw error;
  }
}
