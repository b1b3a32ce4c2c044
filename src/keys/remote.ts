/**
 * A key set downloaded from a JWKS URL and kept fresh (security.md §3).
 *
 * - The first download starts at creation; `ready()` resolves when it ends.
 * - One download at a time: every trigger (timer, unknown kid) shares it.
 * - An unknown identifier may cause a download only when the last download
 *   started at least MISS_DOWNLOAD_FLOOR_MS ago (the cooldown, if shorter): a
 *   key rotated in and used at once is fetched within a second, and a storm of
 *   invented kids still costs at most one download per second.
 * - An identifier asked for is remembered; once a download that started when or
 *   after it was first asked for succeeds, it moves to a negative cache for the
 *   cooldown from that download's start (KrakenD's `failed_jwk_key_cooldown`:
 *   how long an unknown kid is not retried), so repeats cost a map lookup and no
 *   download. An older download may predate the key's publication, and a failed
 *   one proves nothing, so neither counts.
 * - Lookups of known kids never touch any of this, so bad kids cannot lock out
 *   good ones.
 * - Failures keep the previous keys (stale-if-error) up to `maxStaleMs` after the
 *   last success; errors are recorded for status and logs, never cached as results.
 */
import { buildKeyIndex, JwksDocumentError, jwksMembers, retireAll } from './key-index.js';
import type { KeyIndex, KeySet, KeySetStatus } from './key-set.js';
import { createJwksDispatcher, fetchJsonDocument, JwksFetchError, type FetchJsonOptions, type JwksTlsOptions } from './fetch-jwks.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { silentLogger, type Logger } from '../lib/logger.js';
import type { Dispatcher } from 'undici';
import { assertJwksUrlAllowed, DEFAULT_COOLDOWN_MS, DEFAULT_MAX_STALE_MS, DEFAULT_REFRESH_INTERVAL_MS, isLoopbackHost } from './remote-source.js';

/**
 * The shortest gap, from the start of one download to the start of the next,
 * that an unknown identifier may cause. Short, so a key used the moment it is
 * published is found on its first or next request; not zero, so a flood of
 * distinct invented kids is one download per second per key set, not one per
 * request. It holds whether or not keys are loaded: without keys every request
 * is answered 503 anyway, and the gateway recovers within a second of the IdP.
 */
export const MISS_DOWNLOAD_FLOOR_MS = 1000;
/** First background retry while no keys are usable; it then backs off up to retryIntervalMs. */
export const NO_KEYS_RETRY_MS = 1000;
export const NEGATIVE_CACHE_LIMIT = 10_000;
// setTimeout overflows above 2^31 - 1 ms and then fires at once.
const MAX_TIMER_MS = 2_147_483_647;

export interface RemoteKeySetOptions extends JwksTlsOptions {
  url: string;
  /**
   * Finds the JWKS URL at download time (discovery); `url` then only names the
   * set in status and logs. Called with the download's abort signal.
   */
  resolveUrl?: (signal: AbortSignal) => Promise<string>;
  /** Accept Descope's v1 bare-array JWKS. Default true. */
  acceptBareArray?: boolean;
  /** KrakenD `cache_duration`: time between background refreshes. Default 15 min. */
  refreshIntervalMs?: number;
  /** Background retry after a failed download while keys are usable. Default min(30 s, refreshIntervalMs). */
  retryIntervalMs?: number;
  /**
   * How long an identifier that a successful download lacked is answered from the
   * negative cache without another download. Default 30 s. Also caps the floor
   * between miss-caused downloads when shorter than MISS_DOWNLOAD_FLOOR_MS.
   */
  cooldownMs?: number;
  /** Stale-if-error bound after the last success. Default 24 h. */
  maxStaleMs?: number;
  timeoutMs?: number;
  maxBodyBytes?: number;
  dispatcher?: Dispatcher;
  clock?: Clock;
  logger?: Logger;
  /** Run the background refresh timer. Default true. */
  scheduleRefresh?: boolean;
}

export function createRemoteKeySet(options: RemoteKeySetOptions): KeySet {
  const label = describeUrl(options.url);
  // A misconfigured URL is a startup error, not a runtime one.
  if (!options.resolveUrl) assertJwksUrlAllowed(options.url, options.allowInsecure);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const acceptBareArray = options.acceptBareArray ?? true;
  const refreshIntervalMs = options.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS;
  const retryIntervalMs = options.retryIntervalMs ?? Math.min(30_000, refreshIntervalMs);
  const cooldownMs = options.cooldownMs ?? DEFAULT_COOLDOWN_MS;
  const missFloorMs = Math.min(MISS_DOWNLOAD_FLOOR_MS, cooldownMs);
  const maxStaleMs = options.maxStaleMs ?? DEFAULT_MAX_STALE_MS;
  const scheduleRefresh = options.scheduleRefresh ?? true;
  // Built once (not per download) so connections are reused; undefined means the shared default agent.
  const ownDispatcher = options.dispatcher ? undefined : createJwksDispatcher(options);
  const dispatcher = options.dispatcher ?? ownDispatcher;
  const fetchOptions: Omit<FetchJsonOptions, 'url'> = {
    timeoutMs: options.timeoutMs,
    maxBodyBytes: options.maxBodyBytes,
    allowInsecure: options.allowInsecure,
    dispatcher,
  };

  let index: KeyIndex | undefined;
  let lastSuccessAt: number | undefined;
  let lastErrorAt: number | undefined;
  let lastError: string | undefined;
  let lastAttemptAt: number | undefined;
  /** Redirects the download in use followed, and where it ended; a change is logged. */
  let redirects = 0;
  let finalUrl: string | undefined;
  let lastAttemptFailed = false;
  let consecutiveFailures = 0;
  let fetchCount = 0;
  let successCount = 0;
  let failureCount = 0;
  let startedSeq = 0;
  let appliedSeq = 0;
  let inflight: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const controllers = new Set<AbortController>();
  /** identifier → when it was first asked for, until a download started since then succeeds. */
  const asked = new Map<string, number>();
  /** identifier → when its negative entry expires (the cooldown after the download that lacked it started). */
  const negative = new Map<string, number>();

  function usable(now: number): KeyIndex | undefined {
    if (!index || lastSuccessAt === undefined) return undefined;
    // Stale keys are served only while downloads fail, and only up to maxStaleMs.
    if (lastAttemptFailed && now - lastSuccessAt > maxStaleMs) return undefined;
    return index;
  }

  // Counted from the last download of any kind: a background refresh that just ran is as fresh as a miss-caused one.
  function mayDownload(now: number): boolean {
    return lastAttemptAt === undefined || now - lastAttemptAt >= missFloorMs;
  }

  function download(): Promise<void> {
    if (inflight) return inflight;
    const seq = ++startedSeq;
    fetchCount += 1;
    const startedAt = clock.now();
    lastAttemptAt = startedAt;
    const controller = new AbortController();
    controllers.add(controller);
    const attempt = runDownload(seq, startedAt, controller.signal).finally(() => {
      controllers.delete(controller);
      if (inflight === attempt) inflight = undefined;
      scheduleNext();
    });
    inflight = attempt;
    return attempt;
  }

  async function runDownload(seq: number, startedAt: number, signal: AbortSignal): Promise<void> {
    try {
      const url = options.resolveUrl ? await options.resolveUrl(signal) : options.url;
      const fetched = await fetchJsonDocument({ ...fetchOptions, url, signal });
      // Single flight makes overlaps rare, but an older download must never replace a newer result.
      if (closed || seq < appliedSeq) return;
      // A secret published over the network is public; only a loopback server (a local secret store) may
      // serve one, and only if every hop was loopback: a redirect from elsewhere is the network's say.
      const allowSymmetric = fetched.urls.every((hop) => isLoopbackHost(new URL(hop).hostname));
      const built = buildKeyIndex(jwksMembers(fetched.document, acceptBareArray), index, { allowSymmetric });
      appliedSeq = seq;
      index = built.index;
      settleAsked(startedAt);
      noteRedirects(fetched.urls);
      lastSuccessAt = clock.now();
      successCount += 1;
      lastAttemptFailed = false;
      consecutiveFailures = 0;
      for (const reason of built.skipped) logger.warn({ keySet: label }, `[KeySet] skipped ${reason}`);
      if (built.ambiguous.length > 0) logger.warn({ keySet: label }, `[KeySet] ambiguous key names: ${built.ambiguous.join('; ')}`);
      logger.debug({ keySet: label, keyCount: built.index.keys.length, redirects }, '[KeySet] JWKS loaded');
    } catch (error) {
      if (closed || seq < appliedSeq) return;
      lastError = describe(error);
      lastErrorAt = clock.now();
      failureCount += 1;
      lastAttemptFailed = true;
      consecutiveFailures += 1;
      const keeping = usable(clock.now()) !== undefined;
      const message = `[KeySet] JWKS download failed: ${lastError}${keeping ? '; keeping the previous keys' : ''}`;
      if (keeping) logger.warn({ keySet: label }, message);
      else logger.error({ keySet: label }, message);
    }
  }

  // Logged when the chain changes rather than on every refresh: a moved key set is worth one line, not one per interval.
  function noteRedirects(urls: readonly string[]): void {
    const count = urls.length - 1;
    const last = describeUrl(urls[urls.length - 1]!);
    if (count === redirects && (count === 0 || last === finalUrl)) return;
    redirects = count;
    finalUrl = last;
    if (count > 0) logger.info({ keySet: label, redirects: count, finalUrl: last }, `[KeySet] JWKS URL redirected ${count} time${count === 1 ? '' : 's'}; consider configuring the final URL`);
    else logger.info({ keySet: label }, '[KeySet] JWKS URL no longer redirects');
  }

  function scheduleNext(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (closed || !scheduleRefresh) return;
    let delay = refreshIntervalMs;
    if (lastAttemptFailed) {
      // Without usable keys, back off from 1 s so recovery is quick but a dead IdP is not hammered.
      delay = usable(clock.now())
        ? retryIntervalMs
        : Math.min(retryIntervalMs, NO_KEYS_RETRY_MS * 2 ** Math.min(consecutiveFailures - 1, 20));
    }
    timer = setTimeout(() => void download(), Math.min(Math.max(delay, 0), MAX_TIMER_MS));
    timer.unref();
  }

  function noteAsked(identifier: string, now: number): void {
    if (asked.has(identifier)) return;
    boundedSet(asked, identifier, now);
  }

  /**
   * A download that started at `startedAt` has succeeded: every identifier asked
   * for by then is either in the new index (where lookups find it before they
   * reach the negative cache) or known to be absent, so all move to the negative cache.
   */
  function settleAsked(startedAt: number): void {
    const expiresAt = startedAt + cooldownMs;
    const now = clock.now();
    for (const [identifier, askedAt] of asked) {
      if (askedAt > startedAt) continue;
      asked.delete(identifier);
      if (expiresAt > now) boundedSet(negative, identifier, expiresAt);
    }
  }

  function boundedSet(map: Map<string, number>, identifier: string, value: number): void {
    map.delete(identifier);
    if (map.size >= NEGATIVE_CACHE_LIMIT) {
      // Maps iterate in insertion order: drop the oldest entry. Losing one costs at most
      // one download, and that one still waits for the floor.
      const oldest = map.keys().next().value;
      if (oldest !== undefined) map.delete(oldest);
    }
    map.set(identifier, value);
  }

  const first = download();

  return {
    label,
    current: () => (closed ? undefined : usable(clock.now())),
    async refreshForMiss(identifier: string): Promise<KeyIndex | undefined> {
      if (closed) return undefined;
      const now = clock.now();
      const expiresAt = negative.get(identifier);
      if (expiresAt !== undefined) {
        if (expiresAt > now) return usable(now);
        negative.delete(identifier);
      }
      noteAsked(identifier, now);
      if (inflight) await inflight;
      else if (mayDownload(now)) await download();
      return closed ? undefined : usable(clock.now());
    },
    ready: () => first,
    status(): KeySetStatus {
      const now = clock.now();
      const keys = closed ? undefined : usable(now);
      return {
        label,
        loaded: keys !== undefined,
        keyCount: keys?.keys.length ?? 0,
        lastSuccessAt,
        lastErrorAt,
        lastError,
        fetchCount,
        successCount,
        failureCount,
        stale: keys !== undefined && lastAttemptFailed,
        coolingDown: !closed && !inflight && !mayDownload(now),
        redirects: lastSuccessAt === undefined ? undefined : redirects,
      };
    },
    close(): void {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      for (const controller of controllers) controller.abort();
      negative.clear();
      asked.clear();
      retireAll(index);
      index = undefined;
      if (ownDispatcher) void ownDispatcher.destroy().catch(() => {});
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof JwksFetchError || error instanceof JwksDocumentError) return error.message;
  // Anything else is a bug; its message could hold anything, so only the type is reported.
  return `unexpected ${error instanceof Error ? error.name : typeof error}`;
}

/**
 * The URL as logs, status and denial details show it: without its query or
 * fragment, which some deployments use to carry an access token.
 */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}${parsed.search || parsed.hash ? '?…' : ''}`;
  } catch {
    return 'invalid URL';
  }
}
