/**
 * `portcullis --help`, `--version` and every `<command> --help` load commander
 * and no other package: registration must stay cheap, and the command bodies
 * (pino, ajv, undici, prom-client, ioredis…) load only when a command runs.
 * A command that runs loads only what it uses: no TypeBox or ajv compiler (the
 * config validators are precompiled), no HTTP client or Redis client for
 * `check` and the issuer, no prom-client without metrics. The built CLI runs
 * as a real process with a loader hook that records every module it resolves
 * through import; no clock is involved (bench/cli-startup.ts times it).
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertDistBuilt, DIST_MAIN, spawnNode } from '../support/cli.js';
import { fromRoot } from '../support/repo-root.js';

const HOOK = fromRoot('test/support/record-loads.mjs');
const dir = mkdtempSync(join(tmpdir(), 'portcullis-startup-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let runs = 0;

/**
 * The packages (node_modules names) `portcullis <args>` resolved, the URLs of their modules, and its output.
 * With `until`, a serving command is stopped (SIGTERM) once its output matches: what it loaded to start.
 */
async function packagesLoadedBy(args: string[], until?: RegExp): Promise<{ packages: string[]; modules: string[]; stdout: string; code: number | null }> {
  assertDistBuilt();
  const log = join(dir, `loads-${runs++}.txt`);
  const run = spawnNode(['--import', HOOK, DIST_MAIN, ...args], { env: { ...process.env, PORTCULLIS_LOAD_LOG: log } });
  if (until !== undefined) {
    await run.waitForOutput(until);
    run.child.kill('SIGTERM');
  }
  const { code } = await run.ended;
  const urls = readFileSync(log, 'utf8').split('\n').filter((line) => line.length > 0);
  const packages = new Set<string>();
  const modules: string[] = [];
  for (const url of urls) {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(url);
    if (!match) continue;
    packages.add(match[1]!);
    modules.push(`${match[1]}/${match[2]}`);
  }
  return { packages: [...packages].sort(), modules, stdout: run.stdout(), code };
}

/** ajv modules other than its runtime helpers, which the precompiled validators use: its compiler. */
const ajvCompiler = (modules: readonly string[]): string[] => modules.filter((module) => module.startsWith('ajv/') && !module.startsWith('ajv/dist/runtime/'));

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

describe('a command loads only what it uses', () => {
  const gatewayConfig = join(dir, 'public.json');
  writeFileSync(gatewayConfig, JSON.stringify({ version: 3, endpoints: [{ endpoint: '/a', backend: [{ host: ['http://127.0.0.1:9'], url_pattern: '/' }] }] }));

  test('check: the precompiled validators and commander, no TypeBox, ajv compiler, HTTP or Redis client', async () => {
    const { packages, modules, code } = await packagesLoadedBy(['check', '-c', fromRoot('examples/demo.json')]);
    assert.equal(code, 0);
    assert.deepEqual(packages, ['ajv', 'commander']);
    assert.deepEqual(ajvCompiler(modules), []);
  });

  test('run without metrics: no TypeBox, ajv compiler or prom-client; with --metrics-port, prom-client', async () => {
    // Stopped as soon as it listens, maybe before its signal handlers are set: the exit code is not the point.
    const plain = await packagesLoadedBy(['run', '-c', gatewayConfig, '--port', '0'], /Listening on port/);
    for (const name of ['@sinclair/typebox', 'prom-client', 'yaml']) assert.ok(!plain.packages.includes(name), `${name} in ${plain.packages.join(', ')}`);
    assert.ok(plain.packages.includes('undici') && plain.packages.includes('pino'), plain.packages.join(', '));
    assert.deepEqual(ajvCompiler(plain.modules), []);

    const metrics = await packagesLoadedBy(['run', '-c', gatewayConfig, '--port', '0', '--metrics-port', '0'], /Prometheus metrics on/);
    assert.ok(metrics.packages.includes('prom-client'), metrics.packages.join(', '));
  });

  test('the issuer: no HTTP client, Redis client, TypeBox or ajv compiler', async () => {
    const { packages, modules } = await packagesLoadedBy(['issuer', '--port', '0', '--data-dir', join(dir, 'issuer'), '--log-level', 'warn'], /portcullis issuer listening/);
    for (const name of ['undici', 'ioredis', '@sinclair/typebox', 'prom-client', 'yaml']) assert.ok(!packages.includes(name), `${name} in ${packages.join(', ')}`);
    assert.deepEqual(ajvCompiler(modules), []);
  });
});
