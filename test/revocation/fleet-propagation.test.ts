/**
 * The acceptance test for fleet-wide revocation, with nothing
 * simulated: one redis-server, three `portcullis run` processes sharing a
 * Redis pool, one backend, one JWKS server, and `portcullis revoke` run as a
 * child process the way an operator runs it.
 *
 * - A revoked subject is refused (401 `token_revoked`) by all three gateways
 *   within a second of the revoke command exiting; the time is measured per
 *   round (each gateway polled every ~5 ms over keep-alive connections) and
 *   reported with `t.diagnostic`, from the command's exit and from its spawn.
 * - `--before T` revokes the tokens issued before T only.
 * - Redis crashes (SIGKILL): the last set stays enforced everywhere, other
 *   users keep working (fail_closed off); Redis comes back on the same port
 *   with its append-only file, the gateways reconnect and a new revocation
 *   again reaches all three within a second.
 * - A gateway with `fail_closed` and `max_staleness: "1s"` answers 503
 *   `revocation_unavailable` (and `/__ready` 503, naming the revocation state)
 *   once Redis has been gone for more than a second, and 200 again once it is
 *   back.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startBackendServer, type BackendServer } from '../support/backend-server.js';
import { spawnPortcullis } from '../support/cli.js';
import { pollUntil, sleep, startGatewayProcess, summary, type GatewayProcess } from '../support/gateway-fleet.js';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { redisSkip as skip, startRedisServer, type RedisServer } from '../support/redis-server.js';

/** The bound: a revocation reaches every instance within a second. */
const PROPAGATION_BOUND_MS = 1000;
const POLL_INTERVAL_MS = 5;
const ROUNDS = ['alice', 'carol', 'frank', 'grace', 'heidi'];

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/**
 * A SUBSCRIBE of the test's own on the revocation channel: resolves `arrived` with the time Redis
 * delivered the message carrying `needle`, the moment the revocation was published.
 */
async function watchChannel(port: number, channel: string, needle: string): Promise<{ arrived: Promise<number>; close(): void }> {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  let subscribed!: () => void;
  let arrive!: (at: number) => void;
  const ready = new Promise<void>((resolve) => (subscribed = resolve));
  const arrived = new Promise<number>((resolve) => (arrive = resolve));
  socket.on('data', (chunk: Buffer) => {
    const at = performance.now();
    text += chunk.toString('utf8');
    if (text.includes('subscribe')) subscribed();
    if (text.includes(needle)) arrive(at);
  });
  socket.on('error', () => undefined);
  socket.once('connect', () => socket.write(`*2\r\n$9\r\nSUBSCRIBE\r\n$${Buffer.byteLength(channel)}\r\n${channel}\r\n`));
  await ready;
  return { arrived, close: () => socket.destroy() };
}

interface RevokeRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** performance.now() just before the spawn and at the exit. */
  spawnedAt: number;
  exitedAt: number;
}

describe('revocation across three gateway processes sharing Redis', { skip }, () => {
  let dir: string;
  let redis: RedisServer;
  let jwks: JwksServer;
  let backend: BackendServer;
  let key: TestSigningKey;
  let fleetConfig: string;
  const fleet: GatewayProcess[] = [];
  let failClosed: GatewayProcess | undefined;
  let aliceToken: string;

  const token = (sub: string, iat = nowSeconds()): Promise<string> => mintToken(key, { sub, iat, exp: iat + 600 });

  const configFor = (revoker: Record<string, unknown>) => ({
    version: 3,
    host: [backend.url],
    extra_config: {
      // A short backoff cap keeps the reconnect after the crash quick (the default is 5 s).
      redis: { connection_pools: [{ name: 'shared', address: `127.0.0.1:${redis.port}`, max_retry_backoff: '1s' }] },
      'auth/revoker': { token_keys: ['jti', 'sub'], TTL: 3600, connection_pool: 'shared', ...revoker },
    },
    endpoints: [{ endpoint: '/api', extra_config: { 'auth/validator': { alg: 'RS256', jwk_url: jwks.url('/jwks') } }, backend: [{ url_pattern: '/api' }] }],
  });

  async function revokeCli(args: readonly string[]): Promise<RevokeRun> {
    const spawnedAt = performance.now();
    const run = spawnPortcullis(['revoke', '-c', fleetConfig, ...args]);
    let exitedAt = 0;
    run.child.once('exit', () => (exitedAt = performance.now()));
    const ended = await run.ended;
    return { code: ended.code, stdout: run.stdout(), stderr: run.stderr(), spawnedAt, exitedAt };
  }

  async function readiness(gateway: GatewayProcess): Promise<{ status: number; body: { status: string; revocation?: { state: string; store: string; entries: number; staleSince?: string } } }> {
    const answer = await gateway.get('/__ready');
    return { status: answer.status, body: JSON.parse(answer.text) };
  }

  const untilState = (gateways: readonly GatewayProcess[], state: string): Promise<void> =>
    Promise.all(
      gateways.map((gateway) =>
        pollUntil(`${gateway.url} to report revocation state ${state}`, async () => ((await readiness(gateway)).body.revocation?.state === state ? true : undefined)),
      ),
    ).then(() => undefined);

  async function assertAll(gateways: readonly GatewayProcess[], bearer: string, status: number, code: string | undefined, why: string): Promise<void> {
    for (const gateway of gateways) {
      const answer = await gateway.get('/api', bearer);
      assert.equal(answer.status, status, `${why} (${gateway.url}): ${answer.text}`);
      if (code !== undefined) assert.equal(answer.code, code, `${why} (${gateway.url})`);
    }
  }

  /**
   * Polls every gateway with `bearer` from just before `portcullis revoke <args>` is spawned until
   * each answers 401 token_revoked, and returns when the last one did, measured from the command's
   * exit (0 when all three already refused before it exited), from its spawn, and from the moment
   * Redis delivered the published entry to a subscriber of the test's own.
   */
  async function measureRevocation(args: readonly string[], bearer: string, subject: string): Promise<{ fromExitMs: number; fromSpawnMs: number; fromPublishMs: number }> {
    const channel = await watchChannel(redis.port, 'portcullis:revocations', `"value":"${subject}"`);
    const giveUpAt = performance.now() + 15_000;
    const pollers = fleet.map(async (gateway) => {
      for (;;) {
        const answer = await gateway.get('/api', bearer);
        if (answer.status === 401) {
          assert.equal(answer.code, 'token_revoked', `${gateway.url}: ${answer.text}`);
          assert.match(String(answer.headers['www-authenticate']), /invalid_token/);
          return performance.now();
        }
        assert.equal(answer.status, 200, `before the revocation (${gateway.url}): ${answer.text}`);
        if (performance.now() > giveUpAt) throw new Error(`${gateway.url} still accepts the revoked token`);
        await sleep(POLL_INTERVAL_MS);
      }
    });
    const [refusedAt, run] = await Promise.all([Promise.all(pollers), revokeCli(args)]).finally(() => channel.close());
    assert.equal(run.code, 0, `portcullis revoke ${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stdout, /^revoked sub /);
    const publishedAt = await channel.arrived;
    const allAt = Math.max(...refusedAt);
    // Once refused, refused for good: entries are only ever added.
    await assertAll(fleet, bearer, 401, 'token_revoked', 'still revoked');
    return { fromExitMs: Math.max(0, allAt - run.exitedAt), fromSpawnMs: allAt - run.spawnedAt, fromPublishMs: Math.max(0, allAt - publishedAt) };
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-fleet-revocation-'));
    [redis, jwks, backend, key] = await Promise.all([startRedisServer({ appendOnly: true }), startJwksServer(), startBackendServer(), generateSigningKey('fleet-key')]);
    jwks.setKeys(jwksOf(key));
    fleetConfig = join(dir, 'fleet.json');
    writeFileSync(fleetConfig, JSON.stringify(configFor({})));
    const failClosedConfig = join(dir, 'fail-closed.json');
    writeFileSync(failClosedConfig, JSON.stringify(configFor({ fail_closed: true, max_staleness: '1s' })));
    const started = await Promise.allSettled([startGatewayProcess(fleetConfig), startGatewayProcess(fleetConfig), startGatewayProcess(fleetConfig), startGatewayProcess(failClosedConfig)]);
    for (const result of started) if (result.status === 'fulfilled') fleet.push(result.value);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    failClosed = fleet.pop();
    await untilState([...fleet, failClosed!], 'synced');
  });

  after(async () => {
    await Promise.all([...fleet, ...(failClosed ? [failClosed] : [])].map((gateway) => gateway.stop()));
    await Promise.all([redis?.close(), jwks?.close(), backend?.close()]);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('a revoked subject is refused by all three gateways within a second of `portcullis revoke` exiting', async (t: TestContext) => {
    const fromExit: number[] = [];
    const fromSpawn: number[] = [];
    const fromPublish: number[] = [];
    for (const sub of ROUNDS) {
      // Issued just now, as at a login right before the revocation: possibly in the same second.
      const bearer = await token(sub);
      if (sub === 'alice') aliceToken = bearer;
      await assertAll(fleet, bearer, 200, undefined, `${sub} before the revocation`);
      const measured = await measureRevocation(['--sub', sub], bearer, sub);
      fromExit.push(measured.fromExitMs);
      fromSpawn.push(measured.fromSpawnMs);
      fromPublish.push(measured.fromPublishMs);
      assert.ok(measured.fromExitMs < PROPAGATION_BOUND_MS, `${sub}: all three refused ${measured.fromExitMs.toFixed(1)} ms after the command exited`);
    }
    const exit = summary(fromExit);
    const spawn = summary(fromSpawn);
    const publish = summary(fromPublish);
    t.diagnostic(`propagation, Redis PUBLISH → all three 401: median ${publish.median.toFixed(1)} ms, max ${publish.max.toFixed(1)} ms (${fromPublish.map((ms) => ms.toFixed(1)).join(', ')})`);
    t.diagnostic(`propagation, revoke exit → all three 401: median ${exit.median.toFixed(1)} ms, max ${exit.max.toFixed(1)} ms (${fromExit.map((ms) => ms.toFixed(1)).join(', ')})`);
    t.diagnostic(`propagation, revoke spawn → all three 401: median ${spawn.median.toFixed(1)} ms, max ${spawn.max.toFixed(1)} ms (${fromSpawn.map((ms) => ms.toFixed(1)).join(', ')})`);
    // Other users are untouched.
    await assertAll(fleet, await token('dave'), 200, undefined, 'a subject nobody revoked');
  });

  it('--before T revokes the tokens issued before T, not those issued after', async () => {
    const t = nowSeconds() - 60;
    const [earlier, later] = await Promise.all([token('bob', t - 30), token('bob', t + 30)]);
    await assertAll(fleet, earlier, 200, undefined, 'bob before the revocation');
    const run = await revokeCli(['--sub', 'bob', '--before', String(t)]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`tokens issued before ${new Date(t * 1000).toISOString()}`));
    await Promise.all(
      fleet.map((gateway) => pollUntil(`${gateway.url} to refuse bob's earlier token`, async () => ((await gateway.get('/api', earlier)).status === 401 ? true : undefined), { intervalMs: POLL_INTERVAL_MS })),
    );
    await assertAll(fleet, earlier, 401, 'token_revoked', 'issued before T');
    await assertAll(fleet, later, 200, undefined, 'issued after T');
    await assertAll([failClosed!], earlier, 401, 'token_revoked', 'the fail-closed gateway shares the set');
  });

  it('a Redis crash keeps the last set enforced; after the restart a new revocation again reaches all three within a second', async (t: TestContext) => {
    const daveToken = await token('dave');
    await assertAll([failClosed!], daveToken, 200, undefined, 'fail_closed, Redis up');

    await redis.kill();
    const killedAt = performance.now();
    await untilState([...fleet, failClosed!], 'stale');

    // fail_closed off: the last set is enforced, everyone else keeps working.
    await assertAll(fleet, aliceToken, 401, 'token_revoked', 'revoked before the crash');
    await assertAll(fleet, daveToken, 200, undefined, 'not revoked, Redis down, fail_closed off');

    // fail_closed with max_staleness 1s: 503 once Redis has been gone for more than a second.
    const refused = await pollUntil(
      'the fail-closed gateway to refuse',
      async () => {
        const answer = await failClosed!.get('/api', daveToken);
        if (answer.status === 200) return undefined;
        return { answer, at: performance.now() };
      },
      { intervalMs: POLL_INTERVAL_MS },
    );
    assert.equal(refused.answer.status, 503, refused.answer.text);
    assert.equal(refused.answer.code, 'revocation_unavailable');
    assert.ok(refused.at - killedAt >= 1000, `refused only after max_staleness: ${(refused.at - killedAt).toFixed(0)} ms after the crash`);
    await assertAll([failClosed!], aliceToken, 401, 'token_revoked', 'a revoked token is still 401, not 503');
    const notReady = await readiness(failClosed!);
    assert.equal(notReady.status, 503);
    assert.equal(notReady.body.status, 'not_ready');
    assert.equal(notReady.body.revocation?.store, 'redis');
    assert.equal(notReady.body.revocation?.state, 'stale');
    assert.ok(notReady.body.revocation?.staleSince !== undefined, 'says since when');
    const fleetReady = await readiness(fleet[0]!);
    assert.equal(fleetReady.status, 200, 'without fail_closed the instance stays ready');
    assert.equal(fleetReady.body.revocation?.state, 'stale');

    // Same port, same data dir: the append-only file brings the revocations back.
    const restartedAt = performance.now();
    await redis.restart();
    await untilState([...fleet, failClosed!], 'synced');
    const reconnectMs = performance.now() - restartedAt;
    t.diagnostic(`Redis down ${(restartedAt - killedAt).toFixed(0)} ms; all four gateways synced again ${reconnectMs.toFixed(0)} ms after the restart (max_retry_backoff 1s)`);

    await assertAll([failClosed!], daveToken, 200, undefined, 'fail_closed, Redis back');
    assert.equal((await readiness(failClosed!)).status, 200);
    await assertAll([...fleet, failClosed!], aliceToken, 401, 'token_revoked', 'the reload from Redis still holds the old revocations');

    const ivanToken = await token('ivan');
    await assertAll(fleet, ivanToken, 200, undefined, 'ivan before the revocation');
    const measured = await measureRevocation(['--sub', 'ivan'], ivanToken, 'ivan');
    t.diagnostic(
      `after the reconnect: revoke exit → all three 401 in ${measured.fromExitMs.toFixed(1)} ms (PUBLISH → 401 ${measured.fromPublishMs.toFixed(1)} ms, spawn → 401 ${measured.fromSpawnMs.toFixed(1)} ms)`,
    );
    assert.ok(measured.fromExitMs < PROPAGATION_BOUND_MS, `ivan: all three refused ${measured.fromExitMs.toFixed(1)} ms after the command exited`);
    await assertAll(fleet, daveToken, 200, undefined, 'dave still works');
  });
});
