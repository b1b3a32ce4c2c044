/**
 * `portcullis issuer`: the local development issuer (default `serve`), and
 * `portcullis issuer rotate`, which asks a running issuer to rotate or, when
 * none listens, rotates the keys in its data dir.
 *
 * The flags are declared in commands/issuer.ts, which imports this file only when
 * the command runs.
 */
import type { DestinationStream } from 'pino';
import { createPinoLogger, isLogLevel } from '../lib/pino-logger.js';
import type { Logger } from '../lib/logger.js';
import { probePort } from '../lib/probe-port.js';
import { isIssuerAlg, isIssuerForm, readIssuerConfigFile, resolveIssuerConfig, type SettingsOverrides } from '../issuer/config.js';
import { issuerFor } from '../issuer/claims.js';
import { openOfflineIssuer, saveSnapshot } from '../issuer/data-dir.js';
import { DEFAULT_ISSUER_CONFIG } from '../issuer/default-config.js';
import { callAdmin } from '../issuer/admin-client.js';
import { createIssuer } from '../issuer/issuer.js';
import { createKeyStore } from '../issuer/key-store.js';
import { checkDemoKeyExposure, startIssuerServer } from '../issuer/server.js';
import type { DebuggerGateway } from '../issuer/debugger.js';
import { configErrorLines, parsePortFlag, run, type CliContext, type CliIo } from './shared.js';

export { DEFAULT_ISSUER_URL } from '../issuer/default-config.js';

export interface ServeOptions {
  port: string;
  host: string;
  projectId?: string;
  dataDir: string;
  alg?: string;
  config?: string;
  issForm?: string;
  publicUrl?: string;
  logLevel: string;
  allowDemoKeyOnNetwork?: boolean;
  gatewayConfig?: string;
  /** false with --no-debugger. */
  debugger: boolean;
  allowDebuggerOnNetwork?: boolean;
}

export interface RotateOptions {
  issuer: string;
  dataDir: string;
  config?: string;
}

/** The action of `portcullis issuer serve`: serves until stopped; exit code 1 and one line on stderr when it cannot start. */
export function serveCommand(options: ServeOptions, context: CliContext): Promise<void> {
  return run(context, () => serve(options, context));
}

/** The action of `portcullis issuer rotate`. */
export function rotateCommand(options: RotateOptions, context: CliContext): Promise<void> {
  return run(context, () => rotate(options, context.io));
}

export function checkIssuerUrl(text: string): void {
  if (!/^https?:\/\//.test(text) || !URL.canParse(text)) throw new Error(`--issuer must be an http(s) URL, got ${JSON.stringify(text)}`);
}

/** The issuer and the demo log to stderr (stdout carries tokens and curl lines), in the gateway's JSON shape. */
export function createStderrLogger(level: string, destination?: DestinationStream): Logger {
  if (!isLogLevel(level)) throw new Error(`--log-level must be debug, info, warn, error or silent`);
  return createPinoLogger({ level, ...(destination ? { destination } : { output: 'stderr' }) });
}

export function settingsOverrides(options: { projectId?: string; alg?: string; issForm?: string; publicUrl?: string }): SettingsOverrides {
  if (options.alg !== undefined && !isIssuerAlg(options.alg)) throw new Error('--alg must be RS256, ES256, ES384 or EdDSA');
  if (options.issForm !== undefined && !isIssuerForm(options.issForm)) throw new Error('--iss-form must be project, url or apps');
  return {
    projectId: options.projectId,
    alg: options.alg as SettingsOverrides['alg'],
    issuerForm: options.issForm as SettingsOverrides['issuerForm'],
    publicBaseUrl: options.publicUrl,
  };
}

async function serve(options: ServeOptions, context: CliContext): Promise<void> {
  const logger = createStderrLogger(options.logLevel, context.io.logDestination);
  const port = parsePortFlag('--port', options.port);
  const overrides = settingsOverrides(options);
  const raw = options.config === undefined ? DEFAULT_ISSUER_CONFIG : readIssuerConfigFile(options.config);
  const settings = resolveIssuerConfig(raw, overrides);
  // Checked before the data dir is touched; startIssuerServer checks again for library callers.
  const allowDemoKey = options.allowDemoKeyOnNetwork === true;
  const exposedDemoKey = checkDemoKeyExposure(settings, options.host, allowDemoKey);
  if (exposedDemoKey !== undefined) {
    context.io.stderr(
      `${[
        `WARNING: serving the PUBLIC demo access key ${exposedDemoKey.id} on ${options.host}, which is not loopback (--allow-demo-key-on-network).`,
        'WARNING: its secret is printed in the portcullis docs and examples: anyone who can reach this port can exchange it for tokens.',
        'WARNING: development only. For anything others can reach, use --config with access keys of your own.',
      ].join('\n')}\n`,
    );
  }
  // Read before anything starts: a broken file is reported now, with its JSON paths, not in the page later.
  const gateway = options.gatewayConfig === undefined ? undefined : await loadDebuggerGateway(options.gatewayConfig);
  const portError = (error: unknown): unknown =>
    (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? new Error(`port ${port} is already in use; choose another with --port`, { cause: error }) : error;
  // Before the key store: a first start on a busy port must not leave a new signing key (or a data dir) behind.
  await probePort(port, options.host).catch((error: unknown) => {
    throw portError(error);
  });
  const keyStore = await createKeyStore({ dataDir: options.dataDir, alg: settings.alg, keepRotatedKeys: settings.keepRotatedKeys, logger });
  const issuer = createIssuer(settings, keyStore);
  const debuggerOptions = options.debugger
    ? { allowOnNetwork: options.allowDebuggerOnNetwork === true, ...(gateway ? { gateway: () => gateway.info } : {}) }
    : false;
  let server;
  try {
    server = await startIssuerServer(issuer, { host: options.host, port, logger, allowDemoKeyOnNetwork: allowDemoKey, debugger: debuggerOptions });
  } catch (error) {
    gateway?.close();
    // The port was taken between the probe and now.
    throw portError(error);
  }
  // Closed on any failure below too, so a refused snapshot write does not leave the port open.
  try {
    await saveSnapshot(options.dataDir, { config: raw, overrides, base_url: server.baseUrl });
    const pid = settings.projectId;
    const lines = [
      `portcullis issuer listening on ${server.url} (project ${pid}, ${keyStore.current().alg}, development only)`,
      `  iss          ${issuerFor(settings.issuerForm, pid, server.baseUrl)}`,
      `  JWKS         ${server.baseUrl}/v2/keys/${pid}`,
      `               ${server.baseUrl}/${pid}/.well-known/jwks.json`,
      `  discovery    ${server.baseUrl}/${pid}/.well-known/openid-configuration`,
      `               ${server.baseUrl}/v1/apps/${pid}/.well-known/openid-configuration`,
      `  exchange     POST ${server.baseUrl}/v1/auth/accesskey/exchange`,
      `  admin        POST ${server.url}/admin/mint, POST ${server.url}/admin/rotate (loopback only)`,
      `  debugger     ${debuggerLine(server.debuggerUrl, options, gateway?.info)}`,
      `  data dir     ${options.dataDir}`,
      `mint a token:  npx portcullis token --roles admin${port === 4000 ? '' : ` --issuer ${server.url}`}`,
    ];
    context.io.stdout(`${lines.join('\n')}\n`);
    await context.untilStopped(server);
  } finally {
    await server.close();
    gateway?.close();
  }
}

function debuggerLine(url: string | undefined, options: ServeOptions, gateway: DebuggerGateway | undefined): string {
  if (url !== undefined) return `${url} (loopback only)${gateway ? `; explains ${gateway.config}` : '; --gateway-config FILE adds explain per endpoint'}`;
  if (!options.debugger) return 'off (--no-debugger)';
  return `off: ${options.host} is not loopback (--allow-debugger-on-network serves it to local clients anyway)`;
}

/**
 * The debugger's view of a gateway config: each endpoint explained, and where the gateway would listen.
 * The config loader and the explainer (with undici) are loaded only for --gateway-config.
 */
async function loadDebuggerGateway(path: string): Promise<{ info: DebuggerGateway; close(): void }> {
  const [{ loadGatewayPlan }, { createPlanExplainer, gatewayUrlOf }] = await Promise.all([import('../config/load.js'), import('../runtime/explain-plan.js')]);
  let plan;
  try {
    ({ plan } = loadGatewayPlan(path));
  } catch (error) {
    throw new Error(`--gateway-config ${path} is not a usable gateway config:\n${configErrorLines(error).join('\n')}`, { cause: error });
  }
  const explainer = createPlanExplainer(plan);
  return {
    info: { config: path, url: gatewayUrlOf(plan), endpoints: explainer.endpoints, explain: (token) => explainer.explain(token) },
    close: () => explainer.close(),
  };
}

async function rotate(options: RotateOptions, io: CliIo): Promise<void> {
  checkIssuerUrl(options.issuer);
  const remote = await callAdmin<{ kid: string; published: string[] }>(options.issuer, '/admin/rotate', {});
  if (remote.kind === 'ok') {
    io.stdout(`new signing key ${remote.value.kid}; published: ${remote.value.published.join(', ')}\n`);
    return;
  }
  const { issuer } = await openOfflineIssuer({ dataDir: options.dataDir, configPath: options.config, baseUrl: options.issuer });
  const key = await issuer.rotate();
  io.stdout(`no issuer at ${options.issuer}; rotated ${options.dataDir}: new signing key ${key.kid}; published: ${issuer.keyStore.published().map((k) => k.kid).join(', ')}\n`);
}
