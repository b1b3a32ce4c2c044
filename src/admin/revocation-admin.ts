/**
 * The revocation admin endpoint: its own listener (`auth/revoker.admin`,
 * loopback by default), never the public port, and every request must carry
 * the admin bearer token. It writes to the same store the authorizers read,
 * so with a Redis store one call revokes on every instance.
 *
 *   POST /revocations  {"kind":"sub","value":"alice","before":"2026-11-29T12:00:00Z"}  → 201 the entry
 *   GET  /revocations                                                                 → 200 {"entries":[…]}
 *
 * The token is compared in constant time through its SHA-256 digest (so the
 * lengths compared are equal too), and is never logged or echoed; a refusal
 * says only `unauthorized`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RevocationAdminPlan } from '../config/plan.js';
import { ConfigError } from '../config/validate.js';
import { createLimitedServer, drain, listen, type Listening } from '../http/server.js';
import { BODIES, writeJson } from '../http/response.js';
import type { Clock } from '../lib/clock.js';
import { systemClock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { RevocationEntryError } from '../revocation/entry.js';
import { parseRevocationRequest, revocationEntryFor, type RevocationRules } from '../revocation/request.js';
import type { RevocationStore } from '../revocation/store.js';

export const REVOCATIONS_PATH = '/revocations';
const MAX_BODY_BYTES = 16 * 1024;
const LIMITS = { maxHeaderSize: 16_384, headersTimeoutMs: 5_000, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000 };
const SERVICE = '[SERVICE: RevocationAdmin]';

export interface RevocationAdminOptions {
  /** The store the running plan enforces (looked up per request: a reload may change it). */
  readonly store: () => RevocationStore | undefined;
  readonly rules: RevocationRules;
  /** The bearer token every request must carry. */
  readonly token: string;
  readonly port: number;
  readonly host: string;
  readonly logger: Logger;
  readonly clock?: Clock;
}

export interface RevocationAdmin extends Listening {
  close(): Promise<void>;
}

/** A short, non-reversible name for a value in logs: who was revoked is operator data, but logs travel further than the store. */
function fingerprint(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 10);
}

export async function startRevocationAdmin(options: RevocationAdminOptions): Promise<RevocationAdmin> {
  const { rules, logger } = options;
  const clock = options.clock ?? systemClock;
  if (options.token.length < 16) throw new Error('the revocation admin token must be at least 16 characters');
  const expected = createHash('sha256').update(options.token).digest();

  const authorized = (req: IncomingMessage): boolean => {
    const header = req.headers.authorization;
    if (typeof header !== 'string' || !/^bearer /i.test(header)) return false;
    const presented = createHash('sha256').update(header.slice(7).trim()).digest();
    return timingSafeEqual(presented, expected);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== REVOCATIONS_PATH) return writeJson(res, 404, BODIES.notFound);
    if (!authorized(req)) {
      req.resume();
      return writeJson(res, 401, '{"error":"unauthorized"}', { 'www-authenticate': 'Bearer realm="portcullis-admin"' });
    }
    const store = options.store();
    if (store === undefined) return writeJson(res, 503, '{"error":"revocation_store_unavailable"}', { 'retry-after': '1' });
    if (req.method === 'GET') {
      const entries = await store.list();
      return writeJson(res, 200, JSON.stringify({ store: store.status(), entries }));
    }
    if (req.method !== 'POST') return writeJson(res, 405, BODIES.methodNotAllowed, { allow: 'GET, POST' });
    const body = await readBody(req);
    if (body === undefined) return writeJson(res, 413, BODIES.tooLarge);
    let entry;
    try {
      const request = parseRevocationRequest(JSON.parse(body));
      entry = revocationEntryFor(request, rules, clock.now() / 1000);
    } catch (error) {
      const message = error instanceof RevocationEntryError ? error.message : 'the body is not valid JSON';
      return writeJson(res, 400, JSON.stringify({ error: 'bad_revocation', message }));
    }
    await store.revoke(entry);
    logger.info({ kind: entry.kind, ...(entry.claim !== undefined ? { claim: entry.claim } : {}), valueFingerprint: fingerprint(entry.value) }, `${SERVICE} revoked`);
    writeJson(res, 201, JSON.stringify({ revoked: entry }));
  }

  const server = createLimitedServer(LIMITS, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A store that cannot write (Redis down) is an answer, not a crash.
      logger.error({ err: { name: (error as Error)?.name, message: (error as Error)?.message } }, `${SERVICE} request failed`);
      writeJson(res, 503, '{"error":"revocation_store_unavailable"}', { 'retry-after': '1' });
    });
  });
  const listening = await listen(server, { port: options.port, host: options.host });
  logger.info({ address: listening.address, port: listening.port }, `${SERVICE} listening on ${listening.url}${REVOCATIONS_PATH}`);
  return { ...listening, close: () => drain(server, 1000) };
}

/** The body as text, or undefined when it is larger than the bound. */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The admin token from `token_env` or `token_file`; an error names the JSON path and never the token. */
export function readAdminToken(admin: RevocationAdminPlan, env: NodeJS.ProcessEnv = process.env): string {
  let token: string | undefined;
  if (admin.tokenEnv !== undefined) {
    token = env[admin.tokenEnv]?.trim();
    if (token === undefined || token === '') throw new ConfigError([{ path: `${admin.path}.token_env`, message: `the environment variable ${admin.tokenEnv} is not set` }]);
  } else {
    try {
      token = readFileSync(admin.tokenFile!, 'utf8').trim();
    } catch (error) {
      throw new ConfigError([{ path: `${admin.path}.token_file`, message: `cannot read ${admin.tokenFile}: ${(error as NodeJS.ErrnoException).code ?? 'read error'}` }]);
    }
  }
  if (token.length < 16) {
    const where = admin.tokenEnv !== undefined ? `${admin.path}.token_env` : `${admin.path}.token_file`;
    throw new ConfigError([{ path: where, message: 'the admin token must be at least 16 characters (e.g. `openssl rand -hex 32`)' }]);
  }
  return token;
}
