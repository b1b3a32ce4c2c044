/**
 * What the commands share: where they write (the process's streams, or a
 * test's buffers, so messages and exit codes can be tested without a child
 * process), argument parsers that commander calls (so a bad flag is a usage
 * error, as commander reports it), the one way a config error is printed, and
 * the wrapper that turns a failed command body into one line on stderr.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import type { DestinationStream } from 'pino';
import type { GatewayPlan } from '../config/compile.js';
import { ConfigError } from '../config/validate.js';
import { isLogFormat, LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../lib/pino-logger.js';
import { waitForShutdownSignal } from '../lib/signals.js';

/** Where a command reads and writes. */
export interface CliIo {
  /** Text as given: callers add the newline. */
  stdout(text: string): void;
  stderr(text: string): void;
  /** All of standard input. */
  readStdin(): string;
  /** Where pino loggers write; unset, each command's own stream (stdout for run and forward-auth, stderr for issuer and demo). */
  logDestination?: DestinationStream;
}

export const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  readStdin: () => readFileSync(0, 'utf8'),
};

/** What every command gets from the program: its streams, and how it ends. */
export interface CliContext {
  readonly io: CliIo;
  /** The exit code once the command returns; the process ends when nothing is left to do. */
  setExitCode(code: number): void;
  /** Ends the process now (a stray socket must not keep a stopped server alive); an in-process run records the code. */
  exit(code: number): void;
  /** What a serving command waits for before it stops; default SIGINT or SIGTERM. */
  untilStopped(server: { url: string }): Promise<unknown>;
}

export const processContext: CliContext = {
  io: processIo,
  setExitCode: (code) => void (process.exitCode = code),
  exit: (code) => process.exit(code),
  untilStopped: () => waitForShutdownSignal(),
};

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

/** A port number 0-65535, as a commander option parser. */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('must be a port number (0-65535).');
  return port;
}

/** The same for a flag a command reads itself: the message names the flag. */
export function parsePortFlag(flag: string, value: string): number {
  try {
    return parsePort(value);
  } catch {
    throw new Error(`${flag} must be a port number (0-65535), got ${JSON.stringify(value)}`);
  }
}

export function parseLogFormat(value: string): LogFormat {
  if (!isLogFormat(value)) throw new InvalidArgumentError(`must be one of ${LOG_FORMATS.join(', ')}.`);
  return value;
}

export function parseLogLevel(value: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${LOG_LEVELS.join(', ')}.`);
  return value as LogLevel;
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
export function metricsWhere(plan: GatewayPlan, metricsPort: number | undefined): { port: number; host: string } | undefined {
  if (metricsPort !== undefined) return { port: metricsPort, host: plan.metrics?.listenIp ?? '127.0.0.1' };
  return plan.metrics === undefined ? undefined : { port: plan.metrics.port, host: plan.metrics.listenIp };
}
