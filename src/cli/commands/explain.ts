/**
 * Registers `portcullis explain`; the explanation (../explain.ts) is imported
 * when the command runs.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import type { ExplainOptions } from '../explain.js';

export function registerExplain(program: Command, context: CliContext): void {
  program
    .command('explain')
    .description('Show every check applied to a token on one endpoint, and the decision (no secrets are printed)')
    .requiredOption('-c, --config <file>', 'gateway config (JSON or YAML)')
    .requiredOption('-e, --endpoint <path>', 'endpoint as configured (/users/{id}) or a concrete path (/users/42)')
    .option('-m, --method <method>', 'HTTP method', 'GET')
    .argument('[token]', 'the token; omit it or pass "-" to read it from standard input')
    .action(async (tokenArgument: string | undefined, options: ExplainOptions) => {
      const { explainCommand } = await import('../explain.js');
      context.setExitCode(await explainCommand(tokenArgument, options, context.io));
    });
}
