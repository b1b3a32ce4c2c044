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
  /** Where lines go; default stdout, written synchronously. */
  destination?: DestinationStream;
}

// KrakenD prints WARNING, not WARN.
const LEVEL_NAMES: Record<string, string> = { trace: 'DEBUG', debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR', fatal: 'CRITICAL' };

export function createPinoLogger(options: PinoLoggerOptions = {}): PinoLogger {
  // Synchronous: an asynchronous fs.write copies each string on the main thread and hands it
  // to the thread pool, which measured ~5 µs per access line in the gateway benchmark. The
  // access log batches its lines per event-loop turn instead (createAccessLog), so a
  // synchronous write costs one syscall per turn. Nothing is left unwritten at exit either.
  const destination = options.destination ?? pino.destination({ dest: 1, sync: true });
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
