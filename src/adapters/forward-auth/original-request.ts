/**
 * Where a forward-auth check finds the request it is asked about. Each proxy
 * has its own convention, and the server is told which one it sits behind:
 * guessing from whichever header is present would let a client pick the route
 * (and so the policy) by sending the header its proxy does not overwrite.
 *
 * - nginx `auth_request`: `X-Original-Method`, `X-Original-URI`,
 *   `X-Original-Host`, set in the auth location (examples/nginx).
 * - Traefik `forwardAuth` (and Caddy `forward_auth`): `X-Forwarded-Method`,
 *   `X-Forwarded-Uri`, `X-Forwarded-Host`, which Traefik overwrites unless
 *   `trustForwardHeader` is set.
 * - Envoy HTTP `ext_authz`: the check request itself carries the original
 *   method, and `path_prefix` + the original path and query.
 */
import type { IncomingMessage } from 'node:http';

export const FORWARD_AUTH_PROXIES = ['nginx', 'traefik', 'envoy'] as const;
export type ForwardAuthProxy = (typeof FORWARD_AUTH_PROXIES)[number];

export interface OriginalRequest {
  readonly method: string;
  /** Path without the query string, as the client sent it (still percent-encoded). */
  readonly path: string;
  /** Raw query string without `?`. */
  readonly query: string;
  readonly host: string | undefined;
}

export type OriginalRequestResult =
  | { readonly kind: 'check'; readonly request: OriginalRequest }
  /** Not a check request: the server may answer its own paths (health). */
  | { readonly kind: 'own'; readonly path: string }
  | { readonly kind: 'invalid'; readonly reason: string };

export type OriginalRequestReader = (req: Pick<IncomingMessage, 'method' | 'url' | 'headersDistinct'>) => OriginalRequestResult;

const HEADER_NAMES = {
  nginx: { method: 'x-original-method', uri: 'x-original-uri', host: 'x-original-host' },
  traefik: { method: 'x-forwarded-method', uri: 'x-forwarded-uri', host: 'x-forwarded-host' },
} as const;

/** RFC 9110 token characters. */
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;
const ABSOLUTE_FORM = /^https?:\/\/[^/?#]*/i;

export function createOriginalRequestReader(proxy: ForwardAuthProxy, pathPrefix = ''): OriginalRequestReader {
  if (proxy === 'envoy') return envoyReader(pathPrefix.replace(/\/+$/, ''));
  const names = HEADER_NAMES[proxy];
  return (req) => {
    const uri = single(req.headersDistinct, names.uri);
    if (uri === undefined) return ownPath(req.url);
    if (uri === null) return { kind: 'invalid', reason: `${names.uri} is repeated` };
    const method = single(req.headersDistinct, names.method);
    if (method === undefined) return { kind: 'invalid', reason: `${names.method} is missing` };
    if (method === null) return { kind: 'invalid', reason: `${names.method} is repeated` };
    const host = single(req.headersDistinct, names.host);
    if (host === null) return { kind: 'invalid', reason: `${names.host} is repeated` };
    return checked(method, uri, host);
  };
}

function envoyReader(prefix: string): OriginalRequestReader {
  return (req) => {
    const url = req.url ?? '/';
    if (!url.startsWith(prefix)) return ownPath(url);
    const rest = url.slice(prefix.length);
    // "/authz" with prefix "/authz" is the root; "/authzfoo" is not under the prefix at all.
    const uri = rest === '' || rest.startsWith('?') ? `/${rest}` : rest;
    if (!uri.startsWith('/')) return ownPath(url);
    const host = single(req.headersDistinct, 'host');
    return checked(req.method ?? '', uri, host === null ? undefined : host);
  };
}

function checked(method: string, uri: string, host: string | undefined): OriginalRequestResult {
  if (!METHOD.test(method)) return { kind: 'invalid', reason: 'the original method is not an HTTP method' };
  // nginx's $request_uri keeps an absolute-form request target as the client sent it.
  const target = ABSOLUTE_FORM.test(uri) ? uri.replace(ABSOLUTE_FORM, '') || '/' : uri;
  if (!target.startsWith('/')) return { kind: 'invalid', reason: 'the original URI is not a path' };
  const hash = target.indexOf('#');
  const withoutFragment = hash === -1 ? target : target.slice(0, hash);
  const q = withoutFragment.indexOf('?');
  return {
    kind: 'check',
    request: {
      method,
      path: q === -1 ? withoutFragment : withoutFragment.slice(0, q),
      query: q === -1 ? '' : withoutFragment.slice(q + 1),
      host,
    },
  };
}

function ownPath(url: string | undefined): OriginalRequestResult {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return { kind: 'own', path: q === -1 ? raw : raw.slice(0, q) };
}

/** The one value of a header; undefined when absent, null when repeated (ambiguous, so refused). */
function single(headers: Pick<IncomingMessage, 'headersDistinct'>['headersDistinct'], name: string): string | undefined | null {
  const values = headers[name];
  if (values === undefined || values.length === 0) return undefined;
  return values.length === 1 ? values[0]! : null;
}
