import type { Command } from 'commander';

// Placeholder until this command lands; it must be replaced, not shipped.
export function registerDemo(program: Command): void {
  program.command('demo').description('(not available yet)').action(() => {
    console.error('portcullis demo: not available in this build');
    process.exitCode = 1;
  });
}
