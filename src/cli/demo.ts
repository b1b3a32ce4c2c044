/**
 * `portcullis demo` (what `npm start` runs): issuer, echo backend and gateway
 * on loopback, then ready-to-paste curl commands with fresh tokens. Ctrl-C
 * stops everything.
 *
 * The flags are declared in commands/demo.ts, which imports this file only when
 * the command runs.
 */
import { formatDemoCommands, formatDemoVariables } from '../demo/commands.js';
import { DEMO_PORTS, startDemo } from '../demo/run-demo.js';
import { createStderrLogger } from './issuer.js';
import { parsePortFlag, run, type CliContext } from './shared.js';

export interface DemoFlags {
  issuerPort: string;
  backendPort: string;
  gatewayPort: string;
  logLevel: string;
}

/** The action of `portcullis demo`: runs until stopped; exit code 1 and one line on stderr when it cannot start. */
export function demoCommand(flags: DemoFlags, context: CliContext): Promise<void> {
  return run(context, () => demo(flags, context));
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
      ...(running.issuer.debuggerUrl ? [`  debugger ${running.issuer.debuggerUrl}   decode a token, check its signature, explain it on every endpoint, mint more`] : []),
      '',
      '# Tokens, valid for 10 minutes. Paste these lines into your shell first; the curl lines below read them.',
      formatDemoVariables(running.variables),
      '',
      formatDemoCommands(running.commands),
      '',
      `Mint more with: npx portcullis token --user alice${tokenHint}   (or --user bob, or --roles/--tenant/--ttl of your own)`,
      `Log alice out everywhere (her tokens so far get 401 token_revoked): curl -X POST -H 'Content-Type: application/json' -d '{"user":"alice"}' ${running.issuer.url}/admin/logout`,
      'Press Ctrl-C to stop.',
    ].join('\n')}\n`,
  );
  await context.untilStopped(running.gateway);
  await running.close();
  context.io.stdout('portcullis demo stopped\n');
}
