/**
 * Registers `portcullis token`; minting (../token.ts) is imported when the
 * command runs.
 */
import type { Command } from 'commander';
import { DEFAULT_DATA_DIR, DEFAULT_ISSUER_URL } from '../../issuer/default-config.js';
import { collect, type CliContext } from '../context.js';
import type { TokenOptions } from '../token.js';

export function registerToken(program: Command, context: CliContext): void {
  program
    .command('token')
    .description('Mint a development session token and print it (only the token).')
    .option('--user <name>', 'a user of the issuer config by name, id or email (built in: alice, bob): its id, roles, tenants and claims')
    .option('--sub <id>', 'subject; a user of the issuer config also brings its roles, tenants and claims (warns when it is none)')
    .option('--roles <list>', 'comma-separated project roles, e.g. admin,viewer')
    .option('--permissions <list>', 'comma-separated permissions, added to those the roles grant')
    .option('--tenant <id:roles>', 'tenant membership, e.g. T2acme:editor,viewer (repeatable)', collect, [])
    .option('--claims <json>', 'custom claims as a JSON object; they override any claim')
    .option('--ttl <duration>', 'lifetime, e.g. 10m, 1h, 3600; "-5m" gives an expired token (use --ttl=-5m)')
    .option('--aud <list>', 'comma-separated audiences (default: the project id)')
    .option('--jti', 'add a random jti')
    .option('--dct <tenant>', 'current tenant (default: the only tenant, if exactly one)')
    .option('--iss-form <form>', 'iss form for this token: project, url or apps')
    .option('--issuer <url>', 'running issuer to ask', DEFAULT_ISSUER_URL)
    .option('--data-dir <dir>', 'issuer data dir used when no issuer listens', DEFAULT_DATA_DIR)
    .option('--config <file>', 'issuer config for the offline case (default: the one the issuer last ran with)')
    .option('--project-id <id>', 'project id for the offline case')
    .action(async (options: TokenOptions) => (await import('../token.js')).tokenCommand(options, context));
}
