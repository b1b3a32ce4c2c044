/**
 * Replays krakend-ce's integration specs (specs/*.json against the fixture
 * krakend.json) on portcullis, asserting the way krakend-ce's assertResponse
 * does, so "how much of KrakenD's own behaviour suite passes" is a number.
 *
 *   npm run compat:ce-specs -- <dir holding krakend.json and specs/> [--cli <cli main.js>] [--mode as-is|normalised|both] [--json]
 *
 * The fixture is re-pointed (its 127.0.0.1:8081 backend to our own mock,
 * scripts/ce-mock-backend.ts; its 127.0.0.1:8080 self-calls to the gateway's
 * free port; any other host to an unused loopback port so nothing leaves the
 * machine) and `debug_endpoint` is set, as krakend-ce's harness runs
 * `krakend run -d`. Endpoints or root namespaces `check` refuses are removed
 * and every spec aimed at them is reported as "refused", never silently
 * dropped. The gateway runs as a child process (`node <cli> run -c …`),
 * stopped by its pid. Modes, exactly:
 *   - as-is: only the re-pointing above (and the matching port in expected
 *     bodies, e.g. a Referer naming the backend).
 *   - normalised: as-is, plus portcullis's KrakenD-parity switches (every
 *     auth/validator gets `error_body: false` and `www_authenticate: false`,
 *     every endpoint `portcullis/cache.public_with_credentials: true`, the
 *     root CORS `options_success_status: 200`), and in JSON bodies (both
 *     sides) every `headers` object loses User-Agent, X-Forwarded-Via,
 *     Accept-Encoding, Content-Length, Transfer-Encoding, Connection and
 *     X-Request-Id: the product name (twice), Go's transport adding `gzip`, body framing, Node's
 *     keep-alive and portcullis's request id, none of which is a gateway
 *     behaviour the specs are about.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isDeepStrictEqual } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { Ajv } from 'ajv';
import { canonicalHeader, goJson, startCeMockBackend } from './ce-mock-backend.js';

export type Mode = 'as-is' | 'normalised';

export interface SpecResult {
  name: string;
  outcome: 'pass' | 'fail' | 'refused';
  reason: string;
}

export interface Removal {
  what: string;
  reason: string;
}

export interface ReplayReport {
  mode: Mode;
  results: SpecResult[];
  removed: Removal[];
}

interface Spec {
  in: { url: string; method?: string; header?: Record<string, string | string[]>; body?: unknown };
  out: { status_code: number; body?: unknown; header?: Record<string, string[]>; schema?: Record<string, unknown> };
  error?: string;
}

type Json = Record<string, unknown>;

/** Specs that exercise a root namespace; when `check` refuses it, they are reported as refused. */
const ROOT_NAMESPACE_SPECS: Record<string, RegExp> = {
  'security/bot-detector': /^botdetector_/,
  'security/cors': /^cors_/,
};

const VALIDATOR_NAMESPACES = ['auth/validator', 'github.com/devopsfaith/krakend-jose/validator'];

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** The fixture with hosts re-pointed, as a string so jwk_url and every other address move too. */
export function repoint(text: string, mockHost: string, gatewayPort: number): Json {
  const moved = text.replaceAll('127.0.0.1:8081', mockHost).replaceAll('127.0.0.1:8080', `127.0.0.1:${gatewayPort}`);
  const config = JSON.parse(moved) as Json;
  config.port = gatewayPort;
  config.debug_endpoint = true;
  for (const endpoint of (config.endpoints as Json[] | undefined) ?? []) {
    for (const backend of (endpoint.backend as Json[] | undefined) ?? []) {
      if (!Array.isArray(backend.host)) continue;
      backend.host = (backend.host as unknown[]).map((h) =>
        typeof h === 'string' && !/^https?:\/\/127\.0\.0\.1:/.test(h) ? 'http://127.0.0.1:9' : h,
      );
    }
  }
  return config;
}

/** Turns on the switches portcullis has for KrakenD parity (the defaults differ on purpose). */
function parityConfig(config: Json): void {
  for (const endpoint of (config.endpoints as Json[] | undefined) ?? []) {
    const extra = (endpoint.extra_config ??= {}) as Json;
    for (const ns of VALIDATOR_NAMESPACES) {
      const validator = extra[ns] as Json | undefined;
      if (validator !== undefined) Object.assign(validator, { error_body: false, www_authenticate: false });
    }
    extra['portcullis/cache'] = { public_with_credentials: true };
  }
  const cors = (config.extra_config as Json | undefined)?.['security/cors'] as Json | undefined;
  if (cors !== undefined) cors.options_success_status ??= 200;
}

function describeEndpoint(endpoint: Json): string {
  return `${typeof endpoint.method === 'string' ? endpoint.method : 'GET'} ${String(endpoint.endpoint)}`;
}

/**
 * Removes what `check` refuses, one round at a time, until the config loads:
 * an error under `$.endpoints[i]` removes that endpoint; any other `$.key…`
 * error removes that root key (or root extra_config namespace).
 */
export function pruneRefused(config: Json, cli: string, workDir: string): { config: Json; removed: Removal[] } {
  const removed: Removal[] = [];
  const file = join(workDir, 'derived-check.json');
  for (let round = 0; round < 8; round++) {
    writeFileSync(file, JSON.stringify(config, null, 2));
    const run = spawnSync(process.execPath, [cli, 'check', '-c', file], { encoding: 'utf8' });
    if (run.status === 0) return { config, removed };
    const errors = `${run.stdout}\n${run.stderr}`
      .split('\n')
      .filter((l) => l.startsWith('ERROR '))
      .map((l) => l.replace(/^ERROR (parsing the configuration file: )?/, ''));
    const endpoints = (config.endpoints as Json[] | undefined) ?? [];
    const drop = new Map<number, string>();
    let progress = false;
    for (const error of errors) {
      const at = error.indexOf(': ');
      const path = at < 0 ? '' : error.slice(0, at);
      const message = at < 0 ? error : error.slice(at + 2);
      const ep = /^\$\.endpoints\[(\d+)\]/.exec(path);
      if (ep) {
        const index = Number(ep[1]);
        if (!drop.has(index)) drop.set(index, `${path.slice(ep[0].length) || '(endpoint)'}: ${message}`);
        continue;
      }
      const rootNs = /^\$\.extra_config\["([^"]+)"\]/.exec(path) ?? /^\$\.extra_config\.([\w-]+)/.exec(path);
      const extra = config.extra_config as Json | undefined;
      if (rootNs && extra !== undefined && rootNs[1]! in extra) {
        delete extra[rootNs[1]!];
        removed.push({ what: `root extra_config["${rootNs[1]}"]`, reason: message });
        progress = true;
        continue;
      }
      const rootKey = /^\$\.([\w-]+)/.exec(path);
      if (rootKey && rootKey[1] !== 'endpoints' && rootKey[1]! in config) {
        delete config[rootKey[1]!];
        removed.push({ what: `root ${rootKey[1]}`, reason: message });
        progress = true;
      }
    }
    for (const index of [...drop.keys()].sort((a, b) => b - a)) {
      removed.push({ what: describeEndpoint(endpoints[index]!), reason: drop.get(index)! });
      endpoints.splice(index, 1);
      progress = true;
    }
    if (!progress) throw new Error(`check refuses the derived config and nothing can be removed:\n${errors.join('\n')}`);
  }
  throw new Error('check still refuses the derived config after 8 rounds');
}

function endpointMatcher(pattern: string): RegExp {
  const body = pattern
    .split('/')
    .map((seg) => (seg === '*' ? '.*' : /^\{[^}]+\}$/.test(seg) ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${body}$`);
}

/** The removal that makes a spec unrunnable, if any. */
function refusedBy(name: string, spec: Spec, removed: Removal[], kept: Json[]): Removal | undefined {
  for (const r of removed) {
    const ns = /^root extra_config\["(.+)"\]$/.exec(r.what)?.[1];
    if (ns !== undefined && ROOT_NAMESPACE_SPECS[ns]?.test(name)) return r;
  }
  const url = new URL(spec.in.url);
  const method = spec.in.method ?? 'GET';
  const matches = (desc: string) => {
    const [m, p] = desc.split(' ');
    return m === method && p !== undefined && endpointMatcher(p).test(url.pathname);
  };
  if (kept.some((e) => matches(describeEndpoint(e)))) return undefined;
  return removed.find((r) => matches(r.what));
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  distinct: Record<string, string[]>;
  body: Buffer;
}

function send(target: URL, connectPort: number, method: string, headers: Record<string, string>, body: Buffer | undefined): Promise<Answer> {
  return new Promise((resolveAnswer, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: connectPort, method, path: `${target.pathname}${target.search}`, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolveAnswer({
            status: res.statusCode ?? 0,
            headers: res.headers,
            distinct: Object.fromEntries(Object.entries(res.headersDistinct).filter((e): e is [string, string[]] => e[1] !== undefined)),
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A request as Go's http.DefaultClient sends it: its UA, gzip, Content-Length, redirects followed with a Referer. */
async function goClient(spec: Spec, gatewayPort: number): Promise<Answer> {
  let url = new URL(spec.in.url);
  let method = spec.in.method ?? 'GET';
  const specBody = spec.in.body;
  let body = specBody === undefined || specBody === null ? undefined : Buffer.from(typeof specBody === 'string' ? specBody : goJson(specBody));
  const given: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.in.header ?? {})) given[k] = Array.isArray(v) ? String(v[0]) : v;
  let referer: string | undefined;
  for (let hop = 0; hop <= 10; hop++) {
    const headers: Record<string, string> = { 'User-Agent': 'Go-http-client/1.1', 'Accept-Encoding': 'gzip', ...given };
    headers.Host ??= given.Host ?? url.host;
    if (referer !== undefined) headers.Referer = referer;
    if (body !== undefined) headers['Content-Length'] = String(body.length);
    else if (['POST', 'PUT', 'PATCH'].includes(method)) headers['Content-Length'] = '0';
    const local = url.hostname === 'localhost' && url.port === '8080';
    const answer = await send(url, local ? gatewayPort : Number(url.port || 80), method, headers, body);
    const location = answer.headers.location;
    if ([301, 302, 303, 307, 308].includes(answer.status) && location !== undefined && hop < 10) {
      referer = url.href;
      url = new URL(location, url);
      if (answer.status <= 303 && method !== 'HEAD') {
        method = 'GET';
        body = undefined;
      }
      continue;
    }
    if (answer.headers['content-encoding'] === 'gzip' && given['Accept-Encoding'] === undefined) {
      // Go's transport asked for gzip itself, so it inflates and hides the encoding headers.
      answer.body = gunzipSync(answer.body);
      delete answer.distinct['content-encoding'];
      delete answer.distinct['content-length'];
    }
    return answer;
  }
  throw new Error('stopped after 10 redirects');
}

const NOISE_HEADERS = ['User-Agent', 'X-Forwarded-Via', 'Accept-Encoding', 'Content-Length', 'Transfer-Encoding', 'Connection', 'X-Request-Id'];

function normaliseBody(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normaliseBody);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Json)) {
    if (k === 'headers' && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      out[k] = Object.fromEntries(Object.entries(v as Json).filter(([h]) => !NOISE_HEADERS.includes(canonicalHeader(h))));
    } else out[k] = normaliseBody(v);
  }
  return out;
}

function tryJson(text: string): { ok: boolean; value: unknown } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, value: null };
  }
}

/** The first place two JSON values differ, as `path: have X, want Y`, so a failure reads in one line. */
export function firstDifference(have: unknown, want: unknown, path = '$'): string | undefined {
  if (isDeepStrictEqual(have, want)) return undefined;
  const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObject(have) && isObject(want)) {
    for (const key of [...new Set([...Object.keys(want), ...Object.keys(have)])].sort()) {
      if (!(key in have)) return `${path}.${key} absent, want ${show(want[key])}`;
      if (!(key in want)) return `${path}.${key} unexpected: ${show(have[key])}`;
      const inner = firstDifference(have[key], want[key], `${path}.${key}`);
      if (inner !== undefined) return inner;
    }
  }
  if (Array.isArray(have) && Array.isArray(want) && have.length === want.length) {
    for (let i = 0; i < want.length; i++) {
      const inner = firstDifference(have[i], want[i], `${path}[${i}]`);
      if (inner !== undefined) return inner;
    }
  }
  return `${path}: have ${show(have)}, want ${show(want)}`;
}

const ajv = new Ajv({ strict: false, allErrors: false });

function show(value: unknown): string {
  const s = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value);
  return s === undefined ? 'undefined' : s.length > 160 ? `${s.slice(0, 157)}...` : s;
}

/** krakend-ce's assertResponse, plus the normalised comparison of the "normalised" mode. */
export function assertAnswer(answer: Answer, expected: Spec['out'], mode: Mode): string[] {
  const problems: string[] = [];
  if (answer.status !== expected.status_code) problems.push(`status ${answer.status}, want ${expected.status_code}`);
  for (const [name, want] of Object.entries(expected.header ?? {})) {
    const have = answer.distinct[canonicalHeader(name).toLowerCase()];
    if (have !== undefined && isDeepStrictEqual(have, want)) continue;
    if (have !== undefined) problems.push(`${canonicalHeader(name)} ${show(have)}, want ${show(want)}`);
    else if (want[0] !== '') problems.push(`${canonicalHeader(name)} absent, want ${show(want)}`);
  }
  const text = answer.body.toString('utf8');
  if (expected.schema !== undefined && Object.keys(expected.schema).length > 0) {
    if (answer.body.length === 0) return [...problems, 'cannot validate empty body'];
    const parsed = tryJson(text);
    const schema = { ...expected.schema };
    delete schema.$schema;
    if (!parsed.ok || !ajv.validate(schema, parsed.value)) return [...problems, `body fails the schema: ${show(text)}`];
    return problems;
  }
  // krakend-ce compares the body as a string: an expected "" is an empty body.
  if (expected.body === '') return text === '' ? problems : [...problems, `body ${show(text)}, want empty`];
  if (typeof expected.body === 'string') {
    if (text === expected.body) return problems;
    const have = tryJson(text);
    const want = tryJson(expected.body);
    if (have.ok && want.ok) {
      const fix = mode === 'normalised' ? normaliseBody : (v: unknown) => v;
      const diff = firstDifference(fix(have.value), fix(want.value), 'body');
      // Equal once normalised; as-is, equal values that differ in bytes (key order, spacing) still fail.
      if (diff === undefined) return mode === 'normalised' ? problems : [...problems, `body bytes differ: ${show(text)}`];
      return [...problems, diff];
    }
    return [...problems, `body ${show(text)}, want ${show(expected.body)}`];
  }
  const have = tryJson(text).value;
  const want = expected.body ?? null;
  const diff = mode === 'normalised' ? firstDifference(normaliseBody(have), normaliseBody(want), 'body') : firstDifference(have, want, 'body');
  if (diff !== undefined) problems.push(diff);
  return problems;
}

async function waitHealthy(port: number, gateway: ChildProcess, output: () => string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    if (gateway.exitCode !== null) throw new Error(`gateway exited (${gateway.exitCode}):\n${output()}`);
    try {
      const answer = await send(new URL(`http://127.0.0.1:${port}/__health`), port, 'GET', {}, undefined);
      if (answer.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gateway not healthy on ${port}:\n${output()}`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(child.pid, 'SIGTERM');
  await exited;
}

export interface ReplayOptions {
  dir: string;
  cli: string;
  mode: Mode;
}

export async function replay({ dir, cli, mode }: ReplayOptions): Promise<ReplayReport> {
  const specDir = join(dir, 'specs');
  const names = readdirSync(specDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
  const jwksFile = join(dir, 'jwk', 'symmetric.json');
  const mock = await startCeMockBackend(existsSync(jwksFile) ? { jwksFile } : {});
  const workDir = mkdtempSync(join(tmpdir(), 'ce-specs-'));
  let gateway: ChildProcess | undefined;
  try {
    const gatewayPort = await freePort();
    const mockHost = `127.0.0.1:${mock.port}`;
    const derived = repoint(readFileSync(join(dir, 'krakend.json'), 'utf8'), mockHost, gatewayPort);
    if (mode === 'normalised') parityConfig(derived);
    const { config, removed } = pruneRefused(derived, cli, workDir);
    const configFile = join(workDir, 'derived.json');
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    let log = '';
    gateway = spawn(process.execPath, [cli, 'run', '-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    gateway.stdout?.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
    gateway.stderr?.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
    await waitHealthy(gatewayPort, gateway, () => log);
    const kept = (config.endpoints as Json[] | undefined) ?? [];
    const results: SpecResult[] = [];
    for (const name of names) {
      const spec = JSON.parse(readFileSync(join(specDir, `${name}.json`), 'utf8').replaceAll('127.0.0.1:8081', mockHost)) as Spec;
      const refusal = refusedBy(name, spec, removed, kept);
      if (refusal !== undefined) {
        results.push({ name, outcome: 'refused', reason: `${refusal.what}: ${refusal.reason}` });
        continue;
      }
      try {
        const problems = assertAnswer(await goClient(spec, gatewayPort), spec.out, mode);
        results.push(problems.length === 0 ? { name, outcome: 'pass', reason: '' } : { name, outcome: 'fail', reason: problems.join('; ') });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        results.push(spec.error !== undefined && message === spec.error ? { name, outcome: 'pass', reason: '' } : { name, outcome: 'fail', reason: `request failed: ${message}` });
      }
    }
    return { mode, results, removed };
  } finally {
    if (gateway !== undefined) await stop(gateway);
    await mock.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}

export function markdown(report: ReplayReport): string {
  const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
  const pass = report.results.filter((r) => r.outcome === 'pass').length;
  const refused = report.results.filter((r) => r.outcome === 'refused').length;
  return [
    `### mode: ${report.mode}: ${pass}/${report.results.length} pass (${refused} refused)`,
    '',
    report.removed.length === 0 ? 'Nothing removed from the fixture.' : 'Removed from the fixture because `check` refuses them:',
    ...report.removed.map((r) => `- ${cell(r.what)}: ${cell(r.reason)}`),
    '',
    '| spec | result | reason |',
    '|---|---|---|',
    ...report.results.map((r) => `| ${r.name} | ${r.outcome} | ${cell(r.reason)} |`),
  ].join('\n');
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { cli: { type: 'string' }, mode: { type: 'string', default: 'both' }, json: { type: 'boolean', default: false } },
  });
  const dir = positionals[0];
  const modes: Mode[] = values.mode === 'both' ? ['as-is', 'normalised'] : [values.mode as Mode];
  if (dir === undefined || !modes.every((m) => m === 'as-is' || m === 'normalised')) {
    process.stderr.write('usage: ce-specs <dir with krakend.json and specs/> [--cli <cli main.js>] [--mode as-is|normalised|both] [--json]\n');
    process.exit(2);
  }
  const cli = resolve(values.cli ?? fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url)));
  const reports: ReplayReport[] = [];
  for (const mode of modes) reports.push(await replay({ dir: resolve(dir), cli, mode }));
  process.stdout.write(values.json ? `${JSON.stringify(reports, null, 2)}\n` : `${reports.map(markdown).join('\n\n')}\n`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
