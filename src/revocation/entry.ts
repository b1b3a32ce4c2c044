/**
 * What a revocation says, checked once where it enters (an admin call, a
 * message from Redis, a reloaded hash), so the hot path trusts its entries.
 * Two entries for the same token property merge into one that revokes what
 * either did: the later `before`, the later expiry. Merging is the same here
 * and in the Redis script (redis-store.ts), so every instance ends up with the
 * same entry whatever order the messages arrive in.
 */

export type RevocationKind = 'jti' | 'sub' | 'claim' | 'tenant';

export interface RevocationEntry {
  readonly kind: RevocationKind;
  /** The claim (name or dot path, e.g. `sid`) for kind `claim`; absent for the others. */
  readonly claim?: string;
  /** The revoked value: the jti, the subject, the claim value or the tenant id. */
  readonly value: string;
  /**
   * Epoch seconds, for `sub`, `claim` and `tenant`: only tokens issued before it (`iat < before`) are
   * revoked, so a user can log in again. A token without `iat` counts as issued before (fail closed).
   * Absent: every matching token is revoked. `jti` entries ignore it (one token has one jti).
   */
  readonly before?: number;
  /**
   * Epoch seconds after which no token the entry could match is still valid (the revocation time
   * plus the longest token lifetime); the entry is dropped then.
   */
  readonly expiresAt: number;
}

export const REVOCATION_KINDS: readonly RevocationKind[] = ['jti', 'sub', 'claim', 'tenant'];
/** Longer values are refused: no identifier is this long, and entries are held in every instance. */
export const MAX_VALUE_LENGTH = 1024;
export const MAX_CLAIM_LENGTH = 256;

export class RevocationEntryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RevocationEntryError';
  }
}

const isTimestamp = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0;

/**
 * The entry in canonical form (no stray members, `before` dropped for `jti`), or a
 * RevocationEntryError naming the problem. The message never repeats the value.
 */
export function parseRevocationEntry(input: unknown): RevocationEntry {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new RevocationEntryError('an entry must be an object');
  const raw = input as Record<string, unknown>;
  const kind = raw.kind;
  if (typeof kind !== 'string' || !(REVOCATION_KINDS as readonly string[]).includes(kind)) {
    throw new RevocationEntryError(`kind must be one of ${REVOCATION_KINDS.join(', ')}`);
  }
  const value = raw.value;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_VALUE_LENGTH) {
    throw new RevocationEntryError(`value must be a non-empty string of at most ${MAX_VALUE_LENGTH} characters`);
  }
  if (!isTimestamp(raw.expiresAt)) throw new RevocationEntryError('expiresAt must be epoch seconds');
  let claim: string | undefined;
  if (kind === 'claim') {
    if (typeof raw.claim !== 'string' || raw.claim.length === 0 || raw.claim.length > MAX_CLAIM_LENGTH) {
      throw new RevocationEntryError(`claim must name the claim (at most ${MAX_CLAIM_LENGTH} characters) for kind "claim"`);
    }
    claim = raw.claim;
  } else if (raw.claim !== undefined) {
    throw new RevocationEntryError(`claim is only for kind "claim", not "${kind}"`);
  }
  let before: number | undefined;
  if (raw.before !== undefined && raw.before !== null) {
    if (!isTimestamp(raw.before)) throw new RevocationEntryError('before must be epoch seconds');
    if (kind !== 'jti') before = raw.before;
  }
  return Object.freeze({
    kind: kind as RevocationKind,
    ...(claim !== undefined ? { claim } : {}),
    value,
    ...(before !== undefined ? { before } : {}),
    expiresAt: raw.expiresAt,
  });
}

/**
 * The identity of the token property an entry revokes: `kind:claim:value`, with the
 * claim name percent-encoded so a `:` in it (URL-style claims) cannot make two
 * entries collide. Also the Redis hash field.
 */
export function entryKey(entry: Pick<RevocationEntry, 'kind' | 'claim' | 'value'>): string {
  return `${entry.kind}:${entry.claim === undefined ? '' : encodeURIComponent(entry.claim)}:${entry.value}`;
}

/** One entry that revokes whatever `a` or `b` revokes (same key): the later `before` (absent = all) and expiry. */
export function mergeEntries(a: RevocationEntry, b: RevocationEntry): RevocationEntry {
  const before = a.before === undefined || b.before === undefined ? undefined : Math.max(a.before, b.before);
  return Object.freeze({
    kind: a.kind,
    ...(a.claim !== undefined ? { claim: a.claim } : {}),
    value: a.value,
    ...(before !== undefined && a.kind !== 'jti' ? { before } : {}),
    expiresAt: Math.max(a.expiresAt, b.expiresAt),
  });
}
