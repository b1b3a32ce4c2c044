// Builds the Lambda authorizer from this checkout as one self-contained file
// with esbuild (which the repo already has through tsx):
// `node scripts/build-lambda.mjs [--outdir DIR]` writes DIR/index.mjs (default
// dist/lambda) exporting `handler`. Deploy it with a portcullis-lambda.json
// beside it, or the config in PORTCULLIS_LAMBDA_CONFIG. This script is not in
// the published package: users bundle `portcullis/lambda/handler` with their
// own bundler and these same options (docs/library.md, "Lambda"), which
// test/package/packed.test.ts does from a packed tarball.
import { build } from 'esbuild';
import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const at = process.argv.indexOf('--outdir');
const outdir = at === -1 ? join(root, 'dist', 'lambda') : resolve(process.argv[at + 1] ?? '');
const outfile = join(outdir, 'index.mjs');

await build({
  entryPoints: [join(root, 'src/adapters/lambda/handler.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  // Bundled CommonJS dependencies call require() for node built-ins; ESM has none of its own.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});

console.log(`${outfile} (${Math.round(statSync(outfile).size / 1024)} KiB)`);
