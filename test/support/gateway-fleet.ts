/**
 * Several `portcullis run` processes on one config, as a fleet behind a load
 * balancer runs them, for the fleet tests (revocation through Redis, shared
 * rate limits). Each process listens on its own port and gets its own
 * keep-alive connection pool, so a poll measures the gateway, not connection
 * setup. Processes are stopped by their pid (through the child handle).
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { spawnPortcullis, type Spawned } from './cli.js';

export interface FleetAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
  /** The `error` member of a JSON body, if there is one (`invalid_token`, `rate_limited`). */
  readonly error: string | undefined;
  /** A denial's `code` member (`token_revoked`), else the `error` member. */
  readonly code: string | undefined;
}

export interface GatewayProcess {
  readonly run: Spawned;
  readonly port: number;
  readonly url: string;
  /** GET `path` on this gateway, with `Authorization: Bearer <token>` when a token is given. */
  get(path: string, token?: string): Promise<FleetAnswer>;
  /** SIGTERM, then waits for the exit (SIGKILL if it does not come within 5 s). */
  stop(): Promise<void>;
}

function codesOf(text: string): { error: string | undefined; code: string | undefined } {
  try {
    const body = JSON.parse(text) as { error?: unknown; code?: unknown };
    const error = typeof body.error === 'string' ? body.error : undefined;
    return { error, code: typeof body.code === 'string' ? body.code : error };
  } catch {
    return { error: undefined, code: undefined };
  }
}

/** `portcullis run -c <config> --port 0` (plus `args`); resolves once it logged the port it listens on. */
export async function startGatewayProcess(config: string, args: readonly string[] = []): Promise<GatewayProcess> {
  const run = spawnPortcullis(['run', '-c', config, '--port', '0', ...args]);
  let port: number;
  try {
    port = Number((await run.waitForOutput(/Listening on port (\d+)/))[1]);
  } catch (error) {
    run.child.kill('SIGKILL');
    throw error;
  }
  const url = `http://127.0.0.1:${port}`;
  // Below the gateway's 5 s keep-alive, so a pooled socket is never reused just as the gateway closes it.
  const pool = new Pool(url, { connections: 16, keepAliveTimeout: 4000 });
  return {
    run,
    port,
    url,
    async get(path, token) {
      const response = await pool.request({ path, method: 'GET', headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
      const text = await response.body.text();
      return { status: response.statusCode, headers: response.headers, text, ...codesOf(text) };
    },
    async stop() {
      await pool.close().catch(() => undefined);
      if (run.child.exitCode !== null || run.child.signalCode !== null) return;
      run.child.kill('SIGTERM');
      const timer = setTimeout(() => run.child.kill('SIGKILL'), 5000);
      await run.ended;
      clearTimeout(timer);
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls `probe` every `intervalMs` until it returns something other than undefined. The deadline
 * only turns a hang into a failure with `what` in the message; it is not what the test asserts.
 */
export async function pollUntil<T>(what: string, probe: () => Promise<T | undefined>, options: { intervalMs?: number; deadlineMs?: number } = {}): Promise<T> {
  const deadline = performance.now() + (options.deadlineMs ?? 15_000);
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(options.intervalMs ?? 20);
  }
}

/** Median and maximum of a list of figures, for `t.diagnostic`. */
export function summary(values: readonly number[]): { median: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, max: sorted[sorted.length - 1]! };
}
