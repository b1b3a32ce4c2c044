/**
 * `portcullis demo` (what `npm start` runs): it prints each token once as an
 * `export NAME=…` line, then short ready-to-paste curl commands that read
 * them, and each answers the status printed next to it. The command runs
 * in this process (the same program as main.ts) and is stopped without a
 * signal; Ctrl-C is tested on the built CLI as a real process.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { killAll, runPortcullis, spawnPortcullis, type CliRun } from '../support/cli.js';

const HAS_CURL = spawnSync('curl', ['--version']).status === 0;
// Port 0 everywhere: the demo prints the ports it got, and no test can collide with another.
const ANY_PORTS = ['--issuer-port', '0', '--backend-port', '0', '--gateway-port', '0'];

interface PrintedCommand { title: string; expected: number; command: string }

/** The `export NAME=value` lines, as a shell would set them. */
function parseExports(stdout: string): Map<string, string> {
  return new Map([...stdout.matchAll(/^export ([A-Z_]+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

function parsePrinted(stdout: string): PrintedCommand[] {
  const found: PrintedCommand[] = [];
  const pattern = /^# (.+) → (\d{3})\n(curl .+)$/gm;
  for (const match of stdout.matchAll(pattern)) found.push({ title: match[1]!, expected: Number(match[2]), command: match[3]! });
  return found;
}

/** Runs the printed line as a user would paste it, after the printed exports; `curl -i` output starts with the status line. */
function runWithCurl(command: string, exports: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    execFile('sh', ['-c', `${exports}\n${command}`], { timeout: 10_000 }, (error, stdout) => {
      if (error) return reject(error);
      const status = /^HTTP\/[\d.]+ (\d{3})/.exec(stdout);
      if (!status) return reject(new Error(`no status line in curl output for: ${command.slice(0, 80)}`));
      resolve({ status: Number(status[1]), body: stdout.slice(stdout.indexOf('\r\n\r\n') + 4) });
    });
  });
}

/** Fallback without curl: the same line, split as sh would split it (with the exported variables expanded), replayed with fetch. */
async function replayWithFetch(command: string, exports: string): Promise<{ status: number; body: string }> {
  const variables = parseExports(exports);
  const expand = (text: string) => text.replace(/\$([A-Z_]+)/g, (_, name: string) => variables.get(name) ?? assert.fail(`$${name} is not exported`));
  const words = [...command.matchAll(/'((?:[^']|'\\'')*)'|"([^"]*)"|(\S+)/g)].map((m) =>
    m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2] !== undefined ? expand(m[2]) : expand(m[3]!),
  );
  assert.equal(words.shift(), 'curl');
  let method = 'GET';
  let body: string | undefined;
  const headers: [string, string][] = [];
  let url = '';
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word === '-i') continue;
    if (word === '-X') method = words[++i]!;
    else if (word === '-H') {
      const header = words[++i]!;
      headers.push([header.slice(0, header.indexOf(':')), header.slice(header.indexOf(':') + 1).trim()]);
    } else if (word === '-d') {
      body = words[++i]!;
      if (method === 'GET') method = 'POST';
    } else url = word;
  }
  const res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
  return { status: res.status, body: await res.text() };
}

const runPrinted = HAS_CURL ? runWithCurl : replayWithFetch;

describe('portcullis demo', () => {
  let stdout: string;
  let exports: string;
  let commands: PrintedCommand[];
  let stop: () => void;
  let demo: Promise<CliRun>;
  before(async () => {
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    let started!: (stdout: string) => void;
    const running = new Promise<string>((resolve) => (started = resolve));
    demo = runPortcullis(['demo', ...ANY_PORTS], {
      whileServing: async (_url, output) => {
        started(output.stdout());
        await stopped;
      },
    });
    stdout = await Promise.race([running, demo.then((run) => assert.fail(`the demo exited: ${run.code} ${run.stderr}`))]);
    commands = parsePrinted(stdout);
    exports = stdout.split('\n').filter((line) => line.startsWith('export ')).join('\n');
  });
  after(() => stop());

  test('prints the allowed and denied cases the issue asks for', () => {
    const statuses = commands.map((c) => c.expected);
    assert.ok(commands.length >= 12, `only ${commands.length} commands printed`);
    for (const status of [200, 401, 403]) assert.ok(statuses.includes(status), `no case answering ${status}`);
    const titles = commands.map((c) => c.title).join('\n');
    for (const wanted of [/without a token/, /Seed endpoint with/, /bob is only a viewer/, /Tenant mismatch/, /Expired/, /Exchange an access key/, /exchanged access-key token/, /Claim propagation/]) {
      assert.match(titles, wanted);
    }
  });

  test('prints each token once, as an export line with a comment saying whose it is; the curl lines read the variables', () => {
    const variables = parseExports(stdout);
    assert.deepEqual([...variables.keys()], ['ALICE', 'BOB', 'EXPIRED', 'REFRESH', 'MACHINE']);
    for (const [name, token] of variables) {
      assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, name);
      assert.equal(stdout.split(token).length - 1, 1, `${name} is printed once`);
      assert.match(stdout, new RegExp(`^#   ${name} +\\S`, 'm'), `a comment says what ${name} is`);
    }
    assert.ok(stdout.indexOf('export ALICE=') < stdout.indexOf('\ncurl '), 'the exports come before the commands');
    for (const c of commands) {
      // The longest is the access-key exchange (its published demo key); a token alone is about 900.
      assert.ok(c.command.length < 250, `a short line: ${c.command}`);
      assert.doesNotMatch(c.command, /eyJ/, 'no token inside a curl line');
    }
    assert.match(stdout, /curl -i -H "Authorization: Bearer \$BOB" http:\/\/127\.0\.0\.1:\d+\/reports\n/);
    assert.match(stdout, /^Mint more with: npx portcullis token --user alice --issuer http:\/\/127\.0\.0\.1:\d+ /m);
  });

  test('prints the token debugger URL, served by the issuer and explaining the demo endpoints', async () => {
    const [, url] = /^ {2}debugger (http:\/\/127\.0\.0\.1:\d+\/debugger) /m.exec(stdout) ?? assert.fail(`no debugger line in:\n${stdout}`);
    const [, issuer] = /^ {2}issuer {3}(http:\/\/127\.0\.0\.1:\d+) /m.exec(stdout)!;
    assert.equal(new URL(url!).origin, issuer);
    const page = await fetch(url!);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy')!, /^default-src 'none'; /);
    const context = (await (await fetch(`${issuer}/debugger/api/context`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as {
      gateway: { endpoints: { endpoint: string }[] };
    };
    assert.deepEqual(context.gateway.endpoints.map((e) => e.endpoint), ['/descope-protected', '/reports', '/tenants/{tenant}/projects', '/m2m/jobs', '/me']);
  });

  test(`each printed command returns the status printed next to it (${HAS_CURL ? 'real curl' : 'replayed with fetch'})`, async () => {
    const results = await Promise.all(commands.map((c) => runPrinted(c.command, exports)));
    const mismatches = commands
      .map((c, i) => ({ title: c.title, expected: c.expected, got: results[i]!.status }))
      .filter((r) => r.expected !== r.got);
    assert.deepEqual(mismatches, []);
  });

  test('the backend echoes the propagated claims, and the spoofed header is replaced', async () => {
    const propagation = commands.find((c) => c.title.startsWith('Claim propagation'));
    assert.ok(propagation);
    const { status, body } = await runPrinted(propagation.command, exports);
    assert.equal(status, 200);
    const echo = JSON.parse(body) as { path: string; headers: Record<string, string> };
    assert.equal(echo.path, '/me');
    assert.equal(echo.headers['x-user'], 'U2alice000000000000000000000');
    assert.equal(echo.headers['x-roles'], 'admin');
    assert.equal(echo.headers['x-tenant'], 'T2acme');
    assert.equal(echo.headers['x-plan'], 'pro');
    assert.equal(echo.headers.authorization, undefined, 'the token is not forwarded unless listed');
  });

  test('the access-key exchange command answers a sessionJwt the M2M endpoint accepts', async () => {
    const exchange = commands.find((c) => c.title.startsWith('Exchange an access key'));
    const m2m = commands.find((c) => c.title.startsWith('M2M endpoint with the exchanged'));
    assert.ok(exchange && m2m);
    const { body } = await runPrinted(exchange.command, exports);
    const { sessionJwt, keyId } = JSON.parse(body) as { sessionJwt: string; keyId: string };
    assert.equal(keyId, 'K2demoaccesskey0000000000001');
    const url = /(http:\/\/127\.0\.0\.1:\d+\/m2m\/jobs)/.exec(m2m.command)![1]!;
    const res = await fetch(url, { headers: { authorization: `Bearer ${sessionJwt}` } });
    assert.equal(res.status, 200);
  });

  test('stopping closes every port, and says so', async () => {
    const urls = [...new Set([...stdout.matchAll(/http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => m[0]))];
    stop();
    const run = await demo;
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /portcullis demo stopped\n$/);
    for (const url of urls) await assert.rejects(fetch(url), TypeError, `${url} still answers`);
  });
});

describe('portcullis demo as a real process (the built CLI)', () => {
  test('Ctrl-C stops everything cleanly', async () => {
    const demo = spawnPortcullis(['demo', ...ANY_PORTS]);
    try {
      await demo.waitForOutput(/Press Ctrl-C to stop\.\n/);
      const urls = [...new Set([...demo.stdout().matchAll(/http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => m[0]))];
      assert.ok(urls.length >= 3, demo.stdout());
      // An answer comes only once the demo is back in its event loop, so its Ctrl-C handler is in place.
      const [, gateway] = /gateway {2}(http:\/\/127\.0\.0\.1:\d+)/.exec(demo.stdout())!;
      assert.equal((await fetch(`${gateway}/__health`)).status, 200);
      demo.child.kill('SIGINT');
      assert.deepEqual(await demo.ended, { code: 0, signal: null }, demo.stderr());
      assert.match(demo.stdout(), /portcullis demo stopped\n$/);
      for (const url of urls) await assert.rejects(fetch(url), TypeError, `${url} still answers`);
    } finally {
      killAll([demo]);
    }
  });
});

describe('portcullis demo with a busy port', () => {
  let blocker: Server;
  let port: number;
  before(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    port = (blocker.address() as { port: number }).port;
  });
  after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

  for (const flag of ['--issuer-port', '--backend-port', '--gateway-port']) {
    test(`${flag}: a clear message naming the port and the flag, exit 1`, async () => {
      const ports: Record<string, string> = { '--issuer-port': '0', '--backend-port': '0', '--gateway-port': '0', [flag]: String(port) };
      const run = await runPortcullis(['demo', ...Object.entries(ports).flat()]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, new RegExp(`port ${port} \\(\\w+\\) is already in use; choose another with ${flag}`));
      assert.equal(run.stdout, '');
    });
  }
});
