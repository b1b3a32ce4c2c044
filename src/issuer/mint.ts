/**
 * Compact JWS signing with node:crypto. The issuer signs its own tokens rather
 * than reuse the authorizer's code, so a bug shared by both sides could not
 * hide itself in tests (and jose is a dev dependency only).
 */
import { sign } from 'node:crypto';
import type { SigningKey } from './key-store.js';

export function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

/** Signs `payload` with `key`; the header carries the key's `alg` and `kid` and `typ: "JWT"`. */
export function mintToken(key: SigningKey, payload: Readonly<Record<string, unknown>>): string {
  const header = { alg: key.alg, kid: key.kid, typ: 'JWT' };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  const data = Buffer.from(signingInput);
  let signature: Buffer;
  switch (key.alg) {
    case 'RS256':
      signature = sign('sha256', data, key.privateKey);
      break;
    case 'ES256':
    case 'ES384':
      // JWS wants the raw r||s form (RFC 7518 §3.4), not node's default DER.
      signature = sign(key.alg === 'ES256' ? 'sha256' : 'sha384', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
      break;
    case 'EdDSA':
      signature = sign(null, data, key.privateKey);
      break;
  }
  return `${signingInput}.${signature.toString('base64url')}`;
}
