/**
 * Binding a `tls` plan: the certificate, key and CA files read and checked
 * (a broken one stops startup, or refuses a reload, naming its JSON path and
 * file, never its contents), then turned into node:tls server options.
 *
 * Several certificates are served by SNI: the first whose names match the
 * host the client asked for, else the first one (Go's `getCertificate` does
 * the same). A reload re-reads every file and swaps the secure contexts, so
 * renewed certificates and changed CAs apply from the next handshake; turning
 * TLS or mTLS on or off changes how the listener accepts connections and
 * needs a restart, so such a reload is refused.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, type SecureContext, type SecureContextOptions, type Server as TlsServer, type TlsOptions } from 'node:tls';
import type { TlsKeyPairPlan, TlsPlan } from '../config/plan.js';
import { ConfigError, type ConfigIssue } from '../config/validate.js';

export interface ListenerTls {
  /** For https.createServer: the first certificate, SNI for the others, and client certificates with mTLS. */
  readonly serverOptions: TlsOptions;
  /** For the startup line, e.g. `TLS 1.3, client certificates required`. */
  readonly summary: string;
  /** Worth a log line, e.g. an expired certificate. */
  readonly warnings: readonly string[];
  /**
   * Reads `next`'s files and returns what swaps them in on `server`. Throws
   * ConfigError, changing nothing, for a broken file or for a change that
   * needs a restart (mTLS on or off).
   */
  prepareReload(next: TlsPlan): (server: TlsServer) => void;
}

// With client certificates and session resumption, OpenSSL needs the same id context on every SNI context.
const SESSION_ID_CONTEXT = 'portcullis';
/** PKCS#8 encrypted keys, and the legacy OpenSSL form (which node reports with varying codes). */
const ENCRYPTED_PEM = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

interface Pair {
  readonly certificate: X509Certificate;
  readonly context: SecureContext;
}

interface Loaded {
  readonly plan: TlsPlan;
  /** Options of the default context (the first pair). */
  readonly defaults: SecureContextOptions;
  readonly pairs: readonly Pair[];
  readonly warnings: readonly string[];
}

export function createListenerTls(plan: TlsPlan, now: () => number = Date.now): ListenerTls {
  let current = load(plan, now);
  const mtls = plan.mtls !== undefined;
  const serverOptions: TlsOptions = {
    ...current.defaults,
    requestCert: mtls,
    rejectUnauthorized: mtls,
    SNICallback: (servername, done) => done(null, pick(current.pairs, servername)),
  };
  return {
    serverOptions,
    summary: summarize(plan),
    warnings: current.warnings,
    prepareReload(next) {
      if ((next.mtls !== undefined) !== mtls) {
        throw new ConfigError([{ path: `${next.path}.enable_mtls`, message: `turning client certificates ${mtls ? 'off' : 'on'} needs a restart` }]);
      }
      const loaded = load(next, now);
      return (server) => {
        server.setSecureContext(loaded.defaults);
        current = loaded;
      };
    },
  };
}

/** What `check` and a cluster primary report before anything listens. */
export function checkTlsSources(plan: TlsPlan): ConfigIssue[] {
  try {
    load(plan, Date.now);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return [...error.issues];
    throw error;
  }
}

function load(plan: TlsPlan, now: () => number): Loaded {
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  let ca: string[] | undefined;
  if (plan.mtls !== undefined) {
    ca = plan.mtls.systemPool ? [...rootCertificates] : [];
    for (const { file, path } of plan.mtls.caFiles) {
      const text = readText(file, path, issues);
      if (text !== undefined && parseCertificates(text, file, path, issues) !== undefined) ca.push(text);
    }
  }
  const keyed: { pem: { cert: string; key: string }; certificate: X509Certificate }[] = [];
  for (const pair of plan.keyPairs) {
    const read = readPair(pair, issues);
    if (read === undefined) continue;
    keyed.push(read);
    const expires = Date.parse(read.certificate.validTo);
    if (Number.isFinite(expires) && expires < now()) warnings.push(`${pair.certPath}: the certificate in ${pair.certFile} expired on ${read.certificate.validTo}`);
  }
  if (issues.length > 0) throw new ConfigError(issues);

  const common: SecureContextOptions = {
    minVersion: plan.minVersion,
    maxVersion: plan.maxVersion,
    ciphers: plan.ciphers,
    ecdhCurve: plan.ecdhCurve,
    honorCipherOrder: true,
    sessionIdContext: SESSION_ID_CONTEXT,
    ...(ca !== undefined ? { ca } : {}),
  };
  const pairs: Pair[] = [];
  let defaults: SecureContextOptions | undefined;
  for (const { pem, certificate } of keyed) {
    const options: SecureContextOptions = { ...common, cert: pem.cert, key: pem.key };
    let context: SecureContext;
    try {
      context = createSecureContext(options);
    } catch (error) {
      // The files were checked one by one above; what is left is the combination (e.g. a cipher list without a suite for this key type).
      throw new ConfigError([{ path: plan.path, message: `cannot be served: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` }]);
    }
    defaults ??= options;
    pairs.push({ certificate, context });
  }
  return { plan, defaults: defaults!, pairs, warnings };
}

function readPair(pair: TlsKeyPairPlan, issues: ConfigIssue[]): { pem: { cert: string; key: string }; certificate: X509Certificate } | undefined {
  const certText = readText(pair.certFile, pair.certPath, issues);
  const keyText = readText(pair.keyFile, pair.keyPath, issues);
  const certificates = certText === undefined ? undefined : parseCertificates(certText, pair.certFile, pair.certPath, issues);
  let key: KeyObject | undefined;
  if (keyText !== undefined) {
    try {
      key = createPrivateKey({ key: keyText, format: 'pem' });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      issues.push({
        path: pair.keyPath,
        message:
          code === 'ERR_MISSING_PASSPHRASE' || ENCRYPTED_PEM.test(keyText)
            ? `${pair.keyFile} is encrypted; portcullis, as KrakenD, needs an unencrypted PEM private key`
            : `${pair.keyFile} is not a PEM private key`,
      });
    }
  }
  if (certificates === undefined || key === undefined) return undefined;
  const leaf = certificates[0]!;
  if (!leaf.checkPrivateKey(key)) {
    issues.push({ path: pair.keyPath, message: `${pair.keyFile} is not the private key of the certificate in ${pair.certFile}` });
    return undefined;
  }
  return { pem: { cert: certText!, key: keyText! }, certificate: leaf };
}

function readText(file: string, path: string, issues: ConfigIssue[]): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    issues.push({ path, message: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'read error'}` });
    return undefined;
  }
}

function parseCertificates(text: string, file: string, path: string, issues: ConfigIssue[]): X509Certificate[] | undefined {
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    issues.push({ path, message: `${file} holds no PEM certificate` });
    return undefined;
  }
  const certificates: X509Certificate[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      certificates.push(new X509Certificate(block));
    } catch {
      issues.push({ path, message: `${file}: certificate ${i + 1} is not a valid X.509 certificate` });
      return undefined;
    }
  }
  return certificates;
}

/** The first certificate whose names cover the requested host, else the default (first) one. */
function pick(pairs: readonly Pair[], servername: string): SecureContext {
  if (pairs.length > 1) {
    for (const pair of pairs) if (pair.certificate.checkHost(servername) !== undefined) return pair.context;
  }
  return pairs[0]!.context;
}

function summarize(plan: TlsPlan): string {
  const versions = plan.minVersion === plan.maxVersion ? plan.minVersion : `${plan.minVersion}-${plan.maxVersion.slice(4)}`;
  return `${versions.replace('TLSv', 'TLS ')}${plan.mtls !== undefined ? ', client certificates required' : ''}`;
}
