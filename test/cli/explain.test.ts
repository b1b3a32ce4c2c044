/**
 * `portcullis explain` end to end: a real config file and jose-minted tokens.
 * The command runs in this process (the same program as main.ts); reading the
 * token from standard input runs the built CLI as a child process.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPortcullis, spawnPortcullis } from '../support/cli.js';
import { generateSigningKey, jwksOf, mintToken, type TestSigningKey } from '../support/jwks-server.js';
import { nowSeconds } from '../support/clock.js';

async function explain(config: string, endpoint: string, token: string | undefined, extra: string[] = []) {
  const result = await runPortcullis(['explain', '-c', config, '--endpoint', endpoint, ...extra, ...(token === undefined ? [] : [token])]);
  return { status: result.code, stdout: result.stdout, stderr: result.stderr };
}

describe('portcullis explain', () => {
  let dir: string;
  let config: string;
  let key: TestSigningKey;
  const now = nowSeconds();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-explain-'));
    key = await generateSigningKey('k1');
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwksOf(key)));
    config = join(dir, 'gateway.json');
    writeFileSync(
      config,
      JSON.stringify({
        version: 3,
        endpoints: [
          {
            endpoint: '/tenants/{tenant}/reports',
            extra_config: {
              'auth/validator': {
                alg: 'RS256',
                jwk_local_path: join(dir, 'jwks.json'),
                issuer: 'https://issuer.example',
                audience: ['api'],
                roles: ['admin'],
                tenant: { from: 'param', roles: ['owner'] },
              },
            },
            backend: [{ host: ['http://127.0.0.1:9'], url_pattern: '/r' }],
          },
          { endpoint: '/open', backend: [{ host: ['http://127.0.0.1:9'], url_pattern: '/o' }] },
        ],
      }),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('passes every check for a good token and exits 0', async () => {
    const token = await mintToken(key, { iss: 'https://issuer.example', aud: ['api'], exp: now + 300, roles: ['admin'], tenants: { T1: { roles: ['owner'] } } });
    const result = await explain(config, '/tenants/T1/reports', token);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /PASS\s+signature/);
    assert.match(result.stdout, /PASS\s+roles: any of \["admin"\]/);
    assert.match(result.stdout, /PASS\s+tenant \(from param\)/);
    assert.match(result.stdout, /decision: allow/);
    assert.doesNotMatch(result.stdout, /FAIL/);
    assert.ok(!result.stdout.includes(token.split('.')[2]!), 'the signature must not be printed');
    assert.ok(!result.stdout.includes(token.split('.')[1]!), 'the encoded payload must not be printed');
  });

  it('shows every failing check with its reason, and the gateway decision, exit 1', async () => {
    const token = await mintToken(key, { iss: 'https://other.example', aud: ['web'], exp: now - 60, roles: ['reader'] });
    const result = await explain(config, '/tenants/T1/reports', token);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stdout, /FAIL\s+exp\s+token_expired/);
    assert.match(result.stdout, /FAIL\s+iss\s+issuer_mismatch/);
    assert.match(result.stdout, /FAIL\s+aud\s+audience_mismatch/);
    assert.match(result.stdout, /FAIL\s+roles: any of \["admin"\] in "roles"\s+insufficient_roles/);
    assert.match(result.stdout, /FAIL\s+tenant \(from param\).*tenant_not_allowed/);
    assert.match(result.stdout, /decision: deny — 401 token_expired/);
  });

  it('shows next to each failed check what the token holds and what was required', async () => {
    const token = await mintToken(key, { iss: 'https://other.example', aud: ['web', 'mobile'], exp: now - 60, roles: ['reader', 'viewer'], tenants: { T2: { roles: ['owner'] } } });
    const result = await explain(config, '/tenants/T1/reports', token);
    assert.equal(result.status, 1, result.stderr);
    const line = (check: string) => result.stdout.split('\n').find((l) => new RegExp(`^FAIL  ${check}[\\s:(]`).test(l)) ?? assert.fail(`no FAIL line for ${check}:\n${result.stdout}`);
    assert.match(line('roles'), /insufficient_roles — found \["reader","viewer"\], expected any of \["admin"\]$/);
    assert.match(line('aud'), /audience_mismatch: .* — found \["web","mobile"\], expected all of \["api"\]$/);
    assert.match(line('iss'), /issuer_mismatch: .* — found "https:\/\/other\.example", expected one of \["https:\/\/issuer\.example"\]$/);
    assert.match(line('exp'), /token_expired — found \d{4}-\d\d-\d\dT[\d:.]+Z \(\d+s ago\), expected present and in the future \(leeway 1s\)$/);
    assert.match(line('tenant'), /tenant_not_allowed: .* — found tenant "T1"; the token's tenants: \["T2"\], expected a tenant of the token with roles all of \["owner"\]/);
    // Passing checks keep their one-line reason, without the comparison.
    assert.match(result.stdout, /^PASS {2}algorithm allowlist\s+RS256 is allowed$/m);

    const noRoles = await explain(config, '/tenants/T1/reports', await mintToken(key, { iss: 'https://issuer.example', aud: ['api'], exp: now + 300, tenants: { T1: { roles: ['viewer'] } } }));
    assert.match(noRoles.stdout, /^FAIL {2}roles: .*insufficient_roles — found absent, expected any of \["admin"\]$/m);
    assert.match(noRoles.stdout, /^FAIL {2}tenant .*insufficient_roles: tenant roles — found tenant "T1": roles \["viewer"\], permissions absent, expected /m);
  });

  it('reports a bad signature and an unknown kid', async () => {
    const stranger = await generateSigningKey('k1');
    const forged = await mintToken(stranger, { exp: now + 60 });
    const bad = await explain(config, '/tenants/T1/reports', forged);
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, /FAIL\s+signature\s+signature_invalid/);
    const unknown = await explain(config, '/tenants/T1/reports', await mintToken(stranger, { exp: now + 60 }, { kid: 'nope' }));
    assert.match(unknown.stdout, /FAIL\s+key lookup\s+key_not_found: unknown kid:nope/);
    assert.match(unknown.stdout, /decision: deny — 401 key_not_found/);
  });

  it('says when an endpoint has no validator, and exits 2 for an unknown endpoint', async () => {
    const open = await explain(config, '/open', 'x');
    assert.equal(open.status, 0);
    assert.match(open.stdout, /has no auth\/validator/);
    const missing = await explain(config, '/nowhere', 'x');
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /no endpoint GET \/nowhere/);
  });

  it('reads the token from standard input with "-" (the built CLI as a real process)', async () => {
    const token = await mintToken(key, { iss: 'https://issuer.example', aud: ['api'], exp: now + 300, roles: ['admin'], tenants: { T1: { roles: ['owner'] } } });
    const run = spawnPortcullis(['explain', '-c', config, '--endpoint', '/tenants/T1/reports', '-'], { stdin: `${token}\n` });
    assert.deepEqual(await run.ended, { code: 0, signal: null }, run.stderr());
    assert.match(run.stdout(), /decision: allow/);
    assert.ok(!run.stdout().includes(token.split('.')[2]!), 'the signature must not be printed');
  });

  it('reads the token from standard input when it is omitted, and exits 2 for a config error', async () => {
    const token = await mintToken(key, { iss: 'https://issuer.example', aud: ['api'], exp: now + 300, roles: ['admin'], tenants: { T1: { roles: ['owner'] } } });
    const piped = await runPortcullis(['explain', '-c', config, '--endpoint', '/tenants/T1/reports'], { stdin: `${token}\n` });
    assert.equal(piped.code, 0, piped.stderr);
    assert.match(piped.stdout, /decision: allow/);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"version": 3,}');
    const bad = await runPortcullis(['explain', '-c', broken, '--endpoint', '/x', 'x']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^ERROR parsing the configuration file: \$: .*invalid JSON: trailing comma\n$/);
  });

  it('exits 2 on a usage error (1 means deny), and 0 for --help', async () => {
    const cases: [string[], RegExp][] = [
      [['explain', '-c', config, '--endpoint', '/open', '--bogus'], /unknown option '--bogus'/],
      [['explain', '-c', config, 'token'], /required option '-e, --endpoint <path>' not specified/],
      [['explain', '--endpoint', '/open', 'token'], /required option '-c, --config <file>' not specified/],
      [['explain', '-c', config, '--endpoint', '/open', 'one', 'two'], /too many arguments for 'explain'/],
    ];
    for (const [args, message] of cases) {
      const usage = await runPortcullis(args);
      assert.equal(usage.code, 2, args.join(' '));
      assert.match(usage.stderr, message);
      assert.equal(usage.stdout, '');
    }
    const help = await runPortcullis(['explain', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: portcullis explain \[options\] \[token\]/);
    const real = spawnPortcullis(['explain', '--bogus']);
    assert.deepEqual(await real.ended, { code: 2, signal: null }, 'the built CLI exits 2 too');
  });
});
