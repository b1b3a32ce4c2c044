/**
 * The issuer without HTTP: settings + key store → tokens, access-key
 * exchanges, rotation and the published key set. The HTTP server and the
 * `portcullis token` data-dir fallback both sit on this.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { systemClock, type Clock } from '../lib/clock.js';
import { EXCHANGE_RESERVED_CLAIMS, findUser, userName, type IssuerAccessKey, type IssuerSettings } from './config.js';
import { buildAccessKeyClaims, buildSessionClaims, type MintRequest } from './claims.js';
import type { KeyStore, PublicJwk, SigningKey } from './key-store.js';
import { mintToken } from './mint.js';

export interface MintedToken {
  sessionJwt: string;
  /** UNIX seconds. */
  expiration: number;
}

export interface MintedSession extends MintedToken {
  /** What the caller likely got wrong, e.g. a `sub` that is no configured user; absent when nothing. */
  warnings?: string[];
}

export interface ExchangeResult extends MintedToken {
  keyId: string;
}

/** A refusal with the Descope-style error body the HTTP layer sends as is. */
export class IssuerRequestError extends Error {
  readonly status: 400 | 401 | 403 | 404 | 405 | 413 | 415 | 501;
  readonly code: string;
  constructor(status: IssuerRequestError['status'], code: string, message: string) {
    super(message);
    this.name = 'IssuerRequestError';
    this.status = status;
    this.code = code;
  }

  toBody(): { errorCode: string; errorDescription: string; errorMessage: string } {
    return { errorCode: this.code, errorDescription: this.message, errorMessage: this.message };
  }
}

export interface Issuer {
  readonly settings: IssuerSettings;
  readonly keyStore: KeyStore;
  /** Throws IssuerRequestError (400) for an unknown or ambiguous `user`. */
  mintSession(request: MintRequest, baseUrl: string): MintedSession;
  /** `authorization` is the raw header value; `body` the parsed JSON body (or undefined). */
  exchangeAccessKey(authorization: string | undefined, body: unknown, baseUrl: string): ExchangeResult;
  rotate(): Promise<SigningKey>;
  jwks(): { keys: PublicJwk[] };
}

const MAX_CUSTOM_CLAIMS = 100;

export function createIssuer(settings: IssuerSettings, keyStore: KeyStore, options: { clock?: Clock } = {}): Issuer {
  const clock = options.clock ?? systemClock;
  // Digests have a fixed length, so the comparison below is constant-time whatever the input length.
  const keyDigests = settings.accessKeys.map((key) => ({ key, digest: sha256(key.key) }));
  const nowSeconds = (): number => Math.floor(clock.now() / 1000);

  const sign = (claims: Record<string, unknown>): MintedToken => ({
    sessionJwt: mintToken(keyStore.current(), claims),
    expiration: claims.exp as number,
  });

  function findAccessKey(authorization: string | undefined): IssuerAccessKey {
    const match = /^Bearer\s+([^:\s]+):(\S+)$/i.exec(authorization ?? '');
    if (!match) throw new IssuerRequestError(401, 'missing_credentials', 'Authorization must be "Bearer <projectId>:<accessKey>"');
    if (match[1] !== settings.projectId) throw new IssuerRequestError(401, 'project_mismatch', 'the project id does not match this issuer');
    const digest = sha256(match[2]!);
    let found: IssuerAccessKey | undefined;
    for (const entry of keyDigests) if (timingSafeEqual(entry.digest, digest)) found = entry.key;
    if (!found) throw new IssuerRequestError(401, 'invalid_access_key', 'unknown access key');
    return found;
  }

  return {
    settings,
    keyStore,
    mintSession(request, baseUrl) {
      const warnings: string[] = [];
      let resolved = request;
      if (request.user !== undefined) {
        const user = findUser(settings, request.user);
        if (user === undefined || user === 'ambiguous') {
          const known = [...settings.users.values()].map((u) => `${userName(u)} (${u.id})`).join(', ') || 'none';
          const problem = user === 'ambiguous' ? `"${request.user.slice(0, 64)}" fits several users` : `no user "${request.user.slice(0, 64)}" in the issuer config`;
          throw new IssuerRequestError(400, 'unknown_user', `${problem}; users: ${known}`);
        }
        resolved = { ...request, user: undefined, sub: user.id };
      } else if (request.sub !== undefined && !settings.users.has(request.sub)) {
        // Not an error: crafting tokens for arbitrary subjects is what a dev issuer is for. But a typo here
        // silently gives a token without the user's roles, which then fails far away, at the gateway.
        warnings.push(`"${request.sub.slice(0, 64)}" is no user of the issuer config: the token carries only the roles, tenants and claims given with it`);
      }
      const minted: MintedSession = sign(buildSessionClaims({ settings, baseUrl, nowSeconds: nowSeconds() }, resolved));
      if (warnings.length > 0) minted.warnings = warnings;
      return minted;
    },
    exchangeAccessKey(authorization, body, baseUrl) {
      const key = findAccessKey(authorization);
      const { customClaims, selectedTenant } = readLoginOptions(body);
      for (const name of Object.keys(customClaims ?? {})) {
        // The key's grants come from the config; the caller may add claims but never change configured ones.
        if (Object.hasOwn(key.claims, name) || Object.hasOwn(settings.templateClaims, name)) {
          throw new IssuerRequestError(400, 'claim_conflict', `customClaims may not override "${name}", which the issuer config sets for this key`);
        }
      }
      if (selectedTenant !== undefined && !key.tenants.has(selectedTenant)) {
        throw new IssuerRequestError(400, 'tenant_not_allowed', 'the access key is not associated with selectedTenant');
      }
      const claims = buildAccessKeyClaims({ settings, baseUrl, nowSeconds: nowSeconds() }, key, { customClaims, selectedTenant });
      return { keyId: key.id, ...sign(claims) };
    },
    rotate: () => keyStore.rotate(),
    jwks: () => ({ keys: keyStore.published().map((key) => key.publicJwk) }),
  };
}

function readLoginOptions(body: unknown): { customClaims?: Record<string, unknown>; selectedTenant?: string } {
  if (body === undefined || body === null) return {};
  if (!isPlainObject(body)) throw new IssuerRequestError(400, 'bad_request', 'the body must be a JSON object');
  const options = body.loginOptions;
  if (options === undefined || options === null) return {};
  if (!isPlainObject(options)) throw new IssuerRequestError(400, 'bad_request', 'loginOptions must be an object');
  const result: { customClaims?: Record<string, unknown>; selectedTenant?: string } = {};
  if (options.selectedTenant !== undefined && options.selectedTenant !== '') {
    if (typeof options.selectedTenant !== 'string') throw new IssuerRequestError(400, 'bad_request', 'loginOptions.selectedTenant must be a string');
    result.selectedTenant = options.selectedTenant;
  }
  const claims = options.customClaims;
  if (claims !== undefined && claims !== null) {
    if (!isPlainObject(claims)) throw new IssuerRequestError(400, 'bad_request', 'loginOptions.customClaims must be an object');
    const entries = Object.entries(claims);
    if (entries.length > MAX_CUSTOM_CLAIMS) throw new IssuerRequestError(400, 'bad_request', `at most ${MAX_CUSTOM_CLAIMS} custom claims`);
    for (const [name, value] of entries) {
      if (EXCHANGE_RESERVED_CLAIMS.has(name)) throw new IssuerRequestError(400, 'reserved_claim', `customClaims may not set the reserved claim "${name}"`);
      if (name.length === 0 || name.length > 60) throw new IssuerRequestError(400, 'bad_request', 'custom claim names must be 1-60 characters');
      if (!['string', 'number', 'boolean'].includes(typeof value)) {
        throw new IssuerRequestError(400, 'bad_request', `custom claim "${name}" must be a string, number or boolean`);
      }
    }
    result.customClaims = { ...claims };
  }
  return result;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
