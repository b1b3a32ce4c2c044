/**
 * A rate limit for log lines a client can cause (one per denied request), so
 * a token flood cannot flood the log: a token bucket (a burst, then a steady
 * rate), and what it holds back is counted by key and reported at most once
 * a second in one summary. The clock and the timer are injected, so tests
 * count lines without sleeping.
 */
import { systemClock, type Clock } from './clock.js';

export interface LogLimiterOptions {
  /** Lines let through per second once the burst is spent (default 10). */
  ratePerSecond?: number;
  /** Lines let through at once after a quiet spell (default 50). */
  burst?: number;
  clock?: Clock;
  /**
   * Receives what was held back since the last summary (key → lines), at most
   * once a second: at the first line after the second is over, or from a timer
   * when no further line comes.
   */
  onSuppressed: (suppressed: Readonly<Record<string, number>>, total: number) => void;
  /**
   * Runs `fn` after `ms`; default an unref'd setTimeout (a pending summary
   * must not keep a stopping process alive). Tests pass their own.
   */
  schedule?: (fn: () => void, ms: number) => void;
}

export interface LogLimiter {
  /** Whether a line under `key` may be written now; when not, it is counted for the summary. */
  take(key: string): boolean;
  /** Reports what is held back now, if anything (shutdown, tests). */
  flush(): void;
}

export const SUMMARY_INTERVAL_MS = 1000;

const defaultSchedule = (fn: () => void, ms: number): void => {
  setTimeout(fn, ms).unref();
};

export function createLogLimiter(options: LogLimiterOptions): LogLimiter {
  const rate = options.ratePerSecond ?? 10;
  const burst = options.burst ?? 50;
  const clock = options.clock ?? systemClock;
  const schedule = options.schedule ?? defaultSchedule;
  let tokens = burst;
  let refilledAt = clock.now();
  // Created on the first suppression of a second, so a quiet limiter allocates nothing.
  let suppressed: Record<string, number> | undefined;
  let total = 0;
  let summaryDueAt = 0;
  // Which second of suppression a pending timer belongs to: it reports that one only.
  let window = 0;

  const flush = (): void => {
    if (suppressed === undefined) return;
    const report = suppressed;
    const count = total;
    suppressed = undefined;
    total = 0;
    options.onSuppressed(report, count);
  };

  const timerFor = (own: number) => (): void => {
    // The timer says a second passed even when an injected clock does not.
    if (own === window) flush();
  };

  return {
    take(key) {
      const now = clock.now();
      if (suppressed !== undefined && now >= summaryDueAt) flush();
      if (now > refilledAt) {
        tokens = Math.min(burst, tokens + ((now - refilledAt) * rate) / 1000);
        refilledAt = now;
      }
      if (tokens >= 1) {
        tokens -= 1;
        return true;
      }
      if (suppressed === undefined) {
        suppressed = Object.create(null) as Record<string, number>;
        summaryDueAt = now + SUMMARY_INTERVAL_MS;
        schedule(timerFor(++window), SUMMARY_INTERVAL_MS);
      }
      suppressed[key] = (suppressed[key] ?? 0) + 1;
      total++;
      return false;
    },
    flush,
  };
}
