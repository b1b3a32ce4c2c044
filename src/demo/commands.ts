/**
 * The curl commands the demo prints: each one ready to paste, with the status
 * it will get. Tokens are long (about 900 characters), so they are printed
 * once, as `export ALICE=…` lines, and the curl lines name the variables. The
 * demo test runs exactly these lines after the exports, so what the README
 * promises is what a user sees.
 */

export interface DemoCommand {
  readonly title: string;
  readonly expectedStatus: number;
  /** One shell line; it reads the token variables the export lines set. */
  readonly command: string;
}

/** A token the demo prints once, as `export <name>=<value>`. */
export interface DemoVariable {
  readonly name: string;
  /** Whose token and what it carries, for the comment above the exports. */
  readonly about: string;
  readonly value: string;
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

/** A word that goes into the line as written (already quoted for sh). */
interface RawWord {
  readonly raw: string;
}

function curl(...args: (string | RawWord)[]): string {
  return ['curl', '-i', ...args].map((arg) => (typeof arg === 'string' ? shellQuote(arg) : arg.raw)).join(' ');
}

/** The Authorization header with the token read from a variable: double quotes, so the shell expands it. */
const bearer = (variable: DemoVariable['name']): [string, RawWord] => ['-H', { raw: `"Authorization: Bearer $${variable}"` }];

/** The variables the commands read, in the order they are exported. */
export function demoVariables(tokens: DemoTokens): DemoVariable[] {
  return [
    { name: 'ALICE', about: 'alice: role admin, editor in tenant T2acme, plan pro', value: tokens.admin },
    { name: 'BOB', about: 'bob: role viewer, in tenant T2globex', value: tokens.viewer },
    { name: 'EXPIRED', about: "alice's grants, expired five minutes ago", value: tokens.expired },
    { name: 'REFRESH', about: 'alice\'s grants with drn "DSR", as a Descope refresh token says', value: tokens.refresh },
    { name: 'MACHINE', about: 'from the access-key exchange: role service, permission jobs:run', value: tokens.machine },
  ];
}

export function buildDemoCommands(urls: DemoUrls, accessKey: DemoAccessKey): DemoCommand[] {
  const g = urls.gateway;
  const commands: DemoCommand[] = [];
  const add = (title: string, expectedStatus: number, command: string): void => void commands.push({ title, expectedStatus, command });
  if (urls.healthPath !== undefined) add('Health check, no token needed', 200, curl(`${g}${urls.healthPath}`));
  add('Seed endpoint without a token', 401, curl(`${g}/descope-protected`));
  add('Seed endpoint with a session token', 200, curl(...bearer('ALICE'), `${g}/descope-protected`));
  add('Role "admin" required; alice is an admin', 200, curl(...bearer('ALICE'), `${g}/reports`));
  add('Role "admin" required; bob is only a viewer', 403, curl(...bearer('BOB'), `${g}/reports`));
  add('Tenant role: alice is an editor in T2acme', 200, curl(...bearer('ALICE'), `${g}/tenants/T2acme/projects`));
  add('Tenant mismatch: alice is not in T2globex', 403, curl(...bearer('ALICE'), `${g}/tenants/T2globex/projects`));
  add('Expired token', 401, curl(...bearer('EXPIRED'), `${g}/reports`));
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
  add('M2M endpoint with the exchanged access-key token', 200, curl(...bearer('MACHINE'), `${g}/m2m/jobs`));
  add('M2M endpoint with a user token (no "service" role)', 403, curl(...bearer('ALICE'), `${g}/m2m/jobs`));
  add(
    'Claim propagation: the backend echoes X-User, X-Roles, X-Tenant, X-Plan; the spoofed X-User is replaced',
    200,
    curl(...bearer('ALICE'), '-H', 'X-User: mallory', `${g}/me`),
  );
  add('A refresh token (drn "DSR") is refused', 403, curl(...bearer('REFRESH'), `${g}/me`));
  return commands;
}

/** A comment saying what each variable holds, then one `export NAME=value` line each; the demo test parses this shape. */
export function formatDemoVariables(variables: readonly DemoVariable[]): string {
  const width = Math.max(...variables.map((v) => v.name.length));
  return [
    ...variables.map((v) => `#   ${v.name.padEnd(width)}  ${v.about}`),
    ...variables.map((v) => `export ${v.name}=${shellQuote(v.value)}`),
  ].join('\n');
}

/** `# <title> → <status>` then the command; the demo test parses this shape. */
export function formatDemoCommands(commands: readonly DemoCommand[]): string {
  return commands.map((c) => `# ${c.title} → ${c.expectedStatus}\n${c.command}`).join('\n\n');
}
