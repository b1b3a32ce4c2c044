/**
 * `--workers N`: a node:cluster primary that forks N workers, each running
 * the whole gateway (its own key sets and token cache, design.md §1) on the
 * shared listening socket. The primary restarts a worker that crashes, except
 * while shutting down or when a worker fails before it ever served: that is a
 * startup error (a bad key file, a busy port) which a restart would only repeat.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../lib/logger.js';

const SERVICE = '[SERVICE: Gateway]';
const READY = 'portcullis:ready';

export interface PrimaryOptions {
  workers: number;
  logger: Logger;
  /** How long workers get to drain after a stop signal before they are killed. */
  drainTimeoutMs: number;
  /** Restarts allowed within `restartWindowMs` before restarts are slowed down (default 5 in 10 s). */
  maxFastRestarts?: number;
  restartWindowMs?: number;
}

export interface Primary {
  /** Resolves with the process exit code once every worker is gone. */
  readonly exited: Promise<number>;
  /** Resolves once every worker is listening; rejects if one fails at startup. */
  readonly ready: Promise<void>;
  /** Asks every worker to drain and exit. */
  stop(): void;
}

export function isClusterWorker(): boolean {
  return cluster.isWorker;
}

/** Tells the primary this worker is listening (no-op outside a cluster). */
export function notifyReady(port: number): void {
  if (cluster.isWorker && process.send) process.send({ type: READY, port });
}

export function startPrimary(options: PrimaryOptions): Primary {
  const { logger } = options;
  const maxFastRestarts = options.maxFastRestarts ?? 5;
  const restartWindowMs = options.restartWindowMs ?? 10_000;
  const ready = new Set<number>();
  const everReady = new WeakSet<Worker>();
  const restarts: number[] = [];
  let stopping = false;
  let exitCode = 0;
  let resolveExited!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (resolveExited = resolve));
  let resolveReady!: () => void;
  let rejectReady!: (error: Error) => void;
  const allReady = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  // Callers that only await `exited` must not see an unhandled rejection.
  allReady.catch(() => undefined);
  let killTimer: NodeJS.Timeout | undefined;

  function fork(): void {
    const worker = cluster.fork();
    worker.on('message', (message: unknown) => {
      if ((message as { type?: string } | null)?.type !== READY) return;
      everReady.add(worker);
      ready.add(worker.id);
      if (ready.size === options.workers) {
        logger.info(`${SERVICE} ${options.workers} workers listening on port ${(message as { port: number }).port}`);
        resolveReady();
      }
    });
  }

  cluster.on('exit', (worker, code, signal) => {
    ready.delete(worker.id);
    if (stopping) {
      if (code !== 0 && code !== null) exitCode = 1;
      if (Object.keys(cluster.workers ?? {}).length === 0) finish();
      return;
    }
    if (!everReady.has(worker)) {
      // The worker already printed why; repeating the start would fail the same way.
      logger.error(`${SERVICE} worker ${worker.process.pid} failed to start (exit code ${code ?? signal}); stopping`);
      exitCode = 1;
      rejectReady(new Error('a worker failed to start'));
      stop();
      if (Object.keys(cluster.workers ?? {}).length === 0) finish();
      return;
    }
    logger.warn(`${SERVICE} worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting a new one`);
    const now = Date.now();
    while (restarts.length > 0 && now - restarts[0]! > restartWindowMs) restarts.shift();
    restarts.push(now);
    // A worker that keeps crashing must not turn into a fork loop.
    if (restarts.length > maxFastRestarts) setTimeout(fork, 1000).unref();
    else fork();
  });

  function finish(): void {
    if (killTimer) clearTimeout(killTimer);
    resolveExited(exitCode);
  }

  function stop(): void {
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    if (workers.length === 0) return finish();
    for (const worker of workers) worker.process.kill('SIGTERM');
    // Workers bound their own drain; this only catches one that hangs.
    killTimer = setTimeout(() => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
    }, options.drainTimeoutMs + 5000);
    killTimer.unref();
  }

  for (let i = 0; i < options.workers; i++) fork();
  return { exited, ready: allReady, stop };
}
