/**
 * Durations as KrakenD writes them: Go-style strings ("1s", "1m30s", "250ms", "1h")
 * or, where KrakenD uses numbers, integer seconds.
 */
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;

/** Parses a Go duration string into milliseconds, or returns undefined when it is not one. */
export function parseDurationMs(text: string): number | undefined {
  if (text === '0') return 0;
  if (text.length === 0) return undefined;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const match = PART.exec(text);
    if (!match) return undefined;
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
  }
  return total;
}

export const DURATION_PATTERN = '^(0|(\\d+(\\.\\d+)?(ns|us|µs|ms|s|m|h))+)$';
