/**
 * What the command bodies share: the one way a config error is printed, listen
 * errors that name the flag, the wrapper that turns a failed command body
 * into one line on stderr, and the metrics exporter, loaded only when metrics
 * are served. The light part (streams, flag parsers) is in context.ts, which
 * registration loads; this file loads the config validator.
 */
import type { GatewayPlan } from '../config/compile.js';
import { ConfigError } from '../config/validate.js';
import type * as Prometheus from '../metrics/prometheus.js';
import type * as MetricsServers from '../metrics/server.js';
import type { CliContext, CliIo } from './context.js';

export { collect, parseLogFormat, parseLogLevel, parsePort, parsePortFlag, processContext, processIo, type CliContext, type CliIo } from './context.js';

/** KrakenD's prefix for every configuration problem, one line each. */
export const CONFIG_ERROR_PREFIX = 'ERROR parsing the configuration file: ';

/**
 * The lines `check`, `run`, `forward-auth` and `explain` print for a config
 * error (a ConfigError, or any other failure to load): the warnings the load
 * found too, then the errors, so fixing the errors reveals no surprises.
 */
export function configErrorLines(error: unknown, options: { warnings?: boolean } = {}): string[] {
  if (error instanceof ConfigError) {
    return [
      ...(options.warnings === false ? [] : error.warnings.map((issue) => `WARNING ${issue.path}: ${issue.message}`)),
      ...error.issues.map((issue) => `${CONFIG_ERROR_PREFIX}${issue.path}: ${issue.message}`),
    ];
  }
  return [`${CONFIG_ERROR_PREFIX}${(error as Error)?.message ?? String(error)}`];
}

export function printConfigError(error: unknown, io: CliIo): void {
  for (const line of configErrorLines(error)) io.stderr(`${line}\n`);
}

/** A listen error that says which port and how to change it. */
export function listenError(error: unknown, port: number, how: string): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'EADDRINUSE') return `port ${port} is already in use (EADDRINUSE); choose another with ${how}`;
  if (code === 'EACCES') return `not allowed to listen on port ${port} (EACCES); use a port above 1023 with ${how}, or grant the capability`;
  if (code === 'EADDRNOTAVAIL') return `the listening address is not on this machine (EADDRNOTAVAIL)`;
  return (error as Error)?.message ?? String(error);
}

/** Runs a command body; a failure becomes one line on stderr and exit code 1. */
export async function run(context: CliContext, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    context.io.stderr(`${error instanceof ConfigError ? `invalid configuration:\n${error.message}` : `error: ${(error as Error).message}`}\n`);
    context.setExitCode(1);
  }
}

/** Where the metrics listener goes, if anywhere: the flag, else the config's Prometheus exporter. */
function metricsWhere(plan: GatewayPlan, metricsPort: number | undefined): { port: number; host: string } | undefined {
  if (metricsPort !== undefined) return { port: metricsPort, host: plan.metrics?.listenIp ?? '127.0.0.1' };
  return plan.metrics === undefined ? undefined : { port: plan.metrics.port, host: plan.metrics.listenIp };
}

export type MetricsExporter = { readonly where: { port: number; host: string } } & typeof Prometheus & typeof MetricsServers;

/**
 * Where the metrics listener goes and the code that serves it, or undefined when there is none. The code
 * (prom-client, about 0.05 s of CPU) is loaded only then: most starts serve no metrics.
 */
export async function metricsExporter(plan: GatewayPlan, metricsPort: number | undefined): Promise<MetricsExporter | undefined> {
  const where = metricsWhere(plan, metricsPort);
  if (where === undefined) return undefined;
  const [prometheus, servers] = await Promise.all([import('../metrics/prometheus.js'), import('../metrics/server.js')]);
  return { where, ...prometheus, ...servers };
}
