/**
 * Signature verification on node:crypto, chosen by the key's type and the
 * configured algorithm. Signature lengths are checked exactly before any
 * big-number work, ECDSA is accepted only as raw r||s (RFC 7518 §3.4), and
 * HMAC tags are compared in constant time over their full length.
 */
import { constants, createHmac, timingSafeEqual, verify } from 'node:crypto';
import { algSpec, type Alg } from './algorithms.js';
import type { VerificationKey } from './keys.js';

// Signing inputs are copied into one reusable buffer right before a synchronous
// verify, instead of allocating a Buffer per token on the cold path. Tokens from
// one issuer mostly share a length, so the last view is reused too.
const scratch = Buffer.allocUnsafe(64 * 1024);
let lastView: Buffer = scratch.subarray(0, 0);

/** The first `length` characters of `token` as bytes, valid only until the next call. */
export function signingInput(token: string, length: number): Buffer {
  if (length > scratch.length) return Buffer.from(token.slice(0, length), 'latin1');
  scratch.write(token, 0, length, 'latin1');
  if (lastView.length !== length) lastView = scratch.subarray(0, length);
  return lastView;
}

/** Verifies `signature` over `data` with `key` under `alg`. Never throws for bad input; returns false. */
export function verifySignature(key: VerificationKey, alg: Alg, data: Uint8Array, signature: Uint8Array): boolean {
  if (!key.algs.has(alg)) return false;
  const spec = algSpec(alg);
  const expectedLength = spec.signatureBytes ?? key.modulusBytes;
  if (signature.length !== expectedLength) return false;
  try {
    switch (spec.family) {
      case 'rsa-pkcs1':
        return verify(spec.hash, data, key.keyObject, signature);
      case 'rsa-pss':
        return verify(
          spec.hash,
          data,
          { key: key.keyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: spec.hashBytes },
          signature,
        );
      case 'ecdsa':
        if (isZeroHalf(signature, 0) || isZeroHalf(signature, signature.length / 2)) return false;
        return verify(spec.hash, data, { key: key.keyObject, dsaEncoding: 'ieee-p1363' }, signature);
      case 'eddsa':
        return verify(null, data, key.keyObject, signature);
      case 'hmac': {
        const tag = createHmac(spec.hash!, key.keyObject).update(data).digest();
        return timingSafeEqual(tag, signature);
      }
    }
  } catch {
    return false;
  }
}

// r = 0 or s = 0 is the "psychic signature" (CVE-2022-21449); OpenSSL refuses it too, but this costs nothing.
function isZeroHalf(signature: Uint8Array, start: number): boolean {
  const end = start + signature.length / 2;
  for (let i = start; i < end; i++) if (signature[i] !== 0) return false;
  return true;
}
