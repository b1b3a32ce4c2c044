/**
 * Registers `portcullis check` (alias `validate`); the checking (../check.ts)
 * is imported when the command runs.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import type { CheckOptions } from '../check.js';

export function registerCheck(program: Command, context: CliContext): void {
  program
    .command('check')
    .alias('validate')
    .description('Validate a KrakenD-style configuration file (JSON or YAML) without starting the gateway.')
    .requiredOption('-c, --config <file>', 'configuration file')
    .option('--strict', 'treat unknown configuration keys as errors')
    .action(async (options: CheckOptions) => {
      const { checkConfig } = await import('../check.js');
      context.setExitCode(checkConfig(options, (line) => context.io.stdout(`${line}\n`)));
    });
}
