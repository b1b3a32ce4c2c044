import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createHash, X509Certificate } from 'node:crypto';
import { createRemoteKeySet, describeUrl, type RemoteKeySetOptions } from '../../src/keys/remote.js';
import { createDiscoveryKeySet } from '../../src/keys/discovery.js';
import { fetchJson, JwksFetchError, PIN_MISMATCH_MESSAGE } from '../../src/keys/fetch-jwks.js';
import { assertJwksUrlAllowed, discoveryUrlForIssuer } from '../../src/keys/remote-source.js';
import type { KeySet } from '../../src/keys/key-set.js';
import {
  DISCOVERY_PATH,
  generateSigningKey,
  jwksOf,
  startJwksServer,
  type JwksServer,
  type TestSigningKey,
} from '../support/jwks-server.js';
import { assertDistBuilt, spawnNode } from '../support/cli.js';
import { ManualClock } from '../support/clock.js';
import { createMemoryLogger } from '../support/logger.js';
import { fromRoot } from '../support/repo-root.js';

let keyA: TestSigningKey;
let keyB: TestSigningKey;
let keyC: TestSigningKey;
let server: JwksServer;
const sets: KeySet[] = [];

function remote(options: Partial<RemoteKeySetOptions> & { clock?: ManualClock } = {}): KeySet {
  const set = createRemoteKeySet({ url: server.url(), scheduleRefresh: false, clock: new ManualClock(), ...options });
  sets.push(set);
  return set;
}

async function withFreshServer(): Promise<void> {
  await server.setMode('ok');
  server.setKeys(jwksOf(keyA, keyB));
}

before(async () => {
  [keyA, keyB, keyC] = await Promise.all([generateSigningKey('a', 'ES256'), generateSigningKey('b', 'ES256'), generateSigningKey('c', 'ES256')]);
  server = await startJwksServer();
});

after(async () => {
  for (const set of sets) set.close();
  await server.close();
});

describe('remote key set: loading', () => {
  test('first load serves the keys of a {"keys": [...]} document', async () => {
    await withFreshServer();
    const logger = createMemoryLogger();
    const set = remote({ logger });
    assert.equal(set.current(), undefined, 'nothing before the first download ends');
    await set.ready();
    const index = set.current();
    assert.ok(index);
    assert.deepEqual([...index.byKid.keys()].sort(), ['a', 'b']);
    const status = set.status();
    assert.equal(status.loaded, true);
    assert.equal(status.keyCount, 2);
    assert.equal(status.fetchCount, 1);
    assert.equal(status.lastError, undefined);
    assert.equal(status.label, server.url());
    assert.ok(!logger.text().includes(String(keyA.publicJwk.x)), 'no key material in logs');
  });

  test('a Descope-style bare array loads by default and is refused when acceptBareArray is false', async () => {
    await withFreshServer();
    await server.setMode('bareArray');
    const set = remote();
    await set.ready();
    assert.deepEqual([...set.current()!.byKid.keys()].sort(), ['a', 'b']);

    const strict = remote({ acceptBareArray: false });
    await strict.ready();
    assert.equal(strict.current(), undefined);
    assert.match(strict.status().lastError ?? '', /bare array/);
  });

  test('down at start: ready() still resolves, nothing is served, and a miss recovers at most once per second', async () => {
    await withFreshServer();
    await server.setMode('down');
    const clock = new ManualClock();
    const set = remote({ clock });
    await set.ready();
    assert.equal(set.current(), undefined);
    assert.equal(set.status().loaded, false);
    assert.equal(set.status().lastError, 'connection refused');

    await server.setMode('ok');
    assert.equal(await set.refreshForMiss('kid:a'), undefined, 'within 1 s of the last attempt: no download');
    assert.equal(set.status().fetchCount, 1);
    clock.advance(1000);
    const index = await set.refreshForMiss('kid:a');
    assert.ok(index?.byKid.has('a'));
    assert.equal(set.status().fetchCount, 2);
  });

  test('down at start: the background timer retries and recovers', async () => {
    await withFreshServer();
    await server.setMode('down');
    const logger = createMemoryLogger();
    const set = remote({ scheduleRefresh: true, retryIntervalMs: 20, clock: undefined, logger });
    await set.ready();
    assert.equal(set.current(), undefined);
    await server.setMode('ok');
    // No request asks for keys: only the retry timer can load them.
    await logger.waitFor((line) => line.msg === '[KeySet] JWKS loaded');
    assert.ok(set.current()?.byKid.has('a'));
  });

  test('a slow server is aborted by the timeout', async () => {
    await withFreshServer();
    await server.setMode('hold');
    const set = remote({ timeoutMs: 200 });
    // The server never answers: only the timeout can end the download.
    await set.ready();
    assert.equal(set.status().lastError, 'timeout after 200 ms');
    assert.equal(set.current(), undefined);
    await server.setMode('ok');
  });
});

describe('remote key set: failures keep the previous keys', () => {
  const cases = [
    { mode: 'status500', error: 'status 500' },
    { mode: 'wrongContentType', error: 'content type text/html' },
    { mode: 'garbage', error: 'body is not JSON' },
    { mode: 'huge', error: 'body exceeds 1048576 bytes' },
    { mode: 'hugeContentLength', error: 'body exceeds 1048576 bytes' },
    { mode: 'redirectLoop', error: 'redirect loop' },
    { mode: 'down', error: 'connection refused' },
  ] as const;

  for (const { mode, error } of cases) {
    test(`${mode}: the refresh fails with "${error}" and the old keys stay`, async () => {
      await withFreshServer();
      const clock = new ManualClock();
      const logger = createMemoryLogger();
      const set = remote({ clock, logger });
      await set.ready();
      const before = set.current();
      assert.ok(before);

      await server.setMode(mode);
      clock.advance(30_000);
      const after = await set.refreshForMiss('kid:unknown');
      assert.equal(after, before, 'the previous index is kept');
      const status = set.status();
      assert.equal(status.fetchCount, 2);
      assert.equal(status.lastError, error);
      assert.equal(status.lastErrorAt, clock.now());
      assert.equal(status.loaded, true);
      assert.ok(logger.lines.some((line) => line.text.includes(error) && line.text.includes(server.url())));
      assert.ok(!logger.text().includes('not a key set') && !logger.text().includes('this is not json'), 'no body in logs');
      await server.setMode('ok');
    });
  }

  test('an error is not cached: the next allowed download succeeds', async () => {
    await withFreshServer();
    await server.setMode('status500');
    const clock = new ManualClock();
    const set = remote({ clock });
    await set.ready();
    assert.equal(set.current(), undefined);
    await server.setMode('ok');
    clock.advance(1000);
    assert.ok(await set.refreshForMiss('kid:a'));
  });

  test('past maxStaleMs with failing downloads the set serves nothing; one success restores it', async () => {
    await withFreshServer();
    const clock = new ManualClock();
    const set = remote({ clock, maxStaleMs: 60_000, cooldownMs: 30_000 });
    await set.ready();
    await server.setMode('status500');
    clock.advance(61_000);
    assert.ok(set.current(), 'old keys are not dropped merely for age while no download has failed');
    assert.equal(await set.refreshForMiss('kid:x'), undefined);
    assert.equal(set.current(), undefined);
    assert.equal(set.status().loaded, false);

    await server.setMode('ok');
    clock.advance(1000);
    assert.ok((await set.refreshForMiss('kid:a'))?.byKid.has('a'), 'no usable keys: retry after 1 s, not after the cooldown');
  });
});

describe('content types', () => {
  test('application/json (with parameters) and application/jwk-set+json are accepted; other types are not', async () => {
    await withFreshServer();
    try {
      for (const type of ['application/json; charset=utf-8', 'Application/JSON', 'application/jwk-set+json']) {
        server.setContentType(type);
        const document = (await fetchJson({ url: server.url() })) as { keys: unknown[] };
        assert.equal(document.keys.length, 2, type);
      }
      for (const [type, reason] of [
        ['application/jsonx', 'content type application/jsonx'],
        ['application/problem+json', 'content type application/problem+json'],
        ['text/plain', 'content type text/plain'],
      ]) {
        server.setContentType(type!);
        await assert.rejects(fetchJson({ url: server.url() }), { name: 'JwksFetchError', message: reason });
      }
    } finally {
      server.setContentType('application/json');
    }
  });
});

describe('URL rules', () => {
  test('http:// is refused for non-loopback hosts unless insecure is allowed', async () => {
    assert.throws(() => assertJwksUrlAllowed('http://idp.example.com/jwks'), /must use https/);
    assert.throws(() => createRemoteKeySet({ url: 'http://idp.example.com/jwks' }), /must use https/);
    await assert.rejects(fetchJson({ url: 'http://idp.example.com/jwks' }), (error: unknown) => error instanceof JwksFetchError && /must use https/.test(error.message));
    assert.doesNotThrow(() => assertJwksUrlAllowed('http://idp.example.com/jwks', true));
    for (const url of ['http://127.0.0.1:1/x', 'http://127.10.0.3/x', 'http://[::1]:8080/x', 'http://localhost/x', 'https://idp.example.com/jwks']) {
      assert.doesNotThrow(() => assertJwksUrlAllowed(url), url);
    }
    assert.throws(() => assertJwksUrlAllowed('ftp://idp.example.com/jwks', true), /must use https/);
    assert.throws(() => assertJwksUrlAllowed('not a url'), /invalid JWKS URL/);
    assert.throws(() => assertJwksUrlAllowed('https://user:secret@idp.example.com/jwks'), (error: Error) => !error.message.includes('secret'));
  });
});

describe('remote key set: rotation and storms', () => {
  test('rotation: a new kid is found on a miss; a removed key is retired; an unchanged key keeps its identity', async () => {
    await withFreshServer();
    const clock = new ManualClock();
    const set = remote({ clock });
    await set.ready();
    const first = set.current()!;
    const oldA = first.byKid.get('a')!;
    const oldB = first.byKid.get('b')!;

    server.setKeys(jwksOf(keyA, keyC));
    clock.advance(30_000);
    const second = await set.refreshForMiss('kid:c');
    assert.ok(second);
    assert.ok(second.byKid.has('c'));
    assert.equal(second.byKid.has('b'), false);
    assert.equal(oldB.retired, true);
    assert.equal(second.byKid.get('a'), oldA, 'same object');
    assert.equal(oldA.retired, false);
  });

  test('storm: 200 concurrent misses with distinct kids cause one download; then the cooldown holds', async () => {
    await withFreshServer();
    const clock = new ManualClock();
    const set = remote({ clock, cooldownMs: 30_000 });
    await set.ready();
    const before = server.requestCount();

    assert.equal(set.status().coolingDown, true);
    assert.ok(await set.refreshForMiss('kid:early'), 'inside the cooldown: the current keys, no download');
    assert.equal(server.requestCount(), before);

    clock.advance(30_000);
    assert.equal(set.status().coolingDown, false);
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => set.refreshForMiss(`kid:forged-${i}`)));
    assert.equal(server.requestCount() - before, 1, 'exactly one download');
    assert.ok(results.every((index) => index === results[0] && index !== undefined));

    clock.advance(29_999);
    await set.refreshForMiss('kid:forged-199');
    assert.equal(server.requestCount() - before, 1, 'inside the cooldown: no download');
    assert.ok(set.current()?.byKid.has('a'), 'known kids still resolve while cooling down');

    clock.advance(1);
    await set.refreshForMiss('kid:yet-another');
    assert.equal(server.requestCount() - before, 2, 'after the cooldown: one more download');
    assert.equal(set.status().fetchCount, 3);
  });

  test('negative cache: a repeated unknown kid is answered at once, without waiting for an in-flight download', async () => {
    await withFreshServer();
    const clock = new ManualClock();
    const set = remote({ clock, scheduleRefresh: true, refreshIntervalMs: 30 });
    await set.ready();
    clock.advance(30_000);
    await set.refreshForMiss('kid:forged'); // downloads, and remembers the miss for one cooldown

    const refreshing = server.nextRequest();
    await server.setMode('hold');
    await refreshing;
    // A background refresh is in flight, and the server holds it until released.
    assert.ok((await set.refreshForMiss('kid:forged'))?.byKid.has('a'), 'the negative cache answered with the current keys');
    let answered = false;
    const waiting = set.refreshForMiss('kid:new').then(() => (answered = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(answered, false, 'an identifier not in the negative cache waits for the download');
    server.release();
    await waiting;
    set.close();
    await server.setMode('ok');
  });
});

describe('remote key set: close', () => {
  test('close() stops the refresh timer', async (t) => {
    await withFreshServer();
    // The refresh timer is node's setTimeout (the clock only tells the time): mocked, the test fires it by hand.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const logger = createMemoryLogger();
    const set = remote({ scheduleRefresh: true, refreshIntervalMs: 20, logger });
    await set.ready();
    const first = set.current()!;
    for (const fetchCount of [2, 3]) {
      t.mock.timers.tick(20);
      assert.equal(set.status().fetchCount, fetchCount, 'the timer refreshes');
      await logger.waitFor((line) => line.msg === '[KeySet] JWKS loaded' && logger.lines.filter((l) => l.msg === line.msg).length === fetchCount);
      // The next timer is set when the download's promise settles, a few microtasks after that line.
      await new Promise((resolve) => setImmediate(resolve));
    }
    set.close();
    t.mock.timers.tick(60_000);
    assert.equal(set.status().fetchCount, 3, 'no download after close');
    assert.equal(set.current(), undefined);
    assert.ok(first.keys.every((key) => key.retired));
  });

  test('close() aborts the download in flight', async () => {
    await withFreshServer();
    await server.setMode('hold');
    // The server never answers and the timeout is far away: only the abort can end the download.
    const downloading = server.nextRequest();
    const slow = remote({ timeoutMs: 3_600_000 });
    await downloading;
    slow.close();
    await slow.ready();
    assert.equal(slow.status().fetchCount, 1);
    assert.equal(slow.current(), undefined);
    await server.setMode('ok');
  });

  test('a process with key sets (closed or not) exits on its own (the built module, in a real process)', async () => {
    await withFreshServer();
    assertDistBuilt();
    const remoteModule = pathToFileURL(fromRoot('dist/src/keys/remote.js')).href;
    const code = `
      import { createRemoteKeySet } from ${JSON.stringify(remoteModule)};
      const open = createRemoteKeySet({ url: ${JSON.stringify(server.url())} });
      const closed = createRemoteKeySet({ url: ${JSON.stringify(server.url())} });
      await Promise.all([open.ready(), closed.ready()]);
      closed.close();
      console.log(open.status().loaded ? 'loaded' : 'not loaded');
    `;
    const child = spawnNode(['--input-type=module', '-e', code]);
    // A process that never exits is caught by the runner's --test-timeout, reported as a timeout.
    assert.deepEqual(await child.ended, { code: 0, signal: null }, child.stderr());
    assert.equal(child.stdout().trim(), 'loaded');
  });
});

describe('certificate pinning (jwk_fingerprints)', () => {
  const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
  let dir: string;
  let tlsServer: JwksServer;
  let pin: string;
  let caFile: string;

  before(async () => {
    if (!hasOpenssl) return;
    dir = mkdtempSync(join(tmpdir(), 'portcullis-pin-'));
    const made = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ]);
    assert.equal(made.status, 0, made.stderr.toString());
    caFile = join(dir, 'cert.pem');
    const cert = readFileSync(caFile);
    const spki = new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' });
    pin = createHash('sha256').update(spki).digest('base64url');
    tlsServer = await startJwksServer({ tls: { key: readFileSync(join(dir, 'key.pem')), cert } });
    tlsServer.setKeys(jwksOf(keyA));
  });

  after(async () => {
    if (!hasOpenssl) return;
    await tlsServer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const skip = hasOpenssl ? false : 'the openssl CLI is not installed, so no test certificate can be made';

  test('the right pin passes, a wrong pin fails, an untrusted certificate fails without the CA', { skip }, async () => {
    const url = tlsServer.url();
    const document = (await fetchJson({ url, caFile, fingerprints: [pin] })) as { keys: unknown[] };
    assert.equal(document.keys.length, 1);

    const wrongPin = createHash('sha256').update('other').digest('base64url');
    await assert.rejects(fetchJson({ url, caFile, fingerprints: [wrongPin] }), { name: 'JwksFetchError', message: PIN_MISMATCH_MESSAGE });
    await assert.rejects(fetchJson({ url }), { name: 'JwksFetchError', message: /^TLS error / });

    // disable_jwk_security turns off chain verification, but pins still apply (as in KrakenD).
    await fetchJson({ url, allowInsecure: true, fingerprints: [pin] });
    await assert.rejects(fetchJson({ url, allowInsecure: true, fingerprints: [wrongPin] }), { message: PIN_MISMATCH_MESSAGE });

    const set = remote({ url, caFile, fingerprints: [wrongPin] });
    await set.ready();
    assert.equal(set.status().lastError, PIN_MISMATCH_MESSAGE);
    const pinned = remote({ url, caFile, fingerprints: [pin] });
    await pinned.ready();
    assert.ok(pinned.current()?.byKid.has('a'));
  });
});

describe('discovery', () => {
  test('discoveryUrlForIssuer drops one trailing slash', () => {
    assert.equal(discoveryUrlForIssuer('https://idp.example.com'), 'https://idp.example.com/.well-known/openid-configuration');
    assert.equal(discoveryUrlForIssuer('https://idp.example.com/tenant/'), 'https://idp.example.com/tenant/.well-known/openid-configuration');
  });

  test('jwks_uri is followed; discovery runs once', async () => {
    await withFreshServer();
    const issuer = 'https://issuer.example';
    server.setDiscovery({ issuer, jwks_uri: server.url('/elsewhere/keys') });
    const clock = new ManualClock();
    const discoveryBefore = server.requestCount(DISCOVERY_PATH);
    const set = createDiscoveryKeySet({ discoveryUrl: server.url(DISCOVERY_PATH), expectedIssuer: issuer, scheduleRefresh: false, clock });
    sets.push(set);
    await set.ready();
    assert.ok(set.current()?.byKid.has('a'));
    assert.equal(server.requestCount('/elsewhere/keys'), 1);
    clock.advance(30_000);
    await set.refreshForMiss('kid:new');
    assert.equal(server.requestCount('/elsewhere/keys'), 2);
    assert.equal(server.requestCount(DISCOVERY_PATH) - discoveryBefore, 1);
  });

  test('an issuer mismatch or a non-https jwks_uri is refused', async () => {
    await withFreshServer();
    server.setDiscovery({ issuer: 'https://attacker.example', jwks_uri: server.url('/jwks') });
    const set = createDiscoveryKeySet({ discoveryUrl: server.url(DISCOVERY_PATH), expectedIssuer: 'https://issuer.example', scheduleRefresh: false });
    sets.push(set);
    await set.ready();
    assert.equal(set.current(), undefined);
    assert.match(set.status().lastError ?? '', /issuer does not match "https:\/\/issuer\.example"/);

    server.setDiscovery({ issuer: 'https://issuer.example', jwks_uri: 'http://idp.example.com/jwks' });
    const insecure = createDiscoveryKeySet({ discoveryUrl: server.url(DISCOVERY_PATH), expectedIssuer: 'https://issuer.example', scheduleRefresh: false });
    sets.push(insecure);
    await insecure.ready();
    assert.equal(insecure.current(), undefined);
    assert.match(insecure.status().lastError ?? '', /jwks_uri is not an allowed URL/);
  });

  test('a failed discovery is retried on the next download', async () => {
    await withFreshServer();
    const clock = new ManualClock();
    server.setDiscovery({});
    await server.setMode('status500');
    const set = createDiscoveryKeySet({ discoveryUrl: server.url(DISCOVERY_PATH), scheduleRefresh: false, clock });
    sets.push(set);
    await set.ready();
    assert.equal(set.status().lastError, 'discovery document: status 500');
    await server.setMode('ok');
    clock.advance(1000);
    assert.ok((await set.refreshForMiss('kid:a'))?.byKid.has('a'));
  });
});

describe('what the key set shows of its URL', () => {
  test('never shows the query, which may carry an access token', async () => {
    assert.equal(describeUrl('https://idp.example/keys?access_token=s3cret#x'), 'https://idp.example/keys?…');
    assert.equal(describeUrl('https://idp.example/v2/keys/P2abc'), 'https://idp.example/v2/keys/P2abc');
    const set = createRemoteKeySet({ url: 'http://127.0.0.1:9/keys?token=s3cret', scheduleRefresh: false, timeoutMs: 200 });
    await set.ready();
    assert.ok(!set.label.includes('s3cret') && !JSON.stringify(set.status()).includes('s3cret'));
    set.close();
  });
});
