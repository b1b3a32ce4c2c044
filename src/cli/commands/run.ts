/**
 * Registers `portcullis run`: its flags and help. The gateway itself (../run.ts)
 * is imported when the command runs, so `--help` stays fast.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../../lib/log-options.js';
import { parseLogFormat, parseLogLevel, parsePort, type CliContext } from '../context.js';
import type { RunOptions } from '../run.js';

export function registerRun(program: Command, context: CliContext): void {
  program
    .command('run')
    .description('Run the gateway on a KrakenD-style configuration file (JSON or YAML).')
    .requiredOption('-c, --config <file>', 'configuration file')
    .option('-p, --port <port>', "listening port (default: the config's port, else 8080)", parsePort)
    .option('--listen-ip <address>', "listening address (default: the config's listen_ip, else every interface)")
    .option('--strict', 'treat unknown configuration keys as errors')
    .option('-w, --workers <n>', 'worker processes sharing the port (node:cluster)', parseWorkers, 1)
    .option('--watch', 'reload the configuration when the file changes (as SIGHUP does)')
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port (default: the config\'s telemetry/opentelemetry prometheus exporter)', parsePort)
    .option('-l, --log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`, parseLogLevel, 'info' as LogLevel)
    .option('--log-format <format>', `log line format: ${LOG_FORMATS.join(', ')} (pino: numeric levels and epoch times)`, parseLogFormat, 'krakend' as LogFormat)
    .action(async (options: RunOptions) => {
      const { runGateway } = await import('../run.js');
      // Exit explicitly: a stray handle (a slow backend socket) must not keep a stopped gateway alive.
      context.exit(await runGateway(options, context));
    });
}

function parseWorkers(value: string): number {
  const workers = Number(value);
  if (!/^\d+$/.test(value) || workers < 1 || workers > 256) throw new InvalidArgumentError('must be a whole number from 1 to 256.');
  return workers;
}
