/**
 * Picks the key a token names (KrakenD's `key_identify_strategy`). A token that
 * names no key may use the set's only key; with several keys it must name one,
 * so a forged token can never make us try every key. A name that fits more than
 * one key able to verify the token's alg is refused: which key verifies must
 * never depend on the order of a JWKS.
 */
import { AuthError } from '../jwt/errors.js';
import type { Alg } from '../jwt/algorithms.js';
import type { JwsHeader } from '../jwt/parse.js';
import type { VerificationKey } from '../jwt/keys.js';
import type { KeyIndex } from './key-set.js';

export type KeyIdentifyStrategy = 'kid' | 'x5t' | 'x5t#S256' | 'kid_x5t';

export interface KeyReference {
  readonly by: KeyIdentifyStrategy | 'only';
  readonly value: string;
  /** How the token names its key, for logs and the unknown-kid negative cache; undefined when it names none. */
  readonly identifier: string | undefined;
}

const ONLY_KEY: KeyReference = Object.freeze({ by: 'only', value: '', identifier: undefined });

/** The one spelling of "how a key is named", shared by references and the index's table of shared names. */
export function keyIdentifier(by: KeyIdentifyStrategy, value: string): string {
  return `${by}:${value}`;
}

// Headers are shared, frozen objects (parse.ts caches them per header segment), so the reference a
// header names is worked out once per header, not once per token.
const REFERENCES: Readonly<Record<KeyIdentifyStrategy, WeakMap<JwsHeader, KeyReference>>> = {
  kid: new WeakMap(),
  x5t: new WeakMap(),
  'x5t#S256': new WeakMap(),
  kid_x5t: new WeakMap(),
};

export function keyReference(header: JwsHeader, strategy: KeyIdentifyStrategy): KeyReference {
  const memo = REFERENCES[strategy];
  let reference = memo.get(header);
  if (reference === undefined) {
    reference = Object.freeze(referenceOf(header, strategy));
    memo.set(header, reference);
  }
  return reference;
}

function referenceOf(header: JwsHeader, strategy: KeyIdentifyStrategy): KeyReference {
  const kid = header.kid;
  if (strategy === 'x5t' || strategy === 'x5t#S256') {
    const thumbprint = strategy === 'x5t' ? header.x5t : header['x5t#S256'];
    // KrakenD falls back to kid when the token carries no thumbprint.
    if (thumbprint !== undefined) return { by: strategy, value: thumbprint, identifier: keyIdentifier(strategy, thumbprint) };
  } else if (strategy === 'kid_x5t' && kid !== undefined && header.x5t !== undefined) {
    const combined = `${kid}${header.x5t}`;
    return { by: 'kid_x5t', value: combined, identifier: keyIdentifier('kid_x5t', combined) };
  }
  return kid === undefined ? ONLY_KEY : { by: 'kid', value: kid, identifier: keyIdentifier('kid', kid) };
}

/**
 * The key `reference` names, or undefined when it names none. Throws AuthError
 * `key_not_found` when the name fits several different keys that verify `alg`.
 * When the named keys fit no key for `alg`, the first is returned so the caller
 * reports "does not verify" as it does for a single key.
 */
export function findKey(index: KeyIndex, reference: KeyReference, alg: Alg): VerificationKey | undefined {
  let key: VerificationKey | undefined;
  switch (reference.by) {
    case 'kid':
      key = index.byKid.get(reference.value);
      break;
    case 'x5t':
      key = index.byX5t.get(reference.value);
      break;
    case 'x5t#S256':
      key = index.byX5tS256.get(reference.value);
      break;
    case 'kid_x5t':
      key = index.byKidX5t.get(reference.value);
      break;
    default:
      // Kept as "the set's only key", not "the only key usable for alg": the latter would accept more
      // tokens (an ES256 token without kid against an RSA+EC set), never fewer.
      return index.keys.length === 1 ? index.keys[0] : undefined;
  }
  // A set without shared names, the normal case, costs one size check here.
  if (key === undefined || index.shared.size === 0) return key;
  const sharing = index.shared.get(reference.identifier!);
  return sharing === undefined ? key : pickFor(sharing, alg, reference.identifier!);
}

function pickFor(keys: readonly VerificationKey[], alg: Alg, identifier: string): VerificationKey {
  let chosen: VerificationKey | undefined;
  for (const key of keys) {
    if (!key.algs.has(alg)) continue;
    if (chosen === undefined) chosen = key;
    // The same key listed twice verifies the same way either way; only different keys are a guess.
    else if (key.digest !== chosen.digest) {
      throw new AuthError('key_not_found', `${identifier.slice(0, 80)} is ambiguous: the key set holds several keys for ${alg} under that name`);
    }
  }
  return chosen ?? keys[0]!;
}
