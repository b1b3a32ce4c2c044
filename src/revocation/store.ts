/**
 * What every revocation store offers: the in-memory set the check reads, a
 * way to add to it (for every instance sharing the store), and its state, so
 * health endpoints can show it and `fail_closed` can refuse requests when the
 * set may be missing revocations.
 */
import type { RevocationEntry } from './entry.js';
import type { RevocationSet } from './revocation-set.js';

/** How long a store that lost Redis is still trusted by `fail_closed` (KrakenD has no such bound; 30 s is a few reconnect attempts). */
export const DEFAULT_MAX_STALENESS_MS = 30_000;

export type RevocationStoreState = 'synced' | 'connecting' | 'stale';

export interface RevocationStatus {
  readonly store: 'memory' | 'redis';
  /**
   * `synced`: the set holds every revocation (memory: always; Redis: reloaded and subscribed).
   * `connecting`: never synced yet, the set is empty. `stale`: was synced, lost Redis; the last
   * known set is still enforced.
   */
  readonly state: RevocationStoreState;
  readonly size: number;
  /** Epoch ms of the last complete reload; does not move while Redis is away. */
  readonly lastSyncAt?: number;
  /** Epoch ms when the set stopped being live (the connection was lost); absent while synced. */
  readonly staleSince?: number;
  /** The last connection or reload error (no URL, no password). */
  readonly lastError?: string;
  /** Redis only: host:port. */
  readonly address?: string;
}

export interface RevocationStore {
  /** Read by the check on every request. */
  readonly set: RevocationSet;
  /**
   * Revokes for every instance sharing the store. Resolves once the store holds the entry (Redis:
   * written and published); rejects when it cannot be stored. Validates the entry first
   * (RevocationEntryError).
   */
  revoke(entry: RevocationEntry): Promise<void>;
  /** Every entry the store holds (Redis: read from Redis, not the local copy). */
  list(): Promise<RevocationEntry[]>;
  status(): RevocationStatus;
  /**
   * Whether the set can be trusted to hold every revocation at `nowMs`: synced, or lost Redis no
   * longer than `maxStalenessMs` ago (default: the store's `maxStalenessMs`). Never synced: false.
   */
  isFresh(nowMs: number, maxStalenessMs?: number): boolean;
  /** Resolves at the first sync; rejects if the store is closed first. */
  ready(): Promise<void>;
  close(): Promise<void>;
}
