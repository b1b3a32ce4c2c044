/**
 * The `portcullis` program: every sub-command registered on one commander
 * instance that reports through a CliContext instead of ending the process, so
 * `main.ts` and the tests run exactly the same parsing, messages and exit codes.
 *
 * Registration is cheap on purpose: each file in commands/ declares flags and
 * help and imports the command's body (the gateway, pino, ajv, undici…) only
 * in its action, so `--help` and `--version` load commander and little else.
 * test/cli/startup.test.ts fails when a registration pulls in a heavy module.
 * A new command is one file in commands/ and one entry in COMMANDS.
 */
import { Command, CommanderError } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerRun } from './commands/run.js';
import { registerCheck } from './commands/check.js';
import { registerExplain } from './commands/explain.js';
import { registerIssuer } from './commands/issuer.js';
import { registerToken } from './commands/token.js';
import { registerDemo } from './commands/demo.js';
import { registerForwardAuth } from './commands/forward-auth.js';
import { registerRevoke } from './commands/revoke.js';
import { processContext, type CliContext } from './context.js';

/** In the order `--help` lists them. */
const COMMANDS: readonly ((program: Command, context: CliContext) => void)[] = [
  registerRun,
  registerCheck,
  registerExplain,
  registerIssuer,
  registerToken,
  registerDemo,
  registerForwardAuth,
  registerRevoke,
];

// The package root is two levels up from source and three from dist; find it rather than assume.
function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) return (JSON.parse(readFileSync(candidate, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

export function createProgram(context: CliContext = processContext): Command {
  const program = new Command()
    .name('portcullis')
    .description('A stateless JWT authorizer: KrakenD-compatible gateway, forward-auth, Lambda authorizer and Node middleware.')
    .version(packageVersion())
    // Set before the sub-commands exist: commander copies both settings into each one it creates.
    .exitOverride()
    .configureOutput({ writeOut: (text) => context.io.stdout(text), writeErr: (text) => context.io.stderr(text) });
  for (const register of COMMANDS) register(program, context);
  return program;
}

/**
 * Runs `portcullis <args>` and resolves with the exit code: the command's, or
 * commander's for a usage error, `--help` or `--version` (its message is
 * already written to the context's streams).
 */
export async function runCli(args: readonly string[], context: CliContext = processContext): Promise<number> {
  let code = 0;
  const recording: CliContext = {
    ...context,
    setExitCode: (value) => {
      code = value;
      context.setExitCode(value);
    },
    exit: (value) => {
      code = value;
      context.exit(value);
    },
  };
  try {
    await createProgram(recording).parseAsync([...args], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
  return code;
}
