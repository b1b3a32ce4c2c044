/**
 * The root `tls` block compiled into node:tls terms, as lura's
 * `ParseTLSConfig` reads it: TLS 1.3 unless min_version says otherwise, Go's
 * default TLS 1.2 suites and curves, and with `enable_mtls` a client
 * certificate required and verified against `ca_certs` plus the system pool.
 *
 * Go numbers cipher suites and curves by their IANA ids; each one is mapped to
 * its OpenSSL name here. An id Node's OpenSSL cannot offer is refused with its
 * JSON path rather than dropped: a narrower list than the operator wrote could
 * be a wider one than they meant to allow. Nothing is read from disk here.
 */
import type { TlsKeyPairPlan, TlsPlan } from './plan.js';
import type { GatewayConfig } from './schema.js';
import type { ConfigIssue } from './validate.js';

/** Go's TLS 1.2 suites by IANA id → OpenSSL name (crypto/tls cipher_suites.go). */
const TLS12_SUITES: ReadonlyMap<number, string> = new Map([
  [0x002f, 'AES128-SHA'],
  [0x0035, 'AES256-SHA'],
  [0x003c, 'AES128-SHA256'],
  [0x009c, 'AES128-GCM-SHA256'],
  [0x009d, 'AES256-GCM-SHA384'],
  [0xc009, 'ECDHE-ECDSA-AES128-SHA'],
  [0xc00a, 'ECDHE-ECDSA-AES256-SHA'],
  [0xc013, 'ECDHE-RSA-AES128-SHA'],
  [0xc014, 'ECDHE-RSA-AES256-SHA'],
  [0xc023, 'ECDHE-ECDSA-AES128-SHA256'],
  [0xc027, 'ECDHE-RSA-AES128-SHA256'],
  [0xc02f, 'ECDHE-RSA-AES128-GCM-SHA256'],
  [0xc02b, 'ECDHE-ECDSA-AES128-GCM-SHA256'],
  [0xc030, 'ECDHE-RSA-AES256-GCM-SHA384'],
  [0xc02c, 'ECDHE-ECDSA-AES256-GCM-SHA384'],
  [0xcca8, 'ECDHE-RSA-CHACHA20-POLY1305'],
  [0xcca9, 'ECDHE-ECDSA-CHACHA20-POLY1305'],
]);

/** RC4 and 3DES suites Go still knows; Node's OpenSSL 3 has neither. */
const UNAVAILABLE_SUITES: ReadonlyMap<number, string> = new Map([
  [0x0005, 'TLS_RSA_WITH_RC4_128_SHA'],
  [0x000a, 'TLS_RSA_WITH_3DES_EDE_CBC_SHA'],
  [0xc007, 'TLS_ECDHE_ECDSA_WITH_RC4_128_SHA'],
  [0xc011, 'TLS_ECDHE_RSA_WITH_RC4_128_SHA'],
  [0xc012, 'TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA'],
]);

/** Go does not let its TLS 1.3 suites be configured: listing them changes nothing, and all three stay on. */
const TLS13_SUITE_IDS: ReadonlySet<number> = new Set([0x1301, 0x1302, 0x1303]);
const TLS13_SUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

/** lura's `defaultCipherSuites`. */
const DEFAULT_TLS12_SUITES = [0xc02f, 0xc02b, 0xc030, 0xc02c, 0xcca8, 0xcca9];

const CURVES: ReadonlyMap<number, string> = new Map([
  [23, 'P-256'],
  [24, 'P-384'],
  [25, 'P-521'],
  [29, 'X25519'],
]);

/** lura's `defaultCurves`. */
const DEFAULT_CURVES = [25, 24, 23];

type TlsConfig = NonNullable<GatewayConfig['tls']>;

/** Versions lura knows; below TLS12 Node's OpenSSL (security level 1) cannot complete a handshake, so TLS12 is the floor. */
const VERSION_RANK: Readonly<Record<string, number>> = { 'SSL3.0': 0, TLS10: 1, TLS11: 2, TLS12: 3, TLS13: 4 };

export function compileTls(tls: TlsConfig | undefined, at: (pointer: string) => string, issues: ConfigIssue[]): TlsPlan | undefined {
  if (tls === undefined || tls.disabled === true) return undefined;
  const path = at('/tls');
  const keyPairs = compileKeyPairs(tls, at, issues);

  const min = VERSION_RANK[tls.min_version ?? 'TLS13']!;
  const max = VERSION_RANK[tls.max_version ?? 'TLS13']!;
  if (max < VERSION_RANK.TLS12!) {
    issues.push({ path: at('/tls/max_version'), message: `${tls.max_version} cannot be served: Node's OpenSSL needs TLS12 or TLS13` });
  } else if (min > max) {
    issues.push({ path: at('/tls/min_version'), message: `${tls.min_version} is above max_version ${tls.max_version}: no client could connect` });
  }
  const minVersion = min >= VERSION_RANK.TLS13! ? 'TLSv1.3' : 'TLSv1.2';
  const maxVersion = max >= VERSION_RANK.TLS13! ? 'TLSv1.3' : 'TLSv1.2';

  const suites: string[] = [];
  orDefault(tls.cipher_suites, DEFAULT_TLS12_SUITES).forEach((id, i) => {
    const name = TLS12_SUITES.get(id);
    if (name !== undefined) {
      if (!suites.includes(name)) suites.push(name);
    } else if (!TLS13_SUITE_IDS.has(id)) {
      const known = UNAVAILABLE_SUITES.get(id);
      issues.push({
        path: at(`/tls/cipher_suites/${i}`),
        message: known
          ? `${id} (${known}) is not available in Node's OpenSSL; remove it`
          : `${id} is not a cipher suite portcullis can serve (TLS 1.2 suites it knows: ${[...TLS12_SUITES.keys()].join(', ')})`,
      });
    }
  });
  const ciphers = [...(maxVersion === 'TLSv1.3' ? [TLS13_SUITES] : []), ...suites].join(':');

  const curves: string[] = [];
  orDefault(tls.curve_preferences, DEFAULT_CURVES).forEach((id, i) => {
    const name = CURVES.get(id);
    if (name === undefined) issues.push({ path: at(`/tls/curve_preferences/${i}`), message: `${id} is not a curve portcullis can serve (23 P-256, 24 P-384, 25 P-521, 29 X25519)` });
    else if (!curves.includes(name)) curves.push(name);
  });

  let mtls: TlsPlan['mtls'];
  if (tls.enable_mtls === true) {
    const caFiles = (tls.ca_certs ?? []).map((file, i) => Object.freeze({ file, path: at(`/tls/ca_certs/${i}`) }));
    const systemPool = tls.disable_system_ca_pool !== true;
    if (!systemPool && caFiles.length === 0) {
      issues.push({ path: at('/tls/ca_certs'), message: 'enable_mtls with disable_system_ca_pool needs at least one CA file: no client certificate could be accepted' });
    }
    mtls = Object.freeze({ caFiles: Object.freeze(caFiles), systemPool });
  }

  return Object.freeze({ keyPairs, minVersion, maxVersion, ciphers, ecdhCurve: curves.join(':'), mtls, path });
}

/** lura falls back to its defaults for a missing or empty list. */
function orDefault(list: readonly number[] | undefined, fallback: readonly number[]): readonly number[] {
  return list === undefined || list.length === 0 ? fallback : list;
}

/** lura reads `public_key`/`private_key`; KrakenD 2.7 added `keys`. Both may be given: the single pair comes first. */
function compileKeyPairs(tls: TlsConfig, at: (pointer: string) => string, issues: ConfigIssue[]): readonly TlsKeyPairPlan[] {
  const pairs: TlsKeyPairPlan[] = [];
  if (tls.public_key !== undefined || tls.private_key !== undefined) {
    if (tls.public_key === undefined) issues.push({ path: at('/tls/public_key'), message: 'missing: private_key needs its certificate (public_key)' });
    else if (tls.private_key === undefined) issues.push({ path: at('/tls/private_key'), message: 'missing: public_key needs its private key (private_key)' });
    else pairs.push({ certFile: tls.public_key, keyFile: tls.private_key, certPath: at('/tls/public_key'), keyPath: at('/tls/private_key') });
  }
  (tls.keys ?? []).forEach((pair, i) => {
    pairs.push({ certFile: pair.public_key, keyFile: pair.private_key, certPath: at(`/tls/keys/${i}/public_key`), keyPath: at(`/tls/keys/${i}/private_key`) });
  });
  if (pairs.length === 0 && tls.public_key === undefined && tls.private_key === undefined) {
    issues.push({ path: at('/tls'), message: 'needs a certificate: "keys": [{"public_key": …, "private_key": …}] (or public_key and private_key), or "disabled": true' });
  }
  return Object.freeze(pairs.map((pair) => Object.freeze(pair)));
}
