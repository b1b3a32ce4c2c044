/**
 * JWKS and discovery URLs that redirect (src/keys/fetch-jwks.ts). Up to three
 * redirects are followed; every hop passes the configured URL's rule and its
 * certificate pins; https never leads to http; loops and a fourth hop are
 * refused, and a refused chain keeps the keys already loaded. Real servers on
 * 127.0.0.1: plain http, and https with certificates made by the openssl CLI.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, X509Certificate } from 'node:crypto';
import { fetchJson, fetchJsonDocument, JwksFetchError, MAX_REDIRECTS, PIN_MISMATCH_MESSAGE } from '../../src/keys/fetch-jwks.js';
import { createRemoteKeySet, type RemoteKeySetOptions } from '../../src/keys/remote.js';
import { createDiscoveryKeySet } from '../../src/keys/discovery.js';
import type { KeySet } from '../../src/keys/key-set.js';
import type { Logger } from '../../src/lib/logger.js';
import { DISCOVERY_PATH, generateSigningKey, jwksOf, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { freshToken, startFaultRig } from '../faults/rig.js';

class TestClock {
  constructor(public t = 1_700_000_000_000) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const record = (obj: object | string, msg?: string): void => void lines.push(JSON.stringify([obj, msg]));
  return { lines, debug: record, info: record, warn: record, error: record };
}

const fetchError = (message: string | RegExp) => (error: unknown): boolean =>
  error instanceof JwksFetchError && (typeof message === 'string' ? error.message === message : message.test(error.message));

let keyA: TestSigningKey;
let keyB: TestSigningKey;
/** Two plain-http servers on loopback, so hops can cross origins. */
let one: JwksServer;
let two: JwksServer;
const sets: KeySet[] = [];

function remote(options: Partial<RemoteKeySetOptions> & { url: string }): KeySet {
  const set = createRemoteKeySet({ scheduleRefresh: false, clock: new TestClock(), ...options });
  sets.push(set);
  return set;
}

before(async () => {
  [keyA, keyB] = await Promise.all([generateSigningKey('a', 'ES256'), generateSigningKey('b', 'ES256')]);
  [one, two] = await Promise.all([startJwksServer(), startJwksServer()]);
  one.setKeys(jwksOf(keyA));
  two.setKeys(jwksOf(keyB));
});

after(async () => {
  for (const set of sets) set.close();
  await Promise.all([one.close(), two.close()]);
});

describe('redirects that are followed', () => {
  test('one redirect to another origin: the keys load, status and log count the hop', async () => {
    one.setRedirect('/moved-once', two.url('/keys'), 301);
    const before = two.requestCount('/keys');
    const logger = recordingLogger();
    const set = remote({ url: one.url('/moved-once'), logger });
    await set.ready();
    assert.deepEqual([...set.current()!.byKid.keys()], ['b']);
    const status = set.status();
    assert.equal(status.lastError, undefined);
    assert.equal(status.redirects, 1);
    assert.equal(two.requestCount('/keys') - before, 1);
    assert.ok(
      logger.lines.some((line) => line.includes('redirected 1 time') && line.includes(two.url('/keys')) && line.includes(one.url('/moved-once'))),
      logger.lines.join('\n'),
    );
  });

  test('three redirects (302, a relative 308, 303) are followed; the request headers carry no credentials', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const target = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwksOf(keyA)));
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    try {
      const targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/final`;
      one.setRedirect('/chain3', two.url('/chain3-b'), 302);
      two.setRedirect('/chain3-b', '/chain3-c', 308);
      two.setRedirect('/chain3-c', targetUrl, 303);
      const fetched = await fetchJsonDocument({ url: one.url('/chain3') });
      assert.deepEqual(fetched.urls, [one.url('/chain3'), two.url('/chain3-b'), two.url('/chain3-c'), targetUrl]);
      assert.equal((fetched.document as { keys: unknown[] }).keys.length, 1);
      assert.equal(seen.length, 1);
      assert.deepEqual(Object.keys(seen[0]!).filter((name) => !['host', 'connection'].includes(name)).sort(), ['accept', 'user-agent']);
    } finally {
      target.closeAllConnections();
      await new Promise<void>((resolve) => target.close(() => resolve()));
    }
  });
});

describe('redirects that are refused', () => {
  test(`a ${MAX_REDIRECTS + 1}th redirect is refused without being followed, and a loaded set keeps its keys`, async () => {
    const clock = new TestClock();
    const set = remote({ url: one.url('/chain4'), clock });
    await set.ready();
    assert.ok(set.current()?.byKid.has('a'), 'loaded before the URL starts redirecting');

    one.setRedirect('/chain4', two.url('/chain4-b'));
    two.setRedirect('/chain4-b', one.url('/chain4-c'));
    one.setRedirect('/chain4-c', two.url('/chain4-d'));
    two.setRedirect('/chain4-d', one.url('/chain4-e'));
    const before = one.requestCount('/chain4-e');
    await assert.rejects(fetchJson({ url: one.url('/chain4') }), fetchError('too many redirects (after 3 redirects)'));

    clock.advance(1000);
    assert.ok((await set.refreshForMiss('kid:new'))?.byKid.has('a'), 'the loaded keys are kept');
    assert.equal(set.status().lastError, 'too many redirects (after 3 redirects)');
    assert.equal(set.status().loaded, true);
    assert.equal(one.requestCount('/chain4-e'), before, 'the fourth target was never requested');
  });

  test('a loop is refused at the first repeated URL', async () => {
    one.setRedirect('/loop', two.url('/loop-b'));
    two.setRedirect('/loop-b', one.url('/loop#again'));
    const before = [one.requestCount('/loop'), two.requestCount('/loop-b')];
    await assert.rejects(fetchJson({ url: one.url('/loop') }), fetchError('redirect loop (after 1 redirect)'));
    assert.deepEqual([one.requestCount('/loop') - before[0]!, two.requestCount('/loop-b') - before[1]!], [1, 1]);
  });

  test('a target the JWKS URL rule refuses: http off loopback, embedded credentials, another scheme, no location', async () => {
    one.setRedirect('/to-remote-http', 'http://idp.example.com/jwks');
    await assert.rejects(fetchJson({ url: one.url('/to-remote-http') }), fetchError(/^redirect refused: JWKS URL http:\/\/idp\.example\.com must use https/));

    one.setRedirect('/to-credentials', `http://user:s3cret@127.0.0.1:${new URL(two.url()).port}/jwks`);
    await assert.rejects(fetchJson({ url: one.url('/to-credentials') }), (error: unknown) =>
      fetchError('redirect refused: JWKS URL must not embed credentials')(error) && !(error as Error).message.includes('s3cret'));

    one.setRedirect('/to-file', 'file:///etc/passwd');
    await assert.rejects(fetchJson({ url: one.url('/to-file') }), fetchError(/^redirect refused: JWKS URL file: must use https/));

    one.setRedirect('/no-location', '');
    await assert.rejects(fetchJson({ url: one.url('/no-location') }), fetchError('redirect (status 302) without a location'));

    const set = remote({ url: one.url('/to-remote-http') });
    await set.ready();
    assert.equal(set.current(), undefined);
    assert.match(set.status().lastError ?? '', /^redirect refused: /);
  });
});

describe('discovery', () => {
  test('a redirected discovery document and a redirected jwks_uri are both followed', async () => {
    const issuer = 'https://issuer.example';
    two.setDiscovery({ issuer, jwks_uri: one.url('/disco-jwks') });
    one.setRedirect('/tenant/.well-known/openid-configuration', two.url(DISCOVERY_PATH), 301);
    one.setRedirect('/disco-jwks', two.url('/disco-keys'), 302);
    const logger = recordingLogger();
    const set = createDiscoveryKeySet({
      discoveryUrl: one.url('/tenant/.well-known/openid-configuration'),
      expectedIssuer: issuer,
      scheduleRefresh: false,
      clock: new TestClock(),
      logger,
    });
    sets.push(set);
    await set.ready();
    assert.deepEqual([...set.current()!.byKid.keys()], ['b']);
    assert.equal(set.status().redirects, 1);
    assert.ok(logger.lines.some((line) => line.includes('discovery document redirected 1 time')), logger.lines.join('\n'));
  });

  test('a discovery document behind a loop is refused', async () => {
    one.setRedirect('/looping/.well-known/openid-configuration', one.url('/looping/.well-known/openid-configuration'));
    const set = createDiscoveryKeySet({ discoveryUrl: one.url('/looping/.well-known/openid-configuration'), scheduleRefresh: false });
    sets.push(set);
    await set.ready();
    assert.equal(set.current(), undefined);
    assert.equal(set.status().lastError, 'discovery document: redirect loop');
  });
});

describe('through the gateway', () => {
  test('a jwk_url that redirects once serves tokens (it used to be 503 keys_unavailable)', async () => {
    const rsa = await generateSigningKey('rsa-moved');
    const target = await startJwksServer();
    target.setKeys(jwksOf(rsa));
    one.setRedirect('/gateway-moved', target.url('/jwks'), 301);
    const gw = await startFaultRig({ validator: { alg: 'RS256', jwk_url: one.url('/gateway-moved') } });
    try {
      const answer = await gw.get('/p', await freshToken(rsa));
      assert.equal(answer.status, 200, answer.body);
      assert.equal(gw.status().redirects, 1);
      assert.equal(gw.backend.requests.length, 1);
    } finally {
      await gw.close();
      await target.close();
    }
  });
});

describe('https hops', () => {
  const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
  const skip = hasOpenssl ? false : 'the openssl CLI is not installed, so no test certificate can be made';
  let dir: string;
  /** Both certificates, so only pins (not trust) can tell the two servers apart. */
  let caFile: string;
  let secureOne: JwksServer;
  let secureTwo: JwksServer;
  let pinOne: string;
  let pinTwo: string;

  function makeCertificate(name: string): { key: Buffer; cert: Buffer; pin: string } {
    const made = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', join(dir, `${name}-key.pem`), '-out', join(dir, `${name}-cert.pem`), '-days', '1',
      '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ]);
    assert.equal(made.status, 0, made.stderr.toString());
    const cert = readFileSync(join(dir, `${name}-cert.pem`));
    const spki = new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' });
    return { key: readFileSync(join(dir, `${name}-key.pem`)), cert, pin: createHash('sha256').update(spki).digest('base64url') };
  }

  before(async () => {
    if (!hasOpenssl) return;
    dir = mkdtempSync(join(tmpdir(), 'portcullis-redirect-'));
    const first = makeCertificate('one');
    const second = makeCertificate('two');
    caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, Buffer.concat([first.cert, second.cert]));
    [pinOne, pinTwo] = [first.pin, second.pin];
    [secureOne, secureTwo] = await Promise.all([
      startJwksServer({ tls: { key: first.key, cert: first.cert } }),
      startJwksServer({ tls: { key: second.key, cert: second.cert } }),
    ]);
    secureOne.setKeys(jwksOf(keyA));
    secureTwo.setKeys(jwksOf(keyB));
  });

  after(async () => {
    if (!hasOpenssl) return;
    await Promise.all([secureOne.close(), secureTwo.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('http → https is followed; https → http is refused, even to loopback and with disable_jwk_security', { skip }, async () => {
    one.setRedirect('/upgrade', secureTwo.url('/keys'));
    const upgraded = await fetchJsonDocument({ url: one.url('/upgrade'), caFile });
    assert.deepEqual(upgraded.urls, [one.url('/upgrade'), secureTwo.url('/keys')]);

    secureOne.setRedirect('/downgrade', two.url('/keys'));
    const before = two.requestCount('/keys');
    await assert.rejects(fetchJson({ url: secureOne.url('/downgrade'), caFile }), fetchError('redirect from https to http refused'));
    await assert.rejects(fetchJson({ url: secureOne.url('/downgrade'), allowInsecure: true }), fetchError('redirect from https to http refused'));
    assert.equal(two.requestCount('/keys'), before, 'the http target was never requested');
  });

  test('pins apply to every hop: a target outside the pins is refused before any request reaches it', { skip }, async () => {
    secureOne.setRedirect('/pinned', secureTwo.url('/pinned-target'));
    const before = secureTwo.requestCount('/pinned-target');
    await assert.rejects(
      fetchJson({ url: secureOne.url('/pinned'), caFile, fingerprints: [pinOne] }),
      fetchError(`${PIN_MISMATCH_MESSAGE} (after 1 redirect)`),
    );
    assert.equal(secureTwo.requestCount('/pinned-target'), before);
    // disable_jwk_security turns off chain verification, not pins.
    await assert.rejects(fetchJson({ url: secureOne.url('/pinned'), allowInsecure: true, fingerprints: [pinOne] }), fetchError(`${PIN_MISMATCH_MESSAGE} (after 1 redirect)`));

    const set = remote({ url: secureOne.url('/pinned'), caFile, fingerprints: [pinOne] });
    await set.ready();
    assert.equal(set.current(), undefined);
    assert.equal(set.status().lastError, `${PIN_MISMATCH_MESSAGE} (after 1 redirect)`);

    // With both servers pinned the same chain loads.
    const both = remote({ url: secureOne.url('/pinned'), caFile, fingerprints: [pinOne, pinTwo] });
    await both.ready();
    assert.deepEqual([...both.current()!.byKid.keys()], ['b']);
    assert.equal(both.status().redirects, 1);
  });
});
