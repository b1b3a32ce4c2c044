/**
 * The root `tls` block (issue 13 §8): the gateway and forward-auth serve HTTPS
 * with the configured certificates, versions and client-certificate rules.
 * Certificates are real (made by the openssl CLI); clients are curl, undici
 * and node:tls. Broken files refuse to start, naming their JSON path.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type ConnectionOptions } from 'node:tls';
import { Agent, request } from 'undici';
import { startForwardAuth } from '../../src/adapters/forward-auth/server.js';
import { ConfigError } from '../../src/config/validate.js';
import { startGateway, type Gateway } from '../../src/gateway/server.js';
import { startBackendServer, type BackendServer } from '../support/backend-server.js';
import { createCertificateFactory, HAS_CURL, HAS_OPENSSL, type CertificateFactory, type CertificateFiles } from '../support/certificates.js';
import { runPortcullis } from '../support/cli.js';
import { createMemoryLogger } from '../support/logger.js';
import { planFrom } from '../support/plan.js';

const skip = !HAS_OPENSSL ? 'the openssl CLI is not installed, so no test certificate can be made' : !HAS_CURL ? 'curl is not installed' : false;

interface Curled {
  /** curl's exit code: 0, or the failure (35 handshake, 56 receive). */
  exit: number;
  /** "000" when no HTTP answer came. */
  status: string;
  body: string;
}

function curl(args: readonly string[]): Promise<Curled> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '20', '-w', '\n%{http_code}', ...args], (error, stdout) => {
      const cut = stdout.lastIndexOf('\n');
      resolve({ exit: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, status: stdout.slice(cut + 1), body: stdout.slice(0, cut) });
    });
  });
}

interface Handshake {
  protocol: string | null;
  subject: string | undefined;
}

/** One TLS handshake with node:tls; rejects with the error node reports when it fails. */
function handshake(port: number, options: ConnectionOptions): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ...options }, () => {
      const peer = socket.getPeerCertificate();
      const cn = peer.subject?.CN;
      const result = { protocol: socket.getProtocol(), subject: Array.isArray(cn) ? cn.join(',') : cn };
      socket.end();
      resolve(result);
    });
    socket.on('error', reject);
  });
}

describe('gateway over HTTPS (tls)', { skip }, () => {
  let certs: CertificateFactory;
  let ca: CertificateFiles;
  let server: CertificateFiles;
  let clientOk: CertificateFiles;
  let clientWrongCa: CertificateFiles;
  let backend: BackendServer;
  const running: Gateway[] = [];

  before(async () => {
    certs = createCertificateFactory();
    ca = certs.ca('test-ca');
    const otherCa = certs.ca('other-ca');
    server = certs.server('gateway', ca);
    clientOk = certs.client('client-ok', ca);
    clientWrongCa = certs.client('client-wrong-ca', otherCa);
    backend = await startBackendServer();
  });
  after(async () => {
    await Promise.all(running.map((gateway) => gateway.close()));
    await backend.close();
    certs.remove();
  });

  const configWith = (tls: Record<string, unknown>) => ({
    version: 3,
    tls,
    endpoints: [{ endpoint: '/hello', backend: [{ host: [backend.url], url_pattern: '/hello' }] }],
  });

  async function start(tls: Record<string, unknown>, logger = createMemoryLogger()): Promise<Gateway> {
    const gateway = await startGateway(planFrom(configWith(tls)), { host: '127.0.0.1', port: 0, logger });
    running.push(gateway);
    return gateway;
  }

  it('serves HTTPS with the configured certificate to curl and undici, and no plain HTTP on that port', async () => {
    const logger = createMemoryLogger();
    const gateway = await start({ keys: [{ public_key: server.cert, private_key: server.key }] }, logger);
    assert.match(gateway.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(logger.lines.some((line) => line.msg.includes('HTTPS: TLS 1.3')), logger.text());

    const viaCurl = await curl(['--cacert', ca.cert, `${gateway.url}/hello`]);
    assert.equal(viaCurl.exit, 0);
    assert.equal(viaCurl.status, '200');
    assert.equal(JSON.parse(viaCurl.body).path, '/hello');

    const dispatcher = new Agent({ connect: { ca: readFileSync(ca.cert) } });
    try {
      const viaUndici = await request(`${gateway.url}/__health`, { dispatcher });
      assert.equal(viaUndici.statusCode, 200);
      assert.equal(((await viaUndici.body.json()) as { status: string }).status, 'ok');
    } finally {
      await dispatcher.close();
    }

    // A client that does not trust the CA is refused by its own verification (curl exit 60).
    assert.equal((await curl([`${gateway.url}/hello`])).exit, 60);
    // Plain HTTP on the HTTPS port gets no HTTP answer.
    const plain = await curl([`http://127.0.0.1:${gateway.port}/hello`]);
    assert.notEqual(plain.exit, 0);
    assert.notEqual(plain.status, '200');
  });

  it('min_version TLS13 (the default) refuses a TLS 1.2-only client; TLS12 lets it in', async () => {
    const strict = await start({ public_key: server.cert, private_key: server.key });
    const tls12Only = await curl(['--cacert', ca.cert, '--tlsv1.2', '--tls-max', '1.2', `${strict.url}/hello`]);
    assert.equal(tls12Only.exit, 35, 'curl: TLS handshake failure');
    assert.equal(tls12Only.status, '000');
    await assert.rejects(handshake(strict.port, { ca: readFileSync(ca.cert), maxVersion: 'TLSv1.2' }), /protocol version|ERR_SSL/i);
    assert.equal((await handshake(strict.port, { ca: readFileSync(ca.cert) })).protocol, 'TLSv1.3');

    const relaxed = await start({ public_key: server.cert, private_key: server.key, min_version: 'TLS12' });
    const ok = await curl(['--cacert', ca.cert, '--tlsv1.2', '--tls-max', '1.2', `${relaxed.url}/hello`]);
    assert.equal(ok.status, '200');
    assert.equal((await handshake(relaxed.port, { ca: readFileSync(ca.cert), maxVersion: 'TLSv1.2' })).protocol, 'TLSv1.2');

    const capped = await start({ public_key: server.cert, private_key: server.key, min_version: 'TLS12', max_version: 'TLS12' });
    assert.equal((await handshake(capped.port, { ca: readFileSync(ca.cert) })).protocol, 'TLSv1.2');
  });

  it('cipher_suites limits the TLS 1.2 suites: a client offering only another suite is refused', async () => {
    // 49199 = TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 only.
    const gateway = await start({ public_key: server.cert, private_key: server.key, min_version: 'TLS12', cipher_suites: [49199] });
    const ca1 = readFileSync(ca.cert);
    await assert.rejects(handshake(gateway.port, { ca: ca1, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES256-GCM-SHA384' }), /handshake failure|ERR_SSL/i);
    assert.equal((await handshake(gateway.port, { ca: ca1, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' })).protocol, 'TLSv1.2');
    // TLS 1.3 suites stay on, as in Go.
    assert.equal((await handshake(gateway.port, { ca: ca1 })).protocol, 'TLSv1.3');
  });

  describe('enable_mtls', () => {
    let gateway: Gateway;
    before(async () => {
      gateway = await start({ keys: [{ public_key: server.cert, private_key: server.key }], enable_mtls: true, ca_certs: [ca.cert], disable_system_ca_pool: true });
    });

    it('refuses a client without a certificate: the handshake fails and no request reaches the backend', async () => {
      const before = backend.received('/hello').length;
      const answer = await curl(['--cacert', ca.cert, `${gateway.url}/hello`]);
      assert.notEqual(answer.exit, 0);
      assert.equal(answer.status, '000');
      const dispatcher = new Agent({ connect: { ca: readFileSync(ca.cert) } });
      try {
        await assert.rejects(request(`${gateway.url}/hello`, { dispatcher }), /certificate required|ECONNRESET|socket/i);
      } finally {
        await dispatcher.close();
      }
      assert.equal(backend.received('/hello').length, before);
    });

    it('refuses a client certificate from another CA', async () => {
      const answer = await curl(['--cacert', ca.cert, '--cert', clientWrongCa.cert, '--key', clientWrongCa.key, `${gateway.url}/hello`]);
      assert.notEqual(answer.exit, 0);
      assert.equal(answer.status, '000');
    });

    it('asks for the certificate when the client names the host (SNI) too', async () => {
      const byName = ['--cacert', ca.cert, '--resolve', `localhost:${gateway.port}:127.0.0.1`, `https://localhost:${gateway.port}/hello`];
      assert.equal((await curl(byName)).status, '000');
      assert.equal((await curl(['--cert', clientWrongCa.cert, '--key', clientWrongCa.key, ...byName])).status, '000');
      assert.equal((await curl(['--cert', clientOk.cert, '--key', clientOk.key, ...byName])).status, '200');
    });

    it('serves a client whose certificate chains to ca_certs (curl and undici)', async () => {
      const answer = await curl(['--cacert', ca.cert, '--cert', clientOk.cert, '--key', clientOk.key, `${gateway.url}/hello`]);
      assert.equal(answer.exit, 0);
      assert.equal(answer.status, '200');
      const dispatcher = new Agent({ connect: { ca: readFileSync(ca.cert), cert: readFileSync(clientOk.cert), key: readFileSync(clientOk.key) } });
      try {
        const response = await request(`${gateway.url}/hello`, { dispatcher });
        assert.equal(response.statusCode, 200);
        assert.equal(((await response.body.json()) as { path: string }).path, '/hello');
      } finally {
        await dispatcher.close();
      }
    });
  });

  it('picks the certificate by SNI among several keys, the first one otherwise', async () => {
    const other = certs.server('other', ca, ['other.test']);
    const gateway = await start({
      keys: [
        { public_key: server.cert, private_key: server.key },
        { public_key: other.cert, private_key: other.key },
      ],
    });
    const ca1 = readFileSync(ca.cert);
    assert.equal((await handshake(gateway.port, { ca: ca1, servername: 'other.test' })).subject, 'other');
    assert.equal((await handshake(gateway.port, { ca: ca1, servername: 'localhost' })).subject, 'gateway');
    assert.equal((await handshake(gateway.port, { ca: ca1, checkServerIdentity: () => undefined })).subject, 'gateway');
    const answer = await curl(['--cacert', ca.cert, '--resolve', `other.test:${gateway.port}:127.0.0.1`, `https://other.test:${gateway.port}/hello`]);
    assert.equal(answer.status, '200');
  });

  it('refuses to start when a file is missing, not PEM, encrypted or not the key of the certificate, naming the JSON path', async () => {
    const missing = `${certs.dir}/missing.key`;
    const notPem = certs.write('not-pem.key', 'not a key');
    const encrypted = certs.write('encrypted.key', '');
    await new Promise<void>((resolve, reject) =>
      execFile('openssl', ['pkey', '-in', server.key, '-aes256', '-passout', 'pass:secret', '-out', encrypted], (error) => (error ? reject(error) : resolve())),
    );
    const otherKey = certs.server('unrelated', ca).key;
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ keys: [{ public_key: server.cert, private_key: missing }] }, '$.tls.keys[0].private_key', /^cannot read .*missing\.key: ENOENT$/],
      [{ public_key: notPem, private_key: server.key }, '$.tls.public_key', /holds no PEM certificate$/],
      [{ public_key: server.cert, private_key: notPem }, '$.tls.private_key', /is not a PEM private key$/],
      [{ public_key: server.cert, private_key: encrypted }, '$.tls.private_key', /is encrypted; portcullis, as KrakenD, needs an unencrypted PEM private key$/],
      [{ public_key: server.cert, private_key: otherKey }, '$.tls.private_key', /is not the private key of the certificate in /],
      [{ public_key: server.cert, private_key: server.key, enable_mtls: true, ca_certs: [missing] }, '$.tls.ca_certs[0]', /^cannot read /],
    ];
    for (const [tls, path, message] of cases) {
      const logger = createMemoryLogger();
      await assert.rejects(startGateway(planFrom(configWith(tls)), { host: '127.0.0.1', port: 0, logger }), (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.equal(error.issues[0]!.path, path);
        assert.match(error.issues[0]!.message, message);
        // Never the key material.
        assert.doesNotMatch(error.message, /BEGIN|PRIVATE/);
        return true;
      });
      assert.equal(logger.lines.filter((line) => line.msg.includes('Listening')).length, 0);
    }
  });

  it('`portcullis run` refuses the config before listening, naming the JSON path', async () => {
    const file = certs.write('bad-key.json', JSON.stringify(configWith({ keys: [{ public_key: server.cert, private_key: `${certs.dir}/nope.key` }] })));
    const run = await runPortcullis(['run', '-c', file, '-p', '0']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /\$\.tls\.keys\[0\]\.private_key: cannot read .*nope\.key: ENOENT/);
    assert.doesNotMatch(run.logs, /Listening/);
  });

  it('reload re-reads the certificate files; turning client certificates on needs a restart and keeps the running setup', async () => {
    const live = { cert: certs.write('live.crt', readFileSync(server.cert)), key: certs.write('live.key', readFileSync(server.key)) };
    const tls = { public_key: live.cert, private_key: live.key };
    const gateway = await start(tls);
    const ca1 = readFileSync(ca.cert);
    const first = await handshake(gateway.port, { ca: ca1 });
    assert.equal(first.subject, 'gateway');

    const renewed = certs.server('renewed', ca);
    copyFileSync(renewed.cert, live.cert);
    copyFileSync(renewed.key, live.key);
    await gateway.reload(planFrom(configWith(tls)));
    assert.equal((await handshake(gateway.port, { ca: ca1 })).subject, 'renewed');

    // A broken file refuses the reload; the running certificate stays.
    writeFileSync(live.key, 'garbage');
    await assert.rejects(gateway.reload(planFrom(configWith(tls))), (error: unknown) => error instanceof ConfigError && error.issues[0]!.path === '$.tls.private_key');
    assert.equal((await handshake(gateway.port, { ca: ca1 })).subject, 'renewed');
    copyFileSync(renewed.key, live.key);

    await assert.rejects(gateway.reload(planFrom(configWith({ ...tls, enable_mtls: true, ca_certs: [ca.cert], disable_system_ca_pool: true }))), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.issues[0], { path: '$.tls.enable_mtls', message: 'turning client certificates on needs a restart' });
      return true;
    });
    await assert.rejects(gateway.reload(planFrom({ ...configWith({}), tls: undefined })), /turning HTTPS off needs a restart/);
    assert.equal((await curl(['--cacert', ca.cert, `${gateway.url}/hello`])).status, '200');
  });

  it('forward-auth serves its checks over HTTPS with client certificates', async () => {
    const plan = planFrom({
      version: 3,
      tls: { public_key: server.cert, private_key: server.key, enable_mtls: true, ca_certs: [ca.cert], disable_system_ca_pool: true },
      endpoints: [{ endpoint: '/hello', backend: [{ host: [backend.url], url_pattern: '/hello' }] }],
    });
    const forwardAuth = await startForwardAuth(plan, { proxy: 'nginx', host: '127.0.0.1', port: 0 });
    try {
      assert.match(forwardAuth.url, /^https:/);
      const refused = await curl(['--cacert', ca.cert, '-H', 'X-Original-Method: GET', '-H', 'X-Original-URI: /hello', `${forwardAuth.url}/`]);
      assert.equal(refused.status, '000');
      const answered = await curl(['--cacert', ca.cert, '--cert', clientOk.cert, '--key', clientOk.key, '-H', 'X-Original-Method: GET', '-H', 'X-Original-URI: /hello', `${forwardAuth.url}/`]);
      assert.equal(answered.status, '200');
    } finally {
      await forwardAuth.close();
    }
  });
});
