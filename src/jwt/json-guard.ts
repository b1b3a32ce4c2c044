/**
 * Strict JSON for JOSE headers and payloads. `JSON.parse` keeps the last of two
 * duplicate members and has no depth limit; a gateway and a backend that read
 * duplicates differently disagree about the claims (RFC 7515 §4), and deep
 * nesting is a cheap way to make a parser work hard.
 *
 * A linear pre-scan bounds the depth and counts object members without
 * allocating; after `JSON.parse`, the members of the parsed objects are
 * counted again. Duplicates are exactly what makes the two counts differ, and
 * escaped spellings of one name ("a" and "\u0061") are caught because the
 * parsed side sees them unescaped.
 */

export type JsonHazard = 'duplicate_member' | 'too_deep' | 'bad_string' | 'not_json';

export type StrictJsonResult = { ok: true; value: unknown } | { ok: false; hazard: JsonHazard };

const TOO_DEEP = -1;
const BAD_STRING = -2;

/** With `freeze`, the parsed value comes back deeply frozen, frozen in the same walk that counts its members. */
export function parseJsonStrict(text: string, maxDepth: number, freeze = false): StrictJsonResult {
  const scanned = countMembers(text, maxDepth);
  if (scanned === TOO_DEEP) return { ok: false, hazard: 'too_deep' };
  if (scanned === BAD_STRING) return { ok: false, hazard: 'bad_string' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, hazard: 'not_json' };
  }
  if ((freeze ? countAndFreeze(value) : countParsedMembers(value)) !== scanned) return { ok: false, hazard: 'duplicate_member' };
  return { ok: true, value };
}

/** The hazard in `text`, if any; syntax errors other than unterminated strings are left to JSON.parse. */
export function findJsonHazard(text: string, maxDepth: number): JsonHazard | undefined {
  const result = parseJsonStrict(text, maxDepth);
  return result.ok || result.hazard === 'not_json' ? undefined : result.hazard;
}

/**
 * Number of object members written in `text`, or TOO_DEEP / BAD_STRING. Outside
 * strings, valid JSON has exactly one colon per object member and colons
 * nowhere else, so counting them needs no stack of open containers; when the
 * text is not valid JSON the count is never used, JSON.parse refuses it.
 */
function countMembers(text: string, maxDepth: number): number {
  const length = text.length;
  let depth = 0;
  let members = 0;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x22 /* " */) {
      // Jump to the closing quote natively; it is escaped only after an odd run of backslashes.
      let close = text.indexOf('"', i + 1);
      while (close > 0 && isEscaped(text, close)) close = text.indexOf('"', close + 1);
      if (close < 0) return BAD_STRING;
      i = close;
    } else if (code === 0x3a /* : */) {
      members++;
    } else if (code === 0x7b /* { */ || code === 0x5b /* [ */) {
      if (depth >= maxDepth) return TOO_DEEP;
      depth++;
    } else if (code === 0x7d /* } */ || code === 0x5d /* ] */) {
      if (depth > 0) depth--;
    }
  }
  return members;
}

function isEscaped(text: string, quote: number): boolean {
  let backslashes = 0;
  for (let j = quote - 1; j >= 0 && text.charCodeAt(j) === 0x5c; j--) backslashes++;
  return (backslashes & 1) === 1;
}

function countAndFreeze(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) count += countAndFreeze(value[i]);
  } else {
    for (const key in value) count += 1 + countAndFreeze((value as Record<string, unknown>)[key]);
  }
  Object.freeze(value);
  return count;
}

function countParsedMembers(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) count += countParsedMembers(value[i]);
    return count;
  }
  for (const key in value) {
    count += 1 + countParsedMembers((value as Record<string, unknown>)[key]);
  }
  return count;
}
