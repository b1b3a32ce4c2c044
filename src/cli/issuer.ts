import type { Command } from 'commander';

// Placeholder until this command lands; it must be replaced, not shipped.
export function registerIssuer(program: Command): void {
  program.command('issuer').description('(not available yet)').action(() => {
    console.error('portcullis issuer: not available in this build');
    process.exitCode = 1;
  });
}
