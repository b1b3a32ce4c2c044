/**
 * `portcullis token`: mints a session token and prints only the token, so
 * `curl -H "Authorization: Bearer $(npx portcullis token --roles admin)" …`
 * works. It asks the running issuer's admin route and falls back to the
 * issuer's data dir when nothing listens, saying so on stderr: a token signed
 * offline verifies only where an issuer serves that data dir's keys.
 * Warnings (a `--sub` that is no configured user) go to stderr too.
 *
 * The flags are declared in commands/token.ts, which imports this file only when
 * the command runs.
 */
import { callAdmin } from '../issuer/admin-client.js';
import { openOfflineIssuer } from '../issuer/data-dir.js';
import { parseMintRequest } from '../issuer/mint-request.js';
import type { MintedSession } from '../issuer/issuer.js';
import { checkIssuerUrl, settingsOverrides } from './issuer.js';
import { run, type CliContext, type CliIo } from './shared.js';

export interface TokenOptions {
  issuer: string;
  dataDir: string;
  config?: string;
  projectId?: string;
  sub?: string;
  user?: string;
  roles?: string;
  permissions?: string;
  tenant: string[];
  claims?: string;
  ttl?: string;
  aud?: string;
  jti?: boolean;
  dct?: string;
  issForm?: string;
}

function list(text: string): string[] {
  return text.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
}

/** The flags as an `/admin/mint` body, so the server and the offline path parse the same thing. */
export function mintBodyFromFlags(options: Omit<TokenOptions, 'issuer' | 'dataDir' | 'config' | 'projectId'>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (options.sub !== undefined) body.sub = options.sub;
  if (options.user !== undefined) body.user = options.user;
  if (options.roles !== undefined) body.roles = list(options.roles);
  if (options.permissions !== undefined) body.permissions = list(options.permissions);
  if (options.tenant.length > 0) {
    const tenants: Record<string, string[]> = {};
    for (const spec of options.tenant) {
      const colon = spec.indexOf(':');
      const id = colon === -1 ? spec : spec.slice(0, colon);
      if (id.length === 0) throw new Error(`--tenant must be <id>:<role>,<role>, got ${JSON.stringify(spec)}`);
      tenants[id] = colon === -1 ? [] : list(spec.slice(colon + 1));
    }
    body.tenants = tenants;
  }
  if (options.claims !== undefined) {
    let claims: unknown;
    try {
      claims = JSON.parse(options.claims);
    } catch {
      throw new Error('--claims must be a JSON object, e.g. \'{"plan":"pro"}\'');
    }
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new Error('--claims must be a JSON object');
    body.claims = claims;
  }
  if (options.ttl !== undefined) body.ttl = options.ttl;
  if (options.aud !== undefined) body.aud = list(options.aud);
  if (options.jti) body.jti = true;
  if (options.dct !== undefined) body.dct = options.dct;
  if (options.issForm !== undefined) body.iss_form = options.issForm;
  return body;
}

/** The action of `portcullis token`: exit code 1 and one line on stderr when minting fails. */
export function tokenCommand(options: TokenOptions, context: CliContext): Promise<void> {
  return run(context, () => token(options, context.io));
}

async function token(options: TokenOptions, io: CliIo): Promise<void> {
  checkIssuerUrl(options.issuer);
  const body = mintBodyFromFlags(options);
  // Checked here too so a bad flag fails the same way with or without a running issuer.
  const request = parseMintRequest(body);
  const remote = await callAdmin<MintedSession>(options.issuer, '/admin/mint', body);
  let minted: MintedSession;
  if (remote.kind === 'ok') {
    minted = remote.value;
  } else {
    const { issuer, baseUrl } = await openOfflineIssuer({
      dataDir: options.dataDir,
      configPath: options.config,
      overrides: settingsOverrides({ projectId: options.projectId }),
      baseUrl: new URL(options.issuer).origin,
    });
    minted = issuer.mintSession(request, baseUrl);
    io.stderr(
      `note: no issuer answers at ${options.issuer}; minted offline with the keys in ${options.dataDir}. ` +
        'A gateway accepts it once an issuer serves that data dir (portcullis issuer --data-dir …).\n',
    );
  }
  if (typeof minted.sessionJwt !== 'string') throw new Error('the issuer answered without a sessionJwt');
  for (const warning of Array.isArray(minted.warnings) ? minted.warnings : []) io.stderr(`warning: ${String(warning)}\n`);
  io.stdout(`${minted.sessionJwt}\n`);
}
