/**
 * `portcullis check`: KrakenD's messages, one line per issue, exit codes. The
 * command runs in this process (the same program as main.ts); one case runs the
 * built CLI as a child process, as users run it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPortcullis, spawnPortcullis } from '../support/cli.js';
import { configWith, SEED_CONFIG } from './helpers.js';

const runCheck = (args: string[]) => runPortcullis(['check', ...args]);

describe('portcullis check', () => {
  let dir: string;
  const file = (name: string, content: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-check-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts the KrakenD Descope seed config', async () => {
    const path = file('seed.json', SEED_CONFIG);
    const result = await runCheck(['-c', path]);
    assert.equal(result.stdout, `Parsing configuration file: ${path}\nSyntax OK!\n`);
    assert.equal(result.stderr, '');
    assert.equal(result.code, 0);
  });

  it('as a real process (the built CLI): the same lines and exit codes', async () => {
    const good = file('seed-process.json', SEED_CONFIG);
    const ok = spawnPortcullis(['check', '-c', good]);
    assert.deepEqual(await ok.ended, { code: 0, signal: null });
    assert.equal(ok.stdout(), `Parsing configuration file: ${good}\nSyntax OK!\n`);
    const missing = spawnPortcullis(['check']);
    assert.deepEqual(await missing.ended, { code: 1, signal: null });
    assert.match(missing.stderr(), /required option '-c, --config <file>' not specified/);
  });

  it('prints unknown keys as warnings and still passes; --strict makes them errors', async () => {
    const path = file('unknown.json', configWith({ concurrent_calls: 2, x_team: 'payments' }));
    const lenient = await runCheck(['-c', path]);
    assert.equal(lenient.stdout, `Parsing configuration file: ${path}\nWARNING $.endpoints[0].concurrent_calls: "concurrent_calls": not implemented by portcullis: each backend is called once\nWARNING $.endpoints[0].x_team: unknown key\nSyntax OK!\n`);
    assert.equal(lenient.code, 0);
    const strict = await runCheck(['-c', path, '--strict']);
    assert.equal(
      strict.stdout,
      `Parsing configuration file: ${path}\nERROR parsing the configuration file: $.endpoints[0].concurrent_calls: "concurrent_calls": not implemented by portcullis: each backend is called once\nERROR parsing the configuration file: $.endpoints[0].x_team: unknown key\n`,
    );
    assert.equal(strict.code, 1);
  });

  it('prints one line per issue and exits 1; route collisions are caught', async () => {
    const path = file('broken.yaml', [
      'version: 3',
      'host: ["http://127.0.0.1:9"]',
      'endpoints:',
      '  - endpoint: /a/{id}',
      '    backend: [{ url_pattern: "/x/{nope}" }]',
      '  - endpoint: /a/{name}',
      '    backend: [{ url_pattern: "/" }]',
    ].join('\n'));
    const result = await runCheck(['-c', path]);
    assert.equal(
      result.stdout,
      [
        `Parsing configuration file: ${path}`,
        'ERROR parsing the configuration file: $.endpoints[0].backend[0].url_pattern: undefined output param {nope}: not a parameter of the endpoint (parameters: {id}) nor {JWT.claim}',
        'ERROR parsing the configuration file: $.endpoints[1].endpoint: route collision: GET /a/{name} and /a/{id} ($.endpoints[0]) match the same requests with different parameter names',
        '',
      ].join('\n'),
    );
    assert.equal(result.code, 1);
  });

  it('shows warnings even when a later stage fails', async () => {
    const path = file('both.json', configWith({ concurrent_calls: 2, extra_config: { 'auth/validator': { alg: 'RS256', jwk_url: 'http://idp.example/jwks' } } }));
    const result = await runCheck(['-c', path]);
    assert.equal(
      result.stdout,
      [
        `Parsing configuration file: ${path}`,
        'WARNING $.endpoints[0].concurrent_calls: "concurrent_calls": not implemented by portcullis: each backend is called once',
        'ERROR parsing the configuration file: $.endpoints[0].extra_config["auth/validator"].jwk_url: JWKS URL http://idp.example must use https (http is allowed only for loopback hosts or with disable_jwk_security)',
        '',
      ].join('\n'),
    );
    assert.equal(result.code, 1);
  });

  it('prints the unknown-key warnings next to a schema error, then the error', async () => {
    const path = file('schema-and-unknown.json', configWith({ method: 'TRACE', concurrent_calls: 2, x_team: 'payments' }));
    const result = await runCheck(['-c', path]);
    const lines = result.stdout.split('\n');
    assert.deepEqual(lines.slice(0, 3), [
      `Parsing configuration file: ${path}`,
      'WARNING $.endpoints[0].concurrent_calls: "concurrent_calls": not implemented by portcullis: each backend is called once',
      'WARNING $.endpoints[0].x_team: unknown key',
    ]);
    assert.match(lines[3]!, /^ERROR parsing the configuration file: \$\.endpoints\[0\]\.method: must be one of "GET", "POST"/);
    assert.equal(lines.length, 5);
    assert.equal(result.code, 1);
  });

  it('tells to render a Flexible Config template instead of reporting its syntax', async () => {
    const path = file('krakend.tmpl', '{\n  "version": 3,\n  "endpoints": [ {{ template "endpoints.tmpl" . }} ]\n}\n');
    const result = await runCheck(['-c', path]);
    assert.equal(
      result.stdout,
      `Parsing configuration file: ${path}\nERROR parsing the configuration file: $: ${path}:3:18: this is a Flexible Config template ({{ … }}): render it first (FC_ENABLE=1 FC_OUT=rendered.json krakend check -c ${path}, with FC_SETTINGS, FC_PARTIALS and FC_TEMPLATES as for krakend run) and load rendered.json\n`,
    );
    assert.equal(result.code, 1);
  });

  it('fails on syntax errors and missing files', async () => {
    const broken = file('syntax.json', '{"version": 3,}');
    const syntax = await runCheck(['-c', broken]);
    assert.equal(syntax.stdout, `Parsing configuration file: ${broken}\nERROR parsing the configuration file: $: ${broken}:1:15: invalid JSON: trailing comma\n`);
    assert.equal(syntax.code, 1);
    const missing = join(dir, 'missing.json');
    const absent = await runCheck(['-c', missing]);
    assert.equal(absent.stdout, `Parsing configuration file: ${missing}\nERROR parsing the configuration file: $: cannot read ${missing}: ENOENT\n`);
    assert.equal(absent.code, 1);
  });

  it('requires -c', async () => {
    const result = await runCheck([]);
    assert.match(result.stderr, /required option '-c, --config <file>' not specified/);
    assert.equal(result.code, 1);
  });
});
