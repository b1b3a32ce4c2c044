/**
 * A logger that keeps its lines in memory: for "logs X" and "never logs the
 * token" checks, and for waiting on a log line instead of sleeping.
 */
import type { Logger } from '../../src/lib/logger.js';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  obj: object | undefined;
  /** Level, message and fields as one string, for `includes` checks. */
  text: string;
}

export interface MemoryLogger extends Logger {
  readonly lines: LogLine[];
  /** Every line as text, one per line. */
  text(): string;
  /** Resolves with the first line (already logged or logged later) that `match` accepts. */
  waitFor(match: (line: LogLine) => boolean): Promise<LogLine>;
}

export function createMemoryLogger(): MemoryLogger {
  const lines: LogLine[] = [];
  const waiters = new Set<(line: LogLine) => boolean>();
  const at =
    (level: LogLine['level']) =>
    (obj: object | string, msg?: string): void => {
      const line: LogLine =
        typeof obj === 'string'
          ? { level, msg: obj, obj: undefined, text: `${level} ${obj}` }
          : { level, msg: msg ?? '', obj, text: `${level} ${msg ?? ''} ${JSON.stringify(obj)}` };
      lines.push(line);
      for (const waiter of waiters) if (waiter(line)) waiters.delete(waiter);
    };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    text: () => lines.map((line) => line.text).join('\n'),
    waitFor(match) {
      const logged = lines.find(match);
      if (logged) return Promise.resolve(logged);
      return new Promise((resolve) => {
        waiters.add((line) => {
          if (!match(line)) return false;
          resolve(line);
          return true;
        });
      });
    },
  };
}
