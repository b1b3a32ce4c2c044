/**
 * The published package, as a user gets it: `npm pack` of this checkout
 * (dist as `npm test` built it), installed with npm into a fresh temporary
 * project next to express, fastify, typescript and the @types packages. There
 * it must type-check a program that uses the typed generics (and refuse one
 * that misspells a claim or forgets optional mode's undefined), run Express,
 * Fastify and node:http servers against a JWKS server on 127.0.0.1, and give
 * a Lambda bundle made with the user's own bundler (esbuild, from this repo's
 * node_modules, reading only the temporary project) that works without any
 * node_modules beside it.
 *
 * One pack and one install for the whole file. The install is tried from the
 * npm cache alone first (`npm ci` filled it with these exact versions), then
 * with the registry; with neither reachable the file skips with one line.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test, type TestContext } from 'node:test';
import { request } from 'undici';
import type * as EsbuildApi from 'esbuild';
import { assertDistBuilt, spawnNode } from '../support/cli.js';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { nowSeconds } from '../support/clock.js';
import { ROOT } from '../support/repo-root.js';

const fromRoot = createRequire(join(ROOT, 'package.json'));
/** What a user installs beside portcullis, at the versions this checkout's lockfile installed (so the npm cache has them). */
const COMPANIONS = ['express', 'fastify', 'typescript', '@types/node', '@types/express'];
/** npm's words for "the registry cannot be reached" (ENOTCACHED: not in the cache, with --offline). */
const OFFLINE = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ENOTCACHED/;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command without blocking this process (the JWKS server here keeps answering). */
function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The environment of npm and tsc: without the coverage run's variable, so c8 does not collect their (irrelevant) coverage. */
const { NODE_V8_COVERAGE: _coverage, ...plainEnv } = process.env;
const npmEnv = { ...plainEnv, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', npm_config_loglevel: 'error' };

function versionOf(name: string): string {
  return (JSON.parse(readFileSync(fromRoot.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
}

// ------------------------------------------------------------------ the user's files

const TYPES_OK = `
import express from 'express';
import Fastify from 'fastify';
import { PortcullisAuthError, withAuthorization, type RequestAuth, type ValidatorConfig } from 'portcullis';
import { portcullisExpress, PortcullisAuthError as ExpressAuthError } from 'portcullis/express';
import { createFastifyHook, portcullisFastify } from 'portcullis/fastify';
import { createLambdaAuthorizer, type LambdaAuthorizerConfig } from 'portcullis/lambda';

interface MyClaims { sub: string; email: string; roles: string[] }
const validator: ValidatorConfig = { alg: 'RS256', jwk_url: 'http://127.0.0.1:9/jwks' };

const auth = portcullisExpress<MyClaims>(validator, { denial: 'error' });
const maybe = portcullisExpress<MyClaims>(validator, { optional: true });
const app = express();
app.get('/me', auth, auth.handler((req, res) => {
  const email: string = req.auth.claims.email;
  res.json({ email, roles: req.auth.claims.roles.join(',') });
}));
app.get('/t/:tenant', auth, auth.handler((req, res) => void res.json({ tenant: req.params.tenant, sub: req.auth.claims.sub })));
app.get('/feed', maybe, maybe.handler((req, res) => {
  const email: string | undefined = req.auth?.claims.email;
  res.json({ email });
}));
app.use((err: unknown, _req: express.Request, res: express.Response, next: express.NextFunction) => {
  if (err instanceof PortcullisAuthError && err instanceof ExpressAuthError) return void res.status(err.status).set(err.headers).json({ code: err.code });
  next(err);
});
const mine: RequestAuth<MyClaims> = auth.authOf({} as express.Request);
const maybeMine: RequestAuth<MyClaims> | undefined = maybe.authOf({} as express.Request);

const hook = createFastifyHook<MyClaims>(validator, { onDeny: async (error, request, reply) => void request.log.warn({ code: error.code }) });
const fastify = Fastify();
fastify.get('/me', { onRequest: hook }, hook.handler(async (request) => ({ email: request.auth.claims.email })));
void fastify.register(portcullisFastify, { validator, denial: 'error', optional: true, authorizer: { logger: fastify.log } });

withAuthorization<MyClaims>(validator, (req, res) => void res.end(req.auth.claims.email));
withAuthorization<MyClaims>(validator, (req, res) => void res.end(req.auth?.claims.email ?? ''), { optional: true });

// As docs/library.md writes them.
app.get('/orders', auth, (req, res) => res.json({ user: req.auth?.claims.sub }));
app.get('/t/:tenant', auth, (req, res) => res.json({ roles: auth.authOf(req).claims.roles, tenant: req.params.tenant }));
const feedHook = createFastifyHook<MyClaims>(validator, { optional: true });
fastify.get('/feed', { onRequest: feedHook }, feedHook.handler(async (request) => ({ who: request.auth?.claims.sub ?? null })));
fastify.addHook('onRequest', feedHook);

const lambdaConfig: LambdaAuthorizerConfig = { validator, response: 'simple' };
export const handler = createLambdaAuthorizer(lambdaConfig);
export { mine, maybeMine };
`;

/** Every line marked "expect-error" must fail to compile, and no other. */
const TYPES_BAD = `
import express from 'express';
import { withAuthorization, type ValidatorConfig } from 'portcullis';
import { portcullisExpress } from 'portcullis/express';
import { createFastifyHook } from 'portcullis/fastify';

interface MyClaims { sub: string; email: string; roles: string[] }
const validator: ValidatorConfig = { alg: 'RS256', jwk_url: 'http://127.0.0.1:9/jwks' };
const auth = portcullisExpress<MyClaims>(validator);
const maybe = portcullisExpress<MyClaims>(validator, { optional: true });
const hook = createFastifyHook<MyClaims>(validator);
const app = express();
app.get('/a', auth, auth.handler((req, res) => void res.json(req.auth.claims.emial))); // expect-error: misspelt claim
app.get('/b', maybe, maybe.handler((req, res) => void res.json(req.auth.claims.email))); // expect-error: optional auth may be undefined
const roles: number = auth.authOf({} as express.Request).claims.roles; // expect-error: wrong claim type
hook.handler(async (request) => request.auth.claims.rolez); // expect-error: misspelt claim (Fastify)
withAuthorization<MyClaims>(validator, (req, res) => void res.end(req.auth.claims.mail)); // expect-error: misspelt claim (node:http)
portcullisExpress(validator, { denial: 'throw' }); // expect-error: not a denial mode
export { roles };
`;

// skipLibCheck: the assertions read the diagnostics of the two files above only, and those are the same either way;
// checking the declaration files themselves (node's, express's, fastify's, ours) was three fifths of the test's CPU.
const TSCONFIG = JSON.stringify({
  compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
  files: ['types-ok.ts', 'types-bad.ts'],
});

const SERVERS = `
import { createServer } from 'node:http';
import express from 'express';
import Fastify from 'fastify';
import { PortcullisAuthError, withAuthorization } from 'portcullis';
import { portcullisExpress, PortcullisAuthError as ExpressAuthError } from 'portcullis/express';
import { createFastifyHook, portcullisFastify, PortcullisAuthError as FastifyAuthError } from 'portcullis/fastify';

const validator = JSON.parse(process.env.VALIDATOR);
const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve('http://127.0.0.1:' + server.address().port)));

const app = express();
const required = portcullisExpress(validator, { denial: 'error' });
const optional = portcullisExpress(validator, { optional: true });
app.get('/me', required, required.handler((req, res) => void res.json({ sub: req.auth.claims.sub, xUser: req.headers['x-user'] })));
app.get('/feed', optional, (req, res) => void res.json({ sub: req.auth?.claims.sub ?? null, xUser: req.headers['x-user'] ?? null }));
app.use((err, _req, res, next) => {
  if (err instanceof PortcullisAuthError) return void res.status(err.status).set(err.headers).json({ from: 'app error handler', code: err.code });
  next(err);
});

const fastify = Fastify();
await fastify.register(async (scope) => {
  await scope.register(portcullisFastify, { validator, denial: 'error' });
  scope.get('/me', async (request) => ({ sub: request.auth.claims.sub }));
});
const hook = createFastifyHook(validator, { optional: true });
fastify.get('/feed', { onRequest: hook }, async (request) => ({ sub: request.auth?.claims.sub ?? null }));

const node = withAuthorization(validator, (req, res) => void res.end(JSON.stringify({ sub: req.auth.claims.sub })), {
  onDeny: (error, _req, res) => void res.writeHead(error.status, { ...error.headers, 'content-type': 'text/plain' }).end('custom ' + error.code),
});

const urls = {
  express: await listen(createServer(app)),
  fastify: await fastify.listen({ port: 0, host: '127.0.0.1' }),
  node: await listen(createServer(node)),
  oneErrorClass: ExpressAuthError === PortcullisAuthError && FastifyAuthError === PortcullisAuthError,
};
console.log('READY ' + JSON.stringify(urls));
`;

/** The two ways to write a Lambda entry: the ready handler, and the factory with the app's own config. */
const LAMBDA_READY = `export { handler } from 'portcullis/lambda/handler';\n`;
const LAMBDA_OWN = `import { createLambdaAuthorizer } from 'portcullis/lambda';
export const handler = createLambdaAuthorizer({ validator: JSON.parse(process.env.MY_VALIDATOR), response: 'iam' });
`;

// ------------------------------------------------------------------ the test

let jwks: JwksServer;
let key: TestSigningKey;
let work: string;
let project: string;
let skipped: string | undefined;
let packedFiles: string[] = [];

function validator() {
  return { alg: 'RS256', jwk_url: jwks.url(), issuer: 'https://issuer.test', audience: ['shop'], propagate_claims: [['sub', 'X-User']] };
}

async function token(claims: Record<string, unknown> = {}): Promise<string> {
  return mintToken(key, { iss: 'https://issuer.test', aud: 'shop', sub: 'U2alice', exp: nowSeconds() + 600, ...claims });
}

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await request(url, { headers });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

async function install(): Promise<string | undefined> {
  const specs = ['./portcullis.tgz', ...COMPANIONS.map((name) => `${name}@${versionOf(name)}`)];
  const args = ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock'];
  const cached = await run('npm', [...args, '--offline', ...specs], project, npmEnv);
  if (cached.code === 0) return undefined;
  const online = await run('npm', [...args, '--prefer-offline', ...specs], project, npmEnv);
  if (online.code === 0) return undefined;
  if (OFFLINE.test(online.stderr)) return 'the npm registry is not reachable and the npm cache lacks a companion package';
  assert.fail(`npm install failed:\n${online.stderr.slice(-3000)}`);
}

function skipIfOffline(t: TestContext): boolean {
  if (skipped === undefined) return false;
  t.skip(skipped);
  return true;
}

before(async () => {
  assertDistBuilt();
  key = await generateSigningKey('packed-key');
  jwks = await startJwksServer();
  jwks.setKeys(jwksOf(key));
  work = mkdtempSync(join(tmpdir(), 'portcullis-packed-'));
  project = join(work, 'app');
  mkdirSync(project);

  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT, npmEnv);
  assert.equal(packed.code, 0, packed.stderr);
  const [manifest] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
  packedFiles = manifest.files.map((file) => file.path);
  copyFileSync(join(work, manifest.filename), join(project, 'portcullis.tgz'));

  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'portcullis-user', version: '1.0.0', private: true, type: 'module' }));
  skipped = await install();
  if (skipped !== undefined) console.log(`# test/package skipped: ${skipped}`);
});

after(async () => {
  await jwks?.close();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('the packed package', () => {
  test('holds the built entries and no sources or tests', () => {
    for (const path of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/adapters/middleware/express.js', 'dist/src/adapters/middleware/fastify.js', 'dist/src/adapters/lambda/index.js', 'dist/src/adapters/lambda/handler.js']) {
      assert.ok(packedFiles.includes(path), `${path} is packed`);
    }
    assert.deepEqual(packedFiles.filter((path) => /\.test\.|^src\/|^test\//.test(path) || (path.endsWith('.ts') && !path.endsWith('.d.ts'))), []);
  });

  test('type-checks with tsc --noEmit: the generics type req.auth, and a wrong claim access fails', async (t) => {
    if (skipIfOffline(t)) return;
    writeFileSync(join(project, 'types-ok.ts'), TYPES_OK);
    writeFileSync(join(project, 'types-bad.ts'), TYPES_BAD);
    writeFileSync(join(project, 'tsconfig.json'), TSCONFIG);
    const tsc = await run(process.execPath, [join(project, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], project, plainEnv);
    const errors = [...tsc.stdout.matchAll(/^(types-[a-z]+\.ts)\((\d+),\d+\): error (TS\d+)/gm)].map((m) => `${m[1]}:${m[2]}`);
    const expected = TYPES_BAD.split('\n').flatMap((line, i) => (line.includes('// expect-error') ? [`types-bad.ts:${i + 1}`] : []));
    assert.equal(expected.length, 6);
    assert.notEqual(tsc.code, 0);
    assert.deepEqual([...new Set(errors)].sort(), expected.sort(), tsc.stdout);
    assert.match(tsc.stdout, /Property 'emial' does not exist/);
    assert.match(tsc.stdout, /'req\.auth' is possibly 'undefined'/);
  });

  test('Express, Fastify and node:http servers from the installed package answer as documented', async (t) => {
    if (skipIfOffline(t)) return;
    writeFileSync(join(project, 'servers.mjs'), SERVERS);
    const child = spawnNode(['servers.mjs'], { cwd: project, env: { PATH: process.env.PATH, VALIDATOR: JSON.stringify(validator()) } });
    try {
      const ready = await child.waitUntil('the servers listen', (out) => /^READY (.*)$/m.exec(out)?.[1]);
      const urls = JSON.parse(ready) as { express: string; fastify: string; node: string; oneErrorClass: boolean };
      assert.equal(urls.oneErrorClass, true, 'one PortcullisAuthError class behind every entry');
      const jwt = await token();
      const bearer = { authorization: `Bearer ${jwt}` };

      // Express: allow with the propagated header replacing the client's; denial through the app's error handler; optional mode.
      const me = await get(`${urls.express}/me`, { ...bearer, 'x-user': 'root' });
      assert.equal(me.status, 200);
      assert.deepEqual(me.json(), { sub: 'U2alice', xUser: 'U2alice' });
      const noToken = await get(`${urls.express}/me`);
      assert.equal(noToken.status, 401);
      assert.equal(noToken.headers['www-authenticate'], 'Bearer');
      assert.deepEqual(noToken.json(), { from: 'app error handler', code: 'token_missing' });
      assert.deepEqual((await get(`${urls.express}/feed`, { 'x-user': 'root' })).json(), { sub: null, xUser: null });
      assert.deepEqual((await get(`${urls.express}/feed`, bearer)).json(), { sub: 'U2alice', xUser: 'U2alice' });
      const badOptional = await get(`${urls.express}/feed`, { authorization: 'Bearer a.b.c' });
      assert.equal(badOptional.status, 401);
      assert.equal(badOptional.json().code, 'token_malformed');

      // Fastify: denial through Fastify's default error handler; optional per-route hook.
      assert.deepEqual((await get(`${urls.fastify}/me`, bearer)).json(), { sub: 'U2alice' });
      const expired = await get(`${urls.fastify}/me`, { authorization: `Bearer ${await token({ exp: nowSeconds() - 3600 })}` });
      assert.equal(expired.status, 401);
      assert.match(String(expired.headers['www-authenticate']), /^Bearer error="invalid_token"/);
      assert.deepEqual(expired.json(), { statusCode: 401, code: 'token_expired', error: 'Unauthorized', message: 'The token has expired.' });
      assert.deepEqual((await get(`${urls.fastify}/feed`)).json(), { sub: null });
      assert.equal((await get(`${urls.fastify}/feed`, { authorization: 'Bearer a.b.c' })).status, 401);

      // node:http: onDeny's own answer.
      assert.deepEqual((await get(`${urls.node}/`, bearer)).json(), { sub: 'U2alice' });
      const custom = await get(`${urls.node}/`, { authorization: 'Bearer a.b.c' });
      assert.equal(custom.status, 401);
      assert.equal(custom.text, 'custom token_malformed');
      assert.match(String(custom.headers['www-authenticate']), /error="invalid_token"/);
    } finally {
      child.child.kill();
      await child.ended;
    }
  });

  test('a Lambda bundle made with the user\'s esbuild from the installed package runs with no node_modules beside it', async (t) => {
    if (skipIfOffline(t)) return;
    writeFileSync(join(project, 'lambda-ready.mjs'), LAMBDA_READY);
    writeFileSync(join(project, 'lambda-own.mjs'), LAMBDA_OWN);
    const esbuild = fromRoot('esbuild') as typeof EsbuildApi;
    const out = join(work, 'bundle');
    // The build documented in docs/library.md, as a user runs it.
    await esbuild.build({
      absWorkingDir: project,
      entryPoints: { ready: 'lambda-ready.mjs', own: 'lambda-own.mjs' },
      outdir: out,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      minify: true,
      logLevel: 'silent',
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    });
    const deploy = join(work, 'deploy');
    mkdirSync(deploy);
    for (const name of ['ready.mjs', 'own.mjs']) copyFileSync(join(out, name), join(deploy, name));

    const arn = 'arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/orders/42';
    const event = (authorizationToken: string) => ({ type: 'TOKEN', authorizationToken, methodArn: arn });
    const script = `
      const answers = {};
      for (const name of ['ready', 'own']) {
        const { handler } = await import(${JSON.stringify(pathToFileURL(deploy).href)} + '/' + name + '.mjs');
        const allow = await handler(${JSON.stringify(event(`Bearer ${await token()}`))});
        let denied;
        try { await handler(${JSON.stringify(event('Bearer a.b.c'))}); } catch (error) { denied = error.message; }
        answers[name] = { effect: allow.policyDocument.Statement[0].Effect, principalId: allow.principalId, denied };
      }
      console.log('ANSWERS ' + JSON.stringify(answers));`;
    const child = spawnNode(['--input-type=module', '-e', script], {
      cwd: deploy,
      env: {
        PATH: process.env.PATH,
        PORTCULLIS_LAMBDA_CONFIG: JSON.stringify({ validator: validator() }),
        PORTCULLIS_LOG_LEVEL: 'silent',
        MY_VALIDATOR: JSON.stringify(validator()),
      },
    });
    const { code } = await child.ended;
    assert.equal(code, 0, child.stderr().slice(-2000));
    const answers = JSON.parse(/^ANSWERS (.*)$/m.exec(child.stdout())![1]!) as Record<string, unknown>;
    const expected = { effect: 'Allow', principalId: 'U2alice', denied: 'Unauthorized' };
    assert.deepEqual(answers, { ready: expected, own: expected });
  });
});
