/**
 * Who a client limit (`client_max_rate`) counts: KrakenD's strategies, plus
 * `jwt` (a claim of the verified token, e.g. `sub`, `dct` or `org.id`).
 *
 * - `ip`: the connection's address; with `key` (a header such as
 *   `X-Forwarded-For`), the first address listed there if it is one, as
 *   KrakenD does. That header is whatever the client sent unless a proxy in
 *   front overwrites it: name it only behind such a proxy.
 * - `header`: the header's value; `param`: the route parameter's value.
 * - `jwt`: the claim as text (a string, or a finite number); dots mean nesting
 *   unless the name starts with `http` (claim-path.ts).
 *
 * No key (header absent, empty or repeated; claim missing or not a string or
 * number) is `undefined`; KrakenD then refuses the request with 429, and so
 * should the caller: a client must not escape its limit by omitting the key.
 */
import { isIP } from 'node:net';
import { claimReader, isNestedPath } from '../jwt/claim-path.js';
import { headerValue, type HeaderBag } from '../lib/headers.js';

export type ClientKeyStrategy = 'ip' | 'header' | 'param' | 'jwt';

export interface ClientKeySource {
  /** The peer address of the connection (node's `socket.remoteAddress`). */
  readonly remoteAddress?: string | undefined;
  /** Lower-case header names, as node:http gives them. */
  readonly headers: HeaderBag;
  readonly params?: Readonly<Record<string, string | undefined>> | undefined;
  /** The verified token's claims (strategy `jwt`). */
  readonly claims?: Readonly<Record<string, unknown>> | undefined;
}

export type ClientKeyReader = (source: ClientKeySource) => string | undefined;

/** `::ffff:10.0.0.1` (IPv4 on an IPv6 socket) is the same client as `10.0.0.1`. */
function canonicalIp(address: string | undefined): string | undefined {
  if (address === undefined || address === '') return undefined;
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** The first address of a forwarding header: `1.2.3.4, 10.0.0.1` or `1.2.3.4:5678`; undefined if it is none. */
function forwardedIp(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const first = value.split(',', 1)[0]!.trim();
  if (isIP(first) !== 0) return canonicalIp(first);
  const colon = first.lastIndexOf(':');
  if (colon > 0 && isIP(first.slice(0, colon)) === 4) return first.slice(0, colon);
  return undefined;
}

export function clientKeyReader(strategy: ClientKeyStrategy, key?: string): ClientKeyReader {
  switch (strategy) {
    case 'ip': {
      if (key === undefined || key === '') return (source) => canonicalIp(source.remoteAddress);
      const header = key.toLowerCase();
      return (source) => forwardedIp(headerValue(source.headers, header)) ?? canonicalIp(source.remoteAddress);
    }
    case 'header': {
      if (key === undefined || key === '') throw new RangeError('strategy "header" needs the header name in "key"');
      const header = key.toLowerCase();
      return (source) => {
        const value = headerValue(source.headers, header);
        return value === undefined || value === '' ? undefined : value;
      };
    }
    case 'param': {
      if (key === undefined || key === '') throw new RangeError('strategy "param" needs the parameter name in "key"');
      return (source) => {
        const params = source.params;
        // Own properties only: a parameter named `constructor` must not read Object.prototype.
        const value = params !== undefined && Object.hasOwn(params, key) ? params[key] : undefined;
        return typeof value === 'string' && value !== '' ? value : undefined;
      };
    }
    case 'jwt': {
      if (key === undefined || key === '') throw new RangeError('strategy "jwt" needs the claim in "key"');
      const read = claimReader(key, isNestedPath(key));
      return (source) => {
        if (source.claims === undefined) return undefined;
        const value = read(source.claims as Record<string, unknown>);
        if (typeof value === 'string') return value === '' ? undefined : value;
        if (typeof value === 'number' && Number.isFinite(value)) return String(value);
        return undefined;
      };
    }
    default:
      throw new RangeError(`unknown rate-limit strategy ${JSON.stringify(strategy)}`);
  }
}
