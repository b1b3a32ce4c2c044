/**
 * Shared setup for gateway tests: a config object → a running gateway (through
 * the real loader and compiler), a plain HTTP client, and a logger that keeps
 * its lines in memory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { compileGateway, type GatewayPlan, type ServerLimits } from '../../src/config/compile.js';
import { parseConfigText } from '../../src/config/load.js';
import { startGateway, type Gateway, type GatewayOptions } from '../../src/gateway/server.js';
import type { Logger } from '../../src/lib/logger.js';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  obj: object | undefined;
}

export interface MemoryLogger extends Logger {
  readonly lines: LogLine[];
  /** Every line as text (message plus fields), for "never logs X" checks. */
  text(): string;
}

export function createMemoryLogger(): MemoryLogger {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (obj: object | string, msg?: string): void => {
      if (typeof obj === 'string') lines.push({ level, msg: obj, obj: undefined });
      else lines.push({ level, msg: msg ?? '', obj });
    };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    text: () => lines.map((line) => `${line.level} ${line.msg} ${line.obj ? JSON.stringify(line.obj) : ''}`).join('\n'),
  };
}

export function planFrom(config: unknown, limits: Partial<ServerLimits> = {}): GatewayPlan {
  const { config: parsed } = parseConfigText(JSON.stringify(config), 'test.json');
  const plan = compileGateway(parsed);
  return { ...plan, limits: { ...plan.limits, ...limits } };
}

export async function startTestGateway(
  config: unknown,
  options: { limits?: Partial<ServerLimits>; gateway?: GatewayOptions } = {},
): Promise<{ gateway: Gateway; logger: MemoryLogger }> {
  const logger = createMemoryLogger();
  const gateway = await startGateway(planFrom(config, options.limits), { host: '127.0.0.1', port: 0, logger, ...options.gateway });
  await gateway.ready();
  return { gateway, logger };
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

export async function call(url: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Answer> {
  const response = await request(url, {
    method: (init.method ?? 'GET') as 'GET',
    headers: init.headers ?? {},
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await response.body.text();
  return {
    status: response.statusCode,
    headers: response.headers as IncomingHttpHeaders,
    text,
    json: <T>() => JSON.parse(text) as T,
  };
}

/** A request through node:http, for cases undici would refuse to send (chunked bodies, raw header names). */
export function rawCall(
  url: string,
  init: { method?: string; headers?: Record<string, string | string[]>; chunks?: (string | Buffer)[] },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T });
      });
    });
    req.on('error', reject);
    for (const chunk of init.chunks ?? []) req.write(chunk);
    req.end();
  });
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------- the CLI as a child process

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface Spawned {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

export function spawnRun(args: string[]): Spawned {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'run', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

/** Waits for a log line whose message matches, and returns the match. */
export async function waitForLog(spawned: Spawned, pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const line of spawned.stdout().split('\n')) {
      if (!line.startsWith('{')) continue;
      const match = (JSON.parse(line) as { msg?: string }).msg?.match(pattern);
      if (match) return match;
    }
    if (spawned.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no log line matched ${pattern}; stdout: ${spawned.stdout()} stderr: ${spawned.stderr()}`);
}
