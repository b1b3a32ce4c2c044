/**
 * A real nginx for tests: one process (no daemon, no master) with a generated
 * config in its own temp dir, on ports the test picked, stopped by its pid.
 * Also an access-log reader and a client that sends the request target byte
 * for byte, because path-walk tests are only worth something if neither the
 * client nor the log hides what nginx was really asked and what it served.
 *
 * nginx comes from the distribution (.ci/run installs it). Without it the
 * tests fail in CI and are skipped, with the reason, elsewhere.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, fstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForPort } from '../support/wait-for-port.js';

function findNginx(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim() !== '') return which.stdout.trim();
  return ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'].find((path) => existsSync(path));
}

export const nginxBin = findNginx();
const inCi = process.env.CI === 'true' || process.env.CI === '1';
/** The `skip` option for a describe that needs nginx. */
export const nginxSkip: string | false =
  nginxBin === undefined && !inCi ? 'nginx is not installed (apt-get install nginx); CI installs it and runs this test' : false;

const TEMP_DIRS = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'];

export interface NginxProcess {
  /** The temp dir holding the config, the logs and nginx's temp paths. */
  readonly dir: string;
  readonly pid: number;
  /** Sends SIGTERM to this nginx (by pid), waits for it to exit and removes the dir. */
  stop(): Promise<void>;
}

/**
 * Starts nginx with `http(dir)` as the inside of its `http { }` block and
 * waits until every port in `ports` accepts connections.
 */
export async function startNginx(http: (dir: string) => string, ports: readonly number[]): Promise<NginxProcess> {
  if (nginxBin === undefined) throw new Error('nginx is not installed: .ci/run must install it (apt-get install nginx)');
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-nginx-'));
  for (const sub of TEMP_DIRS) mkdirSync(join(dir, sub));
  const errorLog = join(dir, 'error.log');
  writeFileSync(
    join(dir, 'nginx.conf'),
    [
      'daemon off;',
      'master_process off;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${errorLog} info;`,
      'events { worker_connections 64; }',
      'http {',
      `  access_log ${join(dir, 'access.log')};`,
      ...TEMP_DIRS.map((sub) => `  ${sub}_temp_path ${join(dir, sub)};`),
      http(dir),
      '}',
    ].join('\n'),
  );
  const child = spawn(nginxBin, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', errorLog], { stdio: 'ignore' });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const errors = (): string => (existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '');
    for (const port of ports) await waitForPort(port, () => (child.exitCode === null ? undefined : `nginx exited with ${child.exitCode}: ${errors()}`));
  } catch (error) {
    await stop();
    throw error;
  }
  return { dir, pid: child.pid!, stop };
}


/** Replaces exactly one occurrence, so a config taken from an example cannot drift from what a test runs. */
export function swapOnce(text: string, from: string, to: string, what: string): string {
  const count = text.split(from).length - 1;
  assert.equal(count, 1, `${what} should contain "${from}" once`);
  return text.replace(from, to);
}

/**
 * `log_format` line for `name` whose entries {@link AccessLog} reads: the
 * status, the request line as the client sent it, and the URI nginx served
 * after decoding and normalising it.
 */
export function walkLogFormat(name: string): string {
  return `log_format ${name} '$status "$request" $uri';`;
}

export interface AccessLogEntry {
  status: number;
  /** The raw request line, e.g. `GET /public/..%2Fadmin HTTP/1.1`. */
  request: string;
  /** The normalised URI nginx matched its locations against (nginx escapes `"`, `\` and control bytes as \xNN). */
  uri: string;
}

/** Reads the entries a log in {@link walkLogFormat} gained since the last `take`. */
export interface AccessLog {
  take(): AccessLogEntry[];
}

export function createAccessLog(path: string): AccessLog {
  let offset = 0;
  return {
    take() {
      if (!existsSync(path)) return [];
      const fd = openSync(path, 'r');
      try {
        const size = fstatSync(fd).size;
        const buffer = Buffer.alloc(size - offset);
        readSync(fd, buffer, 0, buffer.length, offset);
        offset = size;
        return buffer
          .toString('latin1')
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => {
            const match = /^(\d{3}) "(.*)" (.*)$/.exec(line);
            assert.ok(match, `unexpected access log line: ${line}`);
            return { status: Number(match[1]), request: match[2]!, uri: match[3]! };
          });
      } finally {
        closeSync(fd);
      }
    },
  };
}

export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/**
 * GET with `path` sent as the request target exactly as given. undici and
 * node:http given a URL string parse it with WHATWG URL, which would resolve
 * `%2e%2e` segments before the server ever saw them.
 */
export function rawGet(port: number, path: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}
