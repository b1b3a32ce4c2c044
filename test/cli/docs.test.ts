/**
 * docs/cli.md documents every command and every flag the program registers,
 * so a flag added without its row fails here rather than going unnoticed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { createProgram } from '../../src/cli/program.js';
import { processContext } from '../../src/cli/context.js';
import { fromRoot } from '../support/repo-root.js';

const DOC = readFileSync(fromRoot('docs/cli.md'), 'utf8');

function commandsOf(command: Command, prefix: string[] = []): { path: string[]; command: Command }[] {
  return command.commands.flatMap((sub) => [{ path: [...prefix, sub.name()], command: sub }, ...commandsOf(sub, [...prefix, sub.name()])]);
}

test('docs/cli.md names every command and documents every flag', () => {
  const missing: string[] = [];
  for (const { path, command } of commandsOf(createProgram(processContext))) {
    // A default sub-command may be written optional: `portcullis issuer [serve]`.
    const optional = [...path.slice(0, -1), `[${path.at(-1)!}]`].join(' ');
    if (!DOC.includes(`portcullis ${path.join(' ')}`) && !DOC.includes(`portcullis ${optional}`)) missing.push(`command: portcullis ${path.join(' ')}`);
    for (const option of command.options) {
      // A row or a mention in backticks, e.g. `--gateway-config <file>` or `--no-debugger`.
      if (!DOC.includes(`\`${option.long!}`) && !DOC.includes(`, ${option.long!}`)) missing.push(`portcullis ${path.join(' ')} ${option.long!}`);
    }
  }
  assert.deepEqual(missing, []);
});
