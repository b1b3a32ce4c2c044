/**
 * The process logger, one JSON line shape for every command (gateway,
 * forward-auth, the issuer, the Lambda handler): pino's fields `level`,
 * `time`, `pid`, `msg`, with messages carrying KrakenD-style prefixes
 * (`[SERVICE: Gateway]`, `[ENDPOINT: /x][JWTValidator]`; the prefixes are the
 * callers' job). Two formats: `krakend` (default) prints KrakenD's upper-case
 * level names (`INFO`, `WARNING`) and an ISO time, so pipelines written for
 * KrakenD keep matching; `pino` prints pino's numeric levels (`30`) and epoch
 * milliseconds, so pino-pretty and existing pino pipelines work.
 *
 * Lines go to stdout (or stderr) through a LogStream: writes never block, and
 * what a stalled reader cannot take is bounded, dropped and counted.
 */
import type { Writable } from 'node:stream';
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { Clock } from './clock.js';
import { LogStream } from './log-stream.js';

import type { LogFormat, LogLevel } from './log-options.js';

export { isLogFormat, isLogLevel, LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './log-options.js';

export interface PinoLoggerOptions {
  level?: LogLevel;
  /** `krakend` (default): `"level":"INFO"`, ISO time. `pino`: `"level":30`, epoch milliseconds. */
  format?: LogFormat;
  /** Where the lines go, through the bounded stream: stdout (default), stderr (the issuer), or another stream. */
  output?: 'stdout' | 'stderr' | Writable;
  /** Characters that may wait for a slow reader before lines are dropped (default 1 MiB). */
  maxBufferBytes?: number;
  /** A stream to write to instead of stdout/stderr (tests): used as it is, without a bound. */
  destination?: DestinationStream;
  /** The `time` of each line; default the system clock. */
  clock?: Clock;
}

/** What the access log's fast writer must know to write pino's exact line. */
export interface LoggerShape {
  readonly format: LogFormat;
  readonly clock: Clock | undefined;
}

const shapes = new WeakMap<object, LoggerShape>();

// KrakenD prints WARNING, not WARN.
const LEVEL_NAMES: Record<string, string> = { trace: 'DEBUG', debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR', fatal: 'CRITICAL' };

const DROPPED_NOTICE = '[SERVICE: Logger] log lines dropped: the log reader did not keep up';

export function createPinoLogger(options: PinoLoggerOptions = {}): PinoLogger {
  const format = options.format ?? 'krakend';
  const clock = options.clock;
  const destination =
    options.destination ??
    new LogStream({
      target: options.output === 'stderr' ? process.stderr : options.output === 'stdout' || options.output === undefined ? process.stdout : options.output,
      ...(options.maxBufferBytes !== undefined ? { maxBufferBytes: options.maxBufferBytes } : {}),
      // The gap in the log says itself what it lost, once the reader is back.
      // Called from a write callback, so never before `logger` below exists.
      onRecovered: (droppedLines) => logger.warn({ droppedLines }, DROPPED_NOTICE),
    });
  const logger = pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid },
      timestamp: timestampFor(format, clock),
      ...(format === 'krakend' ? { formatters: { level: (label: string) => ({ level: LEVEL_NAMES[label] ?? label.toUpperCase() }) } } : {}),
    },
    destination,
  );
  shapes.set(logger, { format, clock });
  return logger;
}

function timestampFor(format: LogFormat, clock: Clock | undefined): () => string {
  if (format === 'pino') return clock === undefined ? pino.stdTimeFunctions.epochTime : () => `,"time":${clock.now()}`;
  return clock === undefined ? pino.stdTimeFunctions.isoTime : () => `,"time":"${new Date(clock.now()).toISOString()}"`;
}

/** The format and clock of a logger made here (children share their parent's stream, not this). */
export function loggerShapeOf(logger: PinoLogger): LoggerShape | undefined {
  return shapes.get(logger);
}

function logStreamOf(logger: PinoLogger): LogStream | undefined {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  return stream instanceof LogStream ? stream : undefined;
}

/**
 * Lines this logger dropped because its reader fell behind (0 for a logger
 * writing to a stream given as `destination`). For the metrics:
 * `createPrometheusMetrics({ ..., droppedLogLines: () => droppedLogLines(logger) })`.
 */
export function droppedLogLines(logger: PinoLogger): number {
  return logStreamOf(logger)?.droppedLines ?? 0;
}

export const DEFAULT_FLUSH_TIMEOUT_MS = 2000;

/**
 * Writes out what waits; await it before the process exits. Resolves once
 * every line left the process, or after `timeoutMs` (default 2 s) when the
 * reader is stalled, so a stuck log shipper cannot hold a stopping process.
 * Never rejects: a closed or broken stdout must not turn a clean shutdown
 * into a crash. In the normal case nothing waits (a write goes out at once
 * when the pipe has room), so even a caller that does not await loses nothing.
 */
export async function flushLogger(logger: PinoLogger, options: { timeoutMs?: number } = {}): Promise<void> {
  const stream = logStreamOf(logger);
  if (stream !== undefined) {
    await stream.drained(options.timeoutMs ?? DEFAULT_FLUSH_TIMEOUT_MS);
    return;
  }
  try {
    logger.flush();
  } catch {
    // As above: shutting down must not throw.
  }
}
