/**
 * Where `auth/signer` gets its private key, as KrakenD's signer: a JWKS with
 * private members from `jwk_local_path` or `jwk_url` (same URL rules, pins
 * and CA as a validator's key set), the key picked by `kid`. `jwk_local_path`
 * may also name the local issuer's key index (issuer-key-index.ts): then the
 * key is `kid`, or the issuer's current key when no kid is set.
 *
 * The key is read once, at start and at each reload; KrakenD also reads it
 * once. Errors name the file or URL and the kid, never key material.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Alg } from '../jwt/algorithms.js';
import type { Jwk } from '../jwt/keys.js';
import { importSigningJwk, signingKeyFromPrivateKey, type SigningKey } from '../jwt/sign.js';
import type { JwksTlsOptions } from './fetch-jwks.js';
import { issuerKeyRecords } from './issuer-key-index.js';
import { jwksMembers } from './key-index.js';
import { KeySourceError } from './local.js';

export type SigningKeySource =
  | { readonly kind: 'file'; readonly path: string }
  | ({ readonly kind: 'url'; readonly url: string; readonly timeoutMs: number } & Readonly<JwksTlsOptions>);

export interface SigningKeyRequest {
  readonly source: SigningKeySource;
  /** Required with a JWKS; with an issuer key index, undefined means its current key. */
  readonly kid: string | undefined;
  readonly alg: Alg;
}

/** Reads the key from a file (synchronous: `check` and a cluster primary call it too). Throws KeySourceError. */
export function readSigningKeyFile(path: string, kid: string | undefined, alg: Alg): SigningKey {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new KeySourceError(`cannot read JWK file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'read error'}`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new KeySourceError(`JWK file ${path} is not JSON`);
  }
  if (issuerKeyRecords(document) !== undefined) return fromIssuerKeyIndex(document, path, kid, alg);
  return fromJwks(document, `JWK file ${path}`, kid, alg);
}

/** Reads the key from its source. Throws KeySourceError (or JwksFetchError for a download). */
export async function loadSigningKey(request: SigningKeyRequest): Promise<SigningKey> {
  const { source, kid, alg } = request;
  if (source.kind === 'file') return readSigningKeyFile(source.path, kid, alg);
  // The HTTP client (undici) is loaded by the first download: `check` reads key files only.
  const { fetchJson } = await import('./fetch-jwks.js');
  const document = await fetchJson({ url: source.url, timeoutMs: source.timeoutMs, ...tlsOf(source) });
  return fromJwks(document, `the JWKS at ${source.url}`, kid, alg);
}

function tlsOf(source: JwksTlsOptions): JwksTlsOptions {
  return {
    ...(source.allowInsecure !== undefined ? { allowInsecure: source.allowInsecure } : {}),
    ...(source.fingerprints !== undefined ? { fingerprints: source.fingerprints } : {}),
    ...(source.caFile !== undefined ? { caFile: source.caFile } : {}),
  };
}

function fromJwks(document: unknown, where: string, kid: string | undefined, alg: Alg): SigningKey {
  if (kid === undefined) throw new KeySourceError(`${where}: "kid" is required to pick the signing key`);
  let members: Jwk[];
  try {
    members = jwksMembers(document, true);
  } catch (error) {
    throw new KeySourceError(`${where}: ${(error as Error).message}`);
  }
  const named = members.filter((jwk) => typeof jwk === 'object' && jwk !== null && jwk.kid === kid);
  if (named.length === 0) throw new KeySourceError(`${where} has no key with kid ${JSON.stringify(kid)}`);
  // Several keys may share a kid (one per algorithm); the first that can sign alg is used.
  let reason = '';
  for (const jwk of named) {
    try {
      return importSigningJwk(jwk, alg);
    } catch (error) {
      reason ||= (error as Error).message;
    }
  }
  throw new KeySourceError(`${where}, kid ${JSON.stringify(kid)}: ${reason}`);
}

function fromIssuerKeyIndex(document: unknown, path: string, kid: string | undefined, alg: Alg): SigningKey {
  const records = issuerKeyRecords(document)!;
  const record = kid === undefined ? records[0]! : records.find((candidate) => candidate.kid === kid);
  if (record === undefined) throw new KeySourceError(`issuer key index ${path} has no key with kid ${JSON.stringify(kid)}`);
  if (record.alg !== alg) throw new KeySourceError(`issuer key index ${path}: key ${record.kid} is an ${record.alg} key, not ${alg}`);
  const pemPath = join(dirname(path), `${record.kid}.pem`);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(readFileSync(pemPath, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new KeySourceError(`cannot read the private key ${pemPath}: ${code?.startsWith('E') && !code.startsWith('ERR_') ? code : 'not a PEM private key'}`);
  }
  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' }) as Record<string, unknown>;
  if (!['n', 'e', 'crv', 'x', 'y'].every((member) => publicJwk[member] === record.publicJwk[member])) {
    throw new KeySourceError(`${pemPath} does not match the public key of kid ${record.kid} in ${path}`);
  }
  try {
    return signingKeyFromPrivateKey(privateKey, alg, record.kid);
  } catch (error) {
    throw new KeySourceError(`${pemPath}: ${(error as Error).message}`);
  }
}
