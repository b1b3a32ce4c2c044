/**
 * The gateway's access log: one line per request, written straight to the
 * pino logger's stream in pino's own line shape (byte for byte, in both log
 * formats), batched so a request only records its fields.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { systemClock } from '../lib/clock.js';
import { loggerShapeOf } from '../lib/pino-logger.js';

/**
 * What one access line says about a request. Never headers, query strings or
 * tokens. The gateway's per-request state implements it, so logging a request
 * allocates nothing.
 */
export interface AccessEntry {
  /** The X-Request-Id sent back to the client and on to the backends. */
  readonly requestId: string;
  readonly method: string;
  /** The request path without its query string. */
  readonly path: string;
  /** The matched endpoint template (`/users/{id}`), or undefined when no endpoint matched. */
  readonly endpoint: string | undefined;
  readonly status: number;
  /** The failure code of a denial (`token_expired`), or undefined. */
  readonly code: string | undefined;
  readonly durationMs: number;
  /** The peer address (no X-Forwarded-For: that is the client's claim). */
  readonly client: string;
  /** Response body bytes written. */
  readonly bytes: number;
  /** The client left before the response was complete. */
  readonly aborted: boolean;
}

export type AccessLog = (entry: AccessEntry) => void;

export interface BufferedAccessLog extends AccessLog {
  /** Writes the pending lines now (before exiting). */
  flush(): void;
}

export const ACCESS_MESSAGE = '[SERVICE: Gateway] request';

/** How long access lines may wait to be written together, and how many force a write sooner. */
const ACCESS_FLUSH_MS = 25;
const ACCESS_BATCH = 512;
/** Numbers kept per entry: status, duration, bytes, epoch ms, aborted (1 or 0). */
const SLOTS = 5;

/**
 * The access log written straight to the logger's stream, in exactly the
 * shape `logger.info({requestId, method, path, endpoint, status, code?,
 * durationMs, client, bytes, aborted?}, ACCESS_MESSAGE)` produces (pino
 * leaves out the undefined endpoint; code and aborted are there only when
 * set), and batched: requests only record their fields, and the lines are
 * formatted and written together every 25 ms (or every 512 requests).
 * Measured in the gateway benchmark: pino's serializer plus one write per
 * line cost about 7 µs per request, and even preformatted lines cost 5% of
 * throughput, because strings that wait for the write outlive the young
 * generation. Undefined when INFO is off.
 *
 * The line's head (level, time format, the logger's bindings such as `pid`)
 * and its end are pino's own, read from the logger, so the two cannot drift.
 * The one difference: a string with a lone UTF-16 surrogate is escaped here
 * (`\ud800`), where pino on node < 25 writes it raw.
 */
export function createAccessLog(logger: PinoLogger): BufferedAccessLog | undefined {
  if (!logger.isLevelEnabled('info')) return undefined;
  const internals = logger as unknown as Record<symbol, unknown>;
  const stream = internals[pino.symbols.streamSym] as DestinationStream | undefined;
  if (stream === undefined) return undefined;
  const levelPart = (internals[pino.symbols.lsCacheSym] as Record<number, string>)[pino.levels.values.info!]!;
  const shape = loggerShapeOf(logger);
  const numericTime = shape !== undefined ? shape.format === 'pino' : levelPart === '{"level":30';
  const clock = shape?.clock ?? systemClock;
  const bindings = internals[pino.symbols.chindingsSym] as string;
  const end = `,"msg":${JSON.stringify(ACCESS_MESSAGE)}${internals[pino.symbols.endSym] as string}`;

  const requestIds: string[] = new Array<string>(ACCESS_BATCH).fill('');
  const methods: string[] = new Array<string>(ACCESS_BATCH).fill('');
  const paths: string[] = new Array<string>(ACCESS_BATCH).fill('');
  const endpoints: (string | undefined)[] = new Array<string | undefined>(ACCESS_BATCH).fill(undefined);
  const codes: (string | undefined)[] = new Array<string | undefined>(ACCESS_BATCH).fill(undefined);
  const clients: string[] = new Array<string>(ACCESS_BATCH).fill('');
  const numbers = new Float64Array(ACCESS_BATCH * SLOTS);
  let count = 0;
  let timer: NodeJS.Timeout | undefined;
  let lastMs = NaN;
  let lastTime = '';

  const flush = (): void => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (count === 0) return;
    let text = '';
    for (let i = 0; i < count; i++) {
      const at = numbers[SLOTS * i + 3]!;
      if (at !== lastMs) {
        lastMs = at;
        lastTime = numericTime ? `,"time":${at}` : `,"time":"${new Date(at).toISOString()}"`;
      }
      const endpoint = endpoints[i];
      const code = codes[i];
      text +=
        `${levelPart}${lastTime}${bindings},"requestId":${jsonText(requestIds[i]!)},"method":${jsonText(methods[i]!)}` +
        `,"path":${jsonText(paths[i]!)}${endpoint === undefined ? '' : `,"endpoint":${jsonText(endpoint)}`}` +
        `,"status":${numberText(numbers[SLOTS * i]!)}${code === undefined ? '' : `,"code":${jsonText(code)}`}` +
        `,"durationMs":${millisText(numbers[SLOTS * i + 1]!)},"client":${jsonText(clients[i]!)}` +
        `,"bytes":${numberText(numbers[SLOTS * i + 2]!)}${numbers[SLOTS * i + 4] === 1 ? ',"aborted":true' : ''}${end}`;
      // Per-request strings must not outlive their batch.
      requestIds[i] = '';
      paths[i] = '';
      clients[i] = '';
    }
    count = 0;
    stream.write(text);
  };

  const log = (entry: AccessEntry): void => {
    const i = count++;
    requestIds[i] = entry.requestId;
    methods[i] = entry.method;
    paths[i] = entry.path;
    endpoints[i] = entry.endpoint;
    codes[i] = entry.code;
    clients[i] = entry.client;
    const at = SLOTS * i;
    numbers[at] = entry.status;
    numbers[at + 1] = entry.durationMs;
    numbers[at + 2] = entry.bytes;
    numbers[at + 3] = clock.now();
    numbers[at + 4] = entry.aborted ? 1 : 0;
    if (count === ACCESS_BATCH) flush();
    else if (timer === undefined) {
      timer = setTimeout(flush, ACCESS_FLUSH_MS);
      // Pending lines must not keep a stopped process alive; `flush()` writes them on shutdown.
      timer.unref();
    }
  };
  return Object.assign(log, { flush });
}

// Printable ASCII without `"` and `\\`: the text is its own JSON body. JSON.stringify costs 100-250 ns even on a
// short plain string (measured), and a line has six strings; ids, methods, templates and addresses are plain.
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** The JSON string for `text`, as JSON.stringify writes it. */
function jsonText(text: string): string {
  return PLAIN.test(text) ? `"${text}"` : JSON.stringify(text);
}

/** What pino writes for a number: JSON has no NaN or Infinity. */
function numberText(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

/**
 * `String(ms)` for a duration the gateway rounded to microseconds, built from
 * integers: V8's double-to-text is the slow part of a line. Any other value
 * goes through `String` itself.
 */
export function millisText(ms: number): string {
  const micros = Math.round(ms * 1000);
  if (!Number.isSafeInteger(micros) || micros < 0 || micros / 1000 !== ms) return numberText(ms);
  const whole = Math.floor(micros / 1000);
  let fraction = micros - whole * 1000;
  if (fraction === 0) return String(whole);
  let digits = 3;
  while (fraction % 10 === 0) {
    fraction /= 10;
    digits--;
  }
  return `${whole}.${String(fraction).padStart(digits, '0')}`;
}
