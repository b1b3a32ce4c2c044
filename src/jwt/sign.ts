/**
 * JWS signing for the gateway's `auth/signer` (KrakenD's signer): a private
 * JWK (or an HMAC secret, or a private key read from PEM) bound once to the
 * configured algorithm, then compact or JSON-serialized signatures made with
 * node:crypto. The same rules as verification apply to the key (kty and curve
 * fit the algorithm, RSA of at least 2048 bits without the ROCA fingerprint,
 * HMAC secrets at least as long as the hash), so every token signed here is
 * one portcullis itself would accept.
 *
 * Errors name the problem, never key material.
 */
import { constants, createHmac, createPrivateKey, createPublicKey, createSecretKey, sign, type KeyObject } from 'node:crypto';
import { algSpec, isSupportedAlg, type Alg } from './algorithms.js';
import { decodeBase64url, isStrictBase64url } from './base64url.js';
import { importJwk, type Jwk } from './keys.js';
import { verifySignature } from './verify.js';

export interface SigningKey {
  readonly alg: Alg;
  /** Put in the header as `kid` when set. */
  readonly kid: string | undefined;
  /** A private key, or an HMAC secret. */
  readonly keyObject: KeyObject;
}

export class SigningKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SigningKeyError';
  }
}

/** A JWK with its private part (`d`, or `k` for HMAC), for `alg`. */
export function importSigningJwk(jwk: Jwk, alg: Alg): SigningKey {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw new SigningKeyError('a JWK must be an object');
  const spec = algSpec(alg);
  if (jwk.kty !== spec.kty) throw new SigningKeyError(`the ${String(jwk.kty).slice(0, 10)} key cannot sign ${alg} (it needs kty ${spec.kty})`);
  if (jwk.alg !== undefined && jwk.alg !== alg) {
    throw new SigningKeyError(`the key is for ${isSupportedAlg(jwk.alg) ? jwk.alg : 'another algorithm'}, not ${alg}`);
  }
  if (spec.crv !== undefined && jwk.crv !== spec.crv) throw new SigningKeyError(`${alg} needs curve ${spec.crv}`);
  if (jwk.use !== undefined && jwk.use !== 'sig') throw new SigningKeyError('key "use" is not "sig"');
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('sign'))) {
    throw new SigningKeyError('key_ops does not include "sign"');
  }
  if (jwk.kid !== undefined && (typeof jwk.kid !== 'string' || jwk.kid === '')) throw new SigningKeyError('kid must be a non-empty string');
  const kid = jwk.kid as string | undefined;

  if (spec.kty === 'oct') {
    if (typeof jwk.k !== 'string' || !isStrictBase64url(jwk.k)) throw new SigningKeyError('oct key "k" must be base64url');
    const secret = decodeBase64url(jwk.k);
    // RFC 7518 §3.2: the key must be at least as long as the hash output.
    if (secret.length < spec.hashBytes) throw new SigningKeyError(`an ${alg} secret needs at least ${spec.hashBytes} bytes (RFC 7518 §3.2)`);
    return Object.freeze({ alg, kid, keyObject: createSecretKey(secret) });
  }
  if (typeof jwk.d !== 'string') throw new SigningKeyError('the key is a public key: the signer needs the private key ("d")');
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey({ key: jwk as never, format: 'jwk' });
  } catch {
    throw new SigningKeyError(`invalid ${spec.kty} private key`);
  }
  return checkedPair(signingKeyFromPrivateKey(keyObject, alg, kid), jwk);
}

/** A private key read from PEM (the issuer's data dir), for `alg`. */
export function signingKeyFromPrivateKey(keyObject: KeyObject, alg: Alg, kid: string | undefined): SigningKey {
  const spec = algSpec(alg);
  if (keyObject.type !== 'private') throw new SigningKeyError('the signer needs a private key');
  const type = keyObject.asymmetricKeyType;
  const fits =
    spec.kty === 'RSA'
      ? type === 'rsa'
      : spec.kty === 'EC'
        ? type === 'ec' && curveOf(keyObject) === spec.crv
        : spec.kty === 'OKP' && type === 'ed25519';
  if (!fits) throw new SigningKeyError(`a ${type ?? 'unknown'} key cannot sign ${alg}`);
  return checkedPair(Object.freeze({ alg, kid, keyObject }), undefined);
}

/**
 * The public half goes through the verifier's own import (RSA size, ROCA,
 * curve) and must verify a probe signature: node accepts a JWK whose `d` does
 * not belong to its `n`, and every token signed with it would be refused.
 */
function checkedPair(key: SigningKey, jwk: Jwk | undefined): SigningKey {
  const derived = createPublicKey(key.keyObject).export({ format: 'jwk' }) as Record<string, unknown>;
  if (jwk !== undefined && ['n', 'e', 'crv', 'x', 'y'].some((member) => jwk[member] !== undefined && jwk[member] !== derived[member])) {
    throw new SigningKeyError('the private key does not match the public members of its JWK');
  }
  let verification;
  try {
    verification = importJwk({ ...derived, alg: key.alg }, [key.alg]);
  } catch (error) {
    throw new SigningKeyError((error as Error).message);
  }
  const probe = Buffer.from('portcullis signing key check');
  if (!verifySignature(verification, key.alg, probe, signatureOf(key, probe))) {
    throw new SigningKeyError('the private key does not match the public members of its JWK');
  }
  return key;
}

function curveOf(key: KeyObject): string | undefined {
  const named = key.asymmetricKeyDetails?.namedCurve;
  return named === 'prime256v1' ? 'P-256' : named === 'secp384r1' ? 'P-384' : named === 'secp521r1' ? 'P-521' : named;
}

/**
 * Signs `payload` (JSON text). The protected header is `{"alg", "kid"}`, as
 * go-jose writes it for KrakenD. `full` gives the flattened JWS JSON
 * serialization (go-jose's FullSerialize with one signature), as a string.
 */
export function signJws(key: SigningKey, payload: string, full = false): string {
  const header = key.kid === undefined ? { alg: key.alg } : { alg: key.alg, kid: key.kid };
  const protectedPart = Buffer.from(JSON.stringify(header)).toString('base64url');
  const payloadPart = Buffer.from(payload).toString('base64url');
  const signature = signatureOf(key, Buffer.from(`${protectedPart}.${payloadPart}`)).toString('base64url');
  if (full) return JSON.stringify({ payload: payloadPart, protected: protectedPart, signature });
  return `${protectedPart}.${payloadPart}.${signature}`;
}

function signatureOf(key: SigningKey, data: Buffer): Buffer {
  const spec = algSpec(key.alg);
  switch (spec.family) {
    case 'hmac':
      return createHmac(spec.hash!, key.keyObject).update(data).digest();
    case 'rsa-pkcs1':
      return sign(spec.hash, data, key.keyObject);
    case 'rsa-pss':
      return sign(spec.hash, data, { key: key.keyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: spec.hashBytes });
    case 'ecdsa':
      // JWS wants the raw r||s form (RFC 7518 §3.4), not node's default DER.
      return sign(spec.hash, data, { key: key.keyObject, dsaEncoding: 'ieee-p1363' });
    case 'eddsa':
      return sign(null, data, key.keyObject);
  }
}
