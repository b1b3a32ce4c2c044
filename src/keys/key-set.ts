/**
 * What the authorizer needs from a source of keys. Remote, discovered, file and
 * inline sources all implement it; the registry shares one instance per source.
 */
import type { VerificationKey } from '../jwt/keys.js';

export interface KeyIndex {
  readonly keys: readonly VerificationKey[];
  readonly byKid: ReadonlyMap<string, VerificationKey>;
  readonly byX5t: ReadonlyMap<string, VerificationKey>;
  readonly byX5tS256: ReadonlyMap<string, VerificationKey>;
  /** kid followed directly by x5t, as KrakenD's `kid_x5t` strategy names keys. */
  readonly byKidX5t: ReadonlyMap<string, VerificationKey>;
  /**
   * Names (`kid:…`, `x5t:…`, `x5t#S256:…`, `kid_x5t:…`) that several keys carry,
   * with every key that carries them; the maps above hold only the first. Empty
   * in a well-formed set, so a lookup pays for it only when a set has duplicates.
   */
  readonly shared: ReadonlyMap<string, readonly VerificationKey[]>;
}

export interface KeySetStatus {
  /** Non-secret description of the source: a URL without its query, `file:<path>` or `inline`. */
  readonly label: string;
  readonly loaded: boolean;
  readonly keyCount: number;
  readonly lastSuccessAt: number | undefined;
  readonly lastErrorAt: number | undefined;
  readonly lastError: string | undefined;
  readonly fetchCount: number;
  /** Downloads that succeeded, and that failed, since the set was created. */
  readonly successCount: number;
  readonly failureCount: number;
  /** Serving its last good keys while downloads fail (still within jwk_max_stale). */
  readonly stale: boolean;
  /** Within the short floor after a download, during which an unknown kid causes no new download. */
  readonly coolingDown: boolean;
  /**
   * Redirects the download in use followed: remote sets only (for discovery, the
   * jwks_uri's; the discovery document's are logged), absent before the first success.
   */
  readonly redirects?: number;
}

export interface KeySet {
  readonly label: string;
  /** The keys as of now, or undefined while the set has never loaded (or its stale bound has passed). */
  current(): KeyIndex | undefined;
  /**
   * Called when a token names a key the current index lacks. May download again
   * (single flight, at most once per second, never for an identifier a recent
   * download lacked); resolves with the index to retry against, or undefined
   * while no keys are available.
   */
  refreshForMiss(identifier: string): Promise<KeyIndex | undefined>;
  /** Resolves once the first load attempt has finished, successfully or not. */
  ready(): Promise<void>;
  status(): KeySetStatus;
  /** Stops timers and aborts downloads. */
  close(): void;
}
