/**
 * The token debugger's server side (the page itself is debugger-page.ts): its
 * JSON API and who may use it. Decoding happens in the page; what needs the
 * issuer is here: the signature checked against the issuer's own published
 * keys, `explain` against each endpoint of a gateway config (given by the
 * caller, as the issuer does not know gateways), the users to pick from, and
 * minting through the issuer's usual mint path.
 *
 * Development only, this machine only: every request must come from a
 * loopback client under a loopback Host name (DNS rebinding), and API calls
 * must be same-origin JSON: a cross-site page can neither send them without a
 * CORS preflight this server never grants, nor pass the Origin and
 * Sec-Fetch-Site checks. Tokens travel in POST bodies only, never in a URL,
 * and are never logged.
 */
import type { IncomingMessage } from 'node:http';
import { isAuthError } from '../jwt/errors.js';
import { parseJwsParts } from '../jwt/parse.js';
import { importJwk, type Jwk } from '../jwt/keys.js';
import { verifySignature } from '../jwt/verify.js';
import { isSupportedAlg } from '../jwt/algorithms.js';
import { issuerFor } from './claims.js';
import { userName } from './config.js';
import { IssuerRequestError, isPlainObject, type Issuer, type MintedSession } from './issuer.js';
import { isLocalRequest } from './loopback.js';
import { parseMintRequest } from './mint-request.js';

export const DEBUGGER_PATH = '/debugger';
export const DEBUGGER_API_PREFIX = '/debugger/api/';

/** One check of an endpoint, as `explain` reports it. */
export interface DebuggerCheckLine {
  readonly check: string;
  readonly outcome: 'pass' | 'fail' | 'info';
  readonly detail: string;
  readonly found?: string;
  readonly expected?: string;
}

export interface DebuggerEndpointResult {
  readonly method: string;
  readonly endpoint: string;
  readonly path: string;
  readonly public: boolean;
  readonly decision: { readonly allowed: boolean; readonly status?: number; readonly code?: string; readonly detail?: string };
  readonly lines: readonly DebuggerCheckLine[];
}

/** A gateway config the page explains tokens against. */
export interface DebuggerGateway {
  /** Shown in the page, e.g. the config file's path. */
  readonly config: string;
  /** The gateway's base URL, for the curl line, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  readonly endpoints: readonly { readonly method: string; readonly endpoint: string }[];
  explain(token: string): Promise<readonly DebuggerEndpointResult[]>;
}

export interface DebuggerOptions {
  /** The gateway to explain against, asked on each call (the demo's gateway starts after its issuer). */
  gateway?: () => DebuggerGateway | undefined;
  /** Serve the debugger although the issuer listens on a non-loopback address; it still answers local requests only. */
  allowOnNetwork?: boolean;
}

export interface SignatureReport {
  /** `valid`: signed by a key this issuer publishes; `unknown_key`: no published key has its kid. */
  readonly status: 'valid' | 'invalid' | 'unknown_key' | 'malformed';
  readonly detail: string;
  readonly kid?: string;
  readonly alg?: string;
  /** Signed with the current key, or a retired one that is still published. */
  readonly current?: boolean;
}

/** Same as the gateway's default token size limit: the debugger refuses what the gateway would. */
const MAX_TOKEN_CHARS = 16 * 1024;

/** Refuses what is not a local request or, for the API, not a same-origin one. */
export function checkDebuggerRequest(req: IncomingMessage, api: boolean): void {
  if (!isLocalRequest(req)) throw new IssuerRequestError(403, 'debugger_loopback_only', 'the token debugger answers loopback clients only');
  if (!api) return;
  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  // Browsers send both on a fetch; other local clients (curl) send neither, and may use the API as they may the admin routes.
  if ((site !== undefined && site !== 'same-origin') || (origin !== undefined && origin.toLowerCase() !== `http://${(req.headers.host ?? '').toLowerCase()}`)) {
    throw new IssuerRequestError(403, 'cross_origin', 'the token debugger API answers its own page only');
  }
}

export interface DebuggerApi {
  /** Throws IssuerRequestError 404 for an unknown name, 400 for a bad body. */
  call(name: string, body: unknown): Promise<unknown>;
}

export function createDebuggerApi(issuer: Issuer, options: DebuggerOptions, baseUrl: () => string): DebuggerApi {
  const { settings } = issuer;
  const calls: Record<string, (body: unknown) => unknown> = {
    context() {
      const gateway = options.gateway?.();
      return {
        projectId: settings.projectId,
        issuer: issuerFor(settings.issuerForm, settings.projectId, baseUrl()),
        sessionTtlSeconds: settings.sessionTtlSeconds,
        users: [...settings.users.values()].map((user) => ({ name: userName(user), id: user.id, roles: user.roles, tenants: Object.fromEntries(user.tenants) })),
        roles: [...settings.rolePermissions.keys()],
        tenants: [...settings.tenants.keys()],
        keys: issuer.keyStore.published().map((key, index) => ({ kid: key.kid, alg: key.alg, current: index === 0 })),
        gateway: gateway === undefined ? null : { config: gateway.config, url: gateway.url, endpoints: gateway.endpoints },
      };
    },
    async inspect(body) {
      const token = tokenOf(body);
      const gateway = options.gateway?.();
      let endpoints: readonly DebuggerEndpointResult[] | null = null;
      let gatewayError: string | null = null;
      if (gateway !== undefined) {
        try {
          endpoints = await gateway.explain(token);
        } catch (error) {
          // The message of a key download or config failure; never the token.
          gatewayError = (error as Error)?.message ?? 'explain failed';
        }
      }
      return { signature: signatureReport(issuer, token), gateway: gateway === undefined ? null : { config: gateway.config, url: gateway.url }, endpoints, gatewayError };
    },
    mint(body): MintedSession {
      return issuer.mintSession(parseMintRequest(body), baseUrl());
    },
  };
  return {
    async call(name, body) {
      const call = Object.hasOwn(calls, name) ? calls[name] : undefined;
      if (call === undefined) throw new IssuerRequestError(404, 'not_found', 'no such debugger call');
      return call(body);
    },
  };
}

function tokenOf(body: unknown): string {
  if (!isPlainObject(body) || typeof body.token !== 'string') throw new IssuerRequestError(400, 'bad_request', 'send {"token": "<JWT>"}');
  const token = body.token.trim();
  if (token.length === 0 || token.length > MAX_TOKEN_CHARS) throw new IssuerRequestError(400, 'bad_request', `the token must be 1 to ${MAX_TOKEN_CHARS} characters`);
  return token;
}

/** The token's signature against the keys this issuer publishes (the current one and the retired ones still served). */
export function signatureReport(issuer: Pick<Issuer, 'keyStore'>, token: string): SignatureReport {
  let parts;
  try {
    parts = parseJwsParts(token);
  } catch (error) {
    return { status: 'malformed', detail: isAuthError(error) ? `${error.code}${error.detail ? `: ${error.detail}` : ''}` : 'not a compact JWS' };
  }
  const { kid, alg } = parts.header;
  const shown = { ...(typeof kid === 'string' ? { kid: kid.slice(0, 80) } : {}), ...(typeof alg === 'string' ? { alg: alg.slice(0, 20) } : {}) };
  const published = issuer.keyStore.published();
  const index = published.findIndex((key) => key.kid === kid);
  if (index === -1) {
    return {
      status: 'unknown_key',
      detail: typeof kid === 'string' ? 'no key this issuer publishes has this kid: another issuer signed it, or the key was rotated out' : 'the token has no kid',
      ...shown,
    };
  }
  const key = published[index]!;
  const current = index === 0;
  if (alg !== key.alg || !isSupportedAlg(alg)) return { status: 'invalid', detail: `the key ${key.kid} signs ${key.alg}, the token says ${String(alg).slice(0, 20)}`, ...shown, current };
  const verified = verifySignature(importJwk(key.publicJwk as Jwk, [key.alg]), alg, Buffer.from(token.slice(0, parts.signingInputLength), 'latin1'), parts.signature);
  return verified
    ? { status: 'valid', detail: `signed by this issuer's ${current ? 'current' : 'retired (still published)'} key ${key.kid}`, ...shown, current }
    : { status: 'invalid', detail: `the signature does not verify with this issuer's key ${key.kid}: the token was altered, or another key signed it under this kid`, ...shown, current };
}
