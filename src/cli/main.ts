#!/usr/bin/env node
/** The `portcullis` command. Each sub-command lives in its own file and registers itself here. */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { registerRun } from './run.js';
import { registerCheck } from './check.js';
import { registerExplain } from './explain.js';
import { registerIssuer } from './issuer.js';
import { registerToken } from './token.js';
import { registerDemo } from './demo.js';

const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command()
  .name('portcullis')
  .description('A stateless JWT authorizer: KrakenD-compatible gateway, forward-auth, Lambda authorizer and Node middleware.')
  .version(version);

for (const register of [registerRun, registerCheck, registerExplain, registerIssuer, registerToken, registerDemo]) register(program);

await program.parseAsync(process.argv);
