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
  /** How the token names its key, for logs and the unknown-kid negative cache. */
  readonly identifier: string | undefined;
  readonly find: (index: KeyIndex) => VerificationKey | undefined;
}

export function keyReference(header: JwsHeader, strategy: KeyIdentifyStrategy): KeyReference {
  const kid = header.kid;
  switch (strategy) {
    case 'x5t':
    case 'x5t#S256': {
      const thumbprint = strategy === 'x5t' ? header.x5t : header['x5t#S256'];
      // KrakenD falls back to kid when the token carries no thumbprint.
      if (thumbprint === undefined) return byKid(kid);
      return {
        identifier: `${strategy}:${thumbprint}`,
        find: (index) => (strategy === 'x5t' ? index.byX5t : index.byX5tS256).get(thumbprint),
      };
    }
    case 'kid_x5t': {
      if (kid === undefined || header.x5t === undefined) return byKid(kid);
      const combined = `${kid}${header.x5t}`;
      return {
        identifier: `kid_x5t:${combined}`,
        find: (index) => index.keys.find((key) => key.kid !== undefined && key.x5t !== undefined && `${key.kid}${key.x5t}` === combined),
      };
    }
    default:
      return byKid(kid);
  }
}

function byKid(kid: string | undefined): KeyReference {
  if (kid === undefined) {
    return { identifier: undefined, find: (index) => (index.keys.length === 1 ? index.keys[0] : undefined) };
  }
  return { identifier: `kid:${kid}`, find: (index) => index.byKid.get(kid) };
}
