/**
 * The `portcullis` command in tests, two ways. `runPortcullis` runs it in this
 * process through the same program as `main.ts`, with its streams captured: the
 * way to test messages and exit codes. `spawnPortcullis` starts the built
 * `dist/src/cli/main.js` with plain node, for what only a real process shows
 * (signals, exiting on its own, workers); `npm test` builds dist first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../src/cli/program.js';
import type { CliContext } from '../../src/cli/shared.js';
import { ROOT } from './repo-root.js';

export const DIST_MAIN = join(ROOT, 'dist/src/cli/main.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** What the command's pino loggers wrote. */
  logs: string;
}

export interface InProcessOptions {
  /** Standard input, for `explain -`. */
  stdin?: string;
  /** Runs while a serving command (issuer, demo, forward-auth) is up; the command stops when it settles. Default: stop at once. */
  whileServing?: (url: string, output: { stdout: () => string; stderr: () => string }) => Promise<void>;
}

/** `portcullis <args>` in this process: resolves with the exit code and what it wrote. */
export async function runPortcullis(args: readonly string[], options: InProcessOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  let logs = '';
  let servingError: unknown;
  const context: CliContext = {
    io: {
      stdout: (text) => void (stdout += text),
      stderr: (text) => void (stderr += text),
      readStdin: () => options.stdin ?? '',
      logDestination: { write: (text: string) => void (logs += text) },
    },
    setExitCode: () => undefined,
    exit: () => undefined,
    async untilStopped(server) {
      await options.whileServing?.(server.url, { stdout: () => stdout, stderr: () => stderr }).catch((error: unknown) => void (servingError = error));
    },
  };
  const code = await runCli(args, context);
  if (servingError !== undefined) throw servingError;
  return { code, stdout, stderr, logs };
}

// ---------------------------------------------------------------- a real process

/** How a child ended: `signal` is set when it was killed, so a kill is never read as an exit code. */
export interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Spawned {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the child has exited and its output is read. */
  readonly ended: Promise<Ended>;
  /** Resolves with the first match of `pattern` in stdout (or stderr); rejects if the child ends first. */
  waitForOutput(pattern: RegExp, stream?: 'stdout' | 'stderr'): Promise<RegExpMatchArray>;
  /** Resolves with the first value `probe` returns for stdout other than undefined, checked on each new output; rejects if the child ends first. */
  waitUntil<T>(what: string, probe: (stdout: string) => T | undefined): Promise<T>;
}

let distChecked = false;

/** Fails with a clear message when dist is missing or older than src, so a smoke test never runs stale code. */
export function assertDistBuilt(): void {
  if (distChecked) return;
  if (!existsSync(DIST_MAIN)) {
    throw new Error(`${DIST_MAIN} is missing: this test runs the built CLI. Run \`npm run build\` first (\`npm test\` does).`);
  }
  const built = statSync(DIST_MAIN).mtimeMs;
  const newer = sourceFiles(join(ROOT, 'src')).find((file) => statSync(file).mtimeMs > built);
  if (newer !== undefined) {
    throw new Error(`dist is older than ${newer}: this test runs the built CLI. Run \`npm run build\` first (\`npm test\` does).`);
  }
  distChecked = true;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Starts `node <script> <args>`; output is collected and can be awaited by pattern. */
export function spawnNode(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: string } = {}): Spawned {
  const child = spawn(process.execPath, [...args], {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  const text = { stdout: '', stderr: '' };
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((check) => check());
  child.stdout!.on('data', (chunk: Buffer) => {
    text.stdout += chunk.toString();
    notify();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    text.stderr += chunk.toString();
    notify();
  });
  // 'close', not 'exit': the streams are fully read by then.
  const ended = new Promise<Ended>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  let done = false;
  void ended.then(() => {
    done = true;
    notify();
  });
  function waitFor<T>(what: string, probe: () => T | undefined): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const value = probe();
        if (value !== undefined) {
          waiters.delete(check);
          resolve(value);
        } else if (done) {
          waiters.delete(check);
          reject(new Error(`the process ended (${describeEnd(child)}) before ${what}; stdout: ${text.stdout} stderr: ${text.stderr}`));
        }
      };
      waiters.add(check);
      check();
    });
  }
  return {
    child,
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    ended,
    waitForOutput(pattern, stream = 'stdout') {
      return waitFor(`${stream} to match ${pattern}`, () => text[stream].match(pattern) ?? undefined);
    },
    waitUntil(what, probe) {
      return waitFor(what, () => probe(text.stdout));
    },
  };
}

/** `node dist/src/cli/main.js <args>`: the command as users run it. */
export function spawnPortcullis(args: readonly string[], options: { stdin?: string } = {}): Spawned {
  assertDistBuilt();
  return spawnNode([DIST_MAIN, ...args], options);
}

export function describeEnd(child: ChildProcess): string {
  return child.signalCode !== null ? `killed by ${child.signalCode}` : `exit ${child.exitCode}`;
}

/** Kills what is still running (by pid, through the handle), for `after` hooks. */
export function killAll(spawned: readonly Spawned[]): void {
  for (const run of spawned) if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
}
