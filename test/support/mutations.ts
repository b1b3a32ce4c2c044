/**
 * Mutations of a compact token for the property tests (the parser's and the
 * authorizer's): bit flips, truncation, segments swapped, re-encoded,
 * re-serialised, padded or taken from another genuine token, characters
 * inserted or deleted. A chain of them gives a token that is almost right,
 * which is where a verifier goes wrong.
 */
import fc from 'fast-check';

export const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('');

export const mutationArb = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap-header-payload' as const) }),
  fc.record({ kind: fc.constant('reorder' as const), order: fc.constantFrom([0, 2, 1], [2, 1, 0], [1, 2, 0], [2, 0, 1]) }),
  fc.record({ kind: fc.constant('standard-base64' as const), segment: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant('pad' as const), segment: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant('reserialise' as const), segment: fc.integer({ min: 0, max: 1 }), style: fc.constantFrom('spaces', 'escapes', 'reverse', 'duplicate', 'retype') }),
  fc.record({ kind: fc.constant('splice' as const), from: fc.nat(), segment: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom('.', '=', ' ', '\t', '\n', '+', '/', '%', 'é', '\u0000', '..'), fc.constantFrom(...B64URL)) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant('replace-char' as const), at: fc.nat(), char: fc.constantFrom(...B64URL) }),
  fc.record({ kind: fc.constant('duplicate-segment' as const), segment: fc.integer({ min: 0, max: 2 }) }),
);

export type Mutation = typeof mutationArb extends fc.Arbitrary<infer T> ? T : never;

function reserialise(segment: string, style: string): string {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return `${segment}A`;
  }
  let text: string;
  switch (style) {
    case 'spaces':
      text = JSON.stringify(value, null, 1);
      break;
    case 'escapes':
      text = JSON.stringify(value).replace(/[a-z]/, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
      break;
    case 'reverse':
      text = JSON.stringify(Object.fromEntries(Object.entries(value).reverse()));
      if (text === JSON.stringify(value)) text = ` ${text}`;
      break;
    case 'duplicate': {
      const [first] = Object.keys(value);
      text = `${JSON.stringify(value).slice(0, -1)},${JSON.stringify(first ?? 'x')}:"dup"}`;
      break;
    }
    default:
      text = JSON.stringify(Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === 'number' ? String(v) : typeof v === 'string' ? [v] : v])));
  }
  return Buffer.from(text).toString('base64url');
}

/** One mutation; `splice` takes a segment of one of the `donors` (other genuine tokens), in the same position. */
export function mutate(token: string, mutation: Mutation, donors: readonly string[]): string {
  if (token.length === 0) return '.';
  const parts = token.split('.');
  while (parts.length < 3) parts.push('');
  switch (mutation.kind) {
    case 'flip': {
      const at = mutation.at % token.length;
      return token.slice(0, at) + String.fromCharCode(token.charCodeAt(at) ^ (1 << mutation.bit)) + token.slice(at + 1);
    }
    case 'truncate':
      return token.slice(0, mutation.at % token.length);
    case 'swap-header-payload':
      return [parts[1], parts[0], ...parts.slice(2)].join('.');
    case 'reorder':
      return mutation.order.map((i) => parts[i]!).join('.');
    case 'standard-base64':
      parts[mutation.segment] = Buffer.from(parts[mutation.segment]!, 'base64url').toString('base64');
      return parts.join('.');
    case 'pad': {
      const segment = parts[mutation.segment]!;
      parts[mutation.segment] = segment + '='.repeat((4 - (segment.length % 4)) % 4 || 4);
      return parts.join('.');
    }
    case 'reserialise':
      parts[mutation.segment] = reserialise(parts[mutation.segment]!, mutation.style);
      return parts.join('.');
    case 'splice': {
      // A segment of another genuine token (another alg, another key) in the same position.
      const donor = donors[mutation.from % donors.length]!.split('.');
      parts[mutation.segment] = donor[mutation.segment]!;
      return parts.join('.');
    }
    case 'insert': {
      const at = mutation.at % (token.length + 1);
      return token.slice(0, at) + mutation.text + token.slice(at);
    }
    case 'delete': {
      const at = mutation.at % token.length;
      return token.slice(0, at) + token.slice(at + mutation.length);
    }
    case 'replace-char': {
      const at = mutation.at % token.length;
      return token.slice(0, at) + mutation.char + token.slice(at + 1);
    }
    case 'duplicate-segment':
      return `${token}.${parts[mutation.segment]!}`;
  }
}

/** 1 to 3 mutations in a row, applied to `token`. */
export function applyMutations(token: string, mutations: readonly Mutation[], donors: readonly string[]): string {
  return mutations.reduce((current, mutation) => mutate(current, mutation, donors), token);
}
