#!/usr/bin/env node
/** The `portcullis` command. Each sub-command lives in its own file and registers itself in program.ts. */
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv.slice(2));
