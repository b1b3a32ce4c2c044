/**
 * Registers `portcullis revoke`; the revoking (../revoke.ts, which opens Redis
 * or calls the admin endpoint) is imported when the command runs.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseInstant } from '../../revocation/request.js';
import type { CliContext } from '../context.js';
import type { RevokeOptions } from '../revoke.js';

export function registerRevoke(program: Command, context: CliContext): void {
  program
    .command('revoke')
    .description("Revoke tokens (by jti, subject, tenant or claim) in the store the config's auth/revoker names, or list revocations.")
    .requiredOption('-c, --config <file>', 'configuration file with extra_config["auth/revoker"]')
    .addOption(new Option('--jti <id>', 'revoke the one token with this jti').conflicts(['sub', 'tenant', 'claim', 'list']))
    .addOption(new Option('--sub <subject>', "revoke the subject's tokens issued before --before (log out everywhere)").conflicts(['tenant', 'claim', 'list']))
    .addOption(new Option('--tenant <id>', "revoke the tenant's tokens (dct or tenants) issued before --before").conflicts(['claim', 'list']))
    .addOption(new Option('--claim <name=value>', 'revoke tokens whose claim has this value (e.g. sid=abc), issued before --before').conflicts(['list']))
    .option('--before <time>', 'epoch seconds or an ISO 8601 date-time (default: now); not for --jti', parseBefore)
    .option('--list', 'print every revocation the store holds, as JSON')
    .option('--admin-url <url>', "the admin endpoint (default: the config's auth/revoker.admin listen_ip and port)")
    .action(async (options: RevokeOptions) => {
      const { revoke } = await import('../revoke.js');
      context.setExitCode(await revoke(options, context));
    });
}

function parseBefore(value: string): number {
  try {
    return parseInstant(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

