/**
 * `auth/signer` on the gateway (issue 13 §9): a login endpoint's answer gets
 * its `keys_to_sign` objects replaced by JWTs, checked here with jose. Keys
 * come from a JWKS file, a jwk_url, or the local issuer's data dir; a key that
 * cannot be read or cannot sign refuses the start, naming its JSON path. The
 * example config runs the whole offline flow: login → token → protected call.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify, decodeProtectedHeader, exportJWK, flattenedVerify, generateKeyPair, importJWK, jwtVerify, type JWK } from 'jose';
import { startForwardAuth } from '../../src/adapters/forward-auth/server.js';
import { ConfigError } from '../../src/config/validate.js';
import { startGateway, type Gateway } from '../../src/gateway/server.js';
import { createKeyStore } from '../../src/issuer/key-store.js';
import { startBackendServer, type BackendServer } from '../support/backend-server.js';
import { runPortcullis } from '../support/cli.js';
import { startJwksServer, type JwksServer } from '../support/jwks-server.js';
import { createMemoryLogger } from '../support/logger.js';
import { planFrom } from '../support/plan.js';
import { call } from './harness.js';
import { fromRoot } from '../support/repo-root.js';

const SIGNER = 'auth/signer';
const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('auth/signer', () => {
  let dir: string;
  let backend: BackendServer;
  let jwksServer: JwksServer;
  let rsaPrivate: JWK;
  let rsaPublic: JWK;
  let ecPrivate: JWK;
  let ecPublic: JWK;
  let jwksFile: string;
  const running: Gateway[] = [];
  const loginAnswer = () => ({
    access_token: { sub: 'alice', roles: ['user'], exp: nowSeconds() + 600, nested: { a: [1, 2] } },
    refresh_token: { sub: 'alice', exp: nowSeconds() + 3600 },
    exp: 1735689600,
    note: 'not an object: left as is',
    list: [{ not: 'signed' }],
  });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-signer-'));
    backend = await startBackendServer();
    backend.on('/login', (_req, res) => {
      const body = JSON.stringify(loginAnswer());
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    });
    const rsa = await generateKeyPair('RS256', { extractable: true });
    rsaPrivate = { ...(await exportJWK(rsa.privateKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' };
    rsaPublic = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' };
    const ec = await generateKeyPair('ES256', { extractable: true });
    ecPrivate = { ...(await exportJWK(ec.privateKey)), kid: 'ec-1' };
    ecPublic = { ...(await exportJWK(ec.publicKey)), kid: 'ec-1' };
    jwksFile = join(dir, 'private.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [ecPrivate, rsaPrivate] }));
    jwksServer = await startJwksServer();
    jwksServer.setKeys({ keys: [rsaPrivate, ecPrivate] });
  });
  after(async () => {
    await Promise.all(running.map((gateway) => gateway.close()));
    await backend.close();
    await jwksServer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const loginConfig = (signer: Record<string, unknown>, endpoint: Record<string, unknown> = {}) => ({
    version: 3,
    endpoints: [{ endpoint: '/login', method: 'POST', extra_config: { [SIGNER]: signer }, backend: [{ host: [backend.url], url_pattern: '/login', method: 'POST' }], ...endpoint }],
  });

  async function start(config: unknown): Promise<Gateway> {
    const gateway = await startGateway(planFrom(config), { host: '127.0.0.1', port: 0, logger: createMemoryLogger() });
    running.push(gateway);
    return gateway;
  }

  it('replaces each keys_to_sign object with a compact JWT of it (jwk_local_path, kid); other values stay', async () => {
    const gateway = await start(loginConfig({ alg: 'RS256', kid: 'rsa-1', jwk_local_path: jwksFile, keys_to_sign: ['access_token', 'refresh_token', 'note', 'list', 'missing'] }));
    const answer = await call(`${gateway.url}/login`, { method: 'POST', body: '{"user":"alice"}', headers: { 'content-type': 'application/json' } });
    assert.equal(answer.status, 200);
    const body = answer.json<Record<string, unknown>>();
    const expected = loginAnswer();
    assert.equal(body.exp, expected.exp);
    assert.equal(body.note, expected.note);
    assert.deepEqual(body.list, expected.list);
    assert.equal('missing' in body, false);

    const key = await importJWK(rsaPublic, 'RS256');
    for (const name of ['access_token', 'refresh_token'] as const) {
      assert.equal(typeof body[name], 'string');
      const verified = await jwtVerify(body[name] as string, key, { algorithms: ['RS256'] });
      assert.deepEqual(verified.protectedHeader, { alg: 'RS256', kid: 'rsa-1' });
      const { exp: _exp, ...claims } = verified.payload;
      const { exp: _expected, ...wanted } = expected[name];
      assert.deepEqual(claims, wanted);
    }
  });

  it('signs after the response manipulation and the endpoint flatmap_filter, with the claims numbers as the backend wrote them', async () => {
    backend.on('/login-shaped', (_req, res) => {
      const body = '{"session":{"sub":"alice","uid":12345678901234567890,"ratio":1.10,"secret":"s3"},"tmp":[{"a":1}]}';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    });
    const config = loginConfig(
      { alg: 'RS256', kid: 'rsa-1', jwk_local_path: jwksFile, keys_to_sign: ['access_token'] },
      {
        backend: [{ host: [backend.url], url_pattern: '/login-shaped', method: 'POST', deny: ['session.secret'], mapping: { session: 'access_token' } }],
      },
    );
    (config.endpoints[0]!.extra_config as Record<string, unknown>).proxy = { flatmap_filter: [{ type: 'del', args: ['tmp'] }] };
    const gateway = await start(config);
    const answer = await call(`${gateway.url}/login`, { method: 'POST' });
    assert.equal(answer.status, 200);
    const body = answer.json<Record<string, unknown>>();
    assert.deepEqual(Object.keys(body), ['access_token']);
    const verified = await compactVerify(body.access_token as string, await importJWK(rsaPublic, 'RS256'), { algorithms: ['RS256'] });
    // The payload text itself: a double would have made these 12345678901234567000 and 1.1.
    assert.equal(new TextDecoder().decode(verified.payload), '{"sub":"alice","uid":12345678901234567890,"ratio":1.10}');
  });

  it('full: true gives the JWS JSON serialization, as a string (go-jose FullSerialize)', async () => {
    const gateway = await start(loginConfig({ alg: 'ES256', kid: 'ec-1', jwk_local_path: jwksFile, keys_to_sign: ['access_token'], full: true }));
    const body = (await call(`${gateway.url}/login`, { method: 'POST' })).json<{ access_token: string }>();
    const jws = JSON.parse(body.access_token) as { payload: string; protected: string; signature: string };
    const verified = await flattenedVerify(jws, await importJWK(ecPublic, 'ES256'), { algorithms: ['ES256'] });
    assert.deepEqual(verified.protectedHeader, { alg: 'ES256', kid: 'ec-1' });
    assert.equal(JSON.parse(new TextDecoder().decode(verified.payload)).sub, 'alice');
  });

  it('reads the key from jwk_url (loopback http allowed; one download for two endpoints)', async () => {
    const signer = { alg: 'RS256', kid: 'rsa-1', jwk_url: jwksServer.url(), keys_to_sign: ['access_token'] };
    const before = jwksServer.requestCount('/jwks');
    const config = loginConfig(signer);
    config.endpoints.push({ ...config.endpoints[0]!, endpoint: '/refresh' });
    const gateway = await start(config);
    assert.equal(jwksServer.requestCount('/jwks') - before, 1);
    for (const path of ['/login', '/refresh']) {
      const token = (await call(`${gateway.url}${path}`, { method: 'POST' })).json<{ access_token: string }>().access_token;
      await compactVerify(token, await importJWK(rsaPublic, 'RS256'));
    }
  });

  it('refuses to start when the key cannot be read or cannot sign, naming the key source', async () => {
    const publicFile = join(dir, 'public.json');
    writeFileSync(publicFile, JSON.stringify({ keys: [rsaPublic] }));
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ alg: 'RS256', kid: 'rsa-1', jwk_local_path: join(dir, 'nope.json') }, 'jwk_local_path', /^cannot read JWK file .*nope\.json: ENOENT$/],
      [{ alg: 'RS256', kid: 'other', jwk_local_path: jwksFile }, 'jwk_local_path', /has no key with kid "other"$/],
      [{ alg: 'RS256', jwk_local_path: jwksFile }, 'jwk_local_path', /"kid" is required to pick the signing key$/],
      [{ alg: 'RS256', kid: 'rsa-1', jwk_local_path: publicFile }, 'jwk_local_path', /kid "rsa-1": the key is a public key: the signer needs the private key/],
      [{ alg: 'ES256', kid: 'rsa-1', jwk_local_path: jwksFile }, 'jwk_local_path', /kid "rsa-1": the RSA key cannot sign ES256 \(it needs kty EC\)$/],
      [{ alg: 'RS256', kid: 'rsa-1', jwk_url: `${backend.url}/not-a-jwks` }, 'jwk_url', /the JWKS has no "keys" array$/],
    ];
    for (const [signer, key, message] of cases) {
      const logger = createMemoryLogger();
      await assert.rejects(startGateway(planFrom(loginConfig({ ...signer, keys_to_sign: ['access_token'] })), { host: '127.0.0.1', port: 0, logger }), (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.equal(error.issues[0]!.path, `$.endpoints[0].extra_config["auth/signer"].${key}`);
        assert.match(error.issues[0]!.message, message);
        assert.ok(!error.message.includes(String(rsaPrivate.d).slice(0, 16)), 'no key material');
        return true;
      });
      assert.equal(logger.lines.some((line) => line.msg.includes('Listening')), false);
    }
    // `check` and `run` read the key file before anything listens.
    const file = join(dir, 'bad-signer.json');
    writeFileSync(file, JSON.stringify(loginConfig({ alg: 'RS256', kid: 'other', jwk_local_path: jwksFile, keys_to_sign: ['access_token'] })));
    const checked = await runPortcullis(['check', '-c', file]);
    assert.equal(checked.code, 1);
    assert.match(checked.stderr + checked.stdout, /\$\.endpoints\[0\]\.extra_config\["auth\/signer"\]\.jwk_local_path: JWK file .* has no key with kid "other"/);
  });

  it('refuses configs that would hand out unsigned claims or cannot be honoured', () => {
    const issue = (config: unknown) => {
      try {
        planFrom(config);
      } catch (error) {
        assert.ok(error instanceof ConfigError);
        return error.issues.map(({ path, message }) => `${path}: ${message}`);
      }
      return [];
    };
    const base = { alg: 'RS256', kid: 'rsa-1', jwk_local_path: jwksFile, keys_to_sign: ['access_token'] };
    assert.deepEqual(issue(loginConfig(base, { output_encoding: 'no-op', backend: [{ host: [backend.url], url_pattern: '/login', encoding: 'no-op' }] })), [
      '$.endpoints[0].extra_config["auth/signer"]: needs an endpoint answering JSON: with output_encoding "no-op" the backend answer would reach the client unsigned (KrakenD signs nothing there either)',
    ]);
    assert.deepEqual(issue(loginConfig({ ...base, secret_url: 'base64key://x', cypher_key: 'eA==' })), [
      '$.endpoints[0].extra_config["auth/signer"].secret_url: "secret_url" (an encrypted JWK file) is not supported by portcullis; refusing to start without the signing key: decrypt the file for jwk_local_path, or serve it from jwk_url',
      '$.endpoints[0].extra_config["auth/signer"].cypher_key: "cypher_key" (an encrypted JWK file) is not supported by portcullis; refusing to start without the signing key: decrypt the file for jwk_local_path, or serve it from jwk_url',
    ]);
    assert.match(issue(loginConfig({ ...base, keys_to_sing: ['x'] }))[0]!, /^\$\.endpoints\[0\]\.extra_config\["auth\/signer"\]\.keys_to_sing: .*did you mean "keys_to_sign"/);
    assert.deepEqual(issue(loginConfig({ ...base, jwk_local_path: undefined, jwk_url: 'http://login.example/jwks' })), [
      '$.endpoints[0].extra_config["auth/signer"].jwk_url: JWKS URL http://login.example must use https (http is allowed only for loopback hosts or with disable_jwk_security)',
    ]);
    assert.deepEqual(issue(loginConfig({ ...base, jwk_local_path: undefined, jwk_url: 'http://login.example/jwks', disable_jwk_security: true })), []);
    assert.deepEqual(issue(loginConfig({ ...base, jwk_url: 'https://login.example/jwks' })), [
      '$.endpoints[0].extra_config["auth/signer"].jwk_local_path: only one key source may be set, found jwk_url, jwk_local_path',
    ]);
    assert.deepEqual(issue(loginConfig({ alg: 'RS256', keys_to_sign: ['a'] })), ['$.endpoints[0].extra_config["auth/signer"].jwk_url: one key source is required: jwk_url or jwk_local_path']);
    assert.deepEqual(issue(loginConfig({ alg: 'RS256', jwk_url: 'https://login.example/jwks', keys_to_sign: ['a'] })), [
      '$.endpoints[0].extra_config["auth/signer"].kid: missing: required to pick the signing key from jwk_url',
    ]);
    // The v1 namespace is the same signer.
    const v1 = loginConfig(base);
    v1.endpoints[0]!.extra_config = { 'github.com/devopsfaith/krakend-jose/signer': base } as never;
    assert.equal(planFrom(v1).endpoints[0]!.signer?.path, '$.endpoints[0].extra_config["github.com/devopsfaith/krakend-jose/signer"]');
  });

  it('forward-auth refuses a signer: the proxy would pass the login answer through unsigned', async () => {
    const plan = planFrom(loginConfig({ alg: 'RS256', kid: 'rsa-1', jwk_local_path: jwksFile, keys_to_sign: ['access_token'] }));
    await assert.rejects(startForwardAuth(plan, { proxy: 'nginx', host: '127.0.0.1', port: 0 }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.issues[0]!.path, '$.endpoints[0].extra_config["auth/signer"]');
      assert.match(error.issues[0]!.message, /^forward-auth cannot sign answers/);
      return true;
    });
  });

  it('reload re-reads the key: a new key in the file signs from then on; a broken one refuses the reload', async () => {
    const file = join(dir, 'rotating.json');
    writeFileSync(file, JSON.stringify({ keys: [rsaPrivate] }));
    const config = loginConfig({ alg: 'RS256', kid: 'rsa-1', jwk_local_path: file, keys_to_sign: ['access_token'] });
    const gateway = await start(config);
    const tokenOf = async () => (await call(`${gateway.url}/login`, { method: 'POST' })).json<{ access_token: string }>().access_token;
    await compactVerify(await tokenOf(), await importJWK(rsaPublic, 'RS256'));

    const next = await generateKeyPair('RS256', { extractable: true });
    writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(next.privateKey)), kid: 'rsa-1' }] }));
    await gateway.reload(planFrom(config));
    await compactVerify(await tokenOf(), next.publicKey);

    writeFileSync(file, '{');
    await assert.rejects(gateway.reload(planFrom(config)), /JWK file .* is not JSON/);
    await compactVerify(await tokenOf(), next.publicKey);
  });

  describe('examples/login-signer.json: login → token → protected call, offline, with the local issuer data dir', () => {
    let dataDir: string;
    let gateway: Gateway;
    let currentKid: string;
    let currentPublic: JWK;

    before(async () => {
      dataDir = join(dir, 'issuer');
      // The issuer's own key store writes the data dir, so a change of its format breaks this test.
      const store = await createKeyStore({ dataDir, alg: 'RS256', keepRotatedKeys: 1 });
      await store.rotate();
      currentKid = store.current().kid;
      currentPublic = store.current().publicJwk as JWK;
      backend.on('/me', (req, res) => {
        const body = JSON.stringify({ user: req.headers['x-user'] });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      });
      backend.on('/login', (_req, res) => {
        const claims = { iss: 'https://login.example', sub: 'alice', roles: ['user'], exp: nowSeconds() + 600 };
        const body = JSON.stringify({ access_token: claims, refresh_token: { iss: 'https://login.example', sub: 'alice', exp: nowSeconds() + 3600 }, exp: claims.exp });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      });
      const example = readFileSync(fromRoot('examples/login-signer.json'), 'utf8')
        .replaceAll('.portcullis/issuer/keys.json', join(dataDir, 'keys.json'))
        .replaceAll('http://127.0.0.1:9000', backend.url);
      gateway = await start(JSON.parse(example));
    });

    it('signs the login answer with the issuer current key; /me accepts the access token and refuses the refresh token', async () => {
      const login = await call(`${gateway.url}/login`, { method: 'POST', body: '{"user":"alice","password":"x"}' });
      assert.equal(login.status, 200);
      const { access_token: accessToken, refresh_token: refreshToken } = login.json<{ access_token: string; refresh_token: string }>();
      assert.deepEqual(decodeProtectedHeader(accessToken), { alg: 'RS256', kid: currentKid });
      const verified = await jwtVerify(accessToken, await importJWK(currentPublic, 'RS256'), { issuer: 'https://login.example' });
      assert.equal(verified.payload.sub, 'alice');

      const me = await call(`${gateway.url}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
      assert.equal(me.status, 200);
      assert.deepEqual(me.json(), { user: 'alice' });

      assert.equal((await call(`${gateway.url}/me`)).status, 401);
      // Signed by the same key, but without the role the endpoint needs.
      assert.equal((await call(`${gateway.url}/me`, { headers: { authorization: `Bearer ${refreshToken}` } })).status, 403);
      // A token signed by anyone else is refused.
      const forged = await generateKeyPair('RS256');
      const [header, payload] = accessToken.split('.');
      const { CompactSign } = await import('jose');
      const resigned = await new CompactSign(Buffer.from(Buffer.from(payload!, 'base64url').toString())).setProtectedHeader(JSON.parse(Buffer.from(header!, 'base64url').toString())).sign(forged.privateKey);
      assert.equal((await call(`${gateway.url}/me`, { headers: { authorization: `Bearer ${resigned}` } })).status, 401);
    });
  });
});
