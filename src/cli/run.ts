/**
 * `portcullis run -c FILE`: serve a KrakenD-style config. A bad config prints
 * KrakenD's `ERROR parsing the configuration file:` lines (one per issue, with
 * its JSON path) and exits 1. SIGTERM/SIGINT drain in-flight requests, then
 * exit 0. SIGHUP (and `--watch`, when the file changes) reloads the config:
 * a broken one is logged with its JSON paths and the running one keeps
 * serving. With `--workers`, the primary forwards the reload to every worker
 * and serves the summed metrics.
 *
 * The flags are declared in commands/run.ts, which imports this file only when
 * the command runs.
 */
import { watch, type FSWatcher } from 'node:fs';
import type { GatewayPlan } from '../config/compile.js';
import { loadGatewayPlan } from '../config/load.js';
import { ConfigError } from '../config/validate.js';
import { createAccessLog } from '../gateway/access-log.js';
import { isClusterWorker, notifyReady, startPrimary } from '../gateway/cluster.js';
import { DEFAULT_DRAIN_TIMEOUT_MS, startGateway, type Gateway } from '../gateway/server.js';
import { createPinoLogger, droppedLogLines, flushLogger, type LogFormat, type LogLevel } from '../lib/pino-logger.js';
import type { Logger } from '../lib/logger.js';
import { boundPlanSources } from '../metrics/sources.js';
import type { PrometheusMetrics } from '../metrics/prometheus.js';
import type { MetricsServer } from '../metrics/server.js';
import { checkPlanSources } from '../runtime/bind.js';
import { createFleetState } from '../runtime/fleet-state.js';
import type { RevocationAdmin } from '../admin/revocation-admin.js';
import { startAdminIfConfigured, workersNeedSharedRevocation } from './revocation-admin.js';
import { configErrorLines, listenError, metricsExporter, printConfigError, processContext, type CliContext } from './shared.js';

export interface RunOptions {
  config: string;
  port?: number;
  listenIp?: string;
  strict?: boolean;
  workers: number;
  logLevel: LogLevel;
  logFormat?: LogFormat;
  watch?: boolean;
  metricsPort?: number;
}

/** How long the CLI keeps idle keep-alive connections open on shutdown, so their next request gets a clean 503. */
const DRAIN_GRACE_MS = 1000;
/** Editors write a file in several steps; one reload follows a burst of changes. */
const WATCH_SETTLE_MS = 200;

/** Loads, compiles and checks the key files: what both a start and a reload need. */
function loadPlan(options: RunOptions): { plan: GatewayPlan; warnings: readonly { path: string; message: string }[] } {
  const loaded = loadGatewayPlan(options.config, { strict: options.strict === true });
  // Key files and CA files are read now, so a cluster primary refuses a broken one before forking workers.
  const sourceIssues = checkPlanSources(loaded.plan);
  if (sourceIssues.length > 0) throw new ConfigError(sourceIssues);
  return loaded;
}

/** Runs until a stop signal; resolves with the exit code. */
export async function runGateway(options: RunOptions, context: CliContext = processContext): Promise<number> {
  const logger = createPinoLogger({ level: options.logLevel, format: options.logFormat ?? 'krakend', ...(context.io.logDestination ? { destination: context.io.logDestination } : {}) });
  const worker = isClusterWorker();
  let plan: GatewayPlan;
  try {
    const loaded = loadPlan(options);
    plan = loaded.plan;
    // In a cluster the primary already reported the warnings once.
    if (!worker) for (const issue of loaded.warnings) logger.warn(`[SERVICE: Config] ${issue.path}: ${issue.message}`);
  } catch (error) {
    printConfigError(error, context.io);
    return 1;
  }
  const exporter = await metricsExporter(plan, options.metricsPort);

  if (options.workers > 1 && !worker) {
    const shared = workersNeedSharedRevocation(plan, options.workers);
    if (shared.length > 0) {
      printConfigError(new ConfigError(shared), context.io);
      return 1;
    }
    // The admin listener lives in the primary: one port, writing to the Redis store every worker reads.
    const adminFleet = plan.revocation?.admin !== undefined ? createFleetState({ logger }) : undefined;
    let admin: RevocationAdmin | undefined;
    try {
      admin = adminFleet && (await startAdminIfConfigured(plan, () => adminFleet.revocationStore(plan.revocation!, plan.redisPools), logger));
    } catch (error) {
      await adminFleet?.close();
      if (error instanceof ConfigError) printConfigError(error, context.io);
      else context.io.stderr(`ERROR starting the revocation admin listener: ${listenError(error, plan.revocation?.admin?.port ?? 0, 'auth/revoker.admin.port')}\n`);
      return 1;
    }
    const primary = startPrimary({ workers: options.workers, logger, drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS });
    let metricsServer: MetricsServer | undefined;
    if (exporter !== undefined) {
      try {
        metricsServer = await exporter.startMetricsServer(exporter.clusterMetricsSource(), exporter.where, logger);
      } catch (error) {
        logger.error(`[SERVICE: Metrics] ${listenError(error, exporter.where.port, '--metrics-port or the exporter\'s "port"')}`);
      }
    }
    const reload = (): void => {
      // Checked here first, so a broken file is reported once, not once per worker.
      try {
        loadPlan(options);
      } catch (error) {
        for (const line of configErrorLines(error, { warnings: false })) logger.error(`[SERVICE: Config] reload refused, the running configuration stays: ${line}`);
        return;
      }
      primary.reload();
    };
    process.on('SIGHUP', reload);
    const watcher = options.watch ? watchConfig(options.config, reload, logger) : undefined;
    onStopSignal(() => {
      logger.info('[SERVICE: Gateway] stopping workers');
      watcher?.close();
      primary.stop();
    });
    const code = await primary.exited;
    await metricsServer?.close();
    await admin?.close();
    await adminFleet?.close();
    await flushLogger(logger);
    return code;
  }

  const ref: { gateway?: Gateway } = {};
  const metrics: PrometheusMetrics | undefined =
    exporter === undefined
      ? undefined
      : exporter.createPrometheusMetrics(
          boundPlanSources(() => ref.gateway?.bound(), () => droppedLogLines(logger)),
          { processMetrics: plan.metrics?.processMetrics ?? true },
        );
  const accessLog = createAccessLog(logger);
  let gateway: Gateway;
  try {
    gateway = await startGateway(plan, {
      logger,
      accessLog: accessLog ?? false,
      drainGraceMs: DRAIN_GRACE_MS,
      ...(metrics ? { metrics } : {}),
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.listenIp !== undefined ? { host: options.listenIp } : {}),
    });
  } catch (error) {
    if (error instanceof ConfigError) printConfigError(error, context.io);
    else context.io.stderr(`ERROR starting the gateway: ${listenError(error, options.port ?? plan.port, '--port or the config\'s "port"')}\n`);
    await flushLogger(logger);
    return 1;
  }
  ref.gateway = gateway;

  let metricsServer: MetricsServer | undefined;
  if (metrics !== undefined && exporter !== undefined) {
    if (worker) exporter.shareWithClusterPrimary(metrics.registry);
    else {
      try {
        metricsServer = await exporter.startMetricsServer(metrics, exporter.where, logger);
      } catch (error) {
        context.io.stderr(`ERROR starting the metrics listener: ${listenError(error, exporter.where.port, '--metrics-port or the exporter\'s "port"')}\n`);
        await gateway.close();
        await flushLogger(logger);
        return 1;
      }
    }
  }
  let admin: RevocationAdmin | undefined;
  if (!worker) {
    try {
      admin = await startAdminIfConfigured(plan, () => gateway.bound().revocation, logger);
    } catch (error) {
      if (error instanceof ConfigError) printConfigError(error, context.io);
      else context.io.stderr(`ERROR starting the revocation admin listener: ${listenError(error, plan.revocation?.admin?.port ?? 0, 'auth/revoker.admin.port')}\n`);
      await metricsServer?.close();
      await gateway.close();
      await flushLogger(logger);
      return 1;
    }
  }
  notifyReady(gateway.port);

  let reloading = Promise.resolve();
  const reload = (): void => {
    reloading = reloading.then(async () => {
      try {
        const next = loadPlan(options);
        await gateway.reload(next.plan);
        for (const issue of next.warnings) logger.warn(`[SERVICE: Config] ${issue.path}: ${issue.message}`);
        metrics?.reloaded(true);
      } catch (error) {
        metrics?.reloaded(false);
        for (const line of configErrorLines(error, { warnings: false })) logger.error(`[SERVICE: Config] reload refused, the running configuration stays: ${line}`);
      }
    });
  };
  process.on('SIGHUP', reload);
  // In a cluster the primary watches the file and forwards SIGHUP.
  const watcher = options.watch && !worker ? watchConfig(options.config, reload, logger) : undefined;

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      logger.info('[SERVICE: Gateway] shutting down, draining in-flight requests');
      watcher?.close();
      void gateway.close().then(resolve, resolve);
    };
    onStopSignal(stop);
    // A worker whose primary is gone has nobody to restart it or forward signals.
    if (worker) process.once('disconnect', stop);
  });
  await metricsServer?.close();
  await admin?.close();
  accessLog?.flush();
  logger.info('[SERVICE: Gateway] stopped');
  await flushLogger(logger);
  return 0;
}

/** Calls `reload` once the file has settled after a change; keeps watching across editors' rename-and-replace saves. */
function watchConfig(path: string, reload: () => void, logger: Logger): { close(): void } {
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  let closed = false;
  const changed = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      // A save by rename replaces the file the watcher was on: watch the new one.
      rewatch();
      logger.info(`[SERVICE: Config] ${path} changed; reloading`);
      reload();
    }, WATCH_SETTLE_MS);
  };
  const rewatch = (): void => {
    if (closed) return;
    watcher?.close();
    try {
      watcher = watch(path, changed);
      watcher.on('error', () => undefined);
    } catch (error) {
      logger.warn(`[SERVICE: Config] cannot watch ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  };
  rewatch();
  return {
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      watcher?.close();
    },
  };
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
