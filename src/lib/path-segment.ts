/**
 * What may be spliced into a path as one segment. Shared by the router (route
 * parameters) and the backend URL builder (`{JWT.claim}` values), so a value
 * refused on the way in is refused on the way out too.
 */

/**
 * Whether a decoded value can stand for exactly one path segment everywhere
 * it may be re-read: not empty, not a dot segment, and free of `/`, `\`
 * (a separator for Windows and some normalisers), C0/C1 control characters
 * and DEL (NUL truncates paths in C backends; CR/LF split log lines).
 */
export function isSafeParamValue(value: string): boolean {
  const length = value.length;
  if (length === 0) return false;
  if (value.charCodeAt(0) === 46 /* . */ && (length === 1 || (length === 2 && value.charCodeAt(1) === 46))) return false;
  for (let i = 0; i < length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x2f /* / */ || code === 0x5c /* \ */ || (code >= 0x7f && code <= 0x9f)) return false;
  }
  return true;
}
