/**
 * Loaders for the public test vectors in the shared `vectors/` folder (next to
 * the repository, never copied into it), plus the few jose helpers the vector
 * and core tests use to mint tokens with fresh keys.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { exportJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import assert from 'node:assert/strict';
import type { Alg } from '../../src/jwt/algorithms.js';
import { AuthError, type FailureCode } from '../../src/jwt/errors.js';
import { fromRoot } from './repo-root.js';

export const VECTORS_DIR = fromRoot('../shared/vectors/');

/**
 * The `skip` option for suites and tests that read the vectors: false when the
 * folder is there (CI lays it next to the clone), else the one-line reason a
 * plain clone shows instead of failing.
 */
export const VECTORS_SKIP: string | false = existsSync(VECTORS_DIR)
  ? false
  : `conformance vectors not found at ${VECTORS_DIR} (../shared/vectors next to the repository); skipped`;

/** Reads one vector file; callers are skipped with VECTORS_SKIP when the folder is missing. */
export function readVectorJson<T>(relativePath: string): T {
  if (!existsSync(VECTORS_DIR)) {
    throw new Error(`test vectors folder not found at ${VECTORS_DIR}: guard this test with { skip: VECTORS_SKIP }`);
  }
  const path = join(VECTORS_DIR, relativePath);
  if (!existsSync(path)) throw new Error(`test vector file not found: ${path}`);
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export function hexBytes(hex: string): Buffer {
  return Buffer.from(hex, 'hex');
}

// ---------------------------------------------------------------- Wycheproof

export type WycheproofResult = 'valid' | 'invalid' | 'acceptable';

export interface WycheproofTest {
  tcId: number;
  comment: string;
  flags: string[];
  msg: string;
  sig?: string;
  /** HMAC tests only. */
  key?: string;
  tag?: string;
  result: WycheproofResult;
}

export interface WycheproofGroup {
  type: string;
  publicKeyJwk?: JWK;
  keyJwk?: JWK;
  publicKey?: { curve?: string; wx?: string; wy?: string; [name: string]: unknown };
  keySize?: number;
  tagSize?: number;
  sha?: string;
  mgfSha?: string;
  sLen?: number;
  tests: WycheproofTest[];
}

export interface WycheproofFile {
  algorithm: string;
  numberOfTests: number;
  testGroups: WycheproofGroup[];
}

export function loadWycheproof(fileName: string): WycheproofFile {
  return readVectorJson<WycheproofFile>(`wycheproof/${fileName}`);
}

const EC_COORDINATE_BYTES: Record<string, { crv: string; bytes: number }> = {
  secp256r1: { crv: 'P-256', bytes: 32 },
  secp384r1: { crv: 'P-384', bytes: 48 },
  secp521r1: { crv: 'P-521', bytes: 66 },
};

/**
 * The group's public JWK. Some ECDSA groups ship no JWK, only the hex
 * coordinates (with a sign byte); those are rebuilt at the curve's width.
 */
export function wycheproofGroupJwk(group: WycheproofGroup): JWK {
  const jwk = group.publicKeyJwk ?? group.keyJwk;
  if (jwk) return jwk;
  const pk = group.publicKey;
  const curve = pk?.curve ? EC_COORDINATE_BYTES[pk.curve] : undefined;
  if (!pk?.wx || !pk.wy || !curve) throw new Error(`group of type ${group.type} has no usable public key`);
  const coordinate = (hex: string): string => {
    const trimmed = Buffer.from(hex, 'hex');
    const start = trimmed.length - curve.bytes;
    if (start > 0 && trimmed.subarray(0, start).some((b) => b !== 0)) throw new Error('coordinate wider than the curve');
    const fixed = Buffer.alloc(curve.bytes);
    trimmed.subarray(Math.max(0, start)).copy(fixed, Math.max(0, -start));
    return fixed.toString('base64url');
  };
  return { kty: 'EC', crv: curve.crv, x: coordinate(pk.wx), y: coordinate(pk.wy) };
}

// ------------------------------------------------------- RFC 7520 cookbook

export interface CookbookVector {
  title: string;
  input: { payload: string; key: JWK | JWK[]; alg: string | string[] };
  signing: { protected?: Record<string, unknown>; protected_b64u?: string; 'sig-input': string; sig: string } | unknown[];
  output: { compact?: string; json?: unknown; json_flat?: unknown };
}

export function loadCookbook(relativePath: string): CookbookVector {
  return readVectorJson<CookbookVector>(`jose-cookbook/${relativePath}`);
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'];

/** The public half of a cookbook JWK (asymmetric keys ship with their private members). */
export function publicJwkOf(jwk: JWK): JWK {
  if (jwk.kty === 'oct') return { ...jwk };
  const copy: Record<string, unknown> = { ...jwk };
  for (const member of PRIVATE_MEMBERS) delete copy[member];
  return copy as JWK;
}

// ---------------------------------------------------------- minting (jose)

export interface MintingKey {
  alg: Alg;
  /** What jose signs with: a private KeyObject, or the HMAC secret. */
  signingKey: KeyObject | Uint8Array;
  /** Public JWK (or the oct JWK for HMAC), without kid/alg/use. */
  publicJwk: JWK;
}

/** A fresh key for `alg`. One RSA key pair is generated per call; pass one in to share it between the RSA algorithms. */
export async function createMintingKey(alg: Alg, rsaKey?: { privateKey: KeyObject; publicKey: KeyObject }): Promise<MintingKey> {
  if (alg.startsWith('HS')) {
    const secret = randomBytes(Number(alg.slice(2)) / 8);
    return { alg, signingKey: secret, publicJwk: { kty: 'oct', k: secret.toString('base64url') } };
  }
  let pair: { privateKey: KeyObject; publicKey: KeyObject };
  if (alg.startsWith('RS') || alg.startsWith('PS')) pair = rsaKey ?? generateKeyPairSync('rsa', { modulusLength: 2048 });
  else if (alg === 'EdDSA') pair = generateKeyPairSync('ed25519');
  else pair = generateKeyPairSync('ec', { namedCurve: { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg as 'ES256'] });
  return { alg, signingKey: pair.privateKey, publicJwk: await exportJWK(pair.publicKey) };
}

export async function mintJwt(key: MintingKey, claims: JWTPayload = {}, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, ...header }).sign(key.signingKey);
}

/** Builds a compact token from raw parts, for tokens jose refuses to make. */
export function compact(header: unknown, payload: unknown, signature: Uint8Array | string = Buffer.alloc(32, 1)): string {
  const encode = (part: unknown): string =>
    Buffer.from(typeof part === 'string' ? part : JSON.stringify(part), 'utf8').toString('base64url');
  const sig = typeof signature === 'string' ? signature : Buffer.from(signature).toString('base64url');
  return `${encode(header)}.${encode(payload)}.${sig}`;
}

// ------------------------------------------------------------- assertions

/**
 * Runs `action` and asserts it fails with an AuthError of `code` (sync throw or
 * rejected promise). Anything else, including success, fails the test.
 */
export async function expectAuthError(action: () => unknown, code: FailureCode, detailPattern?: RegExp): Promise<AuthError> {
  let outcome: unknown;
  try {
    outcome = await action();
  } catch (error) {
    assert.ok(error instanceof AuthError, `expected AuthError ${code}, got ${String(error)}`);
    assert.equal(error.code, code, `expected ${code}, got ${error.code} (${error.detail})`);
    if (detailPattern) assert.match(error.detail, detailPattern);
    return error;
  }
  return assert.fail(`expected AuthError ${code}, but the call succeeded with ${typeof outcome}`);
}
