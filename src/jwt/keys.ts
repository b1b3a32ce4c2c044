/**
 * A verification key is a JWK turned, once, into a node:crypto KeyObject (or an
 * HMAC secret) and bound to the algorithms it may verify. The binding comes from
 * the JWK's own `kty`/`crv`/`alg` and the configured allowlist, never from a
 * token, so an RSA public key can never act as an HMAC secret.
 */
import { createHash, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { algSpec, isSupportedAlg, type Alg, SUPPORTED_ALGS } from './algorithms.js';
import { decodeBase64url, isStrictBase64url } from './base64url.js';
import { hasRocaFingerprint } from './roca.js';

export interface Jwk {
  kty?: unknown;
  kid?: unknown;
  alg?: unknown;
  use?: unknown;
  key_ops?: unknown;
  crv?: unknown;
  x5t?: unknown;
  'x5t#S256'?: unknown;
  x5c?: unknown;
  k?: unknown;
  [member: string]: unknown;
}

export interface VerificationKey {
  readonly kid: string | undefined;
  readonly x5t: string | undefined;
  readonly x5tS256: string | undefined;
  readonly kty: 'RSA' | 'EC' | 'OKP' | 'oct';
  /** Algorithms this key verifies: the JWK's `alg` alone, or every allowed algorithm its type fits. */
  readonly algs: ReadonlySet<Alg>;
  readonly keyObject: KeyObject;
  /** RSA modulus length in bytes, which is the exact RS/PS signature length. */
  readonly modulusBytes: number;
  /** Short, non-secret label for logs: SHA-256 of the public part, 12 hex characters. */
  readonly fingerprint: string;
  /** Full SHA-256 of the key material (hashed twice for secrets), to tell keys apart across refreshes. */
  readonly digest: string;
  /** Set when the key leaves its key set; cached verifications made with it are then ignored. */
  retired: boolean;
}

export class KeyImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyImportError';
  }
}

export const MIN_RSA_MODULUS_BITS = 2048;

/**
 * Imports one JWK. Throws KeyImportError with a reason that names no key material.
 * `allowedAlgs` is the configured allowlist; a key that fits none of them is refused.
 */
export function importJwk(jwk: Jwk, allowedAlgs: readonly Alg[]): VerificationKey {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw new KeyImportError('a JWK must be an object');
  const kty = jwk.kty;
  if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP' && kty !== 'oct') {
    throw new KeyImportError(`unsupported kty ${JSON.stringify(String(kty)).slice(0, 40)}`);
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') throw new KeyImportError('key "use" is not "sig"');
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) {
    throw new KeyImportError('key_ops does not include "verify"');
  }
  for (const member of ['kid', 'x5t', 'x5t#S256'] as const) {
    if (jwk[member] !== undefined && (typeof jwk[member] !== 'string' || jwk[member] === '')) {
      throw new KeyImportError(`${member} must be a non-empty string`);
    }
  }

  const candidates = candidateAlgs(jwk, kty);
  const algs = new Set(candidates.filter((alg) => allowedAlgs.includes(alg)));
  if (algs.size === 0) throw new KeyImportError('the key fits no allowed algorithm');

  let keyObject: KeyObject;
  let modulusBytes = 0;
  if (kty === 'oct') {
    if (typeof jwk.k !== 'string' || !isStrictBase64url(jwk.k)) throw new KeyImportError('oct key "k" must be base64url');
    const secret = decodeBase64url(jwk.k);
    for (const alg of algs) {
      // RFC 7518 §3.2: the key must be at least as long as the hash output.
      if (secret.length < algSpec(alg).hashBytes) algs.delete(alg);
    }
    if (algs.size === 0) throw new KeyImportError('HMAC key is shorter than the hash output');
    keyObject = createSecretKey(secret);
  } else {
    try {
      const fromJwk = createPublicKey({ key: publicMembers(jwk) as never, format: 'jwk' });
      // The same key read back from its SPKI DER: node builds JWK keys as OpenSSL "legacy" keys,
      // which cost about 0.3 µs more per RSA verification than the provider-native key a DER
      // import gives (measured on node 20 / OpenSSL 3). Import happens once; verification is per token.
      keyObject = createPublicKey({ key: fromJwk.export({ type: 'spki', format: 'der' }), format: 'der', type: 'spki' });
    } catch {
      throw new KeyImportError(`invalid ${kty} key`);
    }
    if (kty === 'RSA') {
      const bits = keyObject.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < MIN_RSA_MODULUS_BITS) throw new KeyImportError(`RSA modulus of ${bits} bits is below ${MIN_RSA_MODULUS_BITS}`);
      // With e = 1 the encoded message is its own signature, so anyone could sign; an even e is not RSA.
      const exponent = keyObject.asymmetricKeyDetails?.publicExponent ?? 0n;
      if (exponent < 3n || exponent % 2n === 0n) throw new KeyImportError('RSA public exponent must be odd and at least 3');
      // createPublicKey accepted `n`, so it is a string; node decodes it with this same decoder.
      if (hasRocaFingerprint(decodeBase64url(jwk.n as string))) {
        throw new KeyImportError('RSA key has the ROCA fingerprint (CVE-2017-15361, Infineon weak key generation): it can be factored');
      }
      modulusBytes = Math.ceil(bits / 8);
    }
  }

  return {
    kid: jwk.kid as string | undefined,
    x5t: jwk.x5t as string | undefined,
    x5tS256: jwk['x5t#S256'] as string | undefined,
    kty,
    algs,
    keyObject,
    modulusBytes,
    ...fingerprintOf(keyObject),
    retired: false,
  };
}

function candidateAlgs(jwk: Jwk, kty: VerificationKey['kty']): Alg[] {
  if (jwk.alg !== undefined) {
    if (!isSupportedAlg(jwk.alg)) throw new KeyImportError('unsupported JWK alg');
    const spec = algSpec(jwk.alg);
    if (spec.kty !== kty) throw new KeyImportError(`JWK alg ${jwk.alg} does not fit kty ${kty}`);
    if (spec.crv && jwk.crv !== spec.crv) throw new KeyImportError(`JWK alg ${jwk.alg} does not fit its curve`);
    return [jwk.alg];
  }
  return SUPPORTED_ALGS.filter((alg) => {
    const spec = algSpec(alg);
    return spec.kty === kty && (!spec.crv || spec.crv === jwk.crv);
  });
}

// Private members are dropped so that a JWKS that leaks `d` still yields only a public key.
function publicMembers(jwk: Jwk): Record<string, unknown> {
  switch (jwk.kty) {
    case 'RSA':
      return { kty: 'RSA', n: jwk.n, e: jwk.e };
    case 'EC':
      return { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y };
    default:
      return { kty: 'OKP', crv: jwk.crv, x: jwk.x };
  }
}

function fingerprintOf(key: KeyObject): { fingerprint: string; digest: string } {
  const material = key.type === 'secret' ? key.export() : key.export({ type: 'spki', format: 'der' });
  // A secret is hashed twice so that its label is no faster an oracle for guesses than the HMAC itself.
  let hash = createHash('sha256').update(material).digest();
  if (key.type === 'secret') hash = createHash('sha256').update(hash).digest();
  const digest = hash.toString('hex');
  return { fingerprint: digest.slice(0, 12), digest };
}
