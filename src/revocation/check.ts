/**
 * The revocation step of an endpoint's check list (kind `request`: after the
 * token checks, before the policy rules, on every request, cached tokens
 * included). It reads the in-memory set only, so it stays synchronous.
 *
 * A revoked token is refused with `token_revoked` (401) whatever the store's
 * state: entries are only ever added, so a revocation seen once stays true.
 * With `failClosed`, a token the set does not revoke is still refused, with
 * `revocation_unavailable` (503), while the store cannot vouch that the set is
 * complete (never synced, or out of touch with Redis for longer than the bound).
 */
import type { CheckSubject, NamedCheck } from '../authorizer/policy.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { AuthError } from '../jwt/errors.js';
import type { RevocationSet } from './revocation-set.js';
import type { RevocationStore } from './store.js';

export interface RevocationCheckOptions {
  /** Refuse with 503 when `source.isFresh(now, maxStalenessMs)` is false. */
  readonly failClosed?: {
    readonly source: Pick<RevocationStore, 'isFresh'>;
    readonly maxStalenessMs: number;
  };
  /** For the freshness test (milliseconds); the token times use the check's own `nowSeconds`. */
  readonly clock?: Clock;
}

export function revocationCheck(set: RevocationSet, options: RevocationCheckOptions = {}): NamedCheck {
  const clock = options.clock ?? systemClock;
  const failClosed = options.failClosed;
  const check = (subject: CheckSubject): void => {
    if (set.isRevoked(subject.claims)) throw new AuthError('token_revoked');
    if (failClosed !== undefined && !failClosed.source.isFresh(clock.now(), failClosed.maxStalenessMs)) {
      throw new AuthError('revocation_unavailable', `revocation state older than ${failClosed.maxStalenessMs} ms`);
    }
  };
  return Object.freeze({
    name: 'revocation',
    kind: 'request',
    check,
    describe: () => `not revoked (${set.size} ${set.size === 1 ? 'entry' : 'entries'} enforced)`,
  });
}
