/**
 * `portcullis check -c FILE [--strict]`: KrakenD's `check` messages and exit
 * codes. It loads, compiles (route collisions included) and runs the
 * validators' static checks, but opens no socket and downloads no key.
 *
 * The flags are declared in commands/check.ts, which imports this file only when
 * the command runs.
 */
import { compileGateway } from '../config/compile.js';
import { loadConfigFile } from '../config/load.js';
import { ConfigError } from '../config/validate.js';
import { checkPlanSources } from '../runtime/bind.js';
import { configErrorLines } from './shared.js';

export interface CheckOptions {
  config: string;
  strict?: boolean;
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
