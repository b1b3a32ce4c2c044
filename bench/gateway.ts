/**
 * `npm run bench:gateway`: the gateway with auth, the gateway without auth,
 * and a bare node:http + undici forwarder, all in front of the same upstream,
 * loaded by autocannon from its own process with the same connections and
 * duration. Rounds are interleaved (rotating the order) and medians compared
 * within this one run, because the machine is shared and noisy.
 *
 * Process tree: this orchestrator → upstream, gateway (one process serving
 * both the auth and the no-auth endpoint), bare forwarder, load generator.
 * Knobs: BENCH_ROUNDS (5), BENCH_DURATION_S (5), BENCH_CONNECTIONS (32),
 * BENCH_JSON=1 to also measure merging (json) endpoints, BENCH_ACCESS_LOG=0 to
 * measure the gateway without its access log, BENCH_FEATURES=1 to also
 * measure the auth endpoint on gateways with Prometheus metrics, with
 * revocation (memory store, and a Redis store: needs redis-server), and with a
 * Redis rate limit that never refuses. Each feature runs in its own gateway
 * process that gets only auth traffic, so its ratio is taken against a control
 * process with the same config minus the feature and the same traffic: the
 * main gateway, which also serves the no-auth (and json) cases, is a different
 * process with differently warmed code, and the control against it (an A/A
 * pair) shows how much two processes differ with no feature at all.
 * Besides req/s it reports the gateway's CPU time per request, which other
 * load on a shared machine disturbs far less.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Pool, type Dispatcher } from 'undici';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
/** Also measure json (merging) endpoints, for information. */
const WITH_JSON = process.env.BENCH_JSON === '1';
/** Also measure metrics, revocation and Redis rate limits. */
const WITH_FEATURES = process.env.BENCH_FEATURES === '1';
/** Revocations each revocation gateway holds, so the check does real lookups. */
const REVOCATIONS = 1000;
const SELF = fileURLToPath(import.meta.url);
const UPSTREAM_BODY = JSON.stringify({ id: 42, name: 'portcullis', items: [1, 2, 3], ok: true });

type Message = { type: 'cpu'; micros: number } | { type: 'listening'; port: number } | { type: 'result'; result: LoadResult } | { type: 'error'; message: string };

interface LoadResult {
  rps: number;
  /** Gateway CPU time (user + system) per request, in µs; gateway cases only. */
  cpuPerRequest?: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

const role = process.argv[2];
if (role === 'upstream') await runUpstream();
else if (role === 'gateway') await runGateway(JSON.parse(process.argv[3]!) as GatewayArgs);
else if (role === 'bare') await runBare(Number(process.argv[3]));
else if (role === 'load') await runLoad(JSON.parse(process.argv[3]!) as LoadArgs);
else await orchestrate();

// ---------------------------------------------------------------- children

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
  const server = createServer({ keepAliveTimeout: 30_000 }, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return (server.address() as AddressInfo).port;
}

function report(message: Message): void {
  process.send!(message);
}

async function runUpstream(): Promise<void> {
  const body = Buffer.from(UPSTREAM_BODY);
  const port = await listen((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
  report({ type: 'listening', port });
}

type Variant = 'plain' | 'control' | 'metrics' | 'revocation-memory' | 'revocation-redis' | 'ratelimit-redis';

interface GatewayArgs {
  upstreamPort: number;
  jwk: Record<string, unknown>;
  variant: Variant;
  redisUrl?: string;
}

async function runGateway(args: GatewayArgs): Promise<void> {
  const { compileGateway } = await import('../src/config/compile.js');
  const { parseConfigText } = await import('../src/config/load.js');
  const { startGateway } = await import('../src/gateway/server.js');
  const { createPinoLogger } = await import('../src/lib/pino-logger.js');
  const { createAccessLog } = await import('../src/gateway/access-log.js');
  const { pino } = await import('pino');
  const upstream = `http://127.0.0.1:${args.upstreamPort}`;
  const validator = {
    alg: 'RS256',
    jwk_keys: [args.jwk],
    issuer: 'https://bench.example',
    audience: ['bench'],
    roles: ['reader'],
    propagate_claims: [['sub', 'X-User']],
  };
  const endpoint = (path: string, encoding: 'no-op' | 'json', auth: boolean) => ({
    endpoint: path,
    output_encoding: encoding,
    input_headers: ['X-User'],
    ...(auth ? { extra_config: { 'auth/validator': validator } } : {}),
    backend: [{ host: [upstream], url_pattern: '/data', encoding }],
  });
  const redis = args.redisUrl === undefined ? {} : { redis: { connection_pools: [{ name: 'bench', url: args.redisUrl }] } };
  const revoker =
    args.variant === 'revocation-memory'
      ? { 'auth/revoker': { token_keys: ['jti', 'sub'], TTL: 3600 } }
      : args.variant === 'revocation-redis'
        ? { 'auth/revoker': { token_keys: ['jti', 'sub'], TTL: 3600, connection_pool: 'bench' } }
        : {};
  // A limit that never refuses: what is measured is the Redis round trip on every request.
  const limited = {
    ...endpoint('/auth-limited', 'no-op', true),
    extra_config: {
      'auth/validator': validator,
      'qos/ratelimit/router/redis': { client_max_rate: 1_000_000_000, client_capacity: 1_000_000_000, strategy: 'jwt', key: 'sub', connection_pool: 'bench' },
    },
  };
  const config = {
    version: 3,
    timeout: '5s',
    extra_config: { ...redis, ...revoker },
    endpoints: [
      endpoint('/auth', 'no-op', true),
      endpoint('/open', 'no-op', false),
      endpoint('/auth-json', 'json', true),
      endpoint('/open-json', 'json', false),
      ...(args.variant === 'ratelimit-redis' ? [limited] : []),
    ],
  };
  const { config: parsed } = parseConfigText(JSON.stringify(config), 'bench.json');
  // As `portcullis run` does (INFO access lines, synchronous writes batched per turn), to /dev/null here.
  const logger = createPinoLogger({ level: 'info', destination: pino.destination({ dest: '/dev/null', sync: true }) });
  const accessLog = process.env.BENCH_ACCESS_LOG === '0' ? false : (createAccessLog(logger) ?? false);
  const ref: { gateway?: Awaited<ReturnType<typeof startGateway>> } = {};
  let metrics;
  if (args.variant === 'metrics') {
    const { createPrometheusMetrics } = await import('../src/metrics/prometheus.js');
    const { boundPlanSources } = await import('../src/metrics/sources.js');
    metrics = createPrometheusMetrics(boundPlanSources(() => ref.gateway?.bound(), () => 0));
  }
  const gateway = await startGateway(compileGateway(parsed), { host: '127.0.0.1', port: 0, logger, accessLog, ...(metrics ? { metrics } : {}) });
  ref.gateway = gateway;
  await gateway.ready();
  const store = gateway.bound().revocation;
  if (store !== undefined) {
    await store.ready();
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    for (let i = 0; i < REVOCATIONS; i++) await store.revoke({ kind: i % 10 === 0 ? 'sub' : 'jti', value: `revoked-${i}`, expiresAt });
    // Redis: every instance gets the entries through pub/sub; wait until this one holds them all.
    while (store.status().size < REVOCATIONS) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  answerCpuRequests();
  report({ type: 'listening', port: gateway.port });
}

/** CPU time used so far, for the orchestrator's per-request figure: on a shared machine it moves far less than req/s. */
function answerCpuRequests(): void {
  process.on('message', (message: { type: string }) => {
    if (message.type !== 'cpu') return;
    const used = process.cpuUsage();
    report({ type: 'cpu', micros: used.user + used.system });
  });
}

/** The practical ceiling: node:http in, undici out, hop-by-hop headers dropped, body streamed. */
async function runBare(upstreamPort: number): Promise<void> {
  const pool = new Pool(`http://127.0.0.1:${upstreamPort}`, { keepAliveTimeout: 4000, pipelining: 1 });
  const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host', 'proxy-connection']);
  const factory = ({ statusCode, headers, opaque }: Dispatcher.StreamFactoryData<ServerResponse>) => {
    const out: string[] = [];
    for (const name in headers) {
      if (hopByHop.has(name)) continue;
      const value = headers[name]!;
      if (typeof value === 'string') out.push(name, value);
      else for (const item of value) out.push(name, item);
    }
    opaque.writeHead(statusCode, out);
    return opaque;
  };
  const port = await listen((req, res) => {
    const headers: string[] = [];
    for (const name in req.headers) {
      if (hopByHop.has(name)) continue;
      const value = req.headers[name]!;
      if (typeof value === 'string') headers.push(name, value);
    }
    pool.stream({ path: '/data', method: req.method as Dispatcher.HttpMethod, headers, body: null, opaque: res }, factory, (error) => {
      if (error && !res.headersSent) res.writeHead(502).end();
    });
  });
  answerCpuRequests();
  report({ type: 'listening', port });
}

interface LoadArgs {
  url: string;
  headers: Record<string, string>;
  connections: number;
  durationS: number;
}

async function runLoad(args: LoadArgs): Promise<void> {
  type Autocannon = (options: object) => Promise<{
    requests: { total: number };
    duration: number;
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
  }>;
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const result = await autocannon({ url: args.url, headers: args.headers, connections: args.connections, duration: args.durationS, pipelining: 1 });
  report({
    type: 'result',
    result: {
      rps: result.requests.total / result.duration,
      p50: result.latency.p50,
      p99: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors,
    },
  });
}

// ---------------------------------------------------------------- orchestrator

function spawnRole(args: string[]): { child: ChildProcess; next: () => Promise<Message> } {
  const child = fork(SELF, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const queue: Message[] = [];
  const waiters: ((message: Message) => void)[] = [];
  child.on('message', (message: Message) => {
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  child.on('exit', (code) => {
    for (const waiter of waiters.splice(0)) waiter({ type: 'error', message: `${args[0]} exited with ${code}` });
  });
  return {
    child,
    next: () => (queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((resolve) => waiters.push(resolve))),
  };
}

async function portOf(spawned: { next: () => Promise<Message> }): Promise<number> {
  const message = await spawned.next();
  if (message.type !== 'listening') throw new Error(message.type === 'error' ? message.message : 'unexpected message');
  return message.port;
}

async function load(url: string, headers: Record<string, string>): Promise<LoadResult> {
  const loader = spawnRole(['load', JSON.stringify({ url, headers, connections: CONNECTIONS, durationS: DURATION_S } satisfies LoadArgs)]);
  const message = await loader.next();
  loader.child.kill();
  if (message.type !== 'result') throw new Error(message.type === 'error' ? message.message : 'unexpected message');
  return message.result;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function orchestrate(): Promise<void> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench-1', alg: 'RS256', use: 'sig' };
  const token = await new SignJWT({ sub: 'bench-user', roles: ['reader'] })
    .setProtectedHeader({ alg: 'RS256', kid: 'bench-1' })
    .setIssuer('https://bench.example')
    .setAudience('bench')
    .setExpirationTime('2h')
    .sign(privateKey);

  const children: ChildProcess[] = [];
  try {
    const upstream = spawnRole(['upstream']);
    children.push(upstream.child);
    const upstreamPort = await portOf(upstream);
    const gateway = spawnRole(['gateway', JSON.stringify({ upstreamPort, jwk, variant: 'plain' } satisfies GatewayArgs)]);
    const bare = spawnRole(['bare', String(upstreamPort)]);
    children.push(gateway.child, bare.child);
    const gatewayPort = await portOf(gateway);
    const barePort = await portOf(bare);
    const featurePorts = new Map<Variant, number>();
    // Every gateway process by port, so each case's CPU time is read from the process that served it.
    const gateways = new Map<string, typeof gateway>([
      [String(gatewayPort), gateway],
      [String(barePort), bare],
    ]);
    if (WITH_FEATURES) {
      const redis = startRedis();
      children.push(redis.child);
      const redisUrl = await redis.url;
      for (const variant of ['control', 'metrics', 'revocation-memory', 'revocation-redis', 'ratelimit-redis'] as const) {
        const usesRedis = variant === 'revocation-redis' || variant === 'ratelimit-redis';
        const spawned = spawnRole(['gateway', JSON.stringify({ upstreamPort, jwk, variant, ...(usesRedis ? { redisUrl } : {}) } satisfies GatewayArgs)]);
        children.push(spawned.child);
        const port = await portOf(spawned);
        featurePorts.set(variant, port);
        gateways.set(String(port), spawned);
      }
    }

    const auth = { authorization: `Bearer ${token}` };
    const main = [
      { name: 'gateway + auth (no-op)', url: `http://127.0.0.1:${gatewayPort}/auth`, headers: auth },
      { name: 'gateway, no auth (no-op)', url: `http://127.0.0.1:${gatewayPort}/open`, headers: {} },
      { name: 'bare node:http + undici', url: `http://127.0.0.1:${barePort}/data`, headers: {} },
    ];
    const extra: { name: string; url: string; headers: Record<string, string> }[] = WITH_JSON
      ? [
          { name: 'gateway + auth (json)', url: `http://127.0.0.1:${gatewayPort}/auth-json`, headers: auth },
          { name: 'gateway, no auth (json)', url: `http://127.0.0.1:${gatewayPort}/open-json`, headers: {} },
        ]
      : [];
    const at = (variant: Variant, path: string) => `http://127.0.0.1:${featurePorts.get(variant)}${path}`;
    const features = WITH_FEATURES
      ? [
          { name: 'auth, control process', url: at('control', '/auth'), headers: auth },
          { name: 'auth + metrics', url: at('metrics', '/auth'), headers: auth },
          { name: 'auth + revocation (memory)', url: at('revocation-memory', '/auth'), headers: auth },
          { name: 'auth + revocation (redis)', url: at('revocation-redis', '/auth'), headers: auth },
          { name: 'auth + rate limit (redis)', url: at('ratelimit-redis', '/auth-limited'), headers: auth },
        ]
      : [];
    extra.push(...features);
    const cases = [...main, ...extra];
    const results = new Map<string, LoadResult[]>(cases.map((c) => [c.name, []]));

    console.log(`bench:gateway: ${ROUNDS} rounds x ${DURATION_S} s per case, ${CONNECTIONS} connections, autocannon in its own process`);
    // Warm up every path (JIT, pools, the verified-token cache) with interleaved traffic, as a gateway
    // serving both kinds of endpoint sees it: V8 optimises the shared code for what it saw first, and a
    // gateway warmed on one path only measures up to 15% faster on that path than in mixed service.
    for (let cycle = 0; cycle < 2; cycle++) for (const c of cases) await loadShort(c.url, c.headers);
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order so no case always runs first, or right after the same neighbour.
      const order = cases.map((_, i) => cases[(i + round) % cases.length]!);
      for (const c of order) {
        const served = gateways.get(new URL(c.url).port);
        const before = served ? await gatewayCpu(served) : 0;
        const result = await load(c.url, c.headers);
        if (served) result.cpuPerRequest = ((await gatewayCpu(served)) - before) / (result.rps * DURATION_S);
        if (result.non2xx > 0 || result.errors > 0) throw new Error(`${c.name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
        results.get(c.name)!.push(result);
        console.log(`  round ${round + 1}  ${c.name.padEnd(28)} ${Math.round(result.rps).toString().padStart(7)} req/s  p50 ${result.p50} ms  p99 ${result.p99} ms`);
      }
    }

    const rps = (name: string) => median(results.get(name)!.map((r) => r.rps));
    const p99 = (name: string) => median(results.get(name)!.map((r) => r.p99));
    // Ratios are taken within each round (the cases ran seconds apart), then the median across rounds:
    // background load on a shared machine moves whole rounds, not single cases.
    const pairedRatio = (a: string, b: string) => median(results.get(a)!.map((r, i) => r.rps / results.get(b)![i]!.rps));
    console.log('\nmedians');
    for (const c of cases) console.log(`  ${c.name.padEnd(28)} ${Math.round(rps(c.name)).toString().padStart(7)} req/s  p99 ${p99(c.name)} ms`);
    const authRatio = pairedRatio(main[0]!.name, main[1]!.name);
    const bareRatio = pairedRatio(main[1]!.name, main[2]!.name);
    console.log('\nratios (median of per-round ratios)');
    console.log(`  auth / no-auth (no-op)   ${authRatio.toFixed(3)}  target >= 0.9  ${authRatio >= 0.9 ? 'met' : 'MISSED'}`);
    console.log(`  no-auth / bare (no-op)   ${bareRatio.toFixed(3)}  target >= 0.8  ${bareRatio >= 0.8 ? 'met' : 'MISSED'}`);
    // Each feature against the control process: same config minus the feature, same traffic.
    const control = 'auth, control process';
    const targets: Record<string, number | undefined> = {
      'auth + metrics': 0.95,
      'auth + revocation (memory)': 0.95,
      'auth + revocation (redis)': 0.95,
      'auth + rate limit (redis)': undefined,
    };
    const verdict = (ratio: number, target: number | undefined) => (target === undefined ? '(information)' : `target >= ${target}  ${ratio >= target ? 'met' : 'MISSED'}`);
    if (features.length > 0) {
      console.log(`  ${'control / main gateway auth (A/A)'.padEnd(38)} ${pairedRatio(control, main[0]!.name).toFixed(3)}  (two processes, no feature: the noise floor)`);
      for (const c of features) {
        if (c.name === control) continue;
        const ratio = pairedRatio(c.name, control);
        console.log(`  ${`${c.name} / control`.padEnd(38)} ${ratio.toFixed(3)}  ${verdict(ratio, targets[c.name])}`);
      }
      // The same ratio from CPU time per request (control's over the feature's): what the feature costs the
      // process that serves it, which load from other processes on the machine moves far less than req/s.
      console.log('\nfeature cost as throughput from gateway CPU per request (control µs / feature µs, median of per-round ratios)');
      for (const c of features) {
        if (c.name === control) continue;
        const ratio = median(results.get(c.name)!.map((r, i) => results.get(control)![i]!.cpuPerRequest! / r.cpuPerRequest!));
        console.log(`  ${`${c.name} / control`.padEnd(38)} ${ratio.toFixed(3)}  ${verdict(ratio, targets[c.name])}`);
      }
    }
    if (WITH_JSON) {
      console.log(`  auth / no-auth (json)    ${pairedRatio(extra[0]!.name, extra[1]!.name).toFixed(3)}  (information)`);
      // Decoding, shaping and re-encoding the answer, against the untouched no-op path in the same round.
      console.log(`  json / no-op (no auth)   ${pairedRatio(extra[1]!.name, main[1]!.name).toFixed(3)}  (information)`);
    }
    const cpu = (name: string) => median(results.get(name)!.map((r) => r.cpuPerRequest!));
    const cpuRatio = (a: string, b: string) => median(results.get(a)!.map((r, i) => r.cpuPerRequest! / results.get(b)![i]!.cpuPerRequest!));
    console.log('\nCPU per request of the serving process (µs, median; less disturbed by other load than req/s)');
    for (const c of cases) if (gateways.has(new URL(c.url).port)) console.log(`  ${c.name.padEnd(28)} ${cpu(c.name).toFixed(1).padStart(7)}`);
    console.log(`  no-auth / bare as throughput (bare µs / no-auth µs)  ${cpuRatio(main[2]!.name, main[1]!.name).toFixed(3)}`);
    if (WITH_JSON) console.log(`  json / no-op (no auth)   ${cpuRatio(extra[1]!.name, main[1]!.name).toFixed(3)}`);
  } finally {
    for (const child of children) child.kill();
  }
}

/** A throwaway redis-server for the Redis cases: no persistence, a free port, stopped with the bench. */
function startRedis(): { child: ChildProcess; url: Promise<string> } {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = new Promise<string>((resolve, reject) => {
    let output = '';
    child.on('error', () => reject(new Error('BENCH_FEATURES=1 needs redis-server (apt-get install redis-server)')));
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve(`redis://127.0.0.1:${port}`);
    });
    child.on('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output.slice(-300)}`)));
  });
  return { child, url };
}

/** The gateway process's CPU time so far, in µs. */
async function gatewayCpu(gateway: { child: ChildProcess; next: () => Promise<Message> }): Promise<number> {
  gateway.child.send({ type: 'cpu' });
  const message = await gateway.next();
  if (message.type !== 'cpu') throw new Error(message.type === 'error' ? message.message : 'unexpected message');
  return message.micros;
}

async function loadShort(url: string, headers: Record<string, string>): Promise<void> {
  const loader = spawnRole(['load', JSON.stringify({ url, headers, connections: CONNECTIONS, durationS: 1 } satisfies LoadArgs)]);
  await loader.next();
  loader.child.kill();
}
