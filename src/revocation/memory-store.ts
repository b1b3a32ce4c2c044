/**
 * Revocations held by this process only: for a single instance, tests, and
 * the Lambda authorizer's warm container (where they last as long as the
 * container). Always synced; expired entries are purged on a timer.
 */
import { systemClock, type Clock } from '../lib/clock.js';
import { parseRevocationEntry, type RevocationEntry } from './entry.js';
import { createRevocationSet } from './revocation-set.js';
import type { RevocationStore } from './store.js';

export const DEFAULT_PURGE_INTERVAL_MS = 60_000;

export interface MemoryRevocationStoreOptions {
  readonly clock?: Clock;
  /** How often expired entries are dropped; default 60 s; 0 turns the timer off (tests purge by hand). */
  readonly purgeIntervalMs?: number;
  readonly initial?: readonly RevocationEntry[];
}

export function createMemoryRevocationStore(options: MemoryRevocationStoreOptions = {}): RevocationStore {
  const clock = options.clock ?? systemClock;
  const set = createRevocationSet((options.initial ?? []).map(parseRevocationEntry));
  const startedAt = clock.now();
  const purgeIntervalMs = options.purgeIntervalMs ?? DEFAULT_PURGE_INTERVAL_MS;
  const timer = purgeIntervalMs > 0 ? setInterval(() => set.purgeExpired(clock.now() / 1000), purgeIntervalMs).unref() : undefined;

  return {
    set,
    async revoke(entry) {
      const parsed = parseRevocationEntry(entry);
      // An entry already past its expiry revokes nothing that is still valid.
      if (parsed.expiresAt > clock.now() / 1000) set.apply(parsed);
    },
    list: async () => set.entries(),
    status: () => ({ store: 'memory', state: 'synced', size: set.size, lastSyncAt: startedAt }),
    isFresh: () => true,
    ready: async () => undefined,
    async close() {
      if (timer !== undefined) clearInterval(timer);
    },
  };
}
