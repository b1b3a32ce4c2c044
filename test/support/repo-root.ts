/**
 * The repository root, for tests that read docs, examples and scripts or start
 * the built CLI. A test runs from its source (`node --import tsx --test
 * test/x.test.ts`) or, in `npm test`, compiled into `.test-build/test/`, so a
 * path relative to `import.meta.url` would point elsewhere in each; the root is
 * found by walking up to the nearest package.json instead (the compiled tree
 * has none of its own).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
}

/** Absolute path of the repository root, without a trailing separator. */
export const ROOT = findRoot();

/** An absolute path from a repository-relative one: `fromRoot('docs/errors.md')`. */
export function fromRoot(...segments: string[]): string {
  return join(ROOT, ...segments);
}
