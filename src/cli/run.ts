import type { Command } from 'commander';

// Placeholder until this command lands; it must be replaced, not shipped.
export function registerRun(program: Command): void {
  program.command('run').description('(not available yet)').action(() => {
    console.error('portcullis run: not available in this build');
    process.exitCode = 1;
  });
}
