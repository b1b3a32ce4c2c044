import type { Command } from 'commander';

// Placeholder until this command lands; it must be replaced, not shipped.
export function registerToken(program: Command): void {
  program.command('token').description('(not available yet)').action(() => {
    console.error('portcullis token: not available in this build');
    process.exitCode = 1;
  });
}
