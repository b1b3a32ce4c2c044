/**
 * Strict base64url (RFC 7515 §2, no padding). Node's decoder silently skips
 * characters outside the alphabet and accepts padding, which would let two
 * different strings decode to the same bytes (CVE-2022-25898 class), so the
 * alphabet and the unused trailing bits are checked first.
 *
 * Token parts are decoded here in JavaScript, not with Buffer.from: node's
 * native base64 decoder uses AVX-512 where the CPU has it, and on such CPUs
 * the RSA and EC arithmetic that follows ran about 10% slower (measured:
 * 1.5 to 2 µs more per RS256 verification on an 18 µs baseline), far more
 * than this decoder costs. Decoding also checks the alphabet in the same pass.
 */

import { isUtf8 } from 'node:buffer';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

const ALPHABET_INDEX = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) ALPHABET_INDEX[ALPHABET.charCodeAt(i)] = i;

// The alphabet test runs on every cold token; irregexp's compiled loop is
// about twice as fast as a charCodeAt loop in JavaScript.
const ONLY_ALPHABET = /^[A-Za-z0-9_-]*$/;

/** True when `text.slice(start, end)` is canonical unpadded base64url. */
export function isStrictBase64url(text: string, start = 0, end = text.length): boolean {
  const length = end - start;
  const tail = length % 4;
  if (tail === 1) return false;
  if (!ONLY_ALPHABET.test(start === 0 && end === text.length ? text : text.slice(start, end))) return false;
  if (tail === 0) return true;
  // A 2- or 3-character tail carries 4 or 2 bits that must be zero to be canonical.
  const last = ALPHABET_INDEX[text.charCodeAt(end - 1)]!;
  return tail === 2 ? (last & 0x0f) === 0 : (last & 0x03) === 0;
}

// The text is copied out as UTF-8 (one native copy) into a buffer with room
// for three bytes per character, so it fits whole: the copy is exactly one byte
// per character only when every character is ASCII, and any other character
// fails the length check instead of aliasing the alphabet. Characters are then
// read two at a time as one 16-bit unit, and PAIR maps each pair of alphabet
// characters to its 12 bits, anything else to -1; a -1 shifted into a group
// makes the whole group negative.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const PAIR = new Int16Array(0x10000).fill(-1);
const SINGLE = new Int8Array(0x100).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) {
  const first = ALPHABET.charCodeAt(i);
  SINGLE[first] = i;
  for (let j = 0; j < ALPHABET.length; j++) {
    const second = ALPHABET.charCodeAt(j);
    PAIR[LITTLE_ENDIAN ? first | (second << 8) : (first << 8) | second] = (i << 6) | j;
  }
}
let textPairs = new Uint16Array(32 * 1024);
let textBytes = Buffer.from(textPairs.buffer);

const NOT_CANONICAL = -1;

/**
 * Decodes `text.slice(start, end)` into `target` from offset 0. Returns
 * NOT_CANONICAL, or twice the number of bytes written, plus one when a byte
 * has its high bit set (the bytes are not ASCII).
 */
function decodeUnits(text: string, start: number, end: number, target: Uint8Array): number {
  const length = end - start;
  const tail = length & 3;
  if (tail === 1 || (length >> 2) * 3 + (tail === 0 ? 0 : tail - 1) > target.length) return NOT_CANONICAL;
  if (3 * length > textBytes.length) {
    textPairs = new Uint16Array(Math.ceil((3 * length) / 2));
    textBytes = Buffer.from(textPairs.buffer);
  }
  if (textBytes.write(start === 0 && end === text.length ? text : text.slice(start, end), 0, 'utf8') !== length) return NOT_CANONICAL;
  const pairs = textPairs;
  const fullPairs = (length - tail) >> 1;
  // Every group is OR-ed into `seen`: negative when a character was outside the alphabet, and
  // holding 0x80 in some byte when a decoded byte is not ASCII.
  let seen = 0;
  let out = 0;
  for (let i = 0; i < fullPairs; i += 2) {
    const group = (PAIR[pairs[i]!]! << 12) | PAIR[pairs[i + 1]!]!;
    seen |= group;
    target[out] = group >> 16;
    target[out + 1] = group >> 8;
    target[out + 2] = group;
    out += 3;
  }
  if (tail === 2) {
    const group = PAIR[pairs[fullPairs]!]! << 12;
    // The 4 unused trailing bits must be zero to be canonical.
    if ((group & 0xf000) !== 0) return NOT_CANONICAL;
    seen |= group;
    target[out++] = group >> 16;
  } else if (tail === 3) {
    const group = (PAIR[pairs[fullPairs]!]! << 12) | (SINGLE[textBytes[length - 1]!]! << 6);
    // The 2 unused trailing bits must be zero to be canonical.
    if ((group & 0xc0) !== 0) return NOT_CANONICAL;
    seen |= group;
    target[out++] = group >> 16;
    target[out++] = group >> 8;
  }
  if (seen < 0) return NOT_CANONICAL;
  return out * 2 + ((seen & 0x808080) === 0 ? 0 : 1);
}

/**
 * Decodes `text.slice(start, end)` into `target` from offset 0 when it is
 * canonical unpadded base64url. Returns the number of bytes written, or -1
 * when the text is not canonical or `target` is too small.
 */
export function decodeStrictBase64urlInto(text: string, start: number, end: number, target: Uint8Array): number {
  const result = decodeUnits(text, start, end, target);
  return result === NOT_CANONICAL ? -1 : result >> 1;
}

/** The bytes of `text.slice(start, end)` when it is canonical unpadded base64url, else undefined. */
export function decodeStrictBase64url(text: string, start = 0, end = text.length): Buffer | undefined {
  const length = end - start;
  if ((length & 3) === 1) return undefined;
  const bytes = Buffer.allocUnsafe((length >> 2) * 3 + ((length & 3) === 0 ? 0 : (length & 3) - 1));
  return decodeUnits(text, start, end, bytes) === NOT_CANONICAL ? undefined : bytes;
}

export const NOT_BASE64URL: unique symbol = Symbol('not canonical base64url');
export const NOT_UTF8: unique symbol = Symbol('not UTF-8');

// Decoded text lives only until the caller has read the string, so its bytes go to one reusable buffer.
const textScratch = Buffer.allocUnsafe(16 * 1024);

/**
 * The UTF-8 text that `text.slice(start, end)` encodes in canonical unpadded
 * base64url, or NOT_BASE64URL, or NOT_UTF8. ASCII bytes, the usual case, are
 * read as latin1, which is the same text and cheaper than a UTF-8 decode.
 */
export function decodeBase64urlText(text: string, start = 0, end = text.length): string | typeof NOT_BASE64URL | typeof NOT_UTF8 {
  const length = end - start;
  const target = length <= (textScratch.length * 4) / 3 ? textScratch : Buffer.allocUnsafe((length * 3) >> 2);
  const result = decodeUnits(text, start, end, target);
  if (result === NOT_CANONICAL) return NOT_BASE64URL;
  const byteLength = result >> 1;
  if ((result & 1) === 0) return target.toString('latin1', 0, byteLength);
  const decoded = target.toString('utf8', 0, byteLength);
  // Every invalid sequence decodes to U+FFFD, so text without one came from valid UTF-8.
  if (decoded.indexOf('\uFFFD') !== -1 && !isUtf8(target.subarray(0, byteLength))) return NOT_UTF8;
  return decoded;
}

export function decodeBase64url(text: string): Buffer {
  return Buffer.from(text, 'base64url');
}

export function encodeBase64url(bytes: Uint8Array | string): string {
  return Buffer.from(bytes).toString('base64url');
}
