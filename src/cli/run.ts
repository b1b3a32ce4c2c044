/**
 * `portcullis run -c FILE`: serve a KrakenD-style config. A bad config prints
 * KrakenD's `ERROR parsing the configuration file:` lines (one per issue, with
 * its JSON path) and exits 1. SIGTERM/SIGINT drain in-flight requests, then
 * exit 0.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError } from '../config/validate.js';
import { parseLogLevel, parsePort, printConfigError, processContext, type CliContext } from './shared.js';
import type { GatewayPlan } from '../config/compile.js';
import { loadGatewayPlan } from '../config/load.js';
import { checkPlanSources } from '../runtime/bind.js';
import { isClusterWorker, notifyReady, startPrimary } from '../gateway/cluster.js';
import { DEFAULT_DRAIN_TIMEOUT_MS, startGateway, type Gateway } from '../gateway/server.js';
import { createAccessLog } from '../gateway/access-log.js';
import { createPinoLogger, flushLogger, LOG_LEVELS, type LogLevel } from '../lib/pino-logger.js';

export interface RunOptions {
  config: string;
  port?: number;
  strict?: boolean;
  workers: number;
  logLevel: LogLevel;
}

export function registerRun(program: Command, context: CliContext): void {
  program
    .command('run')
    .description('Run the gateway on a KrakenD-style configuration file (JSON or YAML).')
    .requiredOption('-c, --config <file>', 'configuration file')
    .option('-p, --port <port>', "listening port (default: the config's port, else 8080)", parsePort)
    .option('--strict', 'treat unknown configuration keys as errors')
    .option('-w, --workers <n>', 'worker processes sharing the port (node:cluster)', parseWorkers, 1)
    .option('-l, --log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`, parseLogLevel, 'info' as LogLevel)
    .action(async (options: RunOptions) => {
      // Exit explicitly: a stray handle (a slow backend socket) must not keep a stopped gateway alive.
      context.exit(await runGateway(options, context));
    });
}

/** Runs until a stop signal; resolves with the exit code. */
export async function runGateway(options: RunOptions, context: CliContext = processContext): Promise<number> {
  const logger = createPinoLogger({ level: options.logLevel, destination: context.io.logDestination });
  const worker = isClusterWorker();
  let plan: GatewayPlan;
  try {
    const loaded = loadGatewayPlan(options.config, { strict: options.strict === true });
    plan = loaded.plan;
    // Key files and CA files are read now, so a cluster primary refuses a broken one before forking workers.
    const sourceIssues = checkPlanSources(plan);
    if (sourceIssues.length > 0) throw new ConfigError(sourceIssues);
    // In a cluster the primary already reported the warnings once.
    if (!worker) for (const issue of loaded.warnings) logger.warn(`[SERVICE: Config] ${issue.path}: ${issue.message}`);
  } catch (error) {
    printConfigError(error, context.io);
    return 1;
  }

  if (options.workers > 1 && !worker) {
    const primary = startPrimary({ workers: options.workers, logger, drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS });
    onStopSignal(() => {
      logger.info('[SERVICE: Gateway] stopping workers');
      primary.stop();
    });
    const code = await primary.exited;
    flushLogger(logger);
    return code;
  }

  const accessLog = createAccessLog(logger);
  let gateway: Gateway;
  try {
    gateway = await startGateway(plan, {
      logger,
      accessLog: accessLog ?? false,
      ...(options.port !== undefined ? { port: options.port } : {}),
    });
  } catch (error) {
    if (error instanceof ConfigError) printConfigError(error, context.io);
    else context.io.stderr(`ERROR starting the gateway: ${(error as Error)?.message ?? String(error)}\n`);
    flushLogger(logger);
    return 1;
  }
  notifyReady(gateway.port);

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      logger.info('[SERVICE: Gateway] shutting down, draining in-flight requests');
      void gateway.close().then(resolve, resolve);
    };
    onStopSignal(stop);
    // A worker whose primary is gone has nobody to restart it or forward signals.
    if (worker) process.once('disconnect', stop);
  });
  accessLog?.flush();
  logger.info('[SERVICE: Gateway] stopped');
  flushLogger(logger);
  return 0;
}

function onStopSignal(stop: () => void): void {
  let stopping = false;
  const handler = (): void => {
    if (stopping) return;
    stopping = true;
    stop();
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

function parseWorkers(value: string): number {
  const workers = Number(value);
  if (!/^\d+$/.test(value) || workers < 1 || workers > 256) throw new InvalidArgumentError('must be a whole number from 1 to 256.');
  return workers;
}

