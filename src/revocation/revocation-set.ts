/**
 * The revocations an instance enforces, held in memory because the check runs
 * on every request, cached tokens included. `isRevoked` is synchronous and
 * costs one map lookup per kind that has entries (plus one per configured
 * claim name and per tenant the token carries); with no entries it returns
 * at once. Stores (memory, Redis) fill it; the check only reads it.
 *
 * Claim values match when they are strings, or finite numbers compared as
 * their decimal text (`"42"` revokes `42`); arrays and objects never match.
 * Expired entries are dropped by `purgeExpired`; until then they still match,
 * which is harmless: past `expiresAt` no token they match is still valid.
 */
import { claimReader, isNestedPath, type ClaimReader } from '../jwt/claim-path.js';
import { entryKey, mergeEntries, type RevocationEntry } from './entry.js';

type Claims = Readonly<Record<string, unknown>>;

export interface RevocationSet {
  /** True when an entry revokes this token. Never throws. */
  isRevoked(claims: Claims): boolean;
  /** Adds the entry, merged with any entry for the same token property. Returns the entry now held. */
  apply(entry: RevocationEntry): RevocationEntry;
  /** Swaps the whole content (a reload) in one step, so a check never sees a half-filled set. */
  replaceAll(entries: Iterable<RevocationEntry>): void;
  /** Drops entries with `expiresAt <= nowSeconds`; returns how many. */
  purgeExpired(nowSeconds: number): number;
  entries(): RevocationEntry[];
  readonly size: number;
}

interface ClaimIndex {
  readonly read: ClaimReader;
  readonly values: Map<string, RevocationEntry>;
}

interface Index {
  readonly jti: Map<string, RevocationEntry>;
  readonly sub: Map<string, RevocationEntry>;
  readonly tenant: Map<string, RevocationEntry>;
  readonly claims: Map<string, ClaimIndex>;
  /** Every entry by entryKey: merging, listing, purging. */
  readonly all: Map<string, RevocationEntry>;
}

const emptyIndex = (): Index => ({ jti: new Map(), sub: new Map(), tenant: new Map(), claims: new Map(), all: new Map() });

function claimText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** Whether the entry revokes a token issued at `iat` (undefined: no iat, counts as before). */
function coversIssuedAt(entry: RevocationEntry, iat: unknown): boolean {
  if (entry.kind === 'jti' || entry.before === undefined) return true;
  return typeof iat !== 'number' || iat < entry.before;
}

function insert(index: Index, entry: RevocationEntry): RevocationEntry {
  const key = entryKey(entry);
  const existing = index.all.get(key);
  const held = existing === undefined ? entry : mergeEntries(existing, entry);
  index.all.set(key, held);
  if (held.kind === 'claim') {
    const name = held.claim!;
    let claimIndex = index.claims.get(name);
    if (claimIndex === undefined) {
      claimIndex = { read: claimReader(name, isNestedPath(name)), values: new Map() };
      index.claims.set(name, claimIndex);
    }
    claimIndex.values.set(held.value, held);
  } else {
    index[held.kind].set(held.value, held);
  }
  return held;
}

function remove(index: Index, key: string, entry: RevocationEntry): void {
  index.all.delete(key);
  if (entry.kind === 'claim') {
    const claimIndex = index.claims.get(entry.claim!);
    claimIndex?.values.delete(entry.value);
    if (claimIndex !== undefined && claimIndex.values.size === 0) index.claims.delete(entry.claim!);
  } else {
    index[entry.kind].delete(entry.value);
  }
}

function revokedBy(index: Index, claims: Claims): boolean {
  const iat = claims.iat;
  if (index.jti.size > 0 && typeof claims.jti === 'string') {
    const entry = index.jti.get(claims.jti);
    if (entry !== undefined) return true;
  }
  if (index.sub.size > 0 && typeof claims.sub === 'string') {
    const entry = index.sub.get(claims.sub);
    if (entry !== undefined && coversIssuedAt(entry, iat)) return true;
  }
  if (index.tenant.size > 0) {
    const dct = claims.dct;
    if (typeof dct === 'string') {
      const entry = index.tenant.get(dct);
      if (entry !== undefined && coversIssuedAt(entry, iat)) return true;
    }
    const tenants = claims.tenants;
    if (typeof tenants === 'object' && tenants !== null && !Array.isArray(tenants)) {
      for (const tenant of Object.keys(tenants)) {
        const entry = index.tenant.get(tenant);
        if (entry !== undefined && coversIssuedAt(entry, iat)) return true;
      }
    }
  }
  if (index.claims.size > 0) {
    for (const claimIndex of index.claims.values()) {
      const text = claimText(claimIndex.read(claims as Record<string, unknown>));
      if (text === undefined) continue;
      const entry = claimIndex.values.get(text);
      if (entry !== undefined && coversIssuedAt(entry, iat)) return true;
    }
  }
  return false;
}

export function createRevocationSet(initial: Iterable<RevocationEntry> = []): RevocationSet {
  let index = emptyIndex();
  for (const entry of initial) insert(index, entry);
  return {
    isRevoked: (claims) => index.all.size > 0 && revokedBy(index, claims),
    apply: (entry) => insert(index, entry),
    replaceAll(entries) {
      const next = emptyIndex();
      for (const entry of entries) insert(next, entry);
      index = next;
    },
    purgeExpired(nowSeconds) {
      let dropped = 0;
      for (const [key, entry] of index.all) {
        if (entry.expiresAt <= nowSeconds) {
          remove(index, key, entry);
          dropped++;
        }
      }
      return dropped;
    },
    entries: () => [...index.all.values()],
    get size() {
      return index.all.size;
    },
  };
}
