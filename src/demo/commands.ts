/**
 * The curl commands the demo prints: each one ready to paste, with the status
 * it will get. The demo test runs exactly these lines, so what the README
 * promises is what a user sees.
 */

export interface DemoCommand {
  readonly title: string;
  readonly expectedStatus: number;
  /** One shell line. */
  readonly command: string;
}

export interface DemoTokens {
  /** alice: role admin, tenant T2acme with role editor, claim plan=pro. */
  readonly admin: string;
  /** bob: role viewer, tenant T2globex. */
  readonly viewer: string;
  /** alice's grants, expired five minutes ago. */
  readonly expired: string;
  /** alice's grants with drn "DSR", as a Descope refresh token would say. */
  readonly refresh: string;
  /** From the access-key exchange. */
  readonly machine: string;
}

export interface DemoUrls {
  readonly gateway: string;
  readonly issuer: string;
  readonly healthPath: string | undefined;
}

export interface DemoAccessKey {
  readonly projectId: string;
  readonly key: string;
}

export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:=@-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

function curl(...args: string[]): string {
  return ['curl', '-i', ...args].map(shellQuote).join(' ');
}

const bearer = (token: string): string[] => ['-H', `Authorization: Bearer ${token}`];

export function buildDemoCommands(urls: DemoUrls, tokens: DemoTokens, accessKey: DemoAccessKey): DemoCommand[] {
  const g = urls.gateway;
  const commands: DemoCommand[] = [];
  const add = (title: string, expectedStatus: number, command: string): void => void commands.push({ title, expectedStatus, command });
  if (urls.healthPath !== undefined) add('Health check, no token needed', 200, curl(`${g}${urls.healthPath}`));
  add('Seed endpoint without a token', 401, curl(`${g}/descope-protected`));
  add('Seed endpoint with a session token', 200, curl(...bearer(tokens.admin), `${g}/descope-protected`));
  add('Role "admin" required; alice is an admin', 200, curl(...bearer(tokens.admin), `${g}/reports`));
  add('Role "admin" required; bob is only a viewer', 403, curl(...bearer(tokens.viewer), `${g}/reports`));
  add('Tenant role: alice is an editor in T2acme', 200, curl(...bearer(tokens.admin), `${g}/tenants/T2acme/projects`));
  add('Tenant mismatch: alice is not in T2globex', 403, curl(...bearer(tokens.admin), `${g}/tenants/T2globex/projects`));
  add('Expired token', 401, curl(...bearer(tokens.expired), `${g}/reports`));
  add(
    'Exchange an access key for a session JWT (M2M), as Descope does',
    200,
    curl(
      '-X', 'POST',
      '-H', `Authorization: Bearer ${accessKey.projectId}:${accessKey.key}`,
      '-H', 'Content-Type: application/json',
      '-d', '{"loginOptions":{}}',
      `${urls.issuer}/v1/auth/accesskey/exchange`,
    ),
  );
  add('M2M endpoint with the exchanged access-key token', 200, curl(...bearer(tokens.machine), `${g}/m2m/jobs`));
  add('M2M endpoint with a user token (no "service" role)', 403, curl(...bearer(tokens.admin), `${g}/m2m/jobs`));
  add(
    'Claim propagation: the backend echoes X-User, X-Roles, X-Tenant, X-Plan; the spoofed X-User is replaced',
    200,
    curl(...bearer(tokens.admin), '-H', 'X-User: mallory', `${g}/me`),
  );
  add('A refresh token (drn "DSR") is refused', 403, curl(...bearer(tokens.refresh), `${g}/me`));
  return commands;
}

/** `# <title> → <status>` then the command; the demo test parses this shape. */
export function formatDemoCommands(commands: readonly DemoCommand[]): string {
  return commands.map((c) => `# ${c.title} → ${c.expectedStatus}\n${c.command}`).join('\n\n');
}
