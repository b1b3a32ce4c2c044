/**
 * Claims to request headers with KrakenD's formatting (krakend-compat.md §8.5):
 * a missing claim yields an empty header, so a client-sent header of the same
 * name is always overwritten, never passed through.
 */
import { claimReader, isNestedPath, type ClaimReader } from '../jwt/claim-path.js';
import type { Claims } from '../jwt/parse.js';

export interface PropagatedHeader {
  /** Header name as configured (the gateway matches it case-insensitively). */
  readonly name: string;
  readonly value: string | readonly string[];
}

export interface Propagation {
  readonly pairs: readonly { read: ClaimReader; header: string }[];
  readonly preserveArrays: boolean;
  readonly payloadHeader: string | undefined;
  /** Every header this propagation sets, lower-case: the front door removes client values for these. */
  readonly headerNames: readonly string[];
}

export function compilePropagation(
  pairs: readonly (readonly [string, string])[],
  preserveArrays: boolean,
  payloadHeader: string | undefined,
): Propagation {
  const compiled = pairs.map(([claim, header]) => ({ read: claimReader(claim, isNestedPath(claim)), header }));
  const headerNames = [...new Set([...compiled.map((p) => p.header), ...(payloadHeader ? [payloadHeader] : [])].map((h) => h.toLowerCase()))];
  return Object.freeze({ pairs: Object.freeze(compiled), preserveArrays, payloadHeader, headerNames: Object.freeze(headerNames) });
}

const NONE: readonly PropagatedHeader[] = Object.freeze([]);

export function propagatedHeaders(propagation: Propagation, claims: Claims, payloadSegment: string): readonly PropagatedHeader[] {
  if (propagation.pairs.length === 0 && !propagation.payloadHeader) return NONE;
  const headers: PropagatedHeader[] = [];
  for (const { read, header } of propagation.pairs) {
    const value = read(claims);
    if (Array.isArray(value) && propagation.preserveArrays) {
      headers.push({ name: header, value: value.map(formatGoValue) });
    } else {
      headers.push({ name: header, value: formatClaim(value) });
    }
  }
  if (propagation.payloadHeader) headers.push({ name: propagation.payloadHeader, value: payloadSegment });
  return headers;
}

/** The header text of one claim value, as krakend-jose writes it. */
export function formatClaim(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return formatNumber(value);
  if (Array.isArray(value)) return value.map(formatGoValue).join(',');
  return formatGoJson(value);
}

function formatNumber(value: number): string {
  const rounded = Math.round(value);
  // krakend-jose: `math.Abs(v-r) <= epsilon` with epsilon 1e-6, so 1e-6 itself prints as "0".
  if (Math.abs(value - rounded) <= 1e-6) return Math.abs(rounded) >= 1e21 ? BigInt(rounded).toString() : String(rounded);
  return value.toFixed(6);
}

/**
 * Go's `json.Marshal` for a decoded JSON value (objects, booleans, null): map
 * keys sorted, and `<`, `>`, `&`, U+2028 and U+2029 escaped as Go's default
 * HTML-safe encoder does, so a backend sees the same header text as behind KrakenD.
 */
function formatGoJson(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(formatGoJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    // Written by hand: a JS object would put integer-like keys first whatever the insertion order.
    const members = Object.keys(value)
      .sort(compareGoStrings)
      .map((key) => `${formatGoJson(key)}:${formatGoJson((value as Record<string, unknown>)[key])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Go orders strings by their UTF-8 bytes; JavaScript's default sort uses UTF-16 units. */
function compareGoStrings(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Go's `%v` for a decoded JSON value, used for array elements. */
export function formatGoValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return formatGoFloat(value);
  if (typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return '<nil>';
  if (Array.isArray(value)) return `[${value.map(formatGoValue).join(' ')}]`;
  const entries = Object.keys(value as object)
    .sort(compareGoStrings)
    .map((key) => `${key}:${formatGoValue((value as Record<string, unknown>)[key])}`);
  return `map[${entries.join(' ')}]`;
}

/**
 * strconv.FormatFloat(v, 'g', -1, 64), which `%v` uses: the shortest digits
 * that round-trip (as in JavaScript), in exponent form when the exponent is
 * below -4 or at least 6, with at least two exponent digits.
 */
function formatGoFloat(value: number): string {
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const [mantissa, exponentText] = value.toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  if (exponent >= -4 && exponent < 6) return String(value);
  return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
}
