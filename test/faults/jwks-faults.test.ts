/**
 * A hostile or broken identity provider, end to end through the gateway
 * (security.md §3): the JWKS server down at start, down later, slow, answering
 * 500, garbage or huge bodies, rotating keys, and a refetch storm of unknown
 * kids. Key-set-level cases live in test/keys/remote.test.ts; these check what a
 * client of the gateway sees.
 *
 * Time is a manual clock wherever the gateway reads it (cooldowns, stale
 * bounds), and waits are on events (a request reaching the JWKS server, a held
 * answer released), never on sleeps. A fetch timeout shows in the answer: the
 * slow server holds its keys for 20 s, so an answer that needed them in time
 * proves the timeout cut the download.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateSigningKey, jwksOf, startJwksServer, type JwksServer, type JwksServerMode, type TestSigningKey } from '../support/jwks-server.js';
import { ManualClock } from '../support/clock.js';
import { freshToken, startFaultRig, type FaultRig } from './rig.js';

/** While no keys are usable, a miss may download once per second (NO_KEYS_RETRY_MS). */
const NO_KEYS_RETRY_MS = 1000;

let keyA: TestSigningKey;
let keyB: TestSigningKey;
let stranger: TestSigningKey;

before(async () => {
  [keyA, keyB, stranger] = await Promise.all([generateSigningKey('key-a'), generateSigningKey('key-b'), generateSigningKey('key-x')]);
});

const open: { close(): Promise<void> }[] = [];
after(async () => {
  for (const item of open.reverse()) await item.close();
});

async function jwksWith(...keys: TestSigningKey[]): Promise<JwksServer> {
  const server = await startJwksServer();
  server.setKeys(jwksOf(...keys));
  open.push(server);
  return server;
}

async function rig(options: Parameters<typeof startFaultRig>[0]): Promise<FaultRig> {
  const started = await startFaultRig(options);
  open.push(started);
  return started;
}

function assertKeysUnavailable(answer: { status: number; body: string; headers: Record<string, unknown> }): void {
  assert.equal(answer.status, 503, answer.body);
  assert.equal(JSON.parse(answer.body).code, 'keys_unavailable');
  assert.equal(answer.headers['www-authenticate'], undefined);
}

describe('JWKS faults through the gateway', () => {
  it('down at start: the gateway starts, answers 503 keys_unavailable, and recovers without a restart', async () => {
    const clock = new ManualClock();
    const jwks = await jwksWith(keyA);
    const url = jwks.url('/jwks');
    await jwks.setMode('down');
    const gw = await rig({ validator: { alg: 'RS256', jwk_url: url }, clock });
    assert.equal(gw.status().loaded, false);
    assert.equal(gw.status().lastError, 'connection refused');

    for (let i = 0; i < 3; i++) assertKeysUnavailable(await gw.get('/p', await freshToken(keyA)));
    // Without a token the answer does not depend on keys.
    assert.equal((await gw.get('/p')).status, 401);
    assert.equal(gw.backend.requests.length, 0);

    await jwks.setMode('ok');
    clock.advance(NO_KEYS_RETRY_MS);
    assert.equal((await gw.get('/p', await freshToken(keyA))).status, 200, 'no recovery after the JWKS came up');
    assert.equal(gw.backend.requests.length, 1);
    assert.equal(gw.status().loaded, true);
  });

  it('down later: stale keys keep working, unknown kids are 401 (not 503), and past jwk_max_stale the answer is 503 until it recovers', async () => {
    const clock = new ManualClock();
    const jwks = await jwksWith(keyA);
    const gw = await rig({ validator: { alg: 'RS256', jwk_url: jwks.url('/jwks'), jwk_max_stale: '3m' }, clock });
    assert.equal((await gw.get('/p', await freshToken(keyA))).status, 200);
    await jwks.setMode('down');
    // Past the cooldown an unknown kid makes the set download again; that download fails, so the keys in use are stale.
    clock.advance(31_000);
    const unknown = await gw.get('/p', await freshToken(stranger));
    assert.equal(unknown.status, 401);
    assert.equal(JSON.parse(unknown.body).code, 'key_not_found');
    assert.equal(gw.status().lastError, 'connection refused');
    assert.equal((await gw.get('/p', await freshToken(keyA))).status, 200, 'stale keys stopped working');

    clock.advance(3 * 60_000);
    assertKeysUnavailable(await gw.get('/p', await freshToken(keyA)));
    await jwks.setMode('ok');
    clock.advance(NO_KEYS_RETRY_MS);
    assert.equal((await gw.get('/p', await freshToken(keyA))).status, 200, 'no recovery after the stale bound');
  });

  it('slow: the fetch timeout bounds startup and every request while no keys are loaded', async () => {
    const jwks = await jwksWith(keyA);
    await jwks.setMode('slow', { delayMs: 20_000 });
    const gw = await rig({ validator: { alg: 'RS256', jwk_url: jwks.url('/jwks'), jwk_fetch_timeout: '400ms' } });
    // ready() resolved although the server answers only after 20 s: the timeout cut the download.
    assert.match(gw.status().lastError ?? '', /timeout/);
    assert.equal(gw.status().loaded, false);

    // A request that waited for the slow answer would get the keys and a 200.
    const answers = await Promise.all(Array.from({ length: 20 }, async () => gw.get('/p', await freshToken(keyA))));
    for (const answer of answers) assertKeysUnavailable(answer);
  });

  it('a JWKS that drips its body byte by byte is cut at the fetch timeout, not when the body ends', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const body = JSON.stringify(jwksOf(keyA));
      let sent = 0;
      // One byte every 50 ms: each gap is far below the timeout, the whole body far above it.
      const timer = setInterval(() => {
        if (sent >= body.length || res.destroyed) {
          clearInterval(timer);
          res.end();
          return;
        }
        res.write(body[sent++]!);
      }, 50);
      res.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    open.push({
      close: () => {
        server.closeAllConnections();
        return new Promise<void>((resolve) => server.close(() => resolve()));
      },
    });
    const gw = await rig({ validator: { alg: 'RS256', jwk_url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`, jwk_fetch_timeout: '400ms' } });
    // The whole body would load (and give a 200 below) had the timeout waited for it to end.
    assert.match(gw.status().lastError ?? '', /timeout/);
    assertKeysUnavailable(await gw.get('/p', await freshToken(keyA)));
  });

  it('slow after loading: known kids are answered at once, an unknown kid waits for the download, at most the fetch timeout', async () => {
    const clock = new ManualClock();
    const jwks = await jwksWith(keyA);
    const gw = await rig({ validator: { alg: 'RS256', jwk_url: jwks.url('/jwks'), jwk_fetch_timeout: '400ms' }, clock });
    await jwks.setMode('hold');
    clock.advance(31_000);
    const downloading = jwks.nextRequest();
    let unknownSettled = false;
    const unknownAnswer = gw.get('/p', await freshToken(stranger)).finally(() => (unknownSettled = true));
    await downloading;
    const known = await gw.get('/p', await freshToken(keyA));
    assert.equal(known.status, 200);
    assert.equal(unknownSettled, false, 'a known kid waited for the download');
    // The held answer is never released: only the fetch timeout can end the download.
    const unknown = await unknownAnswer;
    assert.equal(unknown.status, 401);
    assert.equal(JSON.parse(unknown.body).code, 'key_not_found');
    assert.match(gw.status().lastError ?? '', /timeout/);
  });

  it('500, garbage, huge bodies, wrong content types and redirect loops are ignored and the keys are kept', async () => {
    const clock = new ManualClock();
    const jwks = await jwksWith(keyA);
    const gw = await rig({ validator: { alg: 'RS256', jwk_url: jwks.url('/jwks') }, clock });
    const faults: [JwksServerMode, RegExp][] = [
      ['status500', /status 500/],
      ['garbage', /not JSON/],
      ['huge', /exceeds/],
      ['hugeContentLength', /exceeds/],
      ['wrongContentType', /content type/],
      ['redirectLoop', /redirect loop/],
    ];
    for (const [mode, error] of faults) {
      await jwks.setMode(mode);
      const fetches = gw.status().fetchCount;
      // Past the cooldown, an unknown kid may trigger a download: the faulty one.
      clock.advance(31_000);
      const unknown = await gw.get('/p', await freshToken(stranger));
      assert.equal(unknown.status, 401, mode);
      assert.equal(gw.status().fetchCount, fetches + 1, `${mode}: no download was attempted`);
      assert.match(gw.status().lastError ?? '', error, mode);
      assert.equal(gw.status().loaded, true, mode);
      assert.equal((await gw.get('/p', await freshToken(keyA))).status, 200, `${mode}: the kept keys stopped working`);
    }
  });

  it('hostile key-set contents: bad entries are skipped, bad documents are ignored, the good keys keep working', async () => {
    const clock = new ManualClock();
    const jwks = await jwksWith(keyA);
    const gw = await rig({ validator: { alg: 'RS256', jwk_url: jwks.url('/jwks') }, clock });
    const hostileEntries: unknown[] = [
      null, 1, 'key', [], {}, { kty: {} }, { kty: 'RSA', n: 123, e: 'AQAB' }, { kty: 'RSA', n: 'AQAB', e: 'AQAB', kid: 'tiny' },
      { kty: 'EC', crv: 'P-256', x: 'A'.repeat(5000), y: 'B' }, { kty: 'oct', k: '' }, { kty: 'OKP', crv: 'X25519', x: 'AA' },
      { ...keyB.publicJwk, use: 'enc' }, { ...keyB.publicJwk, kid: '' }, { ...keyB.publicJwk, kid: { $ne: 1 } }, { ...keyB.publicJwk, alg: 'none' },
    ];
    const protoKid = { kty: 'RSA', kid: '__proto__', n: keyB.publicJwk.n, e: keyB.publicJwk.e, d: 'private-member-should-be-ignored' };
    jwks.setKeys([...hostileEntries, protoKid, keyA.publicJwk] as never);
    clock.advance(31_000);
    assert.equal((await gw.get('/p', await freshToken(stranger))).status, 401);
    assert.equal(gw.status().lastError, undefined, 'a document with one good key failed to load');
    assert.equal(gw.status().keyCount, 2, 'the good key and the __proto__-kid RSA key');
    assert.equal((await gw.get('/p', await freshToken(keyA))).status, 200);
    assert.equal((await gw.get('/p', await freshToken(keyB))).status, 401, 'a key listed for encryption, or with a bad kid or alg, verified');
    assert.equal((await gw.get('/p', await freshToken(keyB, '__proto__'))).status, 200, 'kid "__proto__" is an ordinary key id');

    // Whole documents that are unusable are ignored and the loaded keys stay.
    for (const keys of [hostileEntries, Array.from({ length: 101 }, () => keyA.publicJwk)]) {
      jwks.setKeys(keys as never);
      clock.advance(31_000);
      assert.equal((await gw.get('/p', await freshToken(stranger))).status, 401);
      assert.match(gw.status().lastError ?? '', /no usable key|at most 100/);
      assert.equal((await gw.get('/p', await freshToken(keyA))).status, 200);
    }
  });

  it('rotation: a new kid is accepted; a removed kid is refused after the next refresh, cached tokens included', async () => {
    const clock = new ManualClock();
    const jwks = await jwksWith(keyA);
    const gw = await rig({ validator: { alg: 'RS256', jwk_url: jwks.url('/jwks'), failed_jwk_key_cooldown: '1s' }, clock });
    const oldToken = await freshToken(keyA);
    assert.equal((await gw.get('/p', oldToken)).status, 200);
    assert.equal((await gw.get('/p', oldToken)).status, 200, 'served from the verified-token cache');

    jwks.setKeys(jwksOf(keyA, keyB));
    clock.advance(1000);
    const newToken = await freshToken(keyB);
    assert.equal((await gw.get('/p', newToken)).status, 200, 'the new kid was not fetched on demand');

    jwks.setKeys(jwksOf(keyB));
    const fetches = gw.status().fetchCount;
    // The next refresh (here caused by an unknown kid past the cooldown) drops key-a.
    clock.advance(1000);
    assert.equal((await gw.get('/p', await freshToken(stranger))).status, 401);
    assert.equal(gw.status().fetchCount, fetches + 1);
    for (const token of [oldToken, await freshToken(keyA)]) {
      const answer = await gw.get('/p', token);
      assert.equal(answer.status, 401, 'a token of the removed key still passes');
      assert.equal(JSON.parse(answer.body).code, 'key_not_found');
    }
    assert.equal((await gw.get('/p', newToken)).status, 200);
  });

  it('refetch storm: 200 concurrent requests with 200 distinct unknown kids cause at most one JWKS download per cooldown', async () => {
    const clock = new ManualClock();
    const jwks = await jwksWith(keyA);
    const gw = await rig({ validator: { alg: 'RS256', jwk_url: jwks.url('/jwks') }, clock });
    const storm = async (label: string) => {
      const tokens = await Promise.all(Array.from({ length: 200 }, (_, i) => freshToken(stranger, `${label}-unknown-${i}`)));
      const good = await freshToken(keyA);
      const [answers, goodAnswer] = await Promise.all([Promise.all(tokens.map((token) => gw.get('/p', token))), gw.get('/p', good)]);
      for (const answer of answers) {
        assert.equal(answer.status, 401);
        assert.equal(JSON.parse(answer.body).code, 'key_not_found');
      }
      // Bad kids never lock out a good one.
      assert.equal(goodAnswer.status, 200);
    };

    // Past the cooldown one download is allowed, and all 200 misses share it.
    clock.advance(31_000);
    let before = jwks.requestCount('/jwks');
    await storm('first');
    assert.equal(jwks.requestCount('/jwks') - before, 1, 'downloads for a storm past the cooldown');
    // Inside the cooldown, none.
    before = jwks.requestCount('/jwks');
    await storm('second');
    assert.equal(jwks.requestCount('/jwks') - before, 0, 'downloads for a storm inside the cooldown');
    clock.advance(31_000);
    before = jwks.requestCount('/jwks');
    await storm('third');
    assert.ok(jwks.requestCount('/jwks') - before <= 1);
    assert.equal(gw.backend.requests.length, 3);
  });

  it('a client that leaves while its key is being fetched never reaches the backend', async () => {
    const jwks = await jwksWith(keyA);
    await jwks.setMode('hold');
    // The gateway reads the clock for each request it handles; after startup nothing else does while the download is held.
    let reached!: () => void;
    const atGateway = new Promise<void>((resolve) => (reached = resolve));
    let armed = false;
    const clock = {
      now(): number {
        if (armed) reached();
        return Date.now();
      },
    };
    const downloading = jwks.nextRequest();
    const gw = await rig({ validator: { alg: 'RS256', jwk_url: jwks.url('/jwks') }, noWait: true, clock });
    await downloading;
    armed = true;
    const controller = new AbortController();
    const pending = gw.client.request({ path: '/p', method: 'GET', headers: { authorization: `Bearer ${await freshToken(keyA)}` }, signal: controller.signal });
    await atGateway;
    controller.abort();
    await assert.rejects(pending);
    jwks.release();
    await gw.gateway.ready();
    assert.equal(gw.status().loaded, true);
    // Had the abandoned request been forwarded, it would have gone out when the keys arrived, before this one.
    assert.equal((await gw.get('/p', await freshToken(keyA))).status, 200);
    assert.deepEqual(gw.backend.requests.length, 1, 'the abandoned request was forwarded');
  });
});
