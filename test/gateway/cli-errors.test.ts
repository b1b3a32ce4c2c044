/**
 * `portcullis run` on bad configs: exit 1 before listening, with KrakenD's
 * prefix and the JSON path on stderr. The command runs in this process (the
 * same program as main.ts); a bad config never gets as far as a socket.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPortcullis } from '../support/cli.js';

describe('portcullis run: bad configuration', () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-run-errors-'));
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function writeConfig(name: string, config: unknown): string {
    const path = join(dir, name);
    writeFileSync(path, typeof config === 'string' ? config : JSON.stringify(config));
    return path;
  }

  const endpoint = { endpoint: '/x', backend: [{ host: ['http://127.0.0.1:1'], url_pattern: '/x' }] };

  it('exits 1 on a bad config and names the JSON path on stderr', async () => {
    const path = writeConfig('bad.json', { version: 3, endpoints: [{ ...endpoint, backend: [{ host: ['http://127.0.0.1:1'], url_pattern: 42 }] }] });
    const run = await runPortcullis(['run', '-c', path, '--port', '0']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^ERROR parsing the configuration file: \$\.endpoints\[0\]\.backend\[0\]\.url_pattern: /m);
    assert.equal(run.stdout, '', 'nothing started');
    assert.equal(run.logs, '', 'nothing started');
  });

  it('rejects unknown keys with --strict, naming their path', async () => {
    const run = await runPortcullis(['run', '-c', writeConfig('strict.json', { version: 3, endpoints: [{ ...endpoint, bogus: true }] }), '--port', '0', '--strict']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^ERROR parsing the configuration file: \$\.endpoints\[0\]\.bogus: unknown key/m);
  });

  it('exits 1 on a file that is not JSON or YAML, and on a missing file', async () => {
    const broken = await runPortcullis(['run', '-c', writeConfig('broken.json', '{"version": 3,'), '--port', '0']);
    const missing = await runPortcullis(['run', '-c', join(dir, 'does-not-exist.json'), '--port', '0']);
    assert.equal(broken.code, 1);
    assert.equal(missing.code, 1);
    assert.match(broken.stderr, /^ERROR parsing the configuration file: /m);
    assert.match(missing.stderr, /^ERROR parsing the configuration file: /m);
  });

  it('refuses bad flags as usage errors, before reading the config', async () => {
    for (const [flag, value, message] of [
      ['--port', '70000', /option '-p, --port <port>' argument '70000' is invalid\. must be a port number \(0-65535\)\./],
      ['--workers', '0', /option '-w, --workers <n>' argument '0' is invalid\. must be a whole number from 1 to 256\./],
      ['--log-level', 'loud', /option '-l, --log-level <level>' argument 'loud' is invalid\. must be one of debug, info, warn, error, silent\./],
    ] as const) {
      const run = await runPortcullis(['run', '-c', join(dir, 'does-not-exist.json'), flag, value]);
      assert.equal(run.code, 1, flag);
      assert.match(run.stderr, message, flag);
      assert.doesNotMatch(run.stderr, /ERROR parsing the configuration file/, `${flag}: the config was read`);
    }
  });
});
