/**
 * Registers `portcullis explain`; the explanation (../explain.ts) is imported
 * when the command runs. Its exit codes mean something to scripts (0 allow,
 * 1 deny), so a usage error exits 2, like a wrong config, never 1.
 */
import { CommanderError, type Command } from 'commander';
import type { CliContext } from '../context.js';
import type { ExplainOptions } from '../explain.js';

/** Also what explain exits with for a wrong config or an unknown endpoint. */
export const USAGE_ERROR_EXIT_CODE = 2;

export function registerExplain(program: Command, context: CliContext): void {
  program
    .command('explain')
    .description('Show every check applied to a token on one endpoint, and the decision (no secrets are printed)')
    .requiredOption('-c, --config <file>', 'gateway config (JSON or YAML)')
    .requiredOption('-e, --endpoint <path>', 'endpoint as configured (/users/{id}) or a concrete path (/users/42)')
    .option('-m, --method <method>', 'HTTP method', 'GET')
    .argument('[token]', 'the token; omit it or pass "-" to read it from standard input')
    .exitOverride((error) => {
      // commander ends with 0 for --help and 1 for any usage error.
      throw error.exitCode === 0 ? error : new CommanderError(USAGE_ERROR_EXIT_CODE, error.code, error.message);
    })
    .action(async (tokenArgument: string | undefined, options: ExplainOptions) => {
      const { explainCommand } = await import('../explain.js');
      context.setExitCode(await explainCommand(tokenArgument, options, context.io));
    });
}
