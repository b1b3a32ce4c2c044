/**
 * Registers `portcullis demo` (what `npm start` runs); the demo (../demo.ts)
 * is imported when the command runs.
 */
import type { Command } from 'commander';
import { DEMO_PORTS } from '../../demo/ports.js';
import type { CliContext } from '../context.js';
import type { DemoFlags } from '../demo.js';

export function registerDemo(program: Command, context: CliContext): void {
  program
    .command('demo')
    .description('Run the issuer, an echo backend and the gateway on examples/demo.json, and print curl commands to try.')
    .option('--issuer-port <port>', 'issuer port', String(DEMO_PORTS.issuer))
    .option('--backend-port <port>', 'echo backend port', String(DEMO_PORTS.backend))
    .option('--gateway-port <port>', 'gateway port', String(DEMO_PORTS.gateway))
    .option('--log-level <level>', 'log level on stderr (info shows one line per request)', 'warn')
    .action(async (flags: DemoFlags) => (await import('../demo.js')).demoCommand(flags, context));
}
