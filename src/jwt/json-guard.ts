/**
 * A linear pre-scan of decoded JOSE JSON. `JSON.parse` keeps the last of two
 * duplicate members and has no depth limit; a gateway and a backend that read
 * duplicates differently disagree about the claims (RFC 7515 §4), and deep
 * nesting is a cheap way to make a parser work hard. This scan finds both
 * before `JSON.parse` runs. It does not validate syntax: `JSON.parse` does.
 */

export type JsonHazard = 'duplicate_member' | 'too_deep' | 'bad_string';

export function findJsonHazard(text: string, maxDepth: number): JsonHazard | undefined {
  const length = text.length;
  // One entry per open container: a Set of member names for objects, null for arrays.
  const stack: (Set<string> | null)[] = [];
  let expectingKey = false;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x22 /* " */) {
      const start = i + 1;
      let escaped = false;
      i++;
      while (i < length) {
        const c = text.charCodeAt(i);
        if (c === 0x5c /* \ */) {
          escaped = true;
          i += 2;
          continue;
        }
        if (c === 0x22) break;
        i++;
      }
      if (i >= length) return 'bad_string';
      const members = stack.length > 0 ? stack[stack.length - 1] : null;
      if (expectingKey && members) {
        let name = text.slice(start, i);
        if (escaped) {
          try {
            name = JSON.parse(`"${name}"`) as string;
          } catch {
            return 'bad_string';
          }
        }
        if (members.has(name)) return 'duplicate_member';
        members.add(name);
        expectingKey = false;
      }
    } else if (code === 0x7b /* { */) {
      if (stack.length >= maxDepth) return 'too_deep';
      stack.push(new Set());
      expectingKey = true;
    } else if (code === 0x5b /* [ */) {
      if (stack.length >= maxDepth) return 'too_deep';
      stack.push(null);
      expectingKey = false;
    } else if (code === 0x7d /* } */ || code === 0x5d /* ] */) {
      stack.pop();
      expectingKey = false;
    } else if (code === 0x2c /* , */) {
      expectingKey = stack.length > 0 && stack[stack.length - 1] !== null;
    }
  }
  return undefined;
}
