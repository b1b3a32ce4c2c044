/**
 * A real Prometheus (Debian's `prometheus`, installed by .ci/run) scrapes the
 * gateway's and forward-auth's metrics listeners while the test drives
 * traffic, and the test reads the counters back through Prometheus's HTTP
 * query API. `promtool check metrics` lints the exposition.
 *
 * Without Prometheus the test fails in CI and is skipped, with the reason,
 * elsewhere.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startForwardAuth, type ForwardAuthServer } from '../../src/adapters/forward-auth/server.js';
import { compileGateway, type GatewayPlan } from '../../src/config/compile.js';
import { parseConfigText } from '../../src/config/load.js';
import { startGateway, type Gateway } from '../../src/gateway/server.js';
import { createPrometheusMetrics, type PrometheusMetrics } from '../../src/metrics/prometheus.js';
import { startMetricsServer, type MetricsServer } from '../../src/metrics/server.js';
import { startBackendServer, unusedPort, type BackendServer } from '../support/backend-server.js';
import { spawnPortcullis, type Spawned } from '../support/cli.js';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';

function which(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  if (found.status === 0 && found.stdout.trim() !== '') return found.stdout.trim();
  return [`/usr/bin/${name}`, `/usr/local/bin/${name}`].find((path) => existsSync(path));
}

const prometheusBin = which('prometheus');
const promtoolBin = which('promtool');
const inCi = process.env.CI === 'true' || process.env.CI === '1';
const skip = (prometheusBin === undefined || promtoolBin === undefined) && !inCi ? 'prometheus is not installed (apt-get install prometheus); CI installs it and runs this test' : false;

const now = (): number => Math.floor(Date.now() / 1000);

function plan(config: unknown): GatewayPlan {
  return compileGateway(parseConfigText(JSON.stringify(config), 'metrics.json', { strict: true }).config);
}

describe('a real Prometheus scrapes the gateway and forward-auth', { skip }, () => {
  let dir: string;
  let jwks: JwksServer;
  let backend: BackendServer;
  let key: TestSigningKey;
  let gateway: Gateway;
  let forwardAuth: ForwardAuthServer;
  let gatewayMetrics: PrometheusMetrics;
  let gatewayMetricsServer: MetricsServer;
  let forwardAuthMetricsServer: MetricsServer;
  let prometheus: ChildProcess;
  let prometheusUrl: string;
  let workers: Spawned;
  let workersPort: number;

  before(async () => {
    if (prometheusBin === undefined || promtoolBin === undefined) throw new Error('prometheus and promtool are needed: .ci/run must install them (apt-get install prometheus)');
    dir = mkdtempSync(join(tmpdir(), 'portcullis-prometheus-'));
    jwks = await startJwksServer();
    key = await generateSigningKey('prom-1');
    jwks.setKeys(jwksOf(key));
    backend = await startBackendServer();
    const config = {
      version: 3,
      endpoints: [
        {
          endpoint: '/orders/{id}',
          extra_config: { 'auth/validator': { alg: 'RS256', jwk_url: jwks.url('/jwks'), roles: ['admin'] } },
          backend: [{ host: [backend.url], url_pattern: '/orders/{id}' }],
        },
      ],
    };
    const ref: { gateway?: Gateway; forwardAuth?: ForwardAuthServer } = {};
    gatewayMetrics = createPrometheusMetrics({
      keySets: () => ref.gateway?.bound().usedKeySets.map((keySet) => keySet.status()) ?? [],
      cache: () => ref.gateway?.bound().cache,
    });
    gateway = await startGateway(plan(config), { host: '127.0.0.1', port: 0, accessLog: false, metrics: gatewayMetrics });
    ref.gateway = gateway;
    const forwardAuthMetrics = createPrometheusMetrics({
      keySets: () => ref.forwardAuth?.bound.usedKeySets.map((keySet) => keySet.status()) ?? [],
      cache: () => ref.forwardAuth?.bound.cache,
    });
    forwardAuth = await startForwardAuth(plan(config), { proxy: 'nginx', host: '127.0.0.1', port: 0, accessLog: false, metrics: forwardAuthMetrics });
    ref.forwardAuth = forwardAuth;
    await Promise.all([gateway.ready(), forwardAuth.ready()]);
    gatewayMetricsServer = await startMetricsServer(gatewayMetrics, { port: 0, host: '127.0.0.1' }, { debug() {}, info() {}, warn() {}, error() {} });
    forwardAuthMetricsServer = await startMetricsServer(forwardAuthMetrics, { port: 0, host: '127.0.0.1' }, { debug() {}, info() {}, warn() {}, error() {} });

    // A two-worker gateway as operators run it: the primary serves the sum over its workers.
    workersPort = await unusedPort();
    const workersMetricsPort = await unusedPort();
    const configFile = join(dir, 'workers.json');
    writeFileSync(configFile, JSON.stringify(config));
    workers = spawnPortcullis(['run', '-c', configFile, '--port', String(workersPort), '--workers', '2', '--metrics-port', String(workersMetricsPort)]);
    await workers.waitForOutput(/2 workers listening on port/);
    await workers.waitForOutput(/Prometheus metrics on/);

    const promPort = await unusedPort();
    prometheusUrl = `http://127.0.0.1:${promPort}`;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        'scrape_configs:',
        '  - job_name: gateway',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${gatewayMetricsServer.port}']`,
        '  - job_name: forward-auth',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${forwardAuthMetricsServer.port}']`,
        '  - job_name: workers',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${workersMetricsPort}']`,
        '',
      ].join('\n'),
    );
    prometheus = spawn(
      prometheusBin,
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    prometheus.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await poll(async () => {
      if (prometheus.exitCode !== null) throw new Error(`prometheus exited with ${prometheus.exitCode}: ${stderr}`);
      const ready = await request(`${prometheusUrl}/-/ready`).catch(() => undefined);
      if (ready === undefined) return false;
      await ready.body.dump();
      return ready.statusCode === 200;
    }, 'prometheus to start');
  });

  after(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await exited;
    }
    if (workers && workers.child.exitCode === null) {
      workers.child.kill('SIGTERM');
      await workers.ended;
    }
    await gatewayMetricsServer?.close();
    await forwardAuthMetricsServer?.close();
    await gateway?.close();
    await forwardAuth?.close();
    await backend?.close();
    await jwks?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function query(expression: string): Promise<number | undefined> {
    const response = await request(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expression)}`);
    const body = (await response.body.json()) as { status: string; data: { result: { value: [number, string] }[] } };
    assert.equal(body.status, 'success');
    const first = body.data.result[0];
    return first === undefined ? undefined : Number(first.value[1]);
  }

  test('counters moved as the traffic says, read back through the query API', async () => {
    const admin = await mintToken(key, { exp: now() + 120, roles: ['admin'] });
    const reader = await mintToken(key, { exp: now() + 120, roles: ['reader'] });
    for (let i = 0; i < 5; i++) {
      const answer = await request(`${gateway.url}/orders/${i}`, { headers: { authorization: `Bearer ${admin}` } });
      await answer.body.dump();
      assert.equal(answer.statusCode, 200);
    }
    for (let i = 0; i < 3; i++) {
      const answer = await request(`${gateway.url}/orders/${i}`, { headers: { authorization: `Bearer ${reader}` } });
      await answer.body.dump();
      assert.equal(answer.statusCode, 403);
    }
    for (let i = 0; i < 2; i++) {
      const check = await request(`${forwardAuth.url}/auth`, {
        headers: { 'x-original-method': 'GET', 'x-original-uri': `/orders/${i}`, authorization: `Bearer ${admin}` },
      });
      await check.body.dump();
      assert.equal(check.statusCode, 200);
    }

    // Keep-alive connections spread over both workers; a fresh connection per request lets the cluster balance.
    for (let i = 0; i < 12; i++) {
      const answer = await request(`http://127.0.0.1:${workersPort}/orders/${i}`, { headers: { authorization: `Bearer ${admin}`, connection: 'close' } });
      await answer.body.dump();
      assert.equal(answer.statusCode, 200);
    }

    const expectations: [string, number][] = [
      ['sum(portcullis_http_requests_total{job="workers",endpoint="/orders/{id}",status_class="2xx"})', 12],
      // Gauges over workers: ready only when every worker is (min), not a count of workers.
      ['sum(portcullis_jwks_ready{job="workers"})', 1],
      ['sum(portcullis_jwks_keys{job="workers"})', 1],
      ['sum(portcullis_http_requests_total{job="gateway",endpoint="/orders/{id}",status_class="2xx"})', 5],
      ['sum(portcullis_http_requests_total{job="gateway",endpoint="/orders/{id}",status_class="4xx"})', 3],
      ['sum(portcullis_authorization_decisions_total{job="gateway",decision="insufficient_roles"})', 3],
      ['sum(portcullis_authorization_decisions_total{job="gateway",decision="allow"})', 5],
      ['sum(portcullis_backend_request_duration_seconds_count{job="gateway"})', 5],
      ['sum(portcullis_authorization_decisions_total{job="forward-auth",decision="allow"})', 2],
      ['sum(portcullis_jwks_ready{job="gateway"})', 1],
      ['sum(portcullis_jwks_keys{job="forward-auth"})', 1],
    ];
    for (const [expression, expected] of expectations) {
      await poll(async () => (await query(expression)) === expected, `${expression} == ${expected} (last: ${await query(expression)})`);
    }
    // Process metrics are there too.
    assert.ok((await query('process_resident_memory_bytes{job="gateway"}'))! > 0);
  });

  test('promtool accepts the exposition', async () => {
    const text = await gatewayMetrics.exposition();
    const lint = spawnSync(promtoolBin!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    // promtool exits 1 on problems and 3 on lint warnings only; both are failures here.
    assert.equal(lint.status, 0, `${lint.stdout}${lint.stderr}`);
  });
});

/** Polls `check` until it is true, for up to 20 s. */
async function poll(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
