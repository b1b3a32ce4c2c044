/**
 * `portcullis revoke -c FILE --sub alice [--before TIME]`: revokes against
 * the store the config's `auth/revoker` names. With a Redis pool the entry is
 * written to Redis directly and every instance picks it up within a second;
 * with the in-memory store only the running process holds the set, so the
 * command asks that process through its admin endpoint
 * (`auth/revoker.admin`), with the admin token from the config's
 * `token_env`/`token_file`. `--list` prints what is revoked.
 *
 * Exit codes: 0 done, 1 the store or admin endpoint refused or was
 * unreachable, 2 a usage or config error.
 */
import { readAdminToken, REVOCATIONS_PATH } from '../admin/revocation-admin.js';
import { loadGatewayPlan } from '../config/load.js';
import type { GatewayPlan, RevocationPlan } from '../config/plan.js';
import { ConfigError } from '../config/validate.js';
import { silentLogger } from '../lib/logger.js';
import type { RevocationEntry } from '../revocation/entry.js';
import { RevocationEntryError } from '../revocation/entry.js';
import { revocationEntryFor, type RevocationRequest } from '../revocation/request.js';
import { createFleetState } from '../runtime/fleet-state.js';
import { configErrorLines } from './shared.js';
import type { CliContext } from './context.js';

const REDIS_WAIT_MS = 5000;

export interface RevokeOptions {
  config: string;
  jti?: string;
  sub?: string;
  tenant?: string;
  claim?: string;
  before?: number;
  list?: boolean;
  adminUrl?: string;
}

function requestOf(options: RevokeOptions): RevocationRequest | undefined {
  const before = options.before !== undefined ? { before: options.before } : {};
  if (options.jti !== undefined) return { kind: 'jti', value: options.jti };
  if (options.sub !== undefined) return { kind: 'sub', value: options.sub, ...before };
  if (options.tenant !== undefined) return { kind: 'tenant', value: options.tenant, ...before };
  if (options.claim !== undefined) {
    const eq = options.claim.indexOf('=');
    if (eq <= 0 || eq === options.claim.length - 1) throw new RevocationEntryError('--claim takes name=value, e.g. sid=abc');
    return { kind: 'claim', claim: options.claim.slice(0, eq), value: options.claim.slice(eq + 1), ...before };
  }
  return undefined;
}

export async function revoke(options: RevokeOptions, context: CliContext): Promise<number> {
  const { io } = context;
  let plan: GatewayPlan;
  let revocation: RevocationPlan;
  let request: RevocationRequest | undefined;
  try {
    plan = loadGatewayPlan(options.config, { strict: false }).plan;
    if (plan.revocation === undefined) throw new ConfigError([{ path: '$.extra_config', message: 'has no "auth/revoker": there is nothing to revoke against' }]);
    revocation = plan.revocation;
    request = requestOf(options);
    if (request === undefined && options.list !== true) throw new RevocationEntryError('say what to revoke: --jti, --sub, --tenant or --claim (or --list)');
    if (request?.kind === 'jti' && options.before !== undefined) throw new RevocationEntryError('--before does not apply to --jti (one token has one jti)');
  } catch (error) {
    if (error instanceof RevocationEntryError) io.stderr(`error: ${error.message}\n`);
    else for (const line of configErrorLines(error)) io.stderr(`${line}\n`);
    return 2;
  }
  let entry: RevocationEntry | undefined;
  if (request !== undefined) {
    try {
      entry = revocationEntryFor(request, revocation, Date.now() / 1000);
    } catch (error) {
      io.stderr(`error: ${(error as Error).message}\n`);
      return 2;
    }
  }
  try {
    if (revocation.pool !== undefined && options.adminUrl === undefined) return await viaRedis(plan, revocation, entry, io);
    return await viaAdmin(revocation, entry, options.adminUrl, io);
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const line of configErrorLines(error)) io.stderr(`${line}\n`);
      return 2;
    }
    io.stderr(`error: ${(error as Error).message}\n`);
    return 1;
  }
}

async function viaRedis(plan: GatewayPlan, revocation: RevocationPlan, entry: RevocationEntry | undefined, io: CliContext['io']): Promise<number> {
  const fleet = createFleetState({ logger: silentLogger });
  try {
    const store = fleet.revocationStore(revocation, plan.redisPools);
    // The store's connections open in the background; commands are not queued while they do.
    const connected = await Promise.race([store.ready().then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), REDIS_WAIT_MS).unref())]);
    if (!connected) throw new Error(`cannot reach Redis at ${store.status().address ?? 'the configured pool'} within ${REDIS_WAIT_MS / 1000} s${store.status().lastError ? ` (${store.status().lastError})` : ''}`);
    if (entry === undefined) {
      io.stdout(`${JSON.stringify({ entries: await store.list() }, null, 2)}\n`);
      return 0;
    }
    await store.revoke(entry);
    io.stdout(`revoked ${describe(entry)} in Redis (${store.status().address ?? 'redis'}); every instance applies it within a second\n`);
    return 0;
  } finally {
    await fleet.close();
  }
}

async function viaAdmin(revocation: RevocationPlan, entry: RevocationEntry | undefined, adminUrl: string | undefined, io: CliContext['io']): Promise<number> {
  const admin = revocation.admin;
  if (admin === undefined) {
    throw new ConfigError([
      { path: `${revocation.path}`, message: 'uses the in-memory store, which only the running process holds: add "admin" (port, token_env) so this command can reach it, or a redis connection_pool' },
    ]);
  }
  const token = readAdminToken(admin);
  const host = admin.listenIp.includes(':') ? `[${admin.listenIp}]` : admin.listenIp === '0.0.0.0' ? '127.0.0.1' : admin.listenIp;
  const url = new URL(REVOCATIONS_PATH, adminUrl ?? `http://${host}:${admin.port}`);
  const body = entry === undefined ? undefined : JSON.stringify({ kind: entry.kind, value: entry.value, ...(entry.claim !== undefined ? { claim: entry.claim } : {}), ...(entry.before !== undefined ? { before: entry.before } : {}) });
  let response: Response;
  try {
    response = await fetch(url, {
      method: entry === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body } : {}),
      redirect: 'manual',
      signal: AbortSignal.timeout(5000),
    });
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    throw new Error(`cannot reach the revocation admin endpoint at ${url.origin}: ${code ?? (error as Error).message}; is the gateway running?`, { cause: error });
  }
  const text = await response.text();
  if (!response.ok) throw new Error(`the admin endpoint answered ${response.status}: ${text.slice(0, 200)}`);
  if (entry === undefined) io.stdout(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
  else io.stdout(`revoked ${describe(entry)} through ${url.origin}\n`);
  return 0;
}

function describe(entry: RevocationEntry): string {
  const what = entry.kind === 'claim' ? `${entry.claim}=${entry.value}` : `${entry.kind} ${entry.value}`;
  const before = entry.before !== undefined ? `, tokens issued before ${new Date(entry.before * 1000).toISOString()}` : '';
  return `${what}${before} (until ${new Date(entry.expiresAt * 1000).toISOString()})`;
}
