/**
 * Where the process logger writes: stdout (or stderr) without ever blocking
 * the event loop, and with a bound on what may wait for a slow reader. A log
 * shipper that stops reading fills the pipe; a synchronous write would then
 * stop every request, health checks included. Here a write that would pass
 * the bound is dropped whole (so no line is ever torn) and its lines are
 * counted, for `portcullis_log_lines_dropped_total` and for one notice line
 * once the reader caught up.
 *
 * It writes through node's own stdio stream rather than an asynchronous
 * SonicBoom: node writes to a pipe at once when the pipe has room (so in the
 * normal case nothing waits, and nothing is lost when the process exits
 * right after its last line) and otherwise queues in memory and waits for
 * the pipe without holding a thread. SonicBoom 4's `sync: false` instead
 * hands every write to the libuv thread pool, where a stalled reader pins a
 * thread that DNS lookups share, its `flushSync` blocks for good on a full
 * pipe, and its `flush(cb)` calls back at once without waiting.
 */
import type { Writable } from 'node:stream';

/** What may wait for the reader by default: about 4,000 access lines. */
export const DEFAULT_MAX_BUFFER_BYTES = 1024 * 1024;

export interface LogStreamOptions {
  /** Where lines go; default `process.stdout`. */
  target?: Writable;
  /**
   * Characters that may wait for a slow reader (about bytes: lines are
   * mostly ASCII). A write that would pass it is dropped whole and counted;
   * a single write into an empty buffer always goes, whatever its size.
   */
  maxBufferBytes?: number;
  /**
   * Called once the reader caught up after lines were dropped, with how many
   * were dropped since the last call; the logger writes one notice line.
   */
  onRecovered?: (droppedLines: number) => void;
}

/** The target's health, shared by every LogStream over it (process.stdout is one object). */
interface TargetState {
  broken: boolean;
}
const targets = new WeakMap<Writable, TargetState>();

function stateOf(target: Writable): TargetState {
  let state = targets.get(target);
  if (state === undefined) {
    state = { broken: false };
    const marked = state;
    // EPIPE (the reader is gone) must not crash the gateway; from then on lines are dropped and counted.
    target.on('error', () => {
      marked.broken = true;
    });
    targets.set(target, state);
  }
  return state;
}

export class LogStream {
  readonly target: Writable;
  readonly maxBufferBytes: number;
  #dropped = 0;
  #droppedSinceNotice = 0;
  /** Our writes whose callback has not come yet; callbacks come in write order. */
  #outstanding = 0;
  #waiters: ((drained: boolean) => void)[] = [];
  readonly #state: TargetState;
  readonly #onRecovered: ((droppedLines: number) => void) | undefined;
  readonly #written: (error?: Error | null) => void;

  constructor(options: LogStreamOptions = {}) {
    this.target = options.target ?? process.stdout;
    this.maxBufferBytes = options.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
    this.#onRecovered = options.onRecovered;
    this.#state = stateOf(this.target);
    // One callback for every write: a closure per line would cost an allocation per line.
    this.#written = (error) => {
      if (error) this.#state.broken = true;
      if (--this.#outstanding > 0) return;
      if (this.#droppedSinceNotice > 0 && !this.#state.broken) this.#recovered();
      if (this.#outstanding === 0) this.#wake(!this.#state.broken);
    };
  }

  /** Lines dropped since the stream was made. */
  get droppedLines(): number {
    return this.#dropped;
  }

  /** Characters written to the target but not yet taken by the reader. */
  get pendingBytes(): number {
    return this.target.writableLength;
  }

  /** Never blocks and never throws; always true, so pino never waits on it. */
  write(text: string): boolean {
    const target = this.target;
    if (this.#state.broken || target.destroyed || target.writableEnded) {
      this.#drop(text);
      return true;
    }
    const pending = target.writableLength;
    if (pending > 0 && pending + text.length > this.maxBufferBytes) {
      this.#drop(text);
      return true;
    }
    this.#outstanding++;
    target.write(text, this.#written);
    return true;
  }

  /** pino's `logger.flush(cb)`: calls back once nothing of ours waits (or the target broke). */
  flush(cb?: (error?: Error) => void): void {
    void this.drained(Infinity).then(() => cb?.());
  }

  /**
   * Resolves true once everything written so far left the process, false
   * when `timeoutMs` passed first (a stalled reader must not hold a stopping
   * process for ever) or the target broke.
   */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.#outstanding === 0) return Promise.resolve(!this.#state.broken);
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = (drained: boolean): void => {
        if (timer !== undefined) clearTimeout(timer);
        resolve(drained);
      };
      this.#waiters.push(waiter);
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          this.#waiters = this.#waiters.filter((other) => other !== waiter);
          resolve(false);
        }, Math.max(0, timeoutMs));
      }
    });
  }

  #wake(drained: boolean): void {
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter(drained);
  }

  #drop(text: string): void {
    let lines = 0;
    for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) lines++;
    // A write without a newline still lost something; count it as one line.
    if (lines === 0) lines = 1;
    this.#dropped += lines;
    this.#droppedSinceNotice += lines;
  }

  #recovered(): void {
    const count = this.#droppedSinceNotice;
    this.#droppedSinceNotice = 0;
    this.#onRecovered?.(count);
  }
}

export function createLogStream(options: LogStreamOptions = {}): LogStream {
  return new LogStream(options);
}
