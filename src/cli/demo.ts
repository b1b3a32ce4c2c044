/**
 * `portcullis demo` (what `npm start` runs): issuer, echo backend and gateway
 * on loopback, then ready-to-paste curl commands with fresh tokens. Ctrl-C
 * stops everything.
 */
import type { Command } from 'commander';
import { formatDemoCommands } from '../demo/commands.js';
import { DEMO_PORTS, startDemo } from '../demo/run-demo.js';
import { createStderrLogger } from './issuer.js';
import { parsePortFlag, run, type CliContext } from './shared.js';

interface DemoFlags {
  issuerPort: string;
  backendPort: string;
  gatewayPort: string;
  logLevel: string;
}

export function registerDemo(program: Command, context: CliContext): void {
  program
    .command('demo')
    .description('Run the issuer, an echo backend and the gateway on examples/demo.json, and print curl commands to try.')
    .option('--issuer-port <port>', 'issuer port', String(DEMO_PORTS.issuer))
    .option('--backend-port <port>', 'echo backend port', String(DEMO_PORTS.backend))
    .option('--gateway-port <port>', 'gateway port', String(DEMO_PORTS.gateway))
    .option('--log-level <level>', 'log level on stderr (info shows one line per request)', 'warn')
    .action((flags: DemoFlags) => run(context, () => demo(flags, context)));
}

async function demo(flags: DemoFlags, context: CliContext): Promise<void> {
  const logger = createStderrLogger(flags.logLevel, context.io.logDestination);
  const running = await startDemo({
    issuerPort: parsePortFlag('--issuer-port', flags.issuerPort),
    backendPort: parsePortFlag('--backend-port', flags.backendPort),
    gatewayPort: parsePortFlag('--gateway-port', flags.gatewayPort),
    logger,
  });
  const tokenHint = running.issuer.port === DEMO_PORTS.issuer ? '' : ` --issuer ${running.issuer.url}`;
  context.io.stdout(
    `${[
      'portcullis demo is running (development only: the issuer mints tokens for anyone on this machine)',
      `  issuer   ${running.issuer.url}   project ${running.projectId}, keys in memory`,
      `  backend  ${running.backend.url}   echoes what the gateway forwards`,
      `  gateway  ${running.gateway.url}   ${running.configPath}`,
      '',
      `Tokens below are valid for 10 minutes. Mint more with: npx portcullis token --roles admin${tokenHint}`,
      '',
      formatDemoCommands(running.commands),
      '',
      'Press Ctrl-C to stop.',
    ].join('\n')}\n`,
  );
  await context.untilStopped(running.gateway);
  await running.close();
  context.io.stdout('portcullis demo stopped\n');
}
