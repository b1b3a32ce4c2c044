/**
 * Registers `portcullis forward-auth`; the server (../forward-auth.ts) is
 * imported when the command runs.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { FORWARD_AUTH_PROXIES } from '../../adapters/forward-auth/original-request.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../../lib/log-options.js';
import { parseLogFormat, parseLogLevel, parsePort, type CliContext } from '../context.js';
import type { ForwardAuthCliOptions } from '../forward-auth.js';

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
    .option('--metrics-port <port>', "serve Prometheus metrics on this port (default: the config's telemetry/opentelemetry prometheus exporter)", parsePort)
    .option('-l, --log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`, parseLogLevel, 'info' as LogLevel)
    .option('--log-format <format>', `log line format: ${LOG_FORMATS.join(', ')}`, parseLogFormat, 'krakend' as LogFormat)
    .action(async (options: ForwardAuthCliOptions) => {
      const { runForwardAuth } = await import('../forward-auth.js');
      context.exit(await runForwardAuth(options, context));
    });
}

function parsePrefix(value: string): string {
  if (!value.startsWith('/')) throw new InvalidArgumentError('must start with "/".');
  return value;
}
