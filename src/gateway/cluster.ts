/**
 * `--workers N`: a node:cluster primary that forks N workers, each running
 * the whole gateway (its own key sets and token cache, design.md §1) on the
 * shared listening socket. The primary restarts a worker that crashes for as
 * long as it runs, slowing down when workers keep crashing, except while
 * shutting down or when a worker of the first fleet exits on its own before it
 * ever served: that is a startup error (a bad key file, a busy port) which a
 * restart would only repeat.
 *
 * A pending restart is a ref'd timer on purpose: when every worker is dead the
 * timer is all that keeps the primary's event loop alive, and a primary that
 * silently exits turns a crash loop into a total outage.
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
  /** Restart timing; the defaults are DEFAULT_RESTART_POLICY. */
  restartPolicy?: Partial<RestartPolicy>;
  /** Milliseconds since some epoch, for the crash window (default Date.now). */
  now?: () => number;
}

export interface RestartPolicy {
  /** Crashes within `windowMs` that are restarted at once. */
  maxFastRestarts: number;
  windowMs: number;
  /** Delay of the first slowed restart; each further crash in the window doubles it. */
  slowDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = Object.freeze({ maxFastRestarts: 5, windowMs: 10_000, slowDelayMs: 1000, maxDelayMs: 5000 });

/**
 * How long to wait before the next restart, given how many crashes fall in
 * the window: none up to `maxFastRestarts`, then `slowDelayMs` doubling with
 * each further crash, capped at `maxDelayMs`. Slowed restarts run one at a
 * time, so there is at most one per `slowDelayMs`.
 */
export function restartDelayMs(recentCrashes: number, policy: RestartPolicy): number {
  if (recentCrashes <= policy.maxFastRestarts) return 0;
  const doublings = Math.min(recentCrashes - policy.maxFastRestarts - 1, 30);
  return Math.min(policy.slowDelayMs * 2 ** doublings, policy.maxDelayMs);
}

export interface Primary {
  /** Resolves with the process exit code once every worker is gone. */
  readonly exited: Promise<number>;
  /** Resolves once every worker is listening; rejects if one fails at startup. */
  readonly ready: Promise<void>;
  /** Asks every worker to drain and exit. */
  stop(): void;
  /** Asks every worker to reload its configuration (SIGHUP); each keeps serving its old one if the new one is broken. */
  reload(): void;
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
  const policy: RestartPolicy = { ...DEFAULT_RESTART_POLICY, ...options.restartPolicy };
  const now = options.now ?? Date.now;
  const windowS = policy.windowMs / 1000;
  const ready = new Set<number>();
  const everReady = new WeakSet<Worker>();
  /** When workers crashed, oldest first, pruned to the window. */
  const crashes: number[] = [];
  /** Workers to start again; slowed restarts take them one at a time. */
  let pendingRestarts = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  /** The first fleet has listened: from then on a worker that fails is restarted, never a reason to stop the others. */
  let fleetStarted = false;
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
  // The workers whose process has not exited. Not cluster.workers: node keeps a worker there until its
  // IPC channel has closed too, which may come after its 'exit' event, and the last 'exit' must end a stop.
  const live = new Set<Worker>();

  function fork(): void {
    let worker: Worker;
    try {
      worker = cluster.fork();
    } catch (error) {
      // Out of processes or memory for now: a crash like any other, retried on the same schedule.
      logger.error(`${SERVICE} could not start a worker: ${(error as Error).message}`);
      // Counted as a crash on the next turn, so a restart loop in progress is not re-entered.
      setImmediate(() => crashed('a new worker could not be started', 'error'));
      return;
    }
    live.add(worker);
    worker.on('error', (error: Error) => logger.error(`${SERVICE} worker ${worker.process.pid ?? '?'}: ${error.message}`));
    worker.on('message', (message: unknown) => {
      if ((message as { type?: string } | null)?.type !== READY) return;
      everReady.add(worker);
      ready.add(worker.id);
      if (ready.size === options.workers) {
        fleetStarted = true;
        logger.info(`${SERVICE} ${options.workers} workers listening on port ${(message as { port: number }).port}`);
        resolveReady();
      }
    });
  }

  function recentCrashes(): number {
    const at = now();
    while (crashes.length > 0 && at - crashes[0]! > policy.windowMs) crashes.shift();
    return crashes.length;
  }

  /** Records a crash and decides, with a log line saying which and why, when its replacement starts. */
  function crashed(what: string, level: 'warn' | 'error' = 'warn'): void {
    if (stopping) return;
    crashes.push(now());
    pendingRestarts += 1;
    const count = recentCrashes();
    if (restartTimer !== undefined) {
      logger[level](`${SERVICE} ${what}; starting a new one after the ${pendingRestarts - 1} restart(s) already waiting (${count} crashes in the last ${windowS} s; restarts slowed)`);
      return;
    }
    const delayMs = restartDelayMs(count, policy);
    if (delayMs === 0) {
      logger[level](`${SERVICE} ${what}; starting a new one`);
      pendingRestarts -= 1;
      fork();
      return;
    }
    logger[level](`${SERVICE} ${what}; starting a new one in ${delayMs} ms (${count} crashes in the last ${windowS} s; restarts slowed)`);
    scheduleRestart(delayMs);
  }

  function scheduleRestart(delayMs: number): void {
    // Ref'd: with every worker dead this timer is what keeps the primary running.
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (stopping || pendingRestarts === 0) return;
      pendingRestarts -= 1;
      logger.info(`${SERVICE} starting a new worker now (delayed ${delayMs} ms)`);
      fork();
      if (pendingRestarts === 0 || restartTimer !== undefined) return;
      const next = restartDelayMs(recentCrashes(), policy);
      if (next === 0) {
        logger.info(`${SERVICE} starting ${pendingRestarts} more worker(s) now (crashes in the last ${windowS} s are back to ${crashes.length})`);
        while (pendingRestarts > 0) {
          pendingRestarts -= 1;
          fork();
        }
        return;
      }
      logger.info(`${SERVICE} next worker in ${next} ms (${pendingRestarts} waiting, ${crashes.length} crashes in the last ${windowS} s)`);
      scheduleRestart(next);
    }, delayMs);
  }

  cluster.on('exit', (worker, code, signal) => {
    ready.delete(worker.id);
    live.delete(worker);
    if (stopping) {
      if (code !== 0 && code !== null) exitCode = 1;
      if (live.size === 0) finish();
      return;
    }
    const how = signal ?? `code ${code}`;
    // A worker killed by a signal (the OOM killer, an operator) did not fail on its own: that is a crash, not a startup error.
    if (!everReady.has(worker) && signal === null && !fleetStarted) {
      // The worker already printed why; repeating the start would fail the same way.
      logger.error(`${SERVICE} worker ${worker.process.pid} failed to start (exit code ${code}); stopping`);
      exitCode = 1;
      rejectReady(new Error('a worker failed to start'));
      stop();
      if (live.size === 0) finish();
      return;
    }
    if (!everReady.has(worker)) crashed(`worker ${worker.process.pid} exited (${how}) before it listened`, 'error');
    else crashed(`worker ${worker.process.pid} exited (${how})`);
  });

  function finish(): void {
    if (killTimer) clearTimeout(killTimer);
    resolveExited(exitCode);
  }

  function stop(): void {
    if (stopping) return;
    stopping = true;
    if (restartTimer !== undefined) clearTimeout(restartTimer);
    restartTimer = undefined;
    pendingRestarts = 0;
    if (live.size === 0) return finish();
    for (const worker of live) worker.process.kill('SIGTERM');
    // Workers bound their own drain; this only catches one that hangs.
    killTimer = setTimeout(() => {
      for (const worker of live) worker.process.kill('SIGKILL');
    }, options.drainTimeoutMs + 5000);
    killTimer.unref();
  }

  for (let i = 0; i < options.workers; i++) fork();
  function reload(): void {
    if (stopping) return;
    logger.info(`${SERVICE} asking ${live.size} workers to reload the configuration`);
    for (const worker of live) worker.process.kill('SIGHUP');
  }

  return { exited, ready: allReady, stop, reload };
}
