/**
 * Backend JSON decoded and encoded again without touching its numbers
 * (krakend-compat review C15): KrakenD decodes with `UseNumber`, so
 * `12345678901234567890`, `1.10`, `1e2` and `-0` leave the gateway as they
 * came, where a JavaScript double would turn them into `12345678901234567000`,
 * `1.1`, `100` and `0` (64-bit ids silently corrupted).
 *
 * The native parser and serialiser stay on the path, because they are several
 * times faster than any parser written in JavaScript. One string-aware pass
 * over the text finds the number literals a double would not reproduce and
 * checks the nesting depth. When there are none (most answers) the text goes
 * to JSON.parse as it is. Otherwise each such literal is rewritten as a string
 * marker (U+0000, a per-process secret, the literal) before JSON.parse; the
 * markers ride through manipulation and merging as opaque leaves, and after
 * JSON.stringify one pass puts the literals back in place of the quoted
 * markers. A backend cannot forge a marker without the secret, and only a
 * literal that is a valid JSON number is ever put back.
 *
 * The depth limit keeps JSON.stringify (recursive, about 4,000 levels of
 * stack here) and the manipulation code far from a stack overflow: a deeper
 * answer fails its backend cleanly instead of throwing at write time.
 */
import { randomBytes } from 'node:crypto';

/** Deepest nesting of objects and arrays a backend answer may have (Go's encoding/json allows 10,000; JSON.stringify here about 4,000). */
export const MAX_JSON_DEPTH = 1000;

export type JsonDecode =
  | { readonly ok: true; readonly value: unknown; readonly literals: boolean }
  | { readonly ok: false; readonly reason: 'invalid' | 'too_deep' };

const INVALID: JsonDecode = Object.freeze({ ok: false, reason: 'invalid' });
const TOO_DEEP: JsonDecode = Object.freeze({ ok: false, reason: 'too_deep' });

const SECRET = randomBytes(8).toString('hex');
/** What a marker string starts with once parsed. */
const MARKER_PREFIX = `\u0000${SECRET}`;
/** The same prefix as JSON text inside a string literal (JSON needs U+0000 escaped). */
const MARKER_PREFIX_JSON = `\\u0000${SECRET}`;
const NUMBER = '-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?';
const STRICT_NUMBER = new RegExp(`^${NUMBER}$`);
/** A quoted marker in JSON.stringify output: exactly the string value, nothing around it. */
const QUOTED_MARKER = new RegExp(`"\\\\u0000${SECRET}(${NUMBER})"`, 'g');

/** Container kind per depth while scanning: 1 object, 0 array. */
const containers = new Uint8Array(MAX_JSON_DEPTH + 1);

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const COMMA = 0x2c;
const MINUS = 0x2d;
const ZERO = 0x30;

/** What a character outside strings starts: nothing to do, a string, an opening or a closing bracket, a number. */
const SKIP = 0;
const STRING = 1;
const OPEN = 2;
const CLOSE = 3;
const NUMBER_START = 4;
const STARTS = new Uint8Array(128);
STARTS[QUOTE] = STRING;
STARTS[OPEN_OBJECT] = OPEN;
STARTS[0x5b] = OPEN;
STARTS[0x7d] = CLOSE;
STARTS[0x5d] = CLOSE;
STARTS[MINUS] = NUMBER_START;
for (let digit = ZERO; digit <= 0x39; digit++) STARTS[digit] = NUMBER_START;

/** The characters of a number literal: a digit, the dot, or an exponent part. */
const NOT_IN_NUMBER = 0;
const DIGIT = 1;
const DOT = 2;
const EXPONENT = 3;
const IN_NUMBER = new Uint8Array(128);
for (let digit = ZERO; digit <= 0x39; digit++) IN_NUMBER[digit] = DIGIT;
IN_NUMBER[0x2e] = DOT;
IN_NUMBER[0x65] = EXPONENT;
IN_NUMBER[0x45] = EXPONENT;
IN_NUMBER[0x2b] = EXPONENT;
IN_NUMBER[MINUS] = EXPONENT;

/**
 * Decimals with up to 15 digits are exact in a double (DBL_DIG), and the
 * shortest form JavaScript prints back is the same digits: without an
 * exponent, a trailing fraction zero, or a magnitude under 0.1 they print as
 * written. Such literals (most prices, scores, coordinates) skip the check.
 */
const EXACT_DIGITS = 15;

/**
 * Parses JSON, keeping every number literal a double would change. `literals`
 * says whether the value holds markers (pass it to stringifyKeepingNumbers).
 */
export function parseKeepingNumbers(text: string): JsonDecode {
  const found = scan(text);
  if (found === SCAN_INVALID) return INVALID;
  if (found === SCAN_TOO_DEEP) return TOO_DEEP;
  let source = text;
  if (found !== undefined) {
    const parts: string[] = [];
    let last = 0;
    for (let k = 0; k < found.length; k += 2) {
      const start = found[k]!;
      const end = found[k + 1]!;
      parts.push(text.slice(last, start), '"', MARKER_PREFIX_JSON, text.slice(start, end), '"');
      last = end;
    }
    parts.push(text.slice(last));
    source = parts.join('');
  }
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch {
    return INVALID;
  }
  return { ok: true, value, literals: found !== undefined };
}

/** JSON text of `value`; with `literals`, the markers parseKeepingNumbers left become their number literals again. */
export function stringifyKeepingNumbers(value: unknown, literals: boolean): string {
  const text = JSON.stringify(value);
  return literals ? text.replace(QUOTED_MARKER, '$1') : text;
}

/** Whether a decoded value is a kept number literal (a number, though it is held as a string). */
export function isKeptNumber(value: unknown): boolean {
  return typeof value === 'string' && value.startsWith(MARKER_PREFIX);
}

const SCAN_INVALID = -1;
const SCAN_TOO_DEEP = -2;

/**
 * One pass outside strings: the nesting depth, and the [start, end) offsets of
 * number literals a double would print differently (undefined when none).
 * Reports invalid only what JSON.parse of the rewritten text could not catch:
 * an unterminated string, a kept literal that is not a JSON number, or one in
 * the place of an object key. Everything else invalid is left to JSON.parse.
 */
function scan(text: string): number[] | undefined | typeof SCAN_INVALID | typeof SCAN_TOO_DEEP {
  const length = text.length;
  let depth = 0;
  let found: number[] | undefined;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    const kind = c < 128 ? STARTS[c]! : SKIP;
    if (kind === SKIP) continue;
    if (kind === STRING) {
      let close = text.indexOf('"', i + 1);
      while (close !== -1 && text.charCodeAt(close - 1) === BACKSLASH && escapedAt(text, close)) close = text.indexOf('"', close + 1);
      if (close === -1) return SCAN_INVALID;
      i = close;
    } else if (kind === OPEN) {
      if (++depth > MAX_JSON_DEPTH) return SCAN_TOO_DEEP;
      containers[depth] = c === OPEN_OBJECT ? 1 : 0;
    } else if (kind === CLOSE) {
      if (depth === 0) return SCAN_INVALID;
      depth--;
    } else {
      const digitsStart = c === MINUS ? i + 1 : i;
      let end = digitsStart;
      let dot = -1;
      let exponent = false;
      for (; end < length; end++) {
        const d = text.charCodeAt(end);
        const part = d < 128 ? IN_NUMBER[d]! : NOT_IN_NUMBER;
        if (part === DIGIT) continue;
        if (part === NOT_IN_NUMBER) break;
        if (part === DOT && dot === -1) dot = end;
        else exponent = true;
      }
      if (!exactAsWritten(text, c, digitsStart, end, dot, exponent)) {
        const literal = text.slice(i, end);
        if (String(Number(literal)) !== literal) {
          if (!STRICT_NUMBER.test(literal) || inKeyPlace(text, i, depth)) return SCAN_INVALID;
          (found ??= []).push(i, end);
        }
      }
      i = end - 1;
    }
  }
  return found;
}

/** Whether a double prints the literal back as written, known from its shape alone (false means: check it). */
function exactAsWritten(text: string, first: number, digitsStart: number, end: number, dot: number, exponent: boolean): boolean {
  if (exponent || end === digitsStart || end - digitsStart - (dot === -1 ? 0 : 1) > EXACT_DIGITS) return false;
  if (dot === -1) return first !== MINUS || end - digitsStart > 1 || text.charCodeAt(digitsStart) !== ZERO; // not "-0"
  return dot + 1 < end && text.charCodeAt(end - 1) !== ZERO && (text.charCodeAt(digitsStart) !== ZERO || text.charCodeAt(dot + 1) !== ZERO);
}

/** Whether the quote at `at` is escaped: an odd run of backslashes before it. */
function escapedAt(text: string, at: number): boolean {
  let run = 0;
  for (let k = at - 1; k >= 0 && text.charCodeAt(k) === BACKSLASH; k--) run++;
  return (run & 1) === 1;
}

/** A literal right after "{" or after "," inside an object stands where a key belongs; as a marker it would become one. */
function inKeyPlace(text: string, at: number, depth: number): boolean {
  let k = at - 1;
  while (k >= 0) {
    const c = text.charCodeAt(k);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
    k--;
  }
  if (k < 0) return false;
  const previous = text.charCodeAt(k);
  return previous === OPEN_OBJECT || (previous === COMMA && depth > 0 && containers[depth] === 1);
}
