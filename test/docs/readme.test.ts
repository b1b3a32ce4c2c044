/**
 * The README's quick starts are what a user pastes first, so each one runs
 * here as written: the blocks between `<!-- quickstart: NAME -->` and
 * `<!-- /quickstart -->` are extracted, and only ports, the JWKS URL and the
 * backend address are swapped in (each swap must match exactly once, so a
 * snippet cannot drift from what runs). The gateway and forward-auth commands
 * run the built CLI as real processes; nginx and Caddy run for real; the
 * Lambda entry is bundled with the README's esbuild line and invoked with no
 * node_modules beside it; each middleware snippet is a server of its own,
 * importing `portcullis` through a temporary project whose node_modules link
 * to this checkout. Traefik and Envoy are not installed here: their snippets
 * must be contained in examples/traefik and examples/envoy, and their
 * commands must answer checks shaped as each proxy sends them.
 *
 * Also: the two standard commands come first and are the ones package.json
 * and .ci/run use, the commands table names every command, and every
 * relative link resolves, anchors included.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { parse as parseYaml } from 'yaml';
import { createProgram } from '../../src/cli/program.js';
import { processContext } from '../../src/cli/context.js';
import { startBackendServer, unusedPort, type BackendServer } from '../support/backend-server.js';
import { assertDistBuilt, DIST_MAIN, killAll, spawnNode, type Spawned } from '../support/cli.js';
import { nowSeconds } from '../support/clock.js';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { nginxSkip, startNginx, swapOnce } from '../nginx/nginx-process.js';
import { caddySkip, startCaddy } from '../caddy/caddy-process.js';
import { ROOT } from '../support/repo-root.js';
import { waitForPort } from '../support/wait-for-port.js';
import { FORWARD_AUTH_EXAMPLE, forwardAuthExample } from '../support/forward-auth-example.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const fromRoot = createRequire(join(ROOT, 'package.json'));

/** The placeholders the README's snippets use for a Descope project. */
const DESCOPE_JWKS = 'https://api.descope.com/P2abc/.well-known/jwks.json';
const DESCOPE_ISSUER = 'https://api.descope.com/v1/apps/P2abc';
const FORWARD_AUTH_CONFIG = FORWARD_AUTH_EXAMPLE;
const FRONT_DOORS = ['gateway', 'nginx', 'traefik', 'caddy', 'envoy', 'lambda', 'express', 'fastify', 'node-http'];

// ------------------------------------------------------------------ reading the README

interface Block {
  lang: string;
  text: string;
}

function fencedBlocks(markdown: string): Block[] {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, text: m[2]! }));
}

const QUICK_STARTS = new Map(
  [...README.matchAll(/<!-- quickstart: ([a-z-]+) -->\n([\s\S]*?)<!-- \/quickstart -->/g)].map((m) => [m[1]!, fencedBlocks(m[2]!)]),
);

/** The one block of `lang` in quick start `name`. */
function block(name: string, lang: string): string {
  const found = (QUICK_STARTS.get(name) ?? []).filter((b) => b.lang === lang);
  assert.equal(found.length, 1, `quick start "${name}" should hold one \`\`\`${lang} block`);
  return found[0]!.text;
}

/** `npx portcullis …` on one line (a trailing `# comment` allowed): the arguments after `portcullis`. */
function portcullisArgs(line: string): string[] {
  const words = line.replace(/\s+#.*$/, '').trim().split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ['npx', 'portcullis'], `not a portcullis command: ${line}`);
  return words.slice(2);
}

/** The README's block of `export NAME=value` lines for the middleware. */
function middlewareEnvBlock(): string {
  const match = /<!-- quickstart-env -->\n```sh\n([\s\S]*?)^```$/m.exec(README);
  assert.ok(match, 'README has the <!-- quickstart-env --> block');
  return match[1]!;
}

/** Every `a` is in `b`: objects key by key, arrays element by element and of the same length, the rest equal. */
function assertContained(snippet: unknown, example: unknown, path = '$'): void {
  if (Array.isArray(snippet)) {
    assert.ok(Array.isArray(example), `${path}: the example has no list here`);
    assert.equal(snippet.length, example.length, `${path}: list length`);
    snippet.forEach((item, i) => assertContained(item, example[i], `${path}[${i}]`));
  } else if (snippet !== null && typeof snippet === 'object') {
    assert.ok(example !== null && typeof example === 'object' && !Array.isArray(example), `${path}: the example has no object here`);
    for (const [key, value] of Object.entries(snippet)) {
      assert.ok(key in example, `${path}.${key}: not in the example`);
      assertContained(value, (example as Record<string, unknown>)[key], `${path}.${key}`);
    }
  } else {
    assert.equal(snippet, example, `${path}: differs from the example`);
  }
}

// ------------------------------------------------------------------ shared fixtures

let jwks: JwksServer;
let key: TestSigningKey;
let backend: BackendServer;
let work: string;
/** A user's project: node_modules/portcullis is this checkout, express and fastify this checkout's. */
let project: string;
const spawned: Spawned[] = [];

const { NODE_V8_COVERAGE: _coverage, ...plainEnv } = process.env;

function token(claims: Record<string, unknown> = {}): Promise<string> {
  return mintToken(key, { iss: DESCOPE_ISSUER, aud: ['P2abc'], sub: 'U2alice', roles: ['viewer'], exp: nowSeconds() + 600, ...claims });
}

async function send(url: string, headers: Record<string, string> = {}, method = 'GET') {
  const response = await request(url, { method: method as 'GET', headers });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

function start(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = { PATH: process.env.PATH }): Spawned {
  const child = spawnNode(args, { cwd, env });
  spawned.push(child);
  return child;
}

async function stop(child: Spawned): Promise<void> {
  if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGTERM');
  await child.ended;
}

/** Runs `sh -c script` in `cwd` without blocking this process (its servers keep answering). */
function sh(script: string, cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script], { cwd, env: { ...plainEnv, npm_config_update_notifier: 'false' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

/**
 * Runs the quick start's `npx portcullis forward-auth …` line in a directory
 * holding examples/nginx/portcullis.json as shipped, with only its port and
 * JWKS URL changed, and resolves once it listens.
 */
async function startForwardAuthFrom(name: string): Promise<{ port: number; process: Spawned }> {
  const args = portcullisArgs(block(name, 'sh').trim());
  assert.equal(args[0], 'forward-auth');
  const dir = join(work, name);
  mkdirSync(join(dir, dirname(FORWARD_AUTH_CONFIG)), { recursive: true });
  const config = forwardAuthExample(jwks.url());
  assert.equal(config.port, 9000, 'the README snippets send checks to port 9000');
  const port = await unusedPort();
  config.port = port;
  writeFileSync(join(dir, FORWARD_AUTH_CONFIG), JSON.stringify(config));
  const child = start([DIST_MAIN, ...args], dir);
  await child.waitForOutput(new RegExp(`Listening on port ${port} for`));
  return { port, process: child };
}

function readyWhenListening(port: number, child: Spawned): Promise<void> {
  return waitForPort(port, () =>
    child.child.exitCode === null && child.child.signalCode === null ? undefined : `the snippet exited (${child.child.exitCode}): ${child.stderr()}`,
  );
}

before(async () => {
  assertDistBuilt();
  key = await generateSigningKey('readme-key');
  jwks = await startJwksServer();
  jwks.setKeys(jwksOf(key));
  backend = await startBackendServer();
  work = mkdtempSync(join(tmpdir(), 'portcullis-readme-'));
  project = join(work, 'project');
  mkdirSync(join(project, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(ROOT, join(project, 'node_modules', 'portcullis'), 'dir');
  for (const name of ['express', 'fastify']) {
    symlinkSync(realpathSync(dirname(fromRoot.resolve(`${name}/package.json`))), join(project, 'node_modules', name), 'dir');
  }
  symlinkSync(join(realpathSync(dirname(fromRoot.resolve('esbuild/package.json'))), 'bin', 'esbuild'), join(project, 'node_modules', '.bin', 'esbuild'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'readme-user', version: '1.0.0', private: true, type: 'module' }));
});

after(async () => {
  killAll(spawned);
  await Promise.all(spawned.map((child) => child.ended));
  await backend?.close();
  await jwks?.close();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

// ------------------------------------------------------------------ the README as a document

describe('README', () => {
  test('the first two commands install and run the demo, then install and run the tests, as package.json and .ci/run do', () => {
    const [demo, tests] = fencedBlocks(README);
    assert.equal(demo!.text.trim(), 'npm install && npm start');
    assert.equal(tests!.text.trim(), 'npm ci && npm test');
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    assert.equal(scripts.start, 'node dist/src/cli/main.js demo');
    assert.equal(scripts.prepare, 'npm run build', 'npm install builds dist, which npm start runs');
    const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8').trim().split('\n');
    assert.equal(ci.at(-1), 'npm ci && npm test');
  });

  test('one quick start per front door, each 10 lines or fewer', () => {
    assert.deepEqual([...QUICK_STARTS.keys()], FRONT_DOORS);
    for (const [name, blocks] of QUICK_STARTS) {
      const lines = blocks.reduce((sum, b) => sum + b.text.trimEnd().split('\n').length, 0);
      assert.ok(lines > 0 && lines <= 10, `quick start "${name}" has ${lines} lines`);
    }
  });

  test('the commands table names every command', () => {
    const commands = createProgram(processContext).commands.map((command) => command.name());
    assert.ok(commands.includes('forward-auth') && commands.includes('revoke'));
    for (const name of commands) assert.match(README, new RegExp(`^\\| \`portcullis ${name}[ \`]`, 'm'), `no row for portcullis ${name}`);
  });

  test('every relative link points at a file that exists, and at a heading that exists', () => {
    const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const anchorsOf = (file: string) => new Set([...readFileSync(file, 'utf8').matchAll(/^#+ (.+)$/gm)].map((m) => slug(m[1]!)));
    const broken: string[] = [];
    for (const [, target] of README.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      const [path, anchor] = target!.split('#') as [string, string | undefined];
      const file = path === '' ? join(ROOT, 'README.md') : join(ROOT, path);
      if (!existsSync(file)) broken.push(target!);
      else if (anchor !== undefined && !anchorsOf(file).has(anchor)) broken.push(target!);
    }
    assert.deepEqual(broken, []);
  });
});

// ------------------------------------------------------------------ the quick starts, run

describe('README quick starts', () => {
  test('gateway: the config and the run command as written; 401 without a token, 403 without the role, 200 with X-User at the backend', async () => {
    const dir = join(work, 'gateway');
    mkdirSync(dir);
    const port = await unusedPort();
    let config = block('gateway', 'json');
    config = swapOnce(config, '"port": 8080', `"port": ${port}, "listen_ip": "127.0.0.1"`, 'the gateway quick start');
    config = swapOnce(config, DESCOPE_JWKS, jwks.url(), 'the gateway quick start');
    config = swapOnce(config, 'http://127.0.0.1:8000', backend.url, 'the gateway quick start');
    writeFileSync(join(dir, 'krakend.json'), config);
    const args = portcullisArgs(block('gateway', 'sh').trim());
    assert.deepEqual(args.slice(0, 3), ['run', '-c', 'krakend.json']);
    const gateway = start([DIST_MAIN, ...args], dir);
    try {
      await gateway.waitForOutput(new RegExp(`Listening on port ${port} `));
      const base = `http://127.0.0.1:${port}`;
      const before = backend.requests.length;
      const missing = await send(`${base}/orders/42`, { 'x-user': 'root' });
      assert.equal(missing.status, 401);
      assert.equal(missing.headers['www-authenticate'], 'Bearer');
      assert.equal(missing.json().code, 'token_missing');
      const noRole = await send(`${base}/orders/42`, { authorization: `Bearer ${await token({ roles: ['support'] })}` });
      assert.equal(noRole.status, 403);
      assert.equal(noRole.json().code, 'insufficient_roles');
      assert.equal(backend.requests.length, before);
      const allowed = await send(`${base}/orders/42`, { authorization: `Bearer ${await token()}`, 'x-user': 'root' });
      assert.equal(allowed.status, 200);
      const received = backend.requests.slice(before);
      assert.equal(received.length, 1);
      assert.equal(received[0]!.path, '/orders/42');
      assert.equal(received[0]!.headers['x-user'], 'U2alice');
    } finally {
      await stop(gateway);
    }
  });

  test('forward-auth behind a real nginx: the command and the locations as written', { skip: nginxSkip }, async () => {
    const forwardAuth = await startForwardAuthFrom('nginx');
    const port = await unusedPort();
    let locations = block('nginx', 'nginx');
    locations = swapOnce(locations, 'http://127.0.0.1:9000/auth', `http://127.0.0.1:${forwardAuth.port}/auth`, 'the nginx quick start');
    locations = swapOnce(locations, 'http://127.0.0.1:8000', backend.url, 'the nginx quick start');
    const nginx = await startNginx(() => `server {\n  listen 127.0.0.1:${port};\n${locations}\n}`, [port]);
    try {
      await assertProxyBehaviour(`http://127.0.0.1:${port}`);
    } finally {
      await nginx.stop();
      await stop(forwardAuth.process);
    }
  });

  test('forward-auth behind a real Caddy: the command and the Caddyfile as written', { skip: caddySkip }, async () => {
    const forwardAuth = await startForwardAuthFrom('caddy');
    const port = await unusedPort();
    let site = block('caddy', 'caddy');
    site = swapOnce(site, 'forward_auth 127.0.0.1:9000 {', `forward_auth 127.0.0.1:${forwardAuth.port} {`, 'the Caddy quick start');
    site = swapOnce(site, 'reverse_proxy 127.0.0.1:8000', `reverse_proxy 127.0.0.1:${backend.port}`, 'the Caddy quick start');
    site = swapOnce(site, ':8080 {', `:${port} {\n\tbind 127.0.0.1`, 'the Caddy quick start');
    const caddy = await startCaddy(site, [port]);
    try {
      await assertProxyBehaviour(`http://127.0.0.1:${port}`);
      // Caddy passes header names with underscores through: the snippet drops them.
      const before = backend.requests.length;
      assert.equal((await send(`http://127.0.0.1:${port}/orders/1`, { authorization: `Bearer ${await token()}`, x_user: 'root' })).status, 200);
      assert.equal(backend.requests[before]!.headers.x_user, undefined);
    } finally {
      await caddy.stop();
      await stop(forwardAuth.process);
    }
  });

  /** What a client of the proxy gets, and what the backend receives, for examples/nginx/portcullis.json. */
  async function assertProxyBehaviour(base: string): Promise<void> {
    const before = backend.requests.length;
    const allowed = await send(`${base}/orders/42?expand=1`, { authorization: `Bearer ${await token({ roles: ['viewer', 'support'] })}`, 'x-user': 'root', 'x-roles': 'admin' });
    assert.equal(allowed.status, 200);
    const received = backend.requests.slice(before);
    assert.equal(received.length, 1);
    assert.equal(received[0]!.url, '/orders/42?expand=1');
    assert.equal(received[0]!.headers['x-user'], 'U2alice');
    assert.equal(received[0]!.headers['x-roles'], 'viewer,support');
    const missing = await send(`${base}/orders/42`, { 'x-user': 'U2alice' });
    assert.equal(missing.status, 401);
    assert.equal(missing.headers['www-authenticate'], 'Bearer');
    assert.equal((await send(`${base}/orders/42`, { authorization: `Bearer ${await token()}` }, 'DELETE')).status, 403);
    assert.equal(backend.requests.length, before + 1);
  }

  test('forward-auth for Traefik (not installed here): the snippet is examples/traefik/dynamic.yml\'s middleware, and the command answers Traefik-shaped checks', async () => {
    const snippet = parseYaml(block('traefik', 'yaml')) as { http: { middlewares: { portcullis: { forwardAuth: { address: string } } } } };
    const example = parseYaml(readFileSync(join(ROOT, 'examples/traefik/dynamic.yml'), 'utf8')) as typeof snippet;
    assertContained(snippet, example);
    assert.notEqual((example.http.middlewares.portcullis.forwardAuth as { trustForwardHeader?: boolean }).trustForwardHeader, true);
    const address = new URL(snippet.http.middlewares.portcullis.forwardAuth.address);
    assert.equal(address.host, '127.0.0.1:9000');

    const forwardAuth = await startForwardAuthFrom('traefik');
    try {
      const check = (method: string, uri: string, headers: Record<string, string> = {}) =>
        send(`http://127.0.0.1:${forwardAuth.port}${address.pathname}`, { 'x-forwarded-method': method, 'x-forwarded-uri': uri, 'x-forwarded-host': 'app.test', ...headers });
      const allowed = await check('GET', '/orders/42?expand=1', { authorization: `Bearer ${await token()}` });
      assert.equal(allowed.status, 200);
      assert.equal(allowed.headers['x-user'], 'U2alice');
      assert.equal(allowed.headers['x-roles'], 'viewer');
      const missing = await check('GET', '/orders/42');
      assert.equal(missing.status, 401);
      assert.equal(missing.headers['www-authenticate'], 'Bearer');
      assert.equal((await check('DELETE', '/orders/42', { authorization: `Bearer ${await token()}` })).status, 403);
    } finally {
      await stop(forwardAuth.process);
    }
  });

  test('forward-auth for Envoy (not installed here): the snippet is examples/envoy/envoy.yaml\'s ext_authz filter, and the command answers Envoy-shaped checks', async () => {
    type Filter = { name: string; typed_config: { http_service: { server_uri: { uri: string }; path_prefix: string } } };
    const [snippet, ...rest] = parseYaml(block('envoy', 'yaml')) as Filter[];
    assert.equal(rest.length, 0);
    const example = parseYaml(readFileSync(join(ROOT, 'examples/envoy/envoy.yaml'), 'utf8')) as {
      static_resources: { listeners: { filter_chains: { filters: { typed_config: { http_filters: Filter[] } }[] }[] }[] };
    };
    const filters = example.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.http_filters;
    const extAuthz = filters.find((filter) => filter.name === snippet!.name);
    assert.ok(extAuthz, `examples/envoy/envoy.yaml has no ${snippet!.name} filter`);
    assertContained(snippet, extAuthz);
    const service = snippet!.typed_config.http_service;
    assert.equal(new URL(service.server_uri.uri).host, '127.0.0.1:9000');
    const args = portcullisArgs(block('envoy', 'sh').trim());
    assert.equal(args[args.indexOf('--path-prefix') + 1], service.path_prefix);

    const forwardAuth = await startForwardAuthFrom('envoy');
    try {
      // Envoy sends the original method, and path_prefix followed by the original path and query.
      const check = (method: string, path: string, headers: Record<string, string> = {}) =>
        send(`http://127.0.0.1:${forwardAuth.port}${service.path_prefix}${path}`, headers, method);
      const allowed = await check('GET', '/orders/42?expand=1', { authorization: `Bearer ${await token()}` });
      assert.equal(allowed.status, 200);
      assert.equal(allowed.headers['x-user'], 'U2alice');
      const missing = await check('GET', '/orders/42');
      assert.equal(missing.status, 401);
      assert.equal(missing.headers['www-authenticate'], 'Bearer');
      assert.equal((await check('DELETE', '/orders/42', { authorization: `Bearer ${await token()}` })).status, 403);
    } finally {
      await stop(forwardAuth.process);
    }
  });

  test('Lambda: the entry bundled by the README\'s esbuild line runs alone: Allow for a good token, Unauthorized without', async () => {
    writeFileSync(join(project, 'index.mjs'), block('lambda', 'js'));
    const built = await sh(block('lambda', 'sh'), project);
    assert.equal(built.code, 0, built.output);
    const deploy = join(work, 'lambda-deploy');
    mkdirSync(deploy);
    copyFileSync(join(project, 'dist', 'index.mjs'), join(deploy, 'index.mjs'));

    const arn = 'arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/orders/42';
    const event = (authorizationToken: string) => ({ type: 'TOKEN', authorizationToken, methodArn: arn });
    const script = `
      const { handler } = await import(${JSON.stringify(pathToFileURL(join(deploy, 'index.mjs')).href)});
      const allow = await handler(${JSON.stringify(event(`Bearer ${await token()}`))});
      const denied = [];
      for (const event of [${JSON.stringify(event(''))}, ${JSON.stringify(event(`Bearer ${await token({ exp: nowSeconds() - 60 })}`))}]) {
        try { await handler(event); denied.push('allowed'); } catch (error) { denied.push(error.message); }
      }
      console.log('ANSWER ' + JSON.stringify({ effect: allow.policyDocument.Statement[0].Effect, resource: allow.policyDocument.Statement[0].Resource, principalId: allow.principalId, denied }));`;
    const child = start(['--input-type=module', '-e', script], deploy, { PATH: process.env.PATH, JWKS_URL: jwks.url(), ISSUER: DESCOPE_ISSUER, PORTCULLIS_LOG_LEVEL: 'silent' });
    const { code } = await child.ended;
    assert.equal(code, 0, child.stderr().slice(-2000));
    const answer = JSON.parse(/^ANSWER (.*)$/m.exec(child.stdout())![1]!) as Record<string, unknown>;
    assert.deepEqual(answer, { effect: 'Allow', resource: arn, principalId: 'U2alice', denied: ['Unauthorized', 'Unauthorized'] });
  });

  /** Writes the snippet as server-NAME.mjs with its port swapped, runs it with `env`, and resolves with its base URL. */
  async function startSnippet(name: string, env: Record<string, string>): Promise<{ base: string; process: Spawned }> {
    const port = await unusedPort();
    let source = block(name, 'js');
    source = source.includes('listen({ port: 3000 })')
      ? swapOnce(source, 'listen({ port: 3000 })', `listen({ port: ${port}, host: '127.0.0.1' })`, `the ${name} quick start`)
      : swapOnce(source, 'listen(3000)', `listen(${port}, '127.0.0.1')`, `the ${name} quick start`);
    const file = join(project, `server-${name}.mjs`);
    writeFileSync(file, source);
    const child = start([file], project, { PATH: process.env.PATH, ...env });
    await readyWhenListening(port, child);
    return { base: `http://127.0.0.1:${port}`, process: child };
  }

  /** The env block's `export` lines, and the path its curl line asks for. */
  function middlewareEnv(): { exports: Record<string, string>; path: string } {
    const text = middlewareEnvBlock();
    const exports = Object.fromEntries([...text.matchAll(/^export ([A-Z_]+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
    const curl = /^curl .*(http:\/\/127\.0\.0\.1:3000\S*)$/m.exec(text);
    assert.ok(curl, 'the env block ends with a curl line to the snippet on port 3000');
    return { exports, path: new URL(curl[1]!).pathname };
  }

  for (const name of ['express', 'fastify'] as const) {
    test(`${name}: the snippet as a server, with a JWKS server of the test: 200 with the claims, 401 without a token or with an expired one`, async () => {
      const { exports, path } = middlewareEnv();
      assert.deepEqual(Object.keys(exports).sort(), ['ISSUER', 'JWKS_URL']);
      const server = await startSnippet(name, { JWKS_URL: jwks.url(), ISSUER: DESCOPE_ISSUER });
      try {
        const allowed = await send(`${server.base}${path}`, { authorization: `Bearer ${await token()}` });
        assert.equal(allowed.status, 200, allowed.text);
        assert.deepEqual(allowed.json(), { sub: 'U2alice' });
        const missing = await send(`${server.base}${path}`);
        assert.equal(missing.status, 401);
        assert.equal(missing.headers['www-authenticate'], 'Bearer');
        assert.equal(missing.json().code, 'token_missing');
        const expired = await send(`${server.base}${path}`, { authorization: `Bearer ${await token({ exp: nowSeconds() - 60 })}` });
        assert.equal(expired.status, 401);
        assert.match(String(expired.headers['www-authenticate']), /^Bearer error="invalid_token"/);
        const otherIssuer = await send(`${server.base}${path}`, { authorization: `Bearer ${await token({ iss: 'https://evil.test' })}` });
        assert.equal(otherIssuer.status, 401);
      } finally {
        await stop(server.process);
      }
    });
  }

  test('node:http: the snippet as a server with the env block\'s local issuer and a token from `portcullis token`: 200, and 401 without', async () => {
    const { exports, path } = middlewareEnv();
    const issuer = start([DIST_MAIN, 'issuer', '--port', '0', '--data-dir', join(work, 'issuer'), '--log-level', 'warn'], work);
    try {
      const [, issuerUrl] = await issuer.waitForOutput(/^portcullis issuer listening on (http:\/\/127\.0\.0\.1:\d+) /m);
      // The env block names the issuer's default port.
      const env = Object.fromEntries(Object.entries(exports).map(([name, value]) => [name, swapOnce(value, 'http://127.0.0.1:4000', issuerUrl!, `export ${name}`)]));
      const minted = start([DIST_MAIN, 'token', '--issuer', issuerUrl!], work);
      const { code } = await minted.ended;
      assert.equal(code, 0, minted.stderr());
      const jwt = minted.stdout().trim();

      const server = await startSnippet('node-http', env);
      try {
        const allowed = await send(`${server.base}${path}`, { authorization: `Bearer ${jwt}` });
        assert.equal(allowed.status, 200, allowed.text);
        assert.match(allowed.text, /^hello U2\w+$/);
        const missing = await send(`${server.base}${path}`);
        assert.equal(missing.status, 401);
        assert.equal(missing.headers['www-authenticate'], 'Bearer');
        // A token of another issuer (the test's key) is refused.
        assert.equal((await send(`${server.base}${path}`, { authorization: `Bearer ${await token()}` })).status, 401);
      } finally {
        await stop(server.process);
      }
    } finally {
      await stop(issuer);
    }
  });
});
