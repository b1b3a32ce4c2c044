/**
 * The token debugger over HTTP (the page in a browser is debugger-browser.test.ts):
 * the page's headers (a CSP that allows exactly its inline script and style by
 * hash, no-referrer, no-store, never framed) and that it references nothing
 * outside itself; who may call it (loopback clients under a loopback Host,
 * same-origin JSON only) and where it is served (not on a non-loopback host
 * unless asked for); the inspect call's signature status against the issuer's
 * keys (valid, retired, invalid, unknown kid, malformed); the mint call; and
 * `portcullis issuer --gateway-config`, whose endpoints it explains, with no
 * token in any log line. Tokens are minted with jose and by the issuer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, generateKeyPair, SignJWT } from 'jose';
import { loadIssuerSettings } from '../../src/issuer/config.js';
import { createIssuer, type Issuer } from '../../src/issuer/issuer.js';
import { createKeyStore } from '../../src/issuer/key-store.js';
import { startIssuerServer, type IssuerServer } from '../../src/issuer/server.js';
import { runPortcullis } from '../support/cli.js';

const PID = 'P2portcullisdemo0000000000000';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http, so the Host, Origin and Sec-Fetch-Site headers are exactly what a test says. */
function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: string; localAddress?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, localAddress: options.localAddress }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const json = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  send(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

const errorCode = (answer: Answer) => (JSON.parse(answer.body) as { errorCode: string }).errorCode;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('token debugger: the page and who may use it', () => {
  let issuer: Issuer;
  let server: IssuerServer;
  before(async () => {
    issuer = createIssuer(loadIssuerSettings(undefined), await createKeyStore({ alg: 'RS256', keepRotatedKeys: 2 }));
    server = await startIssuerServer(issuer, { port: 0 });
  });
  after(() => server.close());

  test('the page: a CSP with the hashes of its own script and style, no-referrer, no-store, not frameable; nothing loaded from elsewhere', async () => {
    assert.equal(server.debuggerUrl, `${server.url}/debugger`);
    const page = await send(server.debuggerUrl!);
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(page.headers['referrer-policy'], 'no-referrer');
    assert.equal(page.headers['cache-control'], 'no-store');
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    const script = /<script>([\s\S]*)<\/script>/.exec(page.body)![1]!;
    const style = /<style>([\s\S]*)<\/style>/.exec(page.body)![1]!;
    const sha = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    assert.equal(
      page.headers['content-security-policy'],
      `default-src 'none'; script-src ${sha(script)}; style-src ${sha(style)}; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    );
    assert.equal(page.body.match(/<script/g)!.length, 1, 'one inline script, no script src');
    assert.doesNotMatch(page.body, /\bsrc=|@import|<form/);
    assert.doesNotMatch(style, /url\(/);
    assert.deepEqual(page.body.match(/href="[^"]*"/g), ['href="data:,"']);
    // The only absolute URL is the curl line's fallback gateway, never fetched.
    assert.deepEqual([...new Set(page.body.match(/https?:\/\/[^\s'"<)]+/g))], ['http://127.0.0.1:8080']);
    const head = await send(server.debuggerUrl!, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  test('a foreign Host name (DNS rebinding) is refused on the page and the API', async () => {
    for (const host of ['evil.example', `evil.example:${server.port}`, `127.0.0.1.nip.io:${server.port}`]) {
      const page = await send(server.debuggerUrl!, { headers: { host } });
      assert.equal(page.status, 403, host);
      assert.equal(errorCode(page), 'debugger_loopback_only');
      const api = await json(`${server.url}/debugger/api/context`, {}, { host });
      assert.equal(api.status, 403, host);
    }
    for (const host of [`localhost:${server.port}`, `127.0.0.1:${server.port}`, 'localhost']) {
      assert.equal((await send(server.debuggerUrl!, { headers: { host } })).status, 200, host);
    }
  });

  test('the API answers same-origin JSON only: another Origin, a cross-site fetch, a form post or a GET is refused', async () => {
    const context = `${server.url}/debugger/api/context`;
    const self = `http://127.0.0.1:${server.port}`;
    assert.equal((await json(context, {}, { origin: self, 'sec-fetch-site': 'same-origin' })).status, 200);
    assert.equal((await json(context, {})).status, 200, 'local tools send neither header');
    const refused: Record<string, string>[] = [{ origin: 'http://evil.example' }, { origin: `http://localhost:${server.port}` }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: self, 'sec-fetch-site': 'cross-site' }];
    for (const headers of refused) {
      const answer = await json(context, {}, headers);
      assert.equal(answer.status, 403, JSON.stringify(headers));
      assert.equal(errorCode(answer), 'cross_origin');
    }
    const form = await send(context, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=x' });
    assert.equal(form.status, 415);
    const get = await send(context);
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
    assert.equal((await send(server.debuggerUrl!, { method: 'POST' })).status, 405);
    const unknown = await json(`${server.url}/debugger/api/rotate`, {});
    assert.equal(unknown.status, 404);
    assert.equal((await json(`${server.url}/debugger/api/__proto__`, {})).status, 404);
  });

  test('context: the users to pick, the published keys, no gateway; mint: the issuer mint path, answers never cached', async () => {
    const context = await json(`${server.url}/debugger/api/context`, {});
    assert.equal(context.headers['cache-control'], 'no-store');
    const body = JSON.parse(context.body) as { users: { name: string; id: string; roles: string[] }[]; keys: { current: boolean }[]; gateway: unknown; issuer: string };
    assert.deepEqual(body.users.map((u) => [u.name, u.id, u.roles]), [['alice', 'U2alice000000000000000000000', ['admin']], ['bob', 'U2bob00000000000000000000000', ['viewer']]]);
    assert.equal(body.gateway, null);
    assert.equal(body.issuer, `${server.url}/v1/apps/${PID}`);
    assert.deepEqual(body.keys.map((k) => k.current), [true]);

    const minted = await json(`${server.url}/debugger/api/mint`, { user: 'bob', roles: ['editor'], tenants: { T2acme: ['viewer'] }, ttl: '2m' });
    assert.equal(minted.status, 200);
    assert.equal(minted.headers['cache-control'], 'no-store');
    const claims = decodeJwt((JSON.parse(minted.body) as { sessionJwt: string }).sessionJwt);
    assert.deepEqual([claims.sub, claims.roles, claims.exp! - claims.iat!], ['U2bob00000000000000000000000', ['editor'], 120]);
    const unknown = await json(`${server.url}/debugger/api/mint`, { user: 'carol' });
    assert.deepEqual([unknown.status, errorCode(unknown)], [400, 'unknown_user']);
    const warned = JSON.parse((await json(`${server.url}/debugger/api/mint`, { sub: 'U2typo' })).body) as { warnings: string[] };
    assert.match(warned.warnings[0]!, /^"U2typo" is no user of the issuer config/);
  });

  test('inspect: the signature against the issuer\'s keys, current and retired; another key, an unknown kid, a wrong alg, garbage', async () => {
    const inspect = async (token: string) => {
      const answer = await json(`${server.url}/debugger/api/inspect`, { token });
      assert.equal(answer.status, 200, answer.body);
      assert.equal(answer.headers['cache-control'], 'no-store');
      return JSON.parse(answer.body) as { signature: { status: string; detail: string; kid?: string; current?: boolean }; endpoints: unknown; gateway: unknown };
    };
    const first = issuer.mintSession({ user: 'alice' }, server.baseUrl).sessionJwt;
    const valid = await inspect(first);
    assert.deepEqual(valid.signature, { status: 'valid', detail: `signed by this issuer's current key ${issuer.keyStore.current().kid}`, kid: issuer.keyStore.current().kid, alg: 'RS256', current: true });
    assert.equal(valid.endpoints, null, 'no gateway config, no explain');
    assert.equal(valid.gateway, null);

    const oldKid = issuer.keyStore.current().kid;
    await issuer.rotate();
    const retired = await inspect(first);
    assert.deepEqual([retired.signature.status, retired.signature.current, retired.signature.detail], ['valid', false, `signed by this issuer's retired (still published) key ${oldKid}`]);

    const stranger = await generateKeyPair('RS256');
    const forged = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'RS256', kid: oldKid }).sign(stranger.privateKey);
    assert.equal((await inspect(forged)).signature.status, 'invalid');
    const [h, p, s] = first.split('.');
    const altered = `${h}.${Buffer.from(JSON.stringify({ ...decodeJwt(first), roles: ['root'] })).toString('base64url')}.${s}`;
    assert.equal((await inspect(altered)).signature.status, 'invalid');
    const es = await generateKeyPair('ES256');
    const wrongAlg = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: oldKid }).sign(es.privateKey);
    assert.deepEqual([(await inspect(wrongAlg)).signature.status, (await inspect(wrongAlg)).signature.detail], ['invalid', `the key ${oldKid} signs RS256, the token says ES256`]);
    const unknownKid = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'elsewhere' }).sign(stranger.privateKey);
    assert.equal((await inspect(unknownKid)).signature.status, 'unknown_key');
    const noKid = await new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).sign(stranger.privateKey);
    assert.deepEqual((await inspect(noKid)).signature, { status: 'unknown_key', detail: 'the token has no kid', alg: 'RS256' });
    for (const garbage of ['not-a-token', `${h}.${p}`, `${h}.${p}.${s}.x.y`, 'a.b.c']) {
      assert.equal((await inspect(garbage)).signature.status, 'malformed', garbage);
    }
    for (const body of [{}, { token: 42 }, { token: '   ' }, { token: 'x'.repeat(16 * 1024 + 1) }, []]) {
      const answer = await json(`${server.url}/debugger/api/inspect`, body);
      assert.deepEqual([answer.status, errorCode(answer)], [400, 'bad_request'], JSON.stringify(body).slice(0, 40));
    }
  });

  test('off with debugger: false; off on a non-loopback host unless allowOnNetwork, and then local requests only', async (t) => {
    const off = await startIssuerServer(issuer, { port: 0, debugger: false });
    try {
      assert.equal(off.debuggerUrl, undefined);
      assert.equal((await send(`${off.url}/debugger`)).status, 404);
      assert.equal((await json(`${off.url}/debugger/api/context`, {})).status, 404);
    } finally {
      await off.close();
    }
    const network = await startIssuerServer(issuer, { host: '0.0.0.0', port: 0, allowDemoKeyOnNetwork: true });
    try {
      assert.equal(network.debuggerUrl, undefined);
      assert.equal((await send(`${network.url}/debugger`)).status, 404);
    } finally {
      await network.close();
    }
    const allowed = await startIssuerServer(issuer, { host: '0.0.0.0', port: 0, allowDemoKeyOnNetwork: true, debugger: { allowOnNetwork: true } });
    try {
      assert.equal(allowed.debuggerUrl, `http://127.0.0.1:${allowed.port}/debugger`);
      assert.equal((await send(allowed.debuggerUrl!)).status, 200);
      const outside = Object.values(networkInterfaces()).flat().find((i) => i !== undefined && !i.internal && i.family === 'IPv4');
      if (outside === undefined) {
        t.diagnostic('no non-loopback IPv4 interface to send from: the remote-client case is not checked');
      } else {
        // From this machine's own network address: not a loopback client, whatever the Host says.
        const remote = await send(`http://${outside.address}:${allowed.port}/debugger`, { localAddress: outside.address, headers: { host: `127.0.0.1:${allowed.port}` } });
        assert.deepEqual([remote.status, errorCode(remote)], [403, 'debugger_loopback_only']);
      }
    } finally {
      await allowed.close();
    }
  });
});

describe('portcullis issuer --gateway-config: the debugger explains each endpoint', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-debugger-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('prints the debugger URL, explains the token on every endpoint, and logs no token even at debug level', async () => {
    const port = await freePort();
    const config = join(dir, 'gateway.json');
    writeFileSync(
      config,
      JSON.stringify({
        version: 3,
        port: 8099,
        endpoints: [
          {
            endpoint: '/reports',
            extra_config: { 'auth/validator': { alg: 'RS256', jwk_url: `http://127.0.0.1:${port}/v2/keys/${PID}`, roles: ['admin'], audience: [PID] } },
            backend: [{ host: ['http://127.0.0.1:9'], url_pattern: '/r' }],
          },
          {
            endpoint: '/tenants/{tenant}/items',
            extra_config: { 'auth/validator': { alg: 'RS256', jwk_url: `http://127.0.0.1:${port}/v2/keys/${PID}`, tenant: { from: 'param', roles: ['editor'] } } },
            backend: [{ host: ['http://127.0.0.1:9'], url_pattern: '/t' }],
          },
          { endpoint: '/open', backend: [{ host: ['http://127.0.0.1:9'], url_pattern: '/o' }] },
        ],
      }),
    );
    const tokens: string[] = [];
    const run = await runPortcullis(['issuer', '--port', String(port), '--data-dir', join(dir, 'data'), '--gateway-config', config, '--log-level', 'debug'], {
      whileServing: async (url) => {
        const context = JSON.parse((await json(`${url}/debugger/api/context`, {})).body) as { gateway: { config: string; url: string; endpoints: unknown } };
        assert.deepEqual(context.gateway, {
          config,
          url: 'http://127.0.0.1:8099',
          endpoints: [{ method: 'GET', endpoint: '/reports' }, { method: 'GET', endpoint: '/tenants/{tenant}/items' }, { method: 'GET', endpoint: '/open' }],
        });
        const minted = JSON.parse((await json(`${url}/debugger/api/mint`, { user: 'bob' })).body) as { sessionJwt: string };
        tokens.push(minted.sessionJwt);
        const inspected = JSON.parse((await json(`${url}/debugger/api/inspect`, { token: minted.sessionJwt })).body) as {
          signature: { status: string };
          endpoints: { endpoint: string; path: string; public: boolean; decision: { allowed: boolean; status?: number; code?: string }; lines: { check: string; outcome: string; found?: string; expected?: string }[] }[];
        };
        assert.equal(inspected.signature.status, 'valid');
        const [reports, tenants, open] = inspected.endpoints;
        assert.deepEqual(reports!.decision, { allowed: false, status: 403, code: 'insufficient_roles' });
        assert.deepEqual(
          reports!.lines.find((l) => l.check.startsWith('roles')),
          { check: 'roles: any of ["admin"] in "roles"', outcome: 'fail', detail: 'insufficient_roles', expected: 'any of ["admin"]', found: '["viewer"]' },
        );
        assert.equal(reports!.lines.find((l) => l.check === 'signature')?.outcome, 'pass');
        assert.equal(tenants!.path, '/tenants/T2globex/items', "bob's dct fills the tenant parameter");
        assert.deepEqual(tenants!.decision, { allowed: false, status: 403, code: 'insufficient_roles', detail: 'tenant roles' });
        assert.deepEqual([open!.public, open!.decision, open!.lines], [true, { allowed: true }, []]);
      },
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^ {2}debugger {5}http://127\\.0\\.0\\.1:${port}/debugger \\(loopback only\\); explains ${config.replace(/[.]/g, '\\.')}$`, 'm'));
    assert.ok(run.logs.includes('"path":"/debugger/api/inspect"'), 'requests are logged at debug level');
    for (const token of tokens) for (const part of token.split('.')) assert.ok(!run.logs.includes(part) && !run.stdout.includes(part) && !run.stderr.includes(part), 'no part of a token in any output');
  });

  test('a broken --gateway-config stops the issuer before it listens, naming the JSON path; --no-debugger turns the page off', async () => {
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, JSON.stringify({ version: 3, endpoints: [{ endpoint: '/x', extra_config: { 'auth/validator': { alg: 'RS256' } }, backend: [{ host: ['http://127.0.0.1:9'], url_pattern: '/x' }] }] }));
    let served = false;
    const failed = await runPortcullis(['issuer', '--port', '0', '--data-dir', join(dir, 'data2'), '--gateway-config', broken, '--log-level', 'silent'], {
      whileServing: async () => void (served = true),
    });
    assert.equal(failed.code, 1);
    assert.equal(served, false);
    assert.match(failed.stderr, new RegExp(`^error: --gateway-config ${broken.replace(/[.]/g, '\\.')} is not a usable gateway config:\\nERROR parsing the configuration file: \\$\\.endpoints\\[0\\]\\.extra_config\\["auth/validator"\\]\\.jwk_url: one key source is required`));

    const off = await runPortcullis(['issuer', '--port', '0', '--data-dir', join(dir, 'data3'), '--no-debugger', '--log-level', 'silent'], {
      whileServing: async (url) => assert.equal((await send(`${url}/debugger`)).status, 404),
    });
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stdout, /^ {2}debugger {5}off \(--no-debugger\)$/m);
    const network = await runPortcullis(['issuer', '--port', '0', '--host', '0.0.0.0', '--allow-demo-key-on-network', '--data-dir', join(dir, 'data4'), '--log-level', 'silent'], {
      whileServing: async (url) => assert.equal((await send(`${url}/debugger`)).status, 404),
    });
    assert.match(network.stdout, /^ {2}debugger {5}off: 0\.0\.0\.0 is not loopback \(--allow-debugger-on-network serves it to local clients anyway\)$/m);
  });
});
