/**
 * Finds the token in a request. One location is used, by precedence: the
 * configured header, then the cookie, then (if configured) the query
 * parameter. Only "not found" falls through; a malformed header token is
 * never rescued by a cookie (KrakenD's rule, and security.md item 18).
 */
import { AuthError } from '../jwt/errors.js';
import { headerValue, type HeaderBag } from '../lib/headers.js';

export interface ExtractionSpec {
  /** Lower-case header name. */
  readonly headerName: string;
  readonly cookieName: string | undefined;
  readonly queryKey: string | undefined;
  readonly maxTokenLength: number;
}

export type TokenLocation = 'header' | 'cookie' | 'query';

export interface QuerySource {
  /** Raw query string without the leading `?`, a URLSearchParams, or decoded pairs. */
  readonly query?: string | URLSearchParams | Readonly<Record<string, string | readonly string[] | undefined>> | undefined;
}

export interface ExtractedToken {
  readonly token: string;
  readonly location: TokenLocation;
}

export function extractToken(headers: HeaderBag, source: QuerySource, spec: ExtractionSpec): ExtractedToken {
  const header = headerValue(headers, spec.headerName);
  // A repeated token header is present, not missing: which value counts is ambiguous, so it must
  // not fall through to a cookie or query token either.
  if (header === undefined && Array.isArray(headers[spec.headerName]) && headers[spec.headerName]!.length > 0) {
    throw new AuthError('token_malformed', 'the token header is repeated');
  }
  if (header !== undefined && header.length > 0) {
    // Length is capped before anything else reads the value.
    if (header.length > spec.maxTokenLength + 7) throw new AuthError('token_too_large');
    // KrakenD strips "Bearer " case-insensitively, and only from values longer than the prefix.
    const token = header.length > 7 && /^bearer /i.test(header) ? header.slice(7) : header;
    return checked(token, 'header', spec);
  }
  if (spec.cookieName !== undefined) {
    const cookie = cookieValue(headerValue(headers, 'cookie'), spec.cookieName);
    if (cookie !== undefined && cookie.length > 0) return checked(cookie, 'cookie', spec);
  }
  if (spec.queryKey !== undefined && source.query !== undefined) {
    const fromQuery = queryValue(source.query, spec.queryKey);
    if (fromQuery !== undefined && fromQuery.length > 0) return checked(fromQuery, 'query', spec);
  }
  throw new AuthError('token_missing');
}

function checked(token: string, location: TokenLocation, spec: ExtractionSpec): ExtractedToken {
  if (token.length > spec.maxTokenLength) throw new AuthError('token_too_large');
  return { token, location };
}

/**
 * The first cookie with this exact name (RFC 6265 §5.4 pairs), quotes removed.
 * One left-to-right pass: each pair is looked at between its own `;`s only,
 * so a header of many pairs without `=` costs linear time, not quadratic.
 */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  const length = header.length;
  let start = 0;
  while (start < length) {
    let end = header.indexOf(';', start);
    if (end < 0) end = length;
    let eq = start;
    while (eq < end && header.charCodeAt(eq) !== 61 /* = */) eq++;
    if (eq > start && eq < end && header.slice(start, eq).trim() === name) {
      let value = header.slice(eq + 1, end).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      return value;
    }
    start = end + 1;
  }
  return undefined;
}

function queryValue(query: NonNullable<QuerySource['query']>, key: string): string | undefined {
  if (typeof query === 'string') return new URLSearchParams(query).get(key) ?? undefined;
  if (query instanceof URLSearchParams) return query.get(key) ?? undefined;
  const value = query[key];
  return typeof value === 'string' ? value : Array.isArray(value) ? (value[0] as string | undefined) : undefined;
}
