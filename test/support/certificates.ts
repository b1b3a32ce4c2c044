/**
 * Real X.509 certificates for TLS tests, made by the openssl CLI (node:crypto
 * cannot issue certificates): CAs, server certificates for 127.0.0.1 and a
 * name, and client certificates. Everything lives in one temporary directory.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const HAS_OPENSSL = spawnSync('openssl', ['version']).status === 0;
export const HAS_CURL = spawnSync('curl', ['--version']).status === 0;

export interface CertificateFiles {
  readonly cert: string;
  readonly key: string;
}

export interface CertificateFactory {
  readonly dir: string;
  /** A self-signed CA. */
  ca(name: string): CertificateFiles;
  /** A server certificate for `names` (DNS names; 127.0.0.1 is always added) signed by `ca`. */
  server(name: string, ca: CertificateFiles, names?: readonly string[]): CertificateFiles;
  /** A client certificate (extendedKeyUsage clientAuth) signed by `ca`. */
  client(name: string, ca: CertificateFiles): CertificateFiles;
  /** Writes `text` to a file in the directory and returns its path. */
  write(name: string, text: string | Buffer): string;
  remove(): void;
}

export function createCertificateFactory(): CertificateFactory {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-tls-'));
  const path = (name: string) => join(dir, name);
  const openssl = (args: string[]): void => {
    const run = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`openssl ${args[0]} failed: ${run.stderr}`);
  };

  function signed(name: string, ca: CertificateFiles, extensions: string): CertificateFiles {
    const files = { cert: path(`${name}.crt`), key: path(`${name}.key`) };
    openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', files.key, '-out', path(`${name}.csr`), '-subj', `/CN=${name}`]);
    writeFileSync(path(`${name}.ext`), extensions);
    openssl(['x509', '-req', '-in', path(`${name}.csr`), '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '2', '-sha256', '-extfile', path(`${name}.ext`), '-out', files.cert]);
    return files;
  }

  return {
    dir,
    ca(name) {
      const files = { cert: path(`${name}.crt`), key: path(`${name}.key`) };
      openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', files.key, '-out', files.cert, '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
      return files;
    },
    server(name, ca, names = ['localhost']) {
      const san = ['IP:127.0.0.1', ...names.map((dns) => `DNS:${dns}`)].join(',');
      return signed(name, ca, `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`);
    },
    client(name, ca) {
      return signed(name, ca, 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n');
    },
    write(name, text) {
      writeFileSync(path(name), text);
      return path(name);
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
