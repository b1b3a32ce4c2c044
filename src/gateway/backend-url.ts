/**
 * The backend request target: `url_pattern` filled with the route's
 * `{param}` values and the token's `{JWT.claim}` values, each
 * percent-encoded, plus the query strings `input_query_strings` lets through.
 */
import type { UrlPart } from '../config/compile.js';
import type { Claims } from '../jwt/parse.js';
import { isSafeParamValue } from '../lib/path-segment.js';

export type PathBuilder = (params: Readonly<Record<string, string>>, claims: Claims | undefined) => string;

/**
 * A claim that cannot fill its `{JWT.claim}` placeholder as one harmless path
 * segment: missing, empty, not a string or number, a dot segment, or holding
 * `/`, `\` or a control character. Sent anyway it would make `/tenants//orders`
 * (which slash-merging backends serve as `/tenants/orders`) or walk upwards
 * once a backend decodes and normalises the path, so the request is refused.
 */
export class UnroutableClaimError extends Error {
  constructor(claim: string, why: string) {
    super(`claim "${claim}" cannot be a path segment: ${why}`);
    this.name = 'UnroutableClaimError';
  }
}

/** Compiles the pattern once; a pattern without placeholders costs nothing per request. */
export function compilePathBuilder(parts: readonly UrlPart[]): PathBuilder {
  if (parts.every((part) => part.kind === 'literal')) {
    const fixed = parts.map((part) => (part as { text: string }).text).join('');
    return () => fixed;
  }
  const frozen = parts.slice();
  return (params, claims) => {
    let path = '';
    for (let i = 0; i < frozen.length; i++) {
      const part = frozen[i]!;
      if (part.kind === 'literal') path += part.text;
      else if (part.kind === 'param') path += encodeComponent(params[part.name] ?? '');
      else path += encodeComponent(claimSegment(part.name, claims?.[part.name]));
    }
    return path;
  };
}

/**
 * A claim as a path segment: a string as it is, an integral number as integer
 * text, another finite number in JavaScript's shortest form. Anything else
 * throws UnroutableClaimError.
 */
export function claimSegment(name: string, value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' && Number.isFinite(value)) {
    text = Number.isInteger(value) && !Number.isSafeInteger(value) ? BigInt(value).toString() : String(value);
  } else throw new UnroutableClaimError(name, value === undefined ? 'missing' : `a ${value === null ? 'null' : Array.isArray(value) ? 'list' : typeof value}`);
  if (!isSafeParamValue(text)) throw new UnroutableClaimError(name, text === '' ? 'empty' : 'a dot segment, "/", "\\" or a control character');
  return text;
}

/** encodeURIComponent, except that a lone surrogate (legal in JSON text) becomes U+FFFD instead of throwing. */
export function encodeComponent(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return encodeURIComponent(text.replace(/[\ud800-\udfff]/g, (char, index: number, all: string) => {
      const code = char.charCodeAt(0);
      if (code <= 0xdbff) {
        const next = all.charCodeAt(index + 1);
        return next >= 0xdc00 && next <= 0xdfff ? char : '\ufffd';
      }
      const previous = all.charCodeAt(index - 1);
      return previous >= 0xd800 && previous <= 0xdbff ? char : '\ufffd';
    }));
  }
}

/**
 * The raw query string (no `?`) reduced to the allowed keys, matched
 * case-sensitively on the decoded key; kept pairs are forwarded byte for byte.
 */
export function filterQuery(raw: string, allowed: ReadonlySet<string> | '*'): string {
  if (raw.length === 0 || allowed === '*') return raw;
  if (allowed.size === 0) return '';
  let out = '';
  let start = 0;
  while (start <= raw.length) {
    let end = raw.indexOf('&', start);
    if (end === -1) end = raw.length;
    if (end > start) {
      const pair = raw.slice(start, end);
      const eq = pair.indexOf('=');
      const key = decodeKey(eq === -1 ? pair : pair.slice(0, eq));
      if (key !== undefined && allowed.has(key)) out = out.length === 0 ? pair : `${out}&${pair}`;
    }
    start = end + 1;
  }
  return out;
}

function decodeKey(key: string): string | undefined {
  if (key.indexOf('%') === -1 && key.indexOf('+') === -1) return key;
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    // Malformed escapes match nothing rather than failing the request.
    return undefined;
  }
}

/** Joins the filled pattern and the forwarded query; a pattern may carry its own query. */
export function withQuery(path: string, query: string): string {
  if (query.length === 0) return path;
  return path.includes('?') ? `${path}&${query}` : `${path}?${query}`;
}
