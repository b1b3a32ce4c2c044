/**
 * Registers `portcullis issuer [serve]` and `portcullis issuer rotate`; the
 * issuer (../issuer.ts) is imported when a sub-command runs.
 */
import type { Command } from 'commander';
import { DEFAULT_DATA_DIR, DEFAULT_ISSUER_URL } from '../../issuer/default-config.js';
import type { CliContext } from '../context.js';
import type { RotateOptions, ServeOptions } from '../issuer.js';

export function registerIssuer(program: Command, context: CliContext): void {
  const issuer = program.command('issuer').description('Local development issuer with Descope-compatible endpoints (never for production).');
  issuer
    .command('serve', { isDefault: true })
    .description('Serve keys, discovery, access-key exchange, the loopback admin routes and the token debugger page (default sub-command).')
    .option('--port <port>', 'listening port', '4000')
    .option('--host <address>', 'listening address', '127.0.0.1')
    .option('--project-id <id>', 'project id (default: from the config, P2portcullisdemo0000000000000)')
    .option('--data-dir <dir>', 'where keys persist', DEFAULT_DATA_DIR)
    .option('--alg <alg>', 'signing algorithm of new keys: RS256, ES256, ES384 or EdDSA (default: from the config, RS256)')
    .option('--config <file>', 'issuer config file (default: built in, see examples/issuer.json)')
    .option('--iss-form <form>', '`iss` form: project, url or apps (default: from the config, apps)')
    .option('--public-url <url>', 'base URL in iss and discovery (default http://<host>:<port>)')
    .option('--log-level <level>', 'log level on stderr: debug, info, warn, error', 'info')
    .option('--allow-demo-key-on-network', 'serve the built-in (published) demo access key on a non-loopback --host anyway')
    .option('--gateway-config <file>', 'gateway config the token debugger explains tokens against, endpoint by endpoint')
    .option('--no-debugger', 'do not serve the token debugger page (/debugger)')
    .option('--allow-debugger-on-network', 'serve the token debugger on a non-loopback --host anyway (it still answers local requests only)')
    .action(async (options: ServeOptions) => (await import('../issuer.js')).serveCommand(options, context));

  issuer
    .command('rotate')
    .description('Publish a new signing key; old keys stay published for keep_rotated_keys rotations.')
    .option('--issuer <url>', 'running issuer to ask', DEFAULT_ISSUER_URL)
    .option('--data-dir <dir>', 'data dir to rotate when no issuer listens', DEFAULT_DATA_DIR)
    .option('--config <file>', 'issuer config for the offline case (default: the one the issuer last ran with)')
    .action(async (options: RotateOptions) => (await import('../issuer.js')).rotateCommand(options, context));
}
