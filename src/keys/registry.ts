/**
 * One key set per source, shared by every endpoint and front door that names
 * it: ten endpoints on one jwk_url make one download and run one refresh timer.
 */
import type { Jwk } from '../jwt/keys.js';
import type { Deps } from '../lib/deps.js';
import { systemClock } from '../lib/clock.js';
import { silentLogger } from '../lib/logger.js';
import type { KeySet, KeySetStatus } from './key-set.js';
import { createFileKeySet, createInlineKeySet } from './local.js';
import { createRemoteKeySet } from './remote.js';
import { createDiscoveryKeySet } from './discovery.js';

export interface FetchSecurity {
  allowInsecure: boolean;
  fingerprints: readonly string[] | undefined;
  caFile: string | undefined;
}

export interface FetchTiming {
  refreshIntervalMs: number;
  cooldownMs: number;
  maxStaleMs: number;
  timeoutMs: number;
}

export type KeySource =
  | ({ kind: 'remote'; url: string } & FetchSecurity & FetchTiming)
  | ({ kind: 'discovery'; discoveryUrl: string; expectedIssuer: string | undefined } & FetchSecurity & FetchTiming)
  | { kind: 'file'; path: string }
  | { kind: 'inline'; jwks: readonly Jwk[] };

export interface KeySetRegistry {
  keySetFor(source: KeySource): KeySet;
  statuses(): KeySetStatus[];
  /** Resolves once every key set has finished its first load attempt. */
  ready(): Promise<void>;
  /** Closes every key set not in `keep`, e.g. those only a replaced config used. */
  retainOnly(keep: readonly KeySet[]): void;
  close(): void;
}

export type RegistryOptions = Partial<Deps>;

export function createKeySetRegistry(options: RegistryOptions = {}): KeySetRegistry {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const sets = new Map<string, { set: KeySet; timing?: FetchTiming }>();

  function identity(source: KeySource): string {
    switch (source.kind) {
      case 'remote':
      case 'discovery':
        return JSON.stringify([
          source.kind,
          source.kind === 'remote' ? source.url : source.discoveryUrl,
          source.kind === 'discovery' ? source.expectedIssuer : null,
          source.allowInsecure,
          source.fingerprints ?? null,
          source.caFile ?? null,
        ]);
      case 'file':
        return JSON.stringify(['file', source.path]);
      case 'inline':
        return JSON.stringify(['inline', source.jwks]);
    }
  }

  function create(source: KeySource): KeySet {
    switch (source.kind) {
      case 'file':
        return createFileKeySet(source.path, { logger });
      case 'inline':
        return createInlineKeySet(source.jwks, { logger });
      case 'remote':
        return createRemoteKeySet({ ...fetchOptions(source), url: source.url });
      case 'discovery':
        return createDiscoveryKeySet({ ...fetchOptions(source), discoveryUrl: source.discoveryUrl, expectedIssuer: source.expectedIssuer });
    }
  }

  function fetchOptions(source: FetchSecurity & FetchTiming) {
    return {
      refreshIntervalMs: source.refreshIntervalMs,
      cooldownMs: source.cooldownMs,
      maxStaleMs: source.maxStaleMs,
      timeoutMs: source.timeoutMs,
      allowInsecure: source.allowInsecure,
      fingerprints: source.fingerprints,
      caFile: source.caFile,
      clock,
      logger,
      dispatcher: options.dispatcher,
    };
  }

  return {
    keySetFor(source) {
      const id = identity(source);
      const existing = sets.get(id);
      if (existing) {
        const timing = 'timeoutMs' in source ? (source as FetchTiming) : undefined;
        if (timing && existing.timing && JSON.stringify(timing) !== JSON.stringify(existing.timing)) {
          logger.warn({ keySet: existing.set.label }, '[KeySet] endpoints share this key source with different timing options; the first one applies');
        }
        return existing.set;
      }
      const set = create(source);
      sets.set(id, { set, ...('timeoutMs' in source ? { timing: source as FetchTiming } : {}) });
      return set;
    },
    statuses: () => [...sets.values()].map(({ set }) => set.status()),
    ready: async () => {
      await Promise.all([...sets.values()].map(({ set }) => set.ready()));
    },
    retainOnly(keep) {
      const kept = new Set(keep);
      for (const [id, { set }] of sets) {
        if (kept.has(set)) continue;
        set.close();
        sets.delete(id);
      }
    },
    close() {
      for (const { set } of sets.values()) set.close();
      sets.clear();
    },
  };
}
