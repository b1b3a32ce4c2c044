/** The JWS algorithms portcullis verifies, and the key each one needs. */

export const SUPPORTED_ALGS = [
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512',
  'EdDSA',
  'HS256', 'HS384', 'HS512',
] as const;

export type Alg = (typeof SUPPORTED_ALGS)[number];

export type AlgFamily = 'rsa-pkcs1' | 'rsa-pss' | 'ecdsa' | 'eddsa' | 'hmac';

export interface AlgSpec {
  alg: Alg;
  family: AlgFamily;
  /** Hash for node:crypto, or null for EdDSA (the curve fixes it). */
  hash: 'sha256' | 'sha384' | 'sha512' | null;
  /** Hash output in bytes: PSS salt length, HMAC tag length and minimum HMAC key size. */
  hashBytes: number;
  /** JWK `kty` this algorithm needs. */
  kty: 'RSA' | 'EC' | 'OKP' | 'oct';
  /** JWK `crv` this algorithm needs, for EC and OKP. */
  crv?: 'P-256' | 'P-384' | 'P-521' | 'Ed25519';
  /** Exact signature length in bytes where the algorithm alone fixes it. */
  signatureBytes?: number;
}

const specs: Record<Alg, AlgSpec> = {
  RS256: { alg: 'RS256', family: 'rsa-pkcs1', hash: 'sha256', hashBytes: 32, kty: 'RSA' },
  RS384: { alg: 'RS384', family: 'rsa-pkcs1', hash: 'sha384', hashBytes: 48, kty: 'RSA' },
  RS512: { alg: 'RS512', family: 'rsa-pkcs1', hash: 'sha512', hashBytes: 64, kty: 'RSA' },
  PS256: { alg: 'PS256', family: 'rsa-pss', hash: 'sha256', hashBytes: 32, kty: 'RSA' },
  PS384: { alg: 'PS384', family: 'rsa-pss', hash: 'sha384', hashBytes: 48, kty: 'RSA' },
  PS512: { alg: 'PS512', family: 'rsa-pss', hash: 'sha512', hashBytes: 64, kty: 'RSA' },
  ES256: { alg: 'ES256', family: 'ecdsa', hash: 'sha256', hashBytes: 32, kty: 'EC', crv: 'P-256', signatureBytes: 64 },
  ES384: { alg: 'ES384', family: 'ecdsa', hash: 'sha384', hashBytes: 48, kty: 'EC', crv: 'P-384', signatureBytes: 96 },
  ES512: { alg: 'ES512', family: 'ecdsa', hash: 'sha512', hashBytes: 64, kty: 'EC', crv: 'P-521', signatureBytes: 132 },
  EdDSA: { alg: 'EdDSA', family: 'eddsa', hash: null, hashBytes: 64, kty: 'OKP', crv: 'Ed25519', signatureBytes: 64 },
  HS256: { alg: 'HS256', family: 'hmac', hash: 'sha256', hashBytes: 32, kty: 'oct', signatureBytes: 32 },
  HS384: { alg: 'HS384', family: 'hmac', hash: 'sha384', hashBytes: 48, kty: 'oct', signatureBytes: 48 },
  HS512: { alg: 'HS512', family: 'hmac', hash: 'sha512', hashBytes: 64, kty: 'oct', signatureBytes: 64 },
};

const supported = new Set<string>(SUPPORTED_ALGS);

/** Byte-for-byte membership: `rs256` and `None` are not algorithms (RFC 7515 §4.1.1). */
export function isSupportedAlg(value: unknown): value is Alg {
  return typeof value === 'string' && supported.has(value);
}

export function algSpec(alg: Alg): AlgSpec {
  return specs[alg];
}
