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
  // Placeholders after the pattern's "?" fill query values, where "/" and dots are harmless once encoded.
  const inQuery = frozen.map((_, i) => frozen.slice(0, i).some((part) => part.kind === 'literal' && part.text.includes('?')));
  return (params, claims) => {
    let path = '';
    for (let i = 0; i < frozen.length; i++) {
      const part = frozen[i]!;
      if (part.kind === 'literal') path += part.text;
      else if (part.kind === 'param') path += encodeComponent(params[part.name] ?? '');
      else path += encodeComponent(claimSegment(part.name, claims?.[part.name], inQuery[i]!));
    }
    return path;
  };
}

/**
 * A claim as a path segment (or, with `inQuery`, a query value): a string as
 * it is, an integral number as integer text, another finite number in
 * JavaScript's shortest form. Anything else throws UnroutableClaimError, and
 * so does an empty value: `?user=` may read as "no filter" to a backend.
 */
export function claimSegment(name: string, value: unknown, inQuery = false): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' && Number.isFinite(value)) {
    text = Number.isInteger(value) && !Number.isSafeInteger(value) ? BigInt(value).toString() : String(value);
  } else throw new UnroutableClaimError(name, value === undefined ? 'missing' : `a ${value === null ? 'null' : Array.isArray(value) ? 'list' : typeof value}`);
  if (text === '') throw new UnroutableClaimError(name, 'empty');
  if (inQuery ? hasControl(text) : !isSafeParamValue(text)) {
    throw new UnroutableClaimError(name, inQuery ? 'a control character' : 'a dot segment, "/", "\\" or a control character');
  }
  return text;
}

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
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
 * The raw query string (no `?`) reduced to what a backend may see: keys the
 * allowlist lets through (matched case-sensitively on the decoded key), minus
 * any key the backend's own url_pattern sets, which the config decides and the
 * client must not repeat (backends that read the last value would act on the
 * client's). `;` separates pairs just as `&` does, because some backend stacks
 * split on it: `a=1;admin=1` must not carry `admin` past an allowlist. Kept
 * pairs are forwarded byte for byte, joined by `&`.
 */
export function filterQuery(raw: string, allowed: ReadonlySet<string> | '*', reserved?: ReadonlySet<string>): string {
  if (raw.length === 0) return raw;
  const anyKey = allowed === '*';
  if (anyKey && reserved === undefined) return raw;
  if (!anyKey && allowed.size === 0) return '';
  let out = '';
  let start = 0;
  while (start <= raw.length) {
    let end = start;
    while (end < raw.length && raw.charCodeAt(end) !== 38 /* & */ && raw.charCodeAt(end) !== 59 /* ; */) end++;
    if (end > start) {
      const pair = raw.slice(start, end);
      const eq = pair.indexOf('=');
      const key = decodeKey(eq === -1 ? pair : pair.slice(0, eq));
      if (key !== undefined && (anyKey || allowed.has(key)) && (reserved === undefined || !reserved.has(key))) {
        out = out.length === 0 ? pair : `${out}&${pair}`;
      }
    }
    start = end + 1;
  }
  return out;
}

/** The decoded keys a url_pattern's own query sets (`/orders?user={JWT.sub}` → `user`), or undefined when it sets none. */
export function patternQueryKeys(urlPattern: string): ReadonlySet<string> | undefined {
  const q = urlPattern.indexOf('?');
  if (q === -1) return undefined;
  const keys = new Set<string>();
  for (const pair of urlPattern.slice(q + 1).split(/[&;]/)) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decodeKey(eq === -1 ? pair : pair.slice(0, eq));
    if (key !== undefined) keys.add(key);
  }
  return keys.size === 0 ? undefined : keys;
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
