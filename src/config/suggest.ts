/**
 * "Did you mean" for unknown config keys: a misspelled key that restricts
 * access (`role` for `roles`, `audiance`) must be named with its likely
 * intent, so the operator fixes it instead of wondering why it is refused.
 */

/** `unknown key`, with the nearest known key when one is a likely misspelling. */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const suggestion = nearest(key, known);
  return suggestion === undefined ? 'unknown key' : `unknown key; did you mean "${suggestion}"?`;
}

function nearest(key: string, known: readonly string[]): string | undefined {
  const fold = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  const folded = fold(key);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(folded, fold(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // Two edits is a typo; more is another word.
  return bestDistance <= Math.min(2, Math.floor(folded.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
