// Copies src/config/generated/ (ajv's config validators: JavaScript with its
// declarations, written by scripts/write-validators.ts) into a tsc output
// directory: tsc compiles TypeScript only, and both the build (`npm run build`,
// into dist/) and the test compile (scripts/run-tests.mjs, into .test-build/)
// need the modules beside the code that imports them.
// `node scripts/copy-generated.mjs <outDir>`.
import { cpSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const GENERATED = join('src', 'config', 'generated');

export function copyGenerated(outDir) {
  const target = join(resolve(root, outDir), GENERATED);
  // Whole: a validator that is no longer generated must not linger in the output.
  rmSync(target, { recursive: true, force: true });
  cpSync(join(root, GENERATED), target, { recursive: true });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const outDir = process.argv[2];
  if (outDir === undefined) {
    console.error('usage: node scripts/copy-generated.mjs <outDir>');
    process.exit(2);
  }
  copyGenerated(outDir);
}
