/**
 * The process logger: pino JSON lines with KrakenD's upper-case level names
 * (`INFO`, `WARNING`, `ERROR`) so log pipelines written for KrakenD keep
 * matching. Messages carry KrakenD-style prefixes (`[SERVICE: Gateway]`,
 * `[ENDPOINT: /x][JWTValidator]`); the prefixes are the callers' job.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

export interface PinoLoggerOptions {
  level?: LogLevel;
  /** Where lines go; default stdout through an asynchronous sonic-boom (flush with `flushLogger`). */
  destination?: DestinationStream;
}

// KrakenD prints WARNING, not WARN.
const LEVEL_NAMES: Record<string, string> = { trace: 'DEBUG', debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR', fatal: 'CRITICAL' };

export function createPinoLogger(options: PinoLoggerOptions = {}): PinoLogger {
  // Asynchronous writes keep the access log off the request's critical path.
  const destination = options.destination ?? pino.destination({ dest: 1, sync: false });
  return pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: LEVEL_NAMES[label] ?? label.toUpperCase() }) },
    },
    destination,
  );
}

/** Writes out buffered lines; call before the process exits. */
export function flushLogger(logger: PinoLogger): void {
  try {
    logger.flush();
  } catch {
    // A closed or broken stdout must not turn a clean shutdown into a crash.
  }
}
