/**
 * A real Caddy for tests: `caddy run` on a Caddyfile the test wrote into its
 * own temp dir, on ports the test picked, stopped by its pid. Caddy keeps its
 * state under HOME / XDG dirs, so those point into the temp dir too, and the
 * admin endpoint is turned off: two tests must never meet on port 2019.
 *
 * Caddy comes from the distribution (.ci/run installs it). Without it the
 * tests fail in CI and are skipped, with the reason, elsewhere.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForPort } from '../support/wait-for-port.js';

function findCaddy(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v caddy'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim() !== '') return which.stdout.trim();
  return ['/usr/bin/caddy', '/usr/local/bin/caddy'].find((path) => existsSync(path));
}

export const caddyBin = findCaddy();
const inCi = process.env.CI === 'true' || process.env.CI === '1';
/** The `skip` option for a describe that needs Caddy. */
export const caddySkip: string | false =
  caddyBin === undefined && !inCi ? 'caddy is not installed (apt-get install caddy); CI installs it and runs this test' : false;

/** Global options for tests: no admin endpoint (shared port 2019), no certificates for IP sites. */
const TEST_GLOBALS = '{\n\tadmin off\n\tauto_https off\n}\n\n';

export interface CaddyProcess {
  readonly dir: string;
  readonly pid: number;
  /** What Caddy wrote (its JSON log lines go to stderr). */
  output(): string;
  /** Sends SIGTERM to this Caddy (by pid), waits for it to exit and removes the dir. */
  stop(): Promise<void>;
}

/**
 * Starts `caddy run --adapter caddyfile` on `caddyfile` (with the test globals
 * above prepended) and waits until every port in `ports` accepts connections.
 */
export async function startCaddy(caddyfile: string, ports: readonly number[]): Promise<CaddyProcess> {
  if (caddyBin === undefined) throw new Error('caddy is not installed: .ci/run must install it (apt-get install caddy)');
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-caddy-'));
  const file = join(dir, 'Caddyfile');
  writeFileSync(file, TEST_GLOBALS + caddyfile);
  let output = '';
  const child = spawn(caddyBin, ['run', '--config', file, '--adapter', 'caddyfile'], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) await waitForPort(port, () => (child.exitCode === null ? undefined : `caddy exited with ${child.exitCode}: ${output}`));
  } catch (error) {
    await stop();
    throw error;
  }
  return { dir, pid: child.pid!, output: () => output, stop };
}

