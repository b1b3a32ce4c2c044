/** `portcullis run` on bad configs: exit 1 before listening, with KrakenD's prefix and the JSON path on stderr. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnRun } from './harness.js';

describe('portcullis run: bad configuration', () => {
  let dir: string;
  const children: ChildProcess[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-run-errors-'));
  });

  after(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
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
    const run = spawnRun(['-c', path, '--port', '0']);
    children.push(run.child);
    assert.equal(await run.exit, 1);
    assert.match(run.stderr(), /^ERROR parsing the configuration file: \$\.endpoints\[0\]\.backend\[0\]\.url_pattern: /m);
    assert.equal(run.stdout(), '', 'nothing started');
  });

  it('rejects unknown keys with --strict, naming their path', async () => {
    const run = spawnRun(['-c', writeConfig('strict.json', { version: 3, endpoints: [{ ...endpoint, bogus: true }] }), '--port', '0', '--strict']);
    children.push(run.child);
    assert.equal(await run.exit, 1);
    assert.match(run.stderr(), /^ERROR parsing the configuration file: \$\.endpoints\[0\]\.bogus: unknown key/m);
  });

  it('exits 1 on a file that is not JSON or YAML, and on a missing file', async () => {
    const broken = spawnRun(['-c', writeConfig('broken.json', '{"version": 3,'), '--port', '0']);
    const missing = spawnRun(['-c', join(dir, 'does-not-exist.json'), '--port', '0']);
    children.push(broken.child, missing.child);
    assert.equal(await broken.exit, 1);
    assert.equal(await missing.exit, 1);
    assert.match(broken.stderr(), /^ERROR parsing the configuration file: /m);
    assert.match(missing.stderr(), /^ERROR parsing the configuration file: /m);
  });
});
