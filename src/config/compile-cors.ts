/**
 * `security/cors` → a CorsPlan, with KrakenD's defaults (krakend-cors v2 over
 * rs/cors: every origin, every requested header, GET/POST/HEAD, no max-age,
 * 204 preflights). What KrakenD accepts and would run unsafely is refused
 * here: credentials with an origin list any website can match (`*`, none,
 * `null`, or a wildcard an attacker can register a name under), because the
 * browser would then hand every site its visitors' authorized answers.
 */
import { parseDurationMs } from '../lib/duration.js';
import { CORS_KEY, CORS_V1_KEY, type CorsPlan, type OriginWildcard } from './plan.js';
import type { GatewayConfig } from './schema.js';
import type { ConfigIssue } from './validate.js';

const DEFAULT_METHODS = ['GET', 'POST', 'HEAD'];
const DEFAULT_SUCCESS_STATUS = 204;

type CorsConfig = NonNullable<NonNullable<GatewayConfig['extra_config']>['security/cors']>;

export function compileCors(config: GatewayConfig, at: (pointer: string) => string, issues: ConfigIssue[]): CorsPlan | undefined {
  const current = config.extra_config?.[CORS_KEY];
  const legacy = config.extra_config?.[CORS_V1_KEY];
  if (current !== undefined && legacy !== undefined) {
    issues.push({ path: at(`/extra_config/${escapeKey(CORS_V1_KEY)}`), message: `both "${CORS_KEY}" and its v1 name "${CORS_V1_KEY}" are set; keep only "${CORS_KEY}"` });
  }
  const cors: CorsConfig | undefined = current ?? legacy;
  if (cors === undefined) return undefined;
  const base = `/extra_config/${escapeKey(current !== undefined ? CORS_KEY : CORS_V1_KEY)}`;

  const listed = (cors.allow_origins ?? []).map((origin) => origin.toLowerCase());
  const anyOrigin = listed.length === 0 || listed.includes('*');
  const origins = new Set<string>();
  const originWildcards: OriginWildcard[] = [];
  const credentials = cors.allow_credentials === true;
  if (credentials && anyOrigin) {
    issues.push({
      path: at(`${base}/${listed.length === 0 ? 'allow_credentials' : 'allow_origins'}`),
      message: `allow_credentials with ${listed.length === 0 ? 'no allow_origins (every origin)' : '"*"'} would let every website read its visitors' authorized answers; list the origins that may`,
    });
  }
  if (!anyOrigin) {
    listed.forEach((origin, i) => {
      const path = at(`${base}/allow_origins/${i}`);
      const star = origin.indexOf('*');
      if (star === -1) {
        if (credentials && origin === 'null') {
          issues.push({ path, message: '"null" with allow_credentials: sandboxed frames and local files of any website send Origin: null' });
        }
        origins.add(origin);
        return;
      }
      if (origin.indexOf('*', star + 1) !== -1) {
        issues.push({ path, message: 'one "*" per origin at most (as in KrakenD)' });
        return;
      }
      const wildcard = { prefix: origin.slice(0, star), suffix: origin.slice(star + 1) };
      if (credentials && !narrowWildcard(wildcard)) {
        issues.push({
          path,
          message: `"${origin}" with allow_credentials matches origins anyone can register; write it as scheme://*.your-domain.tld (subdomains) or scheme://host:* (ports)`,
        });
      }
      originWildcards.push(Object.freeze(wildcard));
    });
  }

  const headers = (cors.allow_headers ?? []).map((name) => name.toLowerCase());
  const maxAgeMs = cors.max_age === undefined ? 0 : parseDurationMs(cors.max_age);
  if (maxAgeMs === undefined) issues.push({ path: at(`${base}/max_age`), message: 'must be a duration such as "10m" or "12h"' });

  return Object.freeze({
    anyOrigin,
    origins: Object.freeze(origins),
    originWildcards: Object.freeze(originWildcards),
    methods: Object.freeze(new Set((cors.allow_methods?.length ? cors.allow_methods : DEFAULT_METHODS).map((method) => method.toUpperCase()))),
    anyHeader: headers.length === 0 || headers.includes('*'),
    headers: Object.freeze(new Set(headers)),
    exposeHeaders: (cors.expose_headers ?? []).join(', '),
    allowCredentials: credentials,
    maxAgeSeconds: Math.floor((maxAgeMs ?? 0) / 1000),
    allowPrivateNetwork: cors.allow_private_network === true,
    optionsPassthrough: cors.options_passthrough === true,
    optionsSuccessStatus: cors.options_success_status ?? DEFAULT_SUCCESS_STATUS,
    debug: cors.debug === true,
  });
}

/**
 * A wildcard that only names hosts under one registered domain, or ports of
 * one host: `https://*.example.com`, `http://localhost:*`. `https://*`,
 * `https://*.com` and `https://example.*` (matched by `example.attacker.net`)
 * are not.
 */
function narrowWildcard({ prefix, suffix }: OriginWildcard): boolean {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//.exec(prefix);
  if (scheme === null) return false;
  const host = prefix.slice(scheme[0].length);
  if (host === '') {
    // A subdomain wildcard: the fixed part must hold at least two labels, e.g. ".example.com".
    return /^\.[a-z0-9-]+(\.[a-z0-9-]+)+(:\d+)?$/.test(suffix);
  }
  // A port wildcard: a whole host, then ":".
  return suffix === '' && /^[a-z0-9.-]+:$|^\[[0-9a-f:.]+\]:$/.test(host);
}

function escapeKey(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}
