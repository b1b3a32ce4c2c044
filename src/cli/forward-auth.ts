/**
 * `portcullis forward-auth -c FILE --proxy nginx|traefik|envoy`: answer a
 * proxy's authorization subrequests with the endpoints and policies of a
 * gateway config (backends are ignored). Config errors print the same
 * `ERROR parsing the configuration file:` lines as `run` and exit 1.
 *
 * The flags are declared in commands/forward-auth.ts, which imports this file only when
 * the command runs.
 */
import type { ForwardAuthProxy } from '../adapters/forward-auth/original-request.js';
import { startForwardAuth, type ForwardAuthServer } from '../adapters/forward-auth/server.js';
import type { GatewayPlan } from '../config/compile.js';
import { loadGatewayPlan } from '../config/load.js';
import { checkPlanSources } from '../runtime/bind.js';
import { ConfigError } from '../config/validate.js';
import { createPinoLogger, droppedLogLines, flushLogger, type LogFormat, type LogLevel } from '../lib/pino-logger.js';
import type { RevocationAdmin } from '../admin/revocation-admin.js';
import { startAdminIfConfigured } from './revocation-admin.js';
import { boundPlanSources } from '../metrics/sources.js';
import type { MetricsServer } from '../metrics/server.js';
import { listenError, metricsExporter, printConfigError, processContext, type CliContext } from './shared.js';

export interface ForwardAuthCliOptions {
  config: string;
  proxy: ForwardAuthProxy;
  pathPrefix?: string;
  port?: number;
  listenIp?: string;
  strict?: boolean;
  metricsPort?: number;
  logLevel: LogLevel;
  logFormat?: LogFormat;
}

/** Runs until a stop signal; resolves with the exit code. */
export async function runForwardAuth(options: ForwardAuthCliOptions, context: CliContext = processContext): Promise<number> {
  const logger = createPinoLogger({ level: options.logLevel, format: options.logFormat ?? 'krakend', ...(context.io.logDestination ? { destination: context.io.logDestination } : {}) });
  let plan: GatewayPlan;
  try {
    const loaded = loadGatewayPlan(options.config, { strict: options.strict === true });
    plan = loaded.plan;
    // Key files and CA files are read now, so a cluster primary refuses a broken one before forking workers.
    const sourceIssues = checkPlanSources(plan);
    if (sourceIssues.length > 0) throw new ConfigError(sourceIssues);
    for (const issue of loaded.warnings) logger.warn(`[SERVICE: Config] ${issue.path}: ${issue.message}`);
    for (const note of gatewayOnlyNotes(plan)) logger.warn(`[SERVICE: ForwardAuth] ${note}`);
  } catch (error) {
    printConfigError(error, context.io);
    return 1;
  }
  const exporter = await metricsExporter(plan, options.metricsPort);
  const ref: { server?: ForwardAuthServer } = {};
  const metrics =
    exporter === undefined
      ? undefined
      : exporter.createPrometheusMetrics(
          boundPlanSources(() => ref.server?.bound, () => droppedLogLines(logger)),
          { processMetrics: plan.metrics?.processMetrics ?? true },
        );
  let server: ForwardAuthServer;
  try {
    server = await startForwardAuth(plan, {
      proxy: options.proxy,
      logger,
      ...(metrics ? { metrics } : {}),
      ...(options.pathPrefix !== undefined ? { pathPrefix: options.pathPrefix } : {}),
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.listenIp !== undefined ? { host: options.listenIp } : {}),
    });
  } catch (error) {
    if (error instanceof ConfigError) printConfigError(error, context.io);
    else context.io.stderr(`ERROR starting forward-auth: ${listenError(error, options.port ?? plan.port, '--port or the config\'s "port"')}\n`);
    await flushLogger(logger);
    return 1;
  }
  ref.server = server;
  let admin: RevocationAdmin | undefined;
  try {
    admin = await startAdminIfConfigured(plan, () => server.bound.revocation, logger);
  } catch (error) {
    if (error instanceof ConfigError) printConfigError(error, context.io);
    else context.io.stderr(`ERROR starting the revocation admin listener: ${listenError(error, plan.revocation?.admin?.port ?? 0, 'auth/revoker.admin.port')}\n`);
    await server.close();
    await flushLogger(logger);
    return 1;
  }
  let metricsServer: MetricsServer | undefined;
  if (metrics !== undefined && exporter !== undefined) {
    try {
      metricsServer = await exporter.startMetricsServer(metrics, exporter.where, logger);
    } catch (error) {
      context.io.stderr(`ERROR starting the metrics listener: ${listenError(error, exporter.where.port, '--metrics-port or the exporter\'s "port"')}\n`);
      await server.close();
      await flushLogger(logger);
      return 1;
    }
  }
  await context.untilStopped(server);
  logger.info('[SERVICE: ForwardAuth] shutting down');
  await server.close().catch(() => {});
  await metricsServer?.close();
  await admin?.close();
  logger.info('[SERVICE: ForwardAuth] stopped');
  await flushLogger(logger);
  return 0;
}

/**
 * What a gateway config asks for that only the gateway does. CORS is the one
 * that bites: the proxy sends forward-auth every request, preflights included,
 * and a preflight carries no token, so the proxy must answer it first.
 */
export function gatewayOnlyNotes(plan: GatewayPlan): string[] {
  const notes: string[] = [];
  if (plan.cors !== undefined) {
    notes.push('security/cors is not applied by forward-auth: answer CORS preflights in the proxy, before its auth subrequest (a preflight carries no token, so it would be refused)');
  }
  if (plan.debugEndpoint || plan.echoEndpoint) notes.push('debug_endpoint and echo_endpoint are not served by forward-auth (the gateway only)');
  return notes;
}

