/**
 * Readiness: whether every key set the bound plan uses can serve keys now.
 * `/__health` says the process is alive (KrakenD's shape); readiness says it
 * can authorize: 503 until every key set has loaded once, and while any is
 * past its `jwk_max_stale` bound, so a load balancer sends traffic only to
 * instances that will not answer 503 `keys_unavailable`. The body names each
 * key source's state, without query strings or key material.
 */
import type { KeySetStatus } from '../keys/key-set.js';

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

export function readinessOf(statuses: readonly KeySetStatus[]): Readiness {
  const keySets = statuses.map((status) => ({
    source: status.label,
    state: keySetState(status),
    keys: status.keyCount,
    ...(status.lastSuccessAt !== undefined ? { lastSuccessAt: new Date(status.lastSuccessAt).toISOString() } : {}),
    ...(status.lastError !== undefined ? { lastError: status.lastError } : {}),
  }));
  const ready = statuses.every((status) => status.loaded);
  return { ready, body: JSON.stringify({ status: ready ? 'ready' : 'not_ready', keySets }) };
}
