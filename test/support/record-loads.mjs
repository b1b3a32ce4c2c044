/**
 * `node --import ./record-loads.mjs …` appends the URL of every module the
 * process resolves to the file named by PORTCULLIS_LOAD_LOG, one per line: how
 * test/cli/startup.test.ts sees which packages `--help` loads, without timing
 * anything. The same file registers itself as the loader hooks.
 */
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

// Imported by --import on the main thread: install this file as the hooks, which run on their own thread.
if (isMainThread) register(import.meta.url);

export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  if (process.env.PORTCULLIS_LOAD_LOG) appendFileSync(process.env.PORTCULLIS_LOAD_LOG, `${result.url}\n`);
  return result;
}
