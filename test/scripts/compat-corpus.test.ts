/**
 * The compatibility measurements of issue 13 (scripts/compat-corpus.ts and
 * scripts/ce-specs.ts) on tiny corpora written here, so the numbers in
 * docs/krakend-corpus.md come from scripts whose classification and
 * assertions are themselves checked. Both run the built CLI (`npm test`
 * builds dist first), as they do on a real corpus.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { markdown, runCorpus, totals, valueAt } from '../../scripts/compat-corpus.js';
import { replay } from '../../scripts/ce-specs.js';
import { DIST_MAIN } from '../support/cli.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'compat-test-'));
  dirs.push(d);
  return d;
}

const backend = (extra: Record<string, unknown> = {}) => ({ host: ['http://127.0.0.1:9'], url_pattern: '/x', ...extra });

describe('compat-corpus', () => {
  it('classifies accepted, refused-justified and refused-wrong files and prints the table', () => {
    const dir = tempDir();
    const write = (name: string, config: unknown) => writeFileSync(join(dir, name), JSON.stringify(config));
    write('a-accepted.json', { version: 3, endpoints: [{ endpoint: '/a', backend: [backend()] }] });
    // validation/cel enforces something portcullis does not implement: a fail-closed refusal.
    write('b-justified.json', {
      version: 3,
      endpoints: [{ endpoint: '/b', extra_config: { 'validation/cel': [{ check_expr: 'true' }] }, backend: [backend()] }],
    });
    // KrakenD takes an empty audience name (no token can match it); portcullis refuses it, and no rule justifies that.
    write('c-wrong.json', {
      version: 3,
      endpoints: [{ endpoint: '/c', extra_config: { 'auth/validator': { alg: 'RS256', jwk_url: 'https://idp.example/jwks', audience: [''] } }, backend: [backend()] }],
    });
    writeFileSync(join(dir, 'd-template.json'), '{"version": 3, "endpoints": [{{ template "e.tmpl" . }}]}');
    writeFileSync(join(dir, 'notes.txt'), 'not a config');

    const results = runCorpus({ dir, cli: DIST_MAIN });
    assert.deepEqual(
      results.map((r) => [r.file, r.verdict]),
      [
        ['a-accepted.json', 'accepted'],
        ['b-justified.json', 'refused-justified'],
        ['c-wrong.json', 'refused-wrong'],
        ['d-template.json', 'refused-justified'],
      ],
    );
    assert.match(results[1]!.reason, /unimplemented "validation\/cel" refused/);
    assert.match(results[2]!.reason, /: \$\.endpoints\[0\]\.extra_config\["auth\/validator"\]\.audience: must be/);
    assert.match(results[3]!.reason, /^Flexible Config template, not JSON/);
    assert.doesNotMatch(results[3]!.reason, new RegExp(dir.replaceAll('/', '\\/')), 'no machine path in the report');
    assert.deepEqual(totals(results), { accepted: 1, 'refused-justified': 2, 'refused-wrong': 1 });

    const table = markdown(results).split('\n');
    assert.equal(table[0], '| file | result | errors | first error / reason |');
    assert.equal(table[2], '| a-accepted.json | accepted | 0 | 0 warning(s) |');
    assert.match(table[4]!, /^\| c-wrong\.json \| refused-wrong \| 1 \| .*\.audience: must be/);
    assert.equal(table.at(-1), 'Totals: 4 files; accepted 1, refused-justified 2, refused-wrong 1.');
  });

  it('resolves the JSON paths check prints', () => {
    const config = { endpoints: [{ extra_config: { 'auth/validator': { alg: 'RS256' } }, backend: [{ encoding: 'xml' }] }] };
    assert.equal(valueAt(config, '$.endpoints[0].backend[0].encoding'), 'xml');
    assert.equal(valueAt(config, '$.endpoints[0].extra_config["auth/validator"].alg'), 'RS256');
    assert.equal(valueAt(config, '$.endpoints[3].backend'), undefined);
  });
});

describe('ce-specs', () => {
  it('replays specs: a pass, a failure with its reason, a refused endpoint, and the normalised body comparison', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'specs'));
    writeFileSync(
      join(dir, 'krakend.json'),
      JSON.stringify({
        version: 3,
        port: 8080,
        endpoints: [
          { endpoint: '/echo/{id}', backend: [{ host: ['http://127.0.0.1:8081'], url_pattern: '/param_forwarding/{id}' }] },
          {
            endpoint: '/cel/{id}',
            extra_config: { 'validation/cel': [{ check_expr: 'true' }] },
            backend: [{ host: ['http://127.0.0.1:8081'], url_pattern: '/param_forwarding/{id}' }],
          },
        ],
      }),
    );
    const spec = (name: string, out: unknown, url = 'http://localhost:8080/echo/7') =>
      writeFileSync(join(dir, 'specs', `${name}.json`), JSON.stringify({ in: { method: 'GET', url }, out }));
    // A schema stands for the body, as in krakend-ce's specs; an expected "" would mean an empty body.
    spec('pass_status', { status_code: 200, schema: { type: 'object', required: ['foo'] }, header: { 'content-type': ['application/json; charset=utf-8'], 'X-Krakend-Completed': ['true'] } });
    spec('fail_status', { status_code: 201, schema: { type: 'object' } });
    spec('refused_cel', { status_code: 200, body: '' }, 'http://localhost:8080/cel/7');
    // The echo as KrakenD's Go client would cause it: its UA and gzip, which only the normalised mode ignores.
    spec('echo_body', {
      status_code: 200,
      body: {
        foo: 42,
        path: '/param_forwarding/7',
        query: {},
        headers: { 'Accept-Encoding': ['gzip'], 'User-Agent': ['KrakenD Version 2.13.0'], 'X-Forwarded-Host': ['localhost:8080'] },
      },
    });

    const asIs = await replay({ dir, cli: DIST_MAIN, mode: 'as-is' });
    const byName = Object.fromEntries(asIs.results.map((r) => [r.name, r]));
    assert.equal(byName.pass_status!.outcome, 'pass');
    assert.equal(byName.fail_status!.outcome, 'fail');
    assert.equal(byName.fail_status!.reason, 'status 200, want 201');
    assert.equal(byName.refused_cel!.outcome, 'refused');
    assert.match(byName.refused_cel!.reason, /^GET \/cel\/\{id\}: \.extra_config\["validation\/cel"\]: "validation\/cel" is not supported/);
    assert.equal(byName.echo_body!.outcome, 'fail');
    assert.match(byName.echo_body!.reason, /^body\.headers\.Accept-Encoding absent, want \["gzip"\]$/);
    assert.deepEqual(asIs.removed.map((r) => r.what), ['GET /cel/{id}']);

    const normalised = await replay({ dir, cli: DIST_MAIN, mode: 'normalised' });
    assert.deepEqual(
      normalised.results.map((r) => [r.name, r.outcome]),
      [
        ['echo_body', 'pass'],
        ['fail_status', 'fail'],
        ['pass_status', 'pass'],
        ['refused_cel', 'refused'],
      ],
    );
  });
});
