/**
 * Turns a JWKS document into a KeyIndex. Keys that are unchanged since the
 * previous index keep their object identity, so verified-token cache entries
 * survive a refresh; keys that disappeared are marked retired, so cache
 * entries made with them stop counting at once. Names shared by several keys
 * are recorded so lookups can refuse to guess (select.ts), and a set that
 * mixes HMAC secrets with public keys is refused whole.
 */
import { importJwk, KeyImportError, type Jwk, type VerificationKey } from '../jwt/keys.js';
import { SUPPORTED_ALGS } from '../jwt/algorithms.js';
import type { Alg } from '../jwt/algorithms.js';
import type { KeyIndex } from './key-set.js';
import { keyIdentifier, type KeyIdentifyStrategy } from './select.js';

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

/**
 * A set holding both HMAC secrets and public keys. Whoever holds the secret can
 * mint tokens the public keys' issuer never signed, and such a set is almost
 * always a secret published by mistake or two issuers merged into one.
 */
export class MixedKeySetError extends JwksDocumentError {
  constructor() {
    super('the key set mixes symmetric (oct) and asymmetric (RSA, EC, OKP) keys; an HMAC secret and public keys need separate key sets');
    this.name = 'MixedKeySetError';
  }
}

export interface BuiltIndex {
  index: KeyIndex;
  /** One line per key that was skipped, with the reason (no key material). */
  skipped: string[];
  /** One line per name that several different keys for the same alg share (names only, no key material). */
  ambiguous: string[];
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
      keys.push(importJwk(jwk, SUPPORTED_ALGS));
    } catch (error) {
      if (!(error instanceof KeyImportError)) throw error;
      skipped.push(`key #${position}${typeof jwk?.kid === 'string' ? ` (kid ${JSON.stringify(jwk.kid.slice(0, 64))})` : ''}: ${error.message}`);
    }
  }
  if (keys.length === 0) throw new JwksDocumentError(`the JWKS has no usable key${skipped.length ? `: ${skipped.join('; ')}` : ''}`);

  let built = indexKeySet(keys);
  if (previous) {
    // A key whose name became ambiguous is not carried over: cached verifications made with it
    // must stop counting, as a fresh verification of the same token would now be refused.
    const carried = keys.map((key) => (built.conflicted.has(key) ? key : (reuseIfSame(key, previous) ?? key)));
    if (carried.some((key, i) => key !== keys[i])) built = indexKeySet(carried);
    const kept = new Set(built.index.keys);
    for (const old of previous.keys) if (!kept.has(old)) old.retired = true;
  }
  return { index: built.index, skipped, ambiguous: built.ambiguous };
}

export interface IndexedKeys {
  index: KeyIndex;
  ambiguous: string[];
  /** Keys that share a name with a different key for one of the same algs. */
  conflicted: ReadonlySet<VerificationKey>;
}

const NAMES: readonly { by: KeyIdentifyStrategy; of: (key: VerificationKey) => string | undefined }[] = [
  { by: 'kid', of: (key) => key.kid },
  { by: 'x5t', of: (key) => key.x5t },
  { by: 'x5t#S256', of: (key) => key.x5tS256 },
  { by: 'kid_x5t', of: (key) => (key.kid !== undefined && key.x5t !== undefined ? `${key.kid}${key.x5t}` : undefined) },
];

/**
 * Indexes imported keys by every name a token may use. The maps keep the first
 * key of each name (a lookup stays one Map get); names carried by several keys
 * are listed in `shared`, and those where different keys verify the same alg
 * are described in `ambiguous`. Throws MixedKeySetError for a mixed set.
 */
export function indexKeySet(keys: readonly VerificationKey[]): IndexedKeys {
  if (keys.some((key) => key.kty === 'oct') && keys.some((key) => key.kty !== 'oct')) throw new MixedKeySetError();
  const maps = NAMES.map(() => new Map<string, VerificationKey>());
  const shared = new Map<string, VerificationKey[]>();
  for (const key of keys) {
    NAMES.forEach(({ by, of }, i) => {
      const name = of(key);
      if (name === undefined) return;
      const first = maps[i]!.get(name);
      if (first === undefined) return void maps[i]!.set(name, key);
      const identifier = keyIdentifier(by, name);
      const group = shared.get(identifier);
      if (group) group.push(key);
      else shared.set(identifier, [first, key]);
    });
  }
  const ambiguous: string[] = [];
  const conflicted = new Set<VerificationKey>();
  for (const [identifier, group] of shared) {
    const algs = new Set<Alg>();
    const clashing = new Set<string>();
    for (const [i, a] of group.entries()) {
      for (const b of group.slice(i + 1)) {
        if (a.digest === b.digest) continue;
        const overlap = [...a.algs].filter((alg) => b.algs.has(alg));
        if (overlap.length === 0) continue;
        for (const alg of overlap) algs.add(alg);
        conflicted.add(a).add(b);
        clashing.add(a.digest).add(b.digest);
      }
    }
    if (algs.size === 0) continue;
    const separator = identifier.indexOf(':');
    const label = `${identifier.slice(0, separator)} ${JSON.stringify(identifier.slice(separator + 1, separator + 65))}`;
    ambiguous.push(`${label} names ${clashing.size} different keys for ${[...algs].join(', ')}; tokens that name it are refused`);
  }
  const [byKid, byX5t, byX5tS256, byKidX5t] = maps as [Map<string, VerificationKey>, Map<string, VerificationKey>, Map<string, VerificationKey>, Map<string, VerificationKey>];
  const index: KeyIndex = Object.freeze({ keys: Object.freeze([...keys]), byKid, byX5t, byX5tS256, byKidX5t, shared });
  return { index, ambiguous, conflicted };
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
