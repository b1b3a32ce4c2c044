/**
 * Picks the key a token names (KrakenD's `key_identify_strategy`). A token that
 * names no key may use the set's only key; with several keys it must name one,
 * so a forged token can never make us try every key.
 */
import type { JwsHeader } from '../jwt/parse.js';
import type { VerificationKey } from '../jwt/keys.js';
import type { KeyIndex } from './key-set.js';

export type KeyIdentifyStrategy = 'kid' | 'x5t' | 'x5t#S256' | 'kid_x5t';

export interface KeyReference {
  readonly by: 'kid' | 'x5t' | 'x5t#S256' | 'kid_x5t' | 'only';
  readonly value: string;
  /** How the token names its key, for logs and the unknown-kid negative cache; undefined when it names none. */
  readonly identifier: string | undefined;
}

const ONLY_KEY: KeyReference = Object.freeze({ by: 'only', value: '', identifier: undefined });

export function keyReference(header: JwsHeader, strategy: KeyIdentifyStrategy): KeyReference {
  const kid = header.kid;
  if (strategy === 'x5t' || strategy === 'x5t#S256') {
    const thumbprint = strategy === 'x5t' ? header.x5t : header['x5t#S256'];
    // KrakenD falls back to kid when the token carries no thumbprint.
    if (thumbprint !== undefined) return { by: strategy, value: thumbprint, identifier: `${strategy}:${thumbprint}` };
  } else if (strategy === 'kid_x5t' && kid !== undefined && header.x5t !== undefined) {
    const combined = `${kid}${header.x5t}`;
    return { by: 'kid_x5t', value: combined, identifier: `kid_x5t:${combined}` };
  }
  return kid === undefined ? ONLY_KEY : { by: 'kid', value: kid, identifier: `kid:${kid}` };
}

export function findKey(index: KeyIndex, reference: KeyReference): VerificationKey | undefined {
  switch (reference.by) {
    case 'kid':
      return index.byKid.get(reference.value);
    case 'x5t':
      return index.byX5t.get(reference.value);
    case 'x5t#S256':
      return index.byX5tS256.get(reference.value);
    case 'kid_x5t':
      return index.keys.find((key) => key.kid !== undefined && key.x5t !== undefined && `${key.kid}${key.x5t}` === reference.value);
    default:
      return index.keys.length === 1 ? index.keys[0] : undefined;
  }
}
