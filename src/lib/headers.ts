/** HTTP header helpers shared by the core and the doors: reading one value safely, writing claim text safely. */
export type HeaderBag = Readonly<Record<string, string | readonly string[] | undefined>>;

/** The single value of a header; undefined when absent, and for a repeated header, so ambiguity never authorizes. */
export function headerValue(headers: HeaderBag, lowerName: string): string | undefined {
  const value = headers[lowerName];
  return typeof value === 'string' ? value : undefined;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection and are never relayed, in either direction. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

const NOT_PLAIN_ASCII = /[^\t\x20-\x7e]/;

/**
 * Claim values may hold any Unicode text. Go writes them as UTF-8 bytes, so
 * the same bytes are sent here (as latin1 code units, which is how node puts a
 * string on the wire); control characters that would break the header
 * framing are removed instead of failing the request.
 */
export function headerSafe(value: string): string {
  if (!NOT_PLAIN_ASCII.test(value)) return value;
  let bytes = value;
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(value)) bytes = Buffer.from(value, 'utf8').toString('latin1');
  // eslint-disable-next-line no-control-regex
  return bytes.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '');
}

/** Go's canonical spelling of a header name (`x-api-key` → `X-Api-Key`), as KrakenD writes and echoes them. */
export function canonicalHeaderName(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
}

/**
 * A flat `[name, value, …]` header list as an object with lower-case names and
 * repeated names kept as lists (two Set-Cookie lines stay two). No prototype:
 * a header named `constructor` or `__proto__` is a header like any other.
 */
export function headerListToObject(flat: readonly string[]): Record<string, string | string[]> {
  const out = Object.create(null) as Record<string, string | string[]>;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    const value = flat[i + 1]!;
    const previous = out[name];
    if (previous === undefined) out[name] = value;
    else if (typeof previous === 'string') out[name] = [previous, value];
    else previous.push(value);
  }
  return out;
}
