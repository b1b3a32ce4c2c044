/**
 * `portcullis check -c FILE [--strict]`: KrakenD's `check` messages and exit
 * codes. It loads, compiles (route collisions included) and runs the
 * validators' static checks, but opens no socket and downloads no key.
 */
import type { Command } from 'commander';
import { compileGateway } from '../config/compile.js';
import { loadConfigFile } from '../config/load.js';
import { ConfigError } from '../config/validate.js';
import { checkPlanSources } from '../runtime/bind.js';
import { configErrorLines, type CliContext } from './shared.js';

export interface CheckOptions {
  config: string;
  strict?: boolean;
}

export function registerCheck(program: Command, context: CliContext): void {
  program
    .command('check')
    .alias('validate')
    .description('Validate a KrakenD-style configuration file (JSON or YAML) without starting the gateway.')
    .requiredOption('-c, --config <file>', 'configuration file')
    .option('--strict', 'treat unknown configuration keys as errors')
    .action((options: CheckOptions) => {
      context.setExitCode(checkConfig(options, (line) => context.io.stdout(`${line}\n`)));
    });
}

/** Returns the exit code: 0 when the file is usable, 1 otherwise. */
export function checkConfig(options: CheckOptions, print: (line: string) => void): number {
  print(`Parsing configuration file: ${options.config}`);
  try {
    // The steps of loadGatewayPlan, apart, so warnings show even when compiling fails.
    const { config, warnings } = loadConfigFile(options.config, { strict: options.strict === true });
    for (const issue of warnings) print(`WARNING ${issue.path}: ${issue.message}`);
    const issues = checkPlanSources(compileGateway(config));
    if (issues.length > 0) throw new ConfigError(issues);
  } catch (error) {
    for (const line of configErrorLines(error)) print(line);
    return 1;
  }
  print('Syntax OK!');
  return 0;
}
