/**
 * What compiling a validator or a signer needs to know about a remote key
 * source, without the HTTP client that downloads it: the URL rule, the
 * discovery URL of an issuer and the default timings. Apart from
 * fetch-jwks.ts, remote.ts and discovery.ts (which import them from here) so
 * that `check` and the issuer, which never download keys, do not load undici
 * (about 0.1 s of CPU at start).
 */

/** Bound on one download (`jwk_fetch_timeout`). */
export const DEFAULT_TIMEOUT_MS = 5000;
export const DEFAULT_REFRESH_INTERVAL_MS = 900_000;
export const DEFAULT_COOLDOWN_MS = 30_000;
export const DEFAULT_MAX_STALE_MS = 24 * 3_600_000;

/** Config-time check of a JWKS or discovery URL. Throws a plain Error naming the problem. */
export function assertJwksUrlAllowed(url: string, allowInsecure = false): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`invalid JWKS URL ${JSON.stringify(url.slice(0, 200))}`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new Error(`JWKS URL ${parsed.origin === 'null' ? parsed.protocol : parsed.origin} must use https`);
  }
  // Credentials in the URL would end up in status output and logs, which show the URL.
  if (parsed.username !== '' || parsed.password !== '') throw new Error('JWKS URL must not embed credentials');
  if (parsed.protocol === 'http:' && !allowInsecure && !isLoopbackHost(parsed.hostname)) {
    throw new Error(`JWKS URL ${parsed.origin} must use https (http is allowed only for loopback hosts or with disable_jwk_security)`);
  }
}

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost' || host === '[::1]' || host === '::1') return true;
  // WHATWG URL parsing has already normalised IPv4 forms (0x7f.1, 2130706433) to dotted decimal.
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** OIDC Discovery §4: the issuer without a trailing slash, plus the well-known path. */
export function discoveryUrlForIssuer(issuer: string): string {
  return `${issuer.endsWith('/') ? issuer.slice(0, -1) : issuer}/.well-known/openid-configuration`;
}
