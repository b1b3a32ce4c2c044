/**
 * Strict base64url (RFC 7515 §2, no padding). Node's decoder silently skips
 * characters outside the alphabet and accepts padding, which would let two
 * different strings decode to the same bytes (CVE-2022-25898 class), so the
 * alphabet and the unused trailing bits are checked first.
 */

const ALPHABET_INDEX = new Int8Array(128).fill(-1);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  .split('')
  .forEach((ch, i) => {
    ALPHABET_INDEX[ch.charCodeAt(0)] = i;
  });

/** True when `text.slice(start, end)` is canonical unpadded base64url. */
export function isStrictBase64url(text: string, start = 0, end = text.length): boolean {
  const length = end - start;
  if (length % 4 === 1) return false;
  let last = 0;
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? ALPHABET_INDEX[code]! : -1;
    if (value < 0) return false;
    last = value;
  }
  // A 2- or 3-character tail carries 4 or 2 bits that must be zero to be canonical.
  if (length % 4 === 2) return (last & 0x0f) === 0;
  if (length % 4 === 3) return (last & 0x03) === 0;
  return true;
}

export function decodeBase64url(text: string): Buffer {
  return Buffer.from(text, 'base64url');
}

export function encodeBase64url(bytes: Uint8Array | string): string {
  return Buffer.from(bytes).toString('base64url');
}
