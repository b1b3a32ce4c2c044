/**
 * The root `tls` block as config: what compiles into node:tls settings, what
 * is refused with its JSON path (what Node cannot serve as written), and the
 * warnings about what is served differently or trusted. Serving is tested in
 * test/gateway/tls.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileGateway } from '../../src/config/compile.js';
import { parseConfigText } from '../../src/config/load.js';
import { assertIssue, configWith } from './helpers.js';

const json = (value: unknown) => parseConfigText(JSON.stringify(value), 'test.json');
const compile = (tls: unknown) => compileGateway(json(configWith({}, { tls })).config);
const PAIR = { public_key: 'c.pem', private_key: 'k.pem' };

describe('tls config', () => {
  it('compiles to TLS 1.3 only, Go default suites and curves, no client certificates', () => {
    const plan = compile({ keys: [PAIR] }).tls!;
    assert.deepEqual(plan.keyPairs, [{ certFile: 'c.pem', keyFile: 'k.pem', certPath: '$.tls.keys[0].public_key', keyPath: '$.tls.keys[0].private_key' }]);
    assert.equal(plan.minVersion, 'TLSv1.3');
    assert.equal(plan.maxVersion, 'TLSv1.3');
    assert.equal(
      plan.ciphers,
      'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-CHACHA20-POLY1305',
    );
    assert.equal(plan.ecdhCurve, 'P-521:P-384:P-256');
    assert.equal(plan.mtls, undefined);
    assert.equal(compile({ disabled: true, ...PAIR }).tls, undefined);
    assert.equal(compileGateway(json(configWith()).config).tls, undefined);
  });

  it('serves the pre-2.7 public_key/private_key pair first, then keys', () => {
    const plan = compile({ ...PAIR, keys: [{ public_key: 'c2.pem', private_key: 'k2.pem' }] }).tls!;
    assert.deepEqual(plan.keyPairs.map((pair) => [pair.certFile, pair.certPath]), [['c.pem', '$.tls.public_key'], ['c2.pem', '$.tls.keys[0].public_key']]);
  });

  it('maps cipher_suites and curve_preferences by IANA number; TLS 1.3 suites change nothing, as in Go', () => {
    const plan = compile({ keys: [PAIR], min_version: 'TLS12', max_version: 'TLS12', cipher_suites: [49199, 4865, 47], curve_preferences: [29, 23] }).tls!;
    assert.equal(plan.minVersion, 'TLSv1.2');
    assert.equal(plan.maxVersion, 'TLSv1.2');
    assert.equal(plan.ciphers, 'ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA');
    assert.equal(plan.ecdhCurve, 'X25519:P-256');
    // Empty lists are lura's defaults.
    assert.equal(compile({ keys: [PAIR], cipher_suites: [], curve_preferences: [] }).tls!.ecdhCurve, 'P-521:P-384:P-256');
  });

  it('compiles enable_mtls with ca_certs and the system pool unless disabled', () => {
    assert.deepEqual(compile({ keys: [PAIR], enable_mtls: true, ca_certs: ['ca.pem'] }).tls!.mtls, { caFiles: [{ file: 'ca.pem', path: '$.tls.ca_certs[0]' }], systemPool: true });
    assert.deepEqual(compile({ keys: [PAIR], enable_mtls: true, ca_certs: ['ca.pem'], disable_system_ca_pool: true }).tls!.mtls?.systemPool, false);
  });

  it('refuses, with the JSON path, what cannot be served as written', () => {
    assertIssue(() => compile({}), '$.tls', /^needs a certificate: "keys"/);
    assertIssue(() => compile({ public_key: 'c.pem' }), '$.tls.private_key', 'missing: public_key needs its private key (private_key)');
    assertIssue(() => compile({ private_key: 'k.pem' }), '$.tls.public_key', 'missing: private_key needs its certificate (public_key)');
    assertIssue(() => compile({ keys: [PAIR], cipher_suites: [49199, 10] }), '$.tls.cipher_suites[1]', "10 (TLS_RSA_WITH_3DES_EDE_CBC_SHA) is not available in Node's OpenSSL; remove it");
    assertIssue(() => compile({ keys: [PAIR], cipher_suites: [1234] }), '$.tls.cipher_suites[0]', /^1234 is not a cipher suite portcullis can serve/);
    assertIssue(() => compile({ keys: [PAIR], curve_preferences: [30] }), '$.tls.curve_preferences[0]', '30 is not a curve portcullis can serve (23 P-256, 24 P-384, 25 P-521, 29 X25519)');
    assertIssue(() => compile({ keys: [PAIR], max_version: 'TLS11' }), '$.tls.max_version', "TLS11 cannot be served: Node's OpenSSL needs TLS12 or TLS13");
    assertIssue(() => compile({ keys: [PAIR], min_version: 'TLS13', max_version: 'TLS12' }), '$.tls.min_version', 'TLS13 is above max_version TLS12: no client could connect');
    assertIssue(
      () => compile({ keys: [PAIR], enable_mtls: true, disable_system_ca_pool: true }),
      '$.tls.ca_certs',
      'enable_mtls with disable_system_ca_pool needs at least one CA file: no client certificate could be accepted',
    );
  });

  it('refuses unknown keys inside tls (a restriction portcullis does not know must not be skipped) and unknown versions', () => {
    assertIssue(() => json(configWith({}, { tls: { keys: [PAIR], enable_mtsl: true } })), '$.tls.enable_mtsl', /did you mean "enable_mtls"/);
    assertIssue(() => json(configWith({}, { tls: { keys: [PAIR], client_auth: 'require' } })), '$.tls.client_auth', /unknown key/);
    assertIssue(() => json(configWith({}, { tls: { keys: [PAIR], min_version: 'TLS1.2' } })), '$.tls.min_version', /must be one of "SSL3.0", "TLS10", "TLS11", "TLS12", "TLS13"/);
  });

  it('warns about what is served differently or trusted more widely than it may look', () => {
    assert.deepEqual(json(configWith({}, { tls: { disabled: true } })).warnings, [{ path: '$.tls', message: '"tls" is disabled (ignored)' }]);
    assert.deepEqual(json(configWith({}, { tls: { keys: [PAIR], min_version: 'TLS10' } })).warnings, [
      { path: '$.tls.min_version', message: "TLS10 is served as TLS12: Node's OpenSSL cannot complete older handshakes" },
    ]);
    assert.deepEqual(json(configWith({}, { tls: { keys: [PAIR], enable_mtls: true, ca_certs: ['ca.pem'] } })).warnings, [
      {
        path: '$.tls.enable_mtls',
        message: 'client certificates from any CA in the system pool (Node\'s bundled root CAs) are accepted too, as in KrakenD; set "disable_system_ca_pool": true to accept only ca_certs',
      },
    ]);
    assert.deepEqual(json(configWith({}, { tls: { keys: [PAIR], enable_mtls: true, ca_certs: ['ca.pem'], disable_system_ca_pool: true } })).warnings, []);
    assert.deepEqual(json(configWith({}, { tls: { keys: [PAIR], ca_certs: ['ca.pem'] } })).warnings, [
      { path: '$.tls.ca_certs', message: '"ca_certs": not used without "enable_mtls": true (as in KrakenD)' },
    ]);
  });
});
