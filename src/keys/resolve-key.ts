/**
 * The one place that decides how a token's key is found, and when an unknown
 * key may cause a download. Used by the authorizer, `explain` and the
 * library's verifyJws alike, so they cannot drift apart.
 *
 * - A key in the current index answers at once, synchronously.
 * - A token that names no key, against a loaded set, fails at once: only a
 *   named key can be published later.
 * - Otherwise the key set is asked for a refresh (single flight, at most one
 *   download per second, a negative cache for kids a download lacked: see
 *   remote.ts). Right after the very first load, a named key gets one more
 *   chance, since it may have been published after that download started (the
 *   set downloads again only if the one-second floor has passed).
 */
import type { Alg } from '../jwt/algorithms.js';
import { AuthError } from '../jwt/errors.js';
import type { VerificationKey } from '../jwt/keys.js';
import type { KeyIndex, KeySet } from './key-set.js';
import { findKey, type KeyReference } from './select.js';

/** The key that verifies `alg` for `reference`; throws AuthError (`key_not_found`, `keys_unavailable`). */
export function resolveKey(keySet: KeySet, reference: KeyReference, alg: Alg): VerificationKey | Promise<VerificationKey> {
  const index = keySet.current();
  const key = index === undefined ? undefined : findKey(index, reference, alg);
  if (key !== undefined) return fitting(key, alg);
  if (index !== undefined && reference.identifier === undefined) {
    throw new AuthError('key_not_found', index.keys.length > 1 ? 'the token names no key and the key set holds several' : 'no key fits');
  }
  return resolveAfterMiss(keySet, reference, alg, index === undefined);
}

async function resolveAfterMiss(keySet: KeySet, reference: KeyReference, alg: Alg, neverLoaded: boolean): Promise<VerificationKey> {
  let fresh: KeyIndex | undefined = await keySet.refreshForMiss(reference.identifier ?? '');
  if (!fresh) throw new AuthError('keys_unavailable', `no keys loaded from ${keySet.label}`);
  let key = findKey(fresh, reference, alg);
  if (!key && neverLoaded && reference.identifier !== undefined) {
    fresh = await keySet.refreshForMiss(reference.identifier);
    key = fresh ? findKey(fresh, reference, alg) : undefined;
  }
  if (!key) throw new AuthError('key_not_found', reference.identifier ? `unknown ${reference.identifier.slice(0, 80)}` : 'no key fits');
  return fitting(key, alg);
}

function fitting(key: VerificationKey, alg: Alg): VerificationKey {
  if (!key.algs.has(alg)) throw new AuthError('key_not_found', `the matching key does not verify ${alg}`);
  return key;
}
