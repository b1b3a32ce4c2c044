/**
 * Key rotation against the refetch-storm rules (security.md §3, src/keys/remote.ts).
 * A key published and used at once must be fetched on its first request, or
 * within the one-second floor after the previous download; a kid that a later
 * download lacked is not retried for `failed_jwk_key_cooldown` (KrakenD's
 * meaning); a storm of invented kids costs one download per second and repeated
 * kids none; known kids are never held up. Key-set cases run on an injected
 * clock against a real JWKS server; the last case is what the audit measured,
 * end to end through the gateway.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteKeySet, MISS_DOWNLOAD_FLOOR_MS, type RemoteKeySetOptions } from '../../src/keys/remote.js';
import { resolveKey } from '../../src/keys/resolve-key.js';
import type { KeySet } from '../../src/keys/key-set.js';
import type { KeyReference } from '../../src/keys/select.js';
import { AuthError } from '../../src/jwt/errors.js';
import { generateSigningKey, jwksOf, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { freshToken, startFaultRig, type FaultRig } from '../faults/rig.js';
import { ManualClock } from '../support/clock.js';

class TestClock {
  constructor(public t = 1_700_000_000_000) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

const byKid = (kid: string): KeyReference => ({ by: 'kid', value: kid, identifier: `kid:${kid}` });

let keyA: TestSigningKey;
let keyC: TestSigningKey;
let server: JwksServer;
const sets: KeySet[] = [];

before(async () => {
  [keyA, keyC] = await Promise.all([generateSigningKey('a', 'ES256'), generateSigningKey('c', 'ES256')]);
  server = await startJwksServer();
});

after(async () => {
  for (const set of sets) set.close();
  await server.close();
});

/** A set loaded with key `a` only, on its own clock, with the default 30 s cooldown. */
async function loadedSet(options: Partial<RemoteKeySetOptions> = {}): Promise<{ set: KeySet; clock: TestClock; downloads: () => number }> {
  server.setKeys(jwksOf(keyA));
  const clock = new TestClock();
  const set = createRemoteKeySet({ url: server.url(), scheduleRefresh: false, clock, ...options });
  sets.push(set);
  await set.ready();
  assert.ok(set.current()?.byKid.has('a'));
  const base = server.requestCount('/jwks') - 1;
  return { set, clock, downloads: () => server.requestCount('/jwks') - base };
}

async function keyNotFound(set: KeySet, kid: string): Promise<void> {
  await assert.rejects(
    async () => resolveKey(set, byKid(kid), 'ES256'),
    (error: unknown) => error instanceof AuthError && error.code === 'key_not_found',
  );
}

describe('rotation: a new kid is fetched promptly', () => {
  test('a kid published seconds after the last download is found on its first request', async () => {
    const { set, clock, downloads } = await loadedSet();
    server.setKeys(jwksOf(keyA, keyC));
    clock.advance(2_000);
    const key = await resolveKey(set, byKid('c'), 'ES256');
    assert.equal(key, set.current()!.byKid.get('c'));
    assert.equal(downloads(), 2, 'one download for the new kid');
  });

  test('inside the one-second floor a new kid is refused without a download, and found once the floor has passed', async () => {
    const { set, clock, downloads } = await loadedSet();
    server.setKeys(jwksOf(keyA, keyC));
    clock.advance(MISS_DOWNLOAD_FLOOR_MS / 2);
    assert.equal(set.status().coolingDown, true);
    await keyNotFound(set, 'c');
    assert.equal(downloads(), 1, 'no download inside the floor');

    clock.advance(MISS_DOWNLOAD_FLOOR_MS / 2);
    assert.equal(set.status().coolingDown, false);
    // The refusal inside the floor proved nothing (no download had looked since it was asked), so it is not remembered.
    assert.ok(await resolveKey(set, byKid('c'), 'ES256'));
    assert.equal(downloads(), 2);
  });

  test('a download that started before a kid was asked for does not make it unknown for the cooldown', async () => {
    const { set, clock, downloads } = await loadedSet();
    clock.advance(5_000);
    const starter = set.refreshForMiss('kid:x');
    clock.advance(10);
    // Joins the download already in flight, which may have left before the key was published.
    const joiner = set.refreshForMiss('kid:c');
    await Promise.all([starter, joiner]);
    assert.equal(downloads(), 2);
    assert.equal(set.current()!.byKid.has('c'), false);

    server.setKeys(jwksOf(keyA, keyC));
    clock.advance(MISS_DOWNLOAD_FLOOR_MS);
    await keyNotFound(set, 'x');
    assert.equal(downloads(), 2, 'x, asked when that download started, is remembered');
    assert.ok(await resolveKey(set, byKid('c'), 'ES256'), 'c, asked after it started, is not');
    assert.equal(downloads(), 3);
  });
});

describe('failed_jwk_key_cooldown: how long a kid a download lacked is not retried', () => {
  test('counted from the start of the download that lacked it; known kids answer throughout', async () => {
    const { set, clock, downloads } = await loadedSet({ cooldownMs: 30_000 });
    clock.advance(5_000);
    await keyNotFound(set, 'c');
    assert.equal(downloads(), 2, 'the first miss downloads');

    server.setKeys(jwksOf(keyA, keyC));
    clock.advance(29_999);
    await keyNotFound(set, 'c');
    assert.equal(downloads(), 2, 'inside the cooldown: the negative cache answers');
    const known = resolveKey(set, byKid('a'), 'ES256');
    assert.ok(!(known instanceof Promise), 'a known kid is answered synchronously');

    clock.advance(1);
    assert.ok(await resolveKey(set, byKid('c'), 'ES256'));
    assert.equal(downloads(), 3, 'after the cooldown: retried');
  });
});

describe('storms', () => {
  test('1,000 distinct invented kids over 10 s cost one download per second; repeating them costs none', async () => {
    const { set, clock, downloads } = await loadedSet();
    clock.advance(30_000);
    // 40 bursts of 25 concurrent kids, 250 ms apart.
    const bursts = Array.from({ length: 40 }, (_, k) => Array.from({ length: 25 }, (_, i) => `forged-${k}-${i}`));
    for (const [k, burst] of bursts.entries()) {
      if (k > 0) clock.advance(250);
      const answers = await Promise.allSettled(burst.map(async (kid) => resolveKey(set, byKid(kid), 'ES256')));
      for (const answer of answers) {
        assert.equal(answer.status, 'rejected');
        assert.equal(((answer as PromiseRejectedResult).reason as AuthError).code, 'key_not_found');
      }
      assert.ok(!(resolveKey(set, byKid('a'), 'ES256') instanceof Promise), `burst ${k}: the known kid waited`);
    }
    // Downloads at 0 s, 1 s, … 9 s of the storm, besides the first load.
    assert.equal(downloads(), 1 + 10);

    clock.advance(MISS_DOWNLOAD_FLOOR_MS);
    // Bursts 0–36 were asked when or before a download started, so that download's lack of them is remembered.
    for (const burst of bursts.slice(0, 37)) await Promise.all(burst.map((kid) => keyNotFound(set, kid)));
    assert.equal(downloads(), 11, 'repeated kids downloaded again');

    // Bursts 37–39 came after the storm's last download: the first of them downloads once, settling all three.
    await Promise.all(bursts.slice(37).flat().map((kid) => keyNotFound(set, kid)));
    assert.equal(downloads(), 12);
    clock.advance(MISS_DOWNLOAD_FLOOR_MS);
    await Promise.all(bursts.flat().map((kid) => keyNotFound(set, kid)));
    assert.equal(downloads(), 12, 'all 1,000 are remembered now');

    // The floor is open: a kid never asked for still downloads.
    await keyNotFound(set, 'brand-new');
    assert.equal(downloads(), 13);
  });

  test('200 concurrent distinct kids in one instant share one download, and all of them are remembered', async () => {
    const { set, clock, downloads } = await loadedSet();
    clock.advance(30_000);
    const kids = Array.from({ length: 200 }, (_, i) => `instant-${i}`);
    await Promise.all(kids.map((kid) => keyNotFound(set, kid)));
    assert.equal(downloads(), 2);
    clock.advance(MISS_DOWNLOAD_FLOOR_MS);
    await Promise.all(kids.map((kid) => keyNotFound(set, kid)));
    assert.equal(downloads(), 2, 'a repeated kid downloaded again');
    // Not the floor: it is open, and a kid never asked for downloads.
    await keyNotFound(set, 'instant-new');
    assert.equal(downloads(), 3);
  });
});

describe('rotation through the gateway', () => {
  let jwks: JwksServer;
  let gw: FaultRig;
  let oldKey: TestSigningKey;
  let newKey: TestSigningKey;
  // The gateway's time stands still between advances; tokens are issued by it (freshToken's clock), so a slow
  // run cannot make their iat look like the future.
  const clock = new ManualClock();

  before(async () => {
    [oldKey, newKey] = await Promise.all([generateSigningKey('gw-old'), generateSigningKey('gw-new')]);
    jwks = await startJwksServer();
    jwks.setKeys(jwksOf(oldKey));
    gw = await startFaultRig({ validator: { alg: 'RS256', jwk_url: jwks.url('/jwks') }, clock });
  });

  after(async () => {
    await gw.close();
    await jwks.close();
  });

  test('rotate the key and use it at once: the first request with the new kid is 200', async () => {
    assert.equal((await gw.get('/p', await freshToken(oldKey, oldKey.kid, clock))).status, 200);
    const fetches = gw.status().fetchCount;
    // Seconds after the last download, well inside the 30 s failed_jwk_key_cooldown.
    clock.advance(3_000);
    jwks.setKeys(jwksOf(oldKey, newKey));
    const answer = await gw.get('/p', await freshToken(newKey, newKey.kid, clock));
    assert.equal(answer.status, 200, answer.body);
    assert.equal(gw.status().fetchCount, fetches + 1);
    assert.equal((await gw.get('/p', await freshToken(oldKey, oldKey.kid, clock))).status, 200, 'the old key still verifies');

    // A kid the IdP does not list: 401, and remembered, so asking again costs nothing.
    const stranger = await generateSigningKey('gw-unknown');
    clock.advance(3_000);
    for (let i = 0; i < 5; i++) {
      const refused = await gw.get('/p', await freshToken(stranger, stranger.kid, clock));
      assert.equal(refused.status, 401);
      assert.equal(JSON.parse(refused.body).code, 'key_not_found');
      assert.match(String(refused.headers['www-authenticate']), /invalid_token/);
    }
    assert.equal(gw.status().fetchCount, fetches + 2);
  });
});
