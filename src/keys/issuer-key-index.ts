/**
 * The local issuer's key index (`keys.json` in its data dir: version 1, the
 * current key first, each with its public JWK; `<kid>.pem` beside it holds
 * the private key). A validator's `jwk_local_path` may name it to trust the
 * keys the issuer publishes, and a signer's to sign with the current key, so
 * a login → token → protected call works offline from one data dir.
 *
 * The format is the issuer's (src/issuer/key-store.ts), read here without
 * importing the issuer app; test/gateway/signer.test.ts builds its data dir
 * with the issuer's own key store, so a format change breaks that test.
 */
import type { Jwk } from '../jwt/keys.js';

export interface IssuerKeyRecord {
  readonly kid: string;
  readonly alg: string;
  readonly publicJwk: Jwk;
}

// The issuer writes 32 hex characters; anything else could name a file outside the data dir.
const KID_PATTERN = /^[0-9a-f]{32}$/;

/** The records of a key index, current first, or undefined when `document` is not one. */
export function issuerKeyRecords(document: unknown): IssuerKeyRecord[] | undefined {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return undefined;
  const { version, keys } = document as { version?: unknown; keys?: unknown };
  if (version !== 1 || !Array.isArray(keys) || keys.length === 0) return undefined;
  const records: IssuerKeyRecord[] = [];
  for (const record of keys as unknown[]) {
    if (typeof record !== 'object' || record === null) return undefined;
    const { kid, alg, public_jwk: publicJwk } = record as { kid?: unknown; alg?: unknown; public_jwk?: unknown };
    if (typeof kid !== 'string' || !KID_PATTERN.test(kid) || typeof alg !== 'string' || typeof publicJwk !== 'object' || publicJwk === null) return undefined;
    records.push({ kid, alg, publicJwk: publicJwk as Jwk });
  }
  return records;
}
