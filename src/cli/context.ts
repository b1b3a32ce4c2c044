/**
 * What every command's registration needs, and nothing heavier: where a
 * command reads and writes (the process's streams, or a test's buffers, so
 * messages and exit codes can be tested without a child process) and the flag
 * parsers commander calls (so a bad flag is a usage error, as commander
 * reports it). `portcullis --help` and `--version` load this file and
 * commander only; see program.ts.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import type { DestinationStream } from 'pino';
import { isLogFormat, LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../lib/log-options.js';
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

/** A repeatable option's values, in order, as a commander option parser. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
