import type { Command } from 'commander';

// Placeholder until this command lands; it must be replaced, not shipped.
export function registerExplain(program: Command): void {
  program.command('explain').description('(not available yet)').action(() => {
    console.error('portcullis explain: not available in this build');
    process.exitCode = 1;
  });
}
