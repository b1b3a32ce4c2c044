/**
 * A real redis-server for tests: one process on a free 127.0.0.1 port, in its
 * own temp dir, with persistence off (or an append-only file, `appendOnly`),
 * stopped by its pid. `restart()` brings it back on the same port (empty, as
 * after a crash without persistence, unless the test `save()`d first or the
 * append-only file holds the writes) so reconnect tests see a real outage;
 * `kill()` is the crash itself (SIGKILL: no shutdown save, no goodbye to the
 * clients beyond the kernel closing the sockets); `pause()`/`resume()` freeze it
 * (SIGSTOP/SIGCONT) for tests of a Redis that accepts but never answers.
 *
 * redis-server comes from the distribution (.ci/run installs it). Without it
 * the tests fail in CI and are skipped, with the reason, elsewhere.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unusedPort } from './backend-server.js';

function findRedisServer(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim() !== '') return which.stdout.trim();
  return ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((path) => existsSync(path));
}

export const redisServerBin = findRedisServer();
const inCi = process.env.CI === 'true' || process.env.CI === '1';
/** The `skip` option for a describe that needs redis-server. */
export const redisSkip: string | false =
  redisServerBin === undefined && !inCi ? 'redis-server is not installed (apt-get install redis-server); CI installs it and runs this test' : false;

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** The current process id (changes on restart). */
  readonly pid: number;
  /** SIGTERM by pid, waits for the exit. The port stays reserved for `restart`. */
  stop(): Promise<void>;
  /** SIGKILL by pid (a crash), waits for the exit; `restart` brings it back. */
  kill(): Promise<void>;
  /** Starts a new, empty redis-server on the same port and waits for PING. */
  restart(): Promise<void>;
  /** SIGSTOP: the server keeps its connections but answers nothing. */
  pause(): void;
  resume(): void;
  /** Stops the server (if running) and removes its temp dir (unless the dir was given). */
  close(): Promise<void>;
  /** The data dir; a restart (or another server started on it) loads the last `save()`. */
  readonly dir: string;
  /** SAVE: writes dump.rdb, so the data survives a restart (persistence is otherwise off). */
  save(): Promise<void>;
}

export interface RedisServerOptions {
  /** `requirepass`: clients must AUTH with it. */
  readonly password?: string;
  /** Data dir to use (and load dump.rdb from) instead of a new temp dir; it is not removed on close. */
  readonly dir?: string;
  /** Every write goes to an append-only file, fsynced, so it survives a crash and `restart` loads it. */
  readonly appendOnly?: boolean;
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  if (redisServerBin === undefined) throw new Error('redis-server is not installed: .ci/run must install it (apt-get install redis-server)');
  const bin = redisServerBin;
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'portcullis-redis-'));
  const port = await unusedPort();
  let child: ChildProcess | undefined;
  let output = '';

  const launch = async (): Promise<void> => {
    output = '';
    const proc = spawn(
      bin,
      [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
        ...(options.appendOnly === true ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']), '--protected-mode', 'yes', '--loglevel', 'warning',
        ...(options.password !== undefined ? ['--requirepass', options.password] : []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    proc.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    proc.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    await waitForPing(port, proc, () => output);
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    // A paused server cannot act on SIGTERM.
    proc.kill('SIGCONT');
    proc.kill('SIGTERM');
    await exited;
  };

  const kill = async (): Promise<void> => {
    const proc = child;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
  };

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child!.pid!;
    },
    stop,
    kill,
    async restart() {
      await stop();
      await launch();
    },
    pause: () => void child!.kill('SIGSTOP'),
    resume: () => void child!.kill('SIGCONT'),
    async close() {
      await stop();
      if (ownsDir) rmSync(dir, { recursive: true, force: true });
    },
    dir,
    async save() {
      const reply = await rawRedisCommand(port, 'SAVE');
      if (!reply.startsWith('+OK')) throw new Error(`SAVE failed: ${reply}`);
    },
  };
}

/** Sends an inline PING until the server answers +PONG (it says nothing else when it is ready). */
async function waitForPing(port: number, proc: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}: ${output()}`);
    const answered = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let reply = '';
      socket.setTimeout(1000, () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.on('data', (chunk: Buffer) => {
        reply += chunk.toString('latin1');
        if (reply.includes('\r\n')) {
          socket.destroy();
          // -NOAUTH also means it is up and answering.
          resolve(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
        }
      });
      socket.once('error', () => resolve(false));
    });
    if (answered) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`redis-server did not answer PING on ${port}: ${output()}`);
}

/** Sends one command over a throwaway connection and returns the raw reply (for writing behind a client's back). */
export async function rawRedisCommand(port: number, ...args: string[]): Promise<string> {
  const frame = `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(5000, () => {
      socket.destroy();
      reject(new Error('redis did not answer'));
    });
    socket.once('connect', () => socket.write(frame));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      // Enough for the simple replies the tests use: one line, or a bulk string with its payload.
      const bulk = /^\$(-?\d+)\r\n/.exec(reply);
      const complete = bulk ? Number(bulk[1]) < 0 || reply.length >= bulk[0].length + Number(bulk[1]) + 2 : !reply.startsWith('$') && reply.endsWith('\r\n');
      if (complete) {
        socket.end();
        resolve(reply);
      }
    });
    socket.once('error', reject);
  });
}
