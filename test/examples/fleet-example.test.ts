/**
 * examples/fleet/run.sh as a user runs it: redis-server, the dev issuer, an
 * echo backend and three gateways on examples/fleet/fleet.json. The script
 * must end 0 having shown 200 from all three (one rate-limit bucket counting
 * down across them), then 401 from all three after `portcullis revoke`, and
 * must leave no process behind, also when it is interrupted half-way.
 *
 * It needs redis-server and curl; without them the test is skipped with the
 * reason (CI installs redis-server, so there a missing one fails).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { assertDistBuilt, DIST_MAIN } from '../support/cli.js';
import { loadGatewayPlan } from '../../src/config/load.js';
import { redisSkip } from '../support/redis-server.js';
import { fromRoot } from '../support/repo-root.js';

const SCRIPT = fromRoot('examples/fleet/run.sh');
const CONFIG = fromRoot('examples/fleet/fleet.json');
const curlMissing = spawnSync('sh', ['-c', 'command -v curl']).status !== 0;
const skip = redisSkip || (curlMissing ? 'curl is not installed: examples/fleet/run.sh polls the gateways with it' : false);

interface ScriptRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the script; `interruptWhen` sends SIGTERM to it (by pid) once stdout matches. */
function runScript(interruptWhen?: RegExp): Promise<ScriptRun> {
  assertDistBuilt();
  const child = spawn('bash', [SCRIPT], { env: { ...process.env, PORTCULLIS_MAIN: DIST_MAIN }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let interrupted = false;
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    if (interruptWhen !== undefined && !interrupted && interruptWhen.test(stdout)) {
      interrupted = true;
      child.kill('SIGTERM');
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  // A hung script must not hang the suite; its trap still cleans up on SIGTERM.
  const guard = setTimeout(() => child.kill('SIGTERM'), 90_000);
  return new Promise((resolve) =>
    child.once('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr });
    }),
  );
}

function startedPids(stdout: string): number[] {
  return [...stdout.matchAll(/\(pid (\d+)\)/g)].map((match) => Number(match[1]));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

describe('examples/fleet', () => {
  it('fleet.json loads without an issue', () => {
    const loaded = loadGatewayPlan(CONFIG, { strict: true });
    assert.deepEqual(loaded.warnings, []);
    assert.equal(loaded.plan.revocation?.pool, 'shared');
    assert.equal(loaded.plan.endpoints[0]!.rateLimits[0]!.client?.strategy, 'jwt');
  });

  it('run.sh: 200 from all three gateways, `portcullis revoke`, then 401 from all three, and nothing left running', { skip }, async (t) => {
    const run = await runScript();
    assert.equal(run.code, 0, `stdout: ${run.stdout}\nstderr: ${run.stderr}`);
    for (const n of [1, 2, 3]) {
      assert.match(run.stdout, new RegExp(`gateway ${n}: 200 `), `gateway ${n} accepted the token`);
      assert.match(run.stdout, new RegExp(`gateway ${n}: 401 token_revoked \\(\\d+ ms after the revoke exited\\)`));
    }
    // One bucket for the fleet: each gateway took the next token of the same user.
    assert.match(run.stdout, /gateway 1: 200 +ratelimit: "client";r=99;[^\n]*\n {2}gateway 2: 200 +ratelimit: "client";r=98;[^\n]*\n {2}gateway 3: 200 +ratelimit: "client";r=97;/i);
    assert.match(run.stdout, /revoked sub U2alice0+, tokens issued before /);
    const measured = /all three gateways answered 401 (\d+) ms after `portcullis revoke` exited \((\d+) ms after it was started/.exec(run.stdout);
    assert.ok(measured !== null, run.stdout);
    t.diagnostic(`run.sh: all three 401 ${measured[1]} ms after revoke exited, ${measured[2]} ms after it was started`);
    assert.doesNotMatch(run.stdout + run.stderr, /eyJ[\w-]+\.eyJ/, 'the token is never printed');
    const pids = startedPids(run.stdout);
    assert.equal(pids.length, 6, 'redis, issuer, backend and three gateways');
    assert.deepEqual(pids.filter(alive), [], 'every process it started is gone');
    assert.match(run.stdout, /stopped every process this script started \(6\)/);
  });

  it('run.sh stops what it started when interrupted half-way', { skip }, async () => {
    const run = await runScript(/echo backend on .* \(pid \d+\)/);
    assert.notEqual(run.code, 0);
    const pids = startedPids(run.stdout);
    assert.equal(pids.length, 3, run.stdout);
    assert.deepEqual(pids.filter(alive), [], 'redis, issuer and backend are gone');
  });
});
