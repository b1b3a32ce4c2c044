/**
 * Turns a JWKS document into a KeyIndex. Keys that are unchanged since the
 * previous index keep their object identity, so verified-token cache entries
 * survive a refresh; keys that disappeared are marked retired, so cache
 * entries made with them stop counting at once.
 */
import { importJwk, KeyImportError, type Jwk, type VerificationKey } from '../jwt/keys.js';
import { SUPPORTED_ALGS } from '../jwt/algorithms.js';
import type { KeyIndex } from './key-set.js';

export const MAX_KEYS_PER_SET = 100;

export class JwksDocumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JwksDocumentError';
  }
}

/** Reads `{"keys":[…]}`, or Descope's v1 bare array when `acceptBareArray` is set. */
export function jwksMembers(document: unknown, acceptBareArray: boolean): Jwk[] {
  if (Array.isArray(document)) {
    if (!acceptBareArray) throw new JwksDocumentError('the JWKS is a bare array, not {"keys": [...]}');
    return document as Jwk[];
  }
  if (typeof document !== 'object' || document === null || !Array.isArray((document as { keys?: unknown }).keys)) {
    throw new JwksDocumentError('the JWKS has no "keys" array');
  }
  return (document as { keys: Jwk[] }).keys;
}

export interface BuiltIndex {
  index: KeyIndex;
  /** One line per key that was skipped, with the reason (no key material). */
  skipped: string[];
}

export interface BuildOptions {
  /**
   * Whether `oct` (HMAC secret) keys are accepted. A JWKS served over the
   * network is public, so a secret in it is a secret anyone can sign with.
   */
  allowSymmetric?: boolean;
}

export function buildKeyIndex(jwks: readonly Jwk[], previous?: KeyIndex, options: BuildOptions = {}): BuiltIndex {
  if (jwks.length > MAX_KEYS_PER_SET) {
    throw new JwksDocumentError(`the JWKS holds ${jwks.length} keys; at most ${MAX_KEYS_PER_SET} are accepted`);
  }
  const skipped: string[] = [];
  const keys: VerificationKey[] = [];
  for (const [position, jwk] of jwks.entries()) {
    try {
      if (options.allowSymmetric === false && jwk?.kty === 'oct') {
        throw new KeyImportError('symmetric (oct) keys are not accepted from a remote JWKS');
      }
      const imported = importJwk(jwk, SUPPORTED_ALGS);
      keys.push(reuseIfSame(imported, previous) ?? imported);
    } catch (error) {
      if (!(error instanceof KeyImportError)) throw error;
      skipped.push(`key #${position}${typeof jwk?.kid === 'string' ? ` (kid ${JSON.stringify(jwk.kid.slice(0, 64))})` : ''}: ${error.message}`);
    }
  }
  if (keys.length === 0) throw new JwksDocumentError(`the JWKS has no usable key${skipped.length ? `: ${skipped.join('; ')}` : ''}`);

  const byKid = new Map<string, VerificationKey>();
  const byX5t = new Map<string, VerificationKey>();
  const byX5tS256 = new Map<string, VerificationKey>();
  for (const key of keys) {
    if (key.kid !== undefined && !byKid.has(key.kid)) byKid.set(key.kid, key);
    if (key.x5t !== undefined && !byX5t.has(key.x5t)) byX5t.set(key.x5t, key);
    if (key.x5tS256 !== undefined && !byX5tS256.has(key.x5tS256)) byX5tS256.set(key.x5tS256, key);
  }
  if (previous) {
    const kept = new Set(keys);
    for (const old of previous.keys) if (!kept.has(old)) old.retired = true;
  }
  return { index: Object.freeze({ keys: Object.freeze(keys), byKid, byX5t, byX5tS256 }), skipped };
}

function reuseIfSame(key: VerificationKey, previous: KeyIndex | undefined): VerificationKey | undefined {
  if (!previous) return undefined;
  return previous.keys.find(
    (old) =>
      old.digest === key.digest &&
      old.kid === key.kid &&
      old.x5t === key.x5t &&
      old.x5tS256 === key.x5tS256 &&
      sameSet(old.algs, key.algs),
  );
}

function sameSet<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): boolean {
  if (a.size !== b.size) return false;
  for (const item of a) if (!b.has(item)) return false;
  return true;
}

/** Marks every key of an index retired, for a set that is dropped or closed. */
export function retireAll(index: KeyIndex | undefined): void {
  if (index) for (const key of index.keys) key.retired = true;
}
