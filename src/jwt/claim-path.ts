/**
 * Reads a claim by name or dot path. Only own properties are followed, so a
 * claim named `constructor` or `__proto__` can never reach Object.prototype.
 */
export type ClaimReader = (claims: Record<string, unknown>) => unknown;

export function claimReader(name: string, nested: boolean): ClaimReader {
  if (!nested || !name.includes('.')) {
    return (claims) => (Object.hasOwn(claims, name) ? claims[name] : undefined);
  }
  const segments = name.split('.');
  return (claims) => {
    let current: unknown = claims;
    for (const segment of segments) {
      if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, segment)) {
        return undefined;
      }
      current = (current as Record<string, unknown>)[segment];
    }
    return current;
  };
}

/** KrakenD's rule: dots mean nesting unless the key is URL-style (starts with "http"). */
export function isNestedPath(name: string): boolean {
  return name.includes('.') && !name.startsWith('http');
}

/** Array of strings, or a space-separated string (OAuth `scope`), as a list; non-strings never match. */
export function stringItems(value: unknown): readonly string[] {
  if (typeof value === 'string') return value.split(' ').filter((item) => item.length > 0);
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return [];
}
