/**
 * `portcullis forward-auth -c FILE --proxy nginx|traefik|envoy`: answer a
 * proxy's authorization subrequests with the endpoints and policies of a
 * gateway config (backends are ignored). Config errors print the same
 * `ERROR parsing the configuration file:` lines as `run` and exit 1.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { FORWARD_AUTH_PROXIES, type ForwardAuthProxy } from '../adapters/forward-auth/original-request.js';
import { startForwardAuth, type ForwardAuthServer } from '../adapters/forward-auth/server.js';
import type { GatewayPlan } from '../config/compile.js';
import { loadGatewayPlan } from '../config/load.js';
import { checkPlanSources } from '../runtime/bind.js';
import { ConfigError } from '../config/validate.js';
import { createPinoLogger, flushLogger, LOG_LEVELS, type LogLevel } from '../lib/pino-logger.js';
import { parseLogLevel, parsePort, printConfigError, processContext, type CliContext } from './shared.js';

export interface ForwardAuthCliOptions {
  config: string;
  proxy: ForwardAuthProxy;
  pathPrefix?: string;
  port?: number;
  listenIp?: string;
  strict?: boolean;
  logLevel: LogLevel;
}

export function registerForwardAuth(program: Command, context: CliContext): void {
  program
    .command('forward-auth')
    .description('Answer nginx auth_request, Traefik forwardAuth or Envoy ext_authz checks with the policies of a gateway config.')
    .requiredOption('-c, --config <file>', 'configuration file (the gateway format; backends are ignored)')
    .addOption(
      new Option('--proxy <proxy>', 'the proxy sending the checks: where the original method and URI are read from')
        .choices([...FORWARD_AUTH_PROXIES])
        .makeOptionMandatory(),
    )
    .option('--path-prefix <prefix>', 'envoy: the ext_authz http_service path_prefix to remove from the check path', parsePrefix)
    .option('-p, --port <port>', "listening port (default: the config's port, else 8080)", parsePort)
    .option('--listen-ip <address>', "listening address (default: the config's listen_ip); keep it reachable by the proxy only")
    .option('--strict', 'treat unknown configuration keys as errors')
    .option('-l, --log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`, parseLogLevel, 'info' as LogLevel)
    .action(async (options: ForwardAuthCliOptions) => {
      context.exit(await runForwardAuth(options, context));
    });
}

/** Runs until a stop signal; resolves with the exit code. */
export async function runForwardAuth(options: ForwardAuthCliOptions, context: CliContext = processContext): Promise<number> {
  const logger = createPinoLogger({ level: options.logLevel, destination: context.io.logDestination });
  let plan: GatewayPlan;
  try {
    const loaded = loadGatewayPlan(options.config, { strict: options.strict === true });
    plan = loaded.plan;
    // Key files and CA files are read now, so a cluster primary refuses a broken one before forking workers.
    const sourceIssues = checkPlanSources(plan);
    if (sourceIssues.length > 0) throw new ConfigError(sourceIssues);
    for (const issue of loaded.warnings) logger.warn(`[SERVICE: Config] ${issue.path}: ${issue.message}`);
  } catch (error) {
    printConfigError(error, context.io);
    return 1;
  }
  let server: ForwardAuthServer;
  try {
    server = await startForwardAuth(plan, {
      proxy: options.proxy,
      logger,
      ...(options.pathPrefix !== undefined ? { pathPrefix: options.pathPrefix } : {}),
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.listenIp !== undefined ? { host: options.listenIp } : {}),
    });
  } catch (error) {
    if (error instanceof ConfigError) printConfigError(error, context.io);
    else context.io.stderr(`ERROR starting forward-auth: ${(error as Error)?.message ?? String(error)}\n`);
    flushLogger(logger);
    return 1;
  }
  await context.untilStopped(server);
  logger.info('[SERVICE: ForwardAuth] shutting down');
  await server.close().catch(() => {});
  logger.info('[SERVICE: ForwardAuth] stopped');
  flushLogger(logger);
  return 0;
}

function parsePrefix(value: string): string {
  if (!value.startsWith('/')) throw new InvalidArgumentError('must start with "/".');
  return value;
}

