#!/usr/bin/env node
/** The `portcullis` command. Each sub-command lives in its own file and registers itself here. */
import { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerRun } from './run.js';
import { registerCheck } from './check.js';
import { registerExplain } from './explain.js';
import { registerIssuer } from './issuer.js';
import { registerToken } from './token.js';
import { registerDemo } from './demo.js';
import { registerForwardAuth } from './forward-auth.js';

// The package root is two levels up from source and three from dist; find it rather than assume.
function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) return (JSON.parse(readFileSync(candidate, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

const version = packageVersion();

const program = new Command()
  .name('portcullis')
  .description('A stateless JWT authorizer: KrakenD-compatible gateway, forward-auth, Lambda authorizer and Node middleware.')
  .version(version);

for (const register of [registerRun, registerCheck, registerExplain, registerIssuer, registerToken, registerDemo, registerForwardAuth]) register(program);

await program.parseAsync(process.argv);
