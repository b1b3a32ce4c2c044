import type { Command } from 'commander';

// Placeholder until this command lands; it must be replaced, not shipped.
export function registerCheck(program: Command): void {
  program.command('check').description('(not available yet)').action(() => {
    console.error('portcullis check: not available in this build');
    process.exitCode = 1;
  });
}
