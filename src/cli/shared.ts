/**
 * What the commands share: argument parsers that commander calls (so a bad
 * flag is a usage error, exit code 2... as commander reports it), the one way
 * a config error is printed, and the wrapper that turns a failed command body
 * into one line on stderr.
 */
import { InvalidArgumentError } from 'commander';
import { ConfigError } from '../config/validate.js';
import { LOG_LEVELS, type LogLevel } from '../lib/pino-logger.js';

/** KrakenD's prefix for every configuration problem, one line each. */
export const CONFIG_ERROR_PREFIX = 'ERROR parsing the configuration file: ';

/** The lines `check`, `run`, `forward-auth` and `explain` print for a config error (a ConfigError, or any other failure to load). */
export function configErrorLines(error: unknown): string[] {
  if (error instanceof ConfigError) return error.issues.map((issue) => `${CONFIG_ERROR_PREFIX}${issue.path}: ${issue.message}`);
  return [`${CONFIG_ERROR_PREFIX}${(error as Error)?.message ?? String(error)}`];
}

export function printConfigError(error: unknown): void {
  for (const line of configErrorLines(error)) console.error(line);
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

export function parseLogLevel(value: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${LOG_LEVELS.join(', ')}.`);
  return value as LogLevel;
}

/** Runs a command body; a failure becomes one line on stderr and exit code 1. */
export async function run(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    console.error(error instanceof ConfigError ? `invalid configuration:\n${error.message}` : `error: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
