/**
 * Readiness: whether every key set the bound plan uses can serve keys now.
 * `/__health` says the process is alive (KrakenD's shape); readiness says it
 * can authorize: 503 until every key set has loaded once, and while any is
 * past its `jwk_max_stale` bound, so a load balancer sends traffic only to
 * instances that will not answer 503 `keys_unavailable`. The body names each
 * key source's state, without query strings or key material.
 *
 * With `auth/revoker` the body also shows the revocation store's state. Only
 * with `fail_closed` does it take part in the verdict: then a store that
 * cannot vouch for its set makes every validated request a 503
 * `revocation_unavailable`, and the instance is not ready either.
 */
import type { KeySetStatus } from '../keys/key-set.js';
import type { RevocationStatus } from '../revocation/store.js';
import type { BoundPlan } from './bind-plan.js';

export type KeySetState = 'loaded' | 'stale' | 'loading' | 'unavailable';

export interface Readiness {
  readonly ready: boolean;
  /** The JSON body of the readiness endpoint. */
  readonly body: string;
}

export const DEFAULT_READY_PATH = '/__ready';

export function keySetState(status: KeySetStatus): KeySetState {
  if (status.loaded) return status.stale ? 'stale' : 'loaded';
  return status.lastSuccessAt === undefined ? 'loading' : 'unavailable';
}

/** The readiness of a bound plan at `nowMs`: its key sets and, if configured, its revocation store. */
export function readinessOfPlan(bound: Pick<BoundPlan, 'usedKeySets' | 'revocation' | 'plan'>, nowMs: number): Readiness {
  const keySets = bound.usedKeySets.map((keySet) => keySet.status());
  const store = bound.revocation;
  const revocationPlan = bound.plan.revocation;
  if (store === undefined || revocationPlan === undefined) return readinessOf(keySets);
  const fresh = !revocationPlan.failClosed || store.isFresh(nowMs, revocationPlan.maxStalenessMs);
  return readinessOf(keySets, { status: store.status(), ready: fresh });
}

function revocationBody(status: RevocationStatus): Record<string, unknown> {
  return {
    store: status.store,
    state: status.state,
    entries: status.size,
    ...(status.lastSyncAt !== undefined ? { lastSyncAt: new Date(status.lastSyncAt).toISOString() } : {}),
    ...(status.staleSince !== undefined ? { staleSince: new Date(status.staleSince).toISOString() } : {}),
    ...(status.lastError !== undefined ? { lastError: status.lastError } : {}),
  };
}

export function readinessOf(statuses: readonly KeySetStatus[], revocation?: { status: RevocationStatus; ready: boolean }): Readiness {
  const keySets = statuses.map((status) => ({
    source: status.label,
    state: keySetState(status),
    keys: status.keyCount,
    ...(status.lastSuccessAt !== undefined ? { lastSuccessAt: new Date(status.lastSuccessAt).toISOString() } : {}),
    ...(status.lastError !== undefined ? { lastError: status.lastError } : {}),
  }));
  const ready = statuses.every((status) => status.loaded) && (revocation === undefined || revocation.ready);
  const body = { status: ready ? 'ready' : 'not_ready', keySets, ...(revocation !== undefined ? { revocation: revocationBody(revocation.status) } : {}) };
  return { ready, body: JSON.stringify(body) };
}
