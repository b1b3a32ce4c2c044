/**
 * `portcullis --help`, `--version` and every `<command> --help` load commander
 * and no other package: registration must stay cheap, and the command bodies
 * (pino, ajv, undici, prom-client, ioredis, typebox…) load only when a command
 * runs. The built CLI runs as a real process with a loader hook that records
 * every module it resolves; no clock is involved (bench/cli-startup.ts times it).
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertDistBuilt, DIST_MAIN, spawnNode } from '../support/cli.js';
import { fromRoot } from '../support/repo-root.js';

const HOOK = fromRoot('test/support/record-loads.mjs');
const dir = mkdtempSync(join(tmpdir(), 'portcullis-startup-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let runs = 0;

/** The packages (node_modules names) `portcullis <args>` resolved, and its output. */
async function packagesLoadedBy(args: string[]): Promise<{ packages: string[]; stdout: string; code: number | null }> {
  assertDistBuilt();
  const log = join(dir, `loads-${runs++}.txt`);
  const run = spawnNode(['--import', HOOK, DIST_MAIN, ...args], { env: { ...process.env, PORTCULLIS_LOAD_LOG: log } });
  const { code } = await run.ended;
  const urls = readFileSync(log, 'utf8').split('\n').filter((line) => line.length > 0);
  const packages = new Set<string>();
  for (const url of urls) {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (match) packages.add(match[1]!);
  }
  return { packages: [...packages].sort(), stdout: run.stdout(), code };
}

describe('portcullis start-up loads only commander until a command runs', () => {
  test('--version and --help', async () => {
    for (const args of [['--version'], ['--help'], ['help']]) {
      const { packages, code } = await packagesLoadedBy(args);
      assert.equal(code, 0, args.join(' '));
      assert.deepEqual(packages, ['commander'], args.join(' '));
    }
  });

  test('every command\'s --help (the list is read from the top-level help, so a new command is covered)', async () => {
    const { stdout } = await packagesLoadedBy(['--help']);
    const commands = [...stdout.slice(stdout.indexOf('Commands:')).matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!).filter((name) => name !== 'help');
    assert.ok(commands.includes('run') && commands.includes('explain') && commands.length >= 7, stdout);
    for (const args of [...commands.map((name) => [name, '--help']), ['issuer', 'serve', '--help'], ['issuer', 'rotate', '--help'], ['help', 'run']]) {
      const { packages, code } = await packagesLoadedBy(args);
      assert.equal(code, 0, args.join(' '));
      assert.deepEqual(packages, ['commander'], args.join(' '));
    }
  });

  test('a command that runs does load its body (the recorder sees what it must)', async () => {
    const { packages, code } = await packagesLoadedBy(['check', '-c', join(dir, 'missing.json')]);
    assert.equal(code, 1);
    assert.ok(packages.includes('ajv'), packages.join(', '));
  });
});
