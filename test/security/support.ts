/**
 * The rig for the security suite: a real JWKS server and a real echo backend on
 * 127.0.0.1, a gateway built from an in-memory config object (through the same
 * loader, compiler and validator checks as `portcullis run`), and a core
 * authorizer per protected endpoint sharing the gateway's key sets.
 *
 * `expectDenied` runs one probe through both doors and checks the failure code,
 * the status, `WWW-Authenticate`, the JSON body, and that the backend never saw
 * the request; `expectAllowed` is its positive control.
 */
import assert from 'node:assert/strict';
import { createHmac, constants, sign, type KeyObject } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { type Authorizer } from '../../src/runtime/create-authorizer.js';
import { createVerifiedTokenCache } from '../../src/authorizer/cache.js';
import type { Decision, Deny } from '../../src/authorizer/decision.js';
import { bindPolicy } from '../../src/runtime/bind.js';
import { FAILURE_CODES, type FailureCode } from '../../src/jwt/errors.js';
import { createKeySetRegistry, type KeySetRegistry } from '../../src/keys/registry.js';
import { startGateway, type Gateway } from '../../src/gateway/server.js';
import { startBackendServer, type BackendServer } from '../support/backend-server.js';
import { createMemoryLogger, type MemoryLogger } from '../support/logger.js';
import { planFrom } from '../support/plan.js';

// ------------------------------------------------------------------ tokens

export type SigningAlg = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA' | 'HS256' | 'HS384' | 'HS512';

const HASH: Record<SigningAlg, 'sha256' | 'sha384' | 'sha512' | null> = {
  RS256: 'sha256', RS384: 'sha384', RS512: 'sha512',
  PS256: 'sha256', PS384: 'sha384', PS512: 'sha512',
  ES256: 'sha256', ES384: 'sha384', ES512: 'sha512',
  EdDSA: null,
  HS256: 'sha256', HS384: 'sha384', HS512: 'sha512',
};

const b64u = (part: string | Buffer): string => Buffer.from(part).toString('base64url');

/** A header or payload as an object (JSON-encoded) or as raw JSON text (for duplicate members and other texts no encoder writes). */
export type Part = Record<string, unknown> | string;

const encodePart = (part: Part): string => b64u(typeof part === 'string' ? part : JSON.stringify(part));

/** Signature bytes computed with node:crypto, so forged headers carry a genuine signature and fail for the header, not the signature. */
export function signBytes(alg: SigningAlg, key: KeyObject | Buffer | string, input: string): Buffer {
  const hash = HASH[alg];
  if (alg.startsWith('HS')) return createHmac(hash!, key as Buffer).update(input).digest();
  if (alg.startsWith('PS')) {
    return sign(hash, Buffer.from(input), { key: key as KeyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
  }
  if (alg.startsWith('ES')) return sign(hash, Buffer.from(input), { key: key as KeyObject, dsaEncoding: 'ieee-p1363' });
  return sign(hash, Buffer.from(input), key as KeyObject);
}

/** A compact JWS over exactly these header and payload texts, signed with `alg` and `key`. */
export function forge(header: Part, payload: Part, alg: SigningAlg, key: KeyObject | Buffer | string): string {
  const input = `${encodePart(header)}.${encodePart(payload)}`;
  return `${input}.${signBytes(alg, key, input).toString('base64url')}`;
}

/** A compact token with an arbitrary signature segment (or none). */
export function unsigned(header: Part, payload: Part, signature: Buffer | string = ''): string {
  return `${encodePart(header)}.${encodePart(payload)}.${typeof signature === 'string' ? signature : signature.toString('base64url')}`;
}

// ------------------------------------------------------------------ HTTP

export interface Probe {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Extra request headers; an array value is sent as repeated header lines. */
  headers?: Record<string, string | string[]>;
  /** Raw query string without `?`. */
  query?: string;
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** One request through node:http on a fresh connection (repeated header lines are sent as given). */
export function send(baseUrl: string, path: string, probe: Probe = {}, method = 'GET'): Promise<Answer> {
  // A raw header list gets no defaults from node, so Host is written here.
  const raw: string[] = ['Host', new URL(baseUrl).host];
  if (probe.token !== undefined) raw.push('Authorization', `Bearer ${probe.token}`);
  for (const [name, value] of Object.entries(probe.headers ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) raw.push(name, item);
  }
  const url = `${baseUrl}${path}${probe.query ? `?${probe.query}` : ''}`;
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: raw, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The request as the core sees it: lower-case names, a repeated header as a list. */
function coreRequest(probe: Probe) {
  const headers: Record<string, string | string[]> = {};
  if (probe.token !== undefined) headers.authorization = `Bearer ${probe.token}`;
  for (const [name, value] of Object.entries(probe.headers ?? {})) headers[name.toLowerCase()] = value;
  return { headers, query: probe.query ?? '' };
}

/** RFC 6750 challenge expected for a failure code (no realm configured). */
export function expectedChallenge(code: FailureCode): RegExp | undefined {
  const challenge = FAILURE_CODES[code].challenge;
  if (challenge === 'none') return undefined;
  if (challenge === 'missing') return /^Bearer$/;
  return new RegExp(`^Bearer error="${challenge}", error_description="[^"]+"$`);
}

// ------------------------------------------------------------------ rig

export interface SecurityRig {
  readonly gateway: Gateway;
  readonly backend: BackendServer;
  readonly registry: KeySetRegistry;
  readonly logger: MemoryLogger;
  /** The core authorizer of the endpoint at `path`. */
  core(path: string): Authorizer;
  /** Asserts that both doors deny `probe` with `code`, and that the backend never saw the request. */
  expectDenied(path: string, probe: Probe, code: FailureCode, message?: string): Promise<Deny>;
  /** Asserts that both doors allow `probe`; returns what the backend received. */
  expectAllowed(path: string, probe: Probe, message?: string): Promise<{ headers: IncomingHttpHeaders; path: string }>;
  close(): Promise<void>;
}

export interface RigOptions {
  /** Builds the config once the backend URL is known. */
  config: (backendUrl: string) => Record<string, unknown>;
}

export async function startSecurityRig(options: RigOptions): Promise<SecurityRig> {
  const backend = await startBackendServer();
  const logger = createMemoryLogger();
  const registry = createKeySetRegistry({ logger });
  const plan = planFrom(options.config(backend.url), { strict: true, checkSources: true });
  let gateway: Gateway;
  try {
    gateway = await startGateway(plan, { host: '127.0.0.1', port: 0, logger, keySets: registry, accessLog: false });
  } catch (error) {
    registry.close();
    await backend.close();
    throw error;
  }
  const authorizers = new Map<string, Authorizer>();
  for (const endpoint of plan.endpoints) {
    if (endpoint.auth === undefined) continue;
    authorizers.set(endpoint.path, bindPolicy(endpoint.auth, { keySets: registry, cache: createVerifiedTokenCache(1000), logger }));
  }
  await gateway.ready();

  /** The authorizer of the endpoint whose pattern matches `path` (query ignored; `{param}` matches one segment). */
  function core(path: string): Authorizer {
    const segments = path.split('?')[0]!.split('/');
    for (const [pattern, authorizer] of authorizers) {
      const wanted = pattern.split('/');
      if (wanted.length === segments.length && wanted.every((part, i) => part === segments[i] || /^\{[^}]+\}$/.test(part))) return authorizer;
    }
    return assert.fail(`no protected endpoint for ${path}`);
  }

  function describeProbe(probe: Probe, message: string | undefined): string {
    return message ?? (probe.token !== undefined ? `token ${JSON.stringify(probe.token.slice(0, 60))}…` : JSON.stringify(probe).slice(0, 120));
  }

  async function expectDenied(path: string, probe: Probe, code: FailureCode, message?: string): Promise<Deny> {
    const label = describeProbe(probe, message);
    const decision: Decision = await core(path).authorize(coreRequest(probe));
    assert.equal(decision.allowed, false, `core allowed ${label}`);
    const deny = decision as Deny;
    assert.equal(deny.code, code, `core: ${label}: got ${deny.code} (${deny.detail})`);
    assert.equal(deny.status, FAILURE_CODES[code].status);
    const challenge = expectedChallenge(code);
    if (challenge) assert.match(deny.wwwAuthenticate ?? '', challenge, `core challenge for ${label}`);
    else assert.equal(deny.wwwAuthenticate, undefined);

    const before = backend.requests.length;
    const answer = await send(gateway.url, path, probe);
    assert.equal(answer.status, FAILURE_CODES[code].status, `gateway status for ${label}: ${answer.text}`);
    assert.equal(answer.headers['www-authenticate'], deny.wwwAuthenticate, `gateway WWW-Authenticate for ${label}`);
    assert.equal(JSON.parse(answer.text).code, code, `gateway body for ${label}`);
    assert.equal(backend.requests.length, before, `the backend was called for ${label}`);
    if (probe.token !== undefined && probe.token.length >= 16) {
      assert.ok(!answer.text.includes(probe.token), 'the answer echoes the token');
      assert.ok(!deny.detail.includes(probe.token), 'the denial detail quotes the token');
    }
    return deny;
  }

  async function expectAllowed(path: string, probe: Probe, message?: string) {
    const label = describeProbe(probe, message);
    const decision = await core(path).authorize(coreRequest(probe));
    assert.equal(decision.allowed, true, `core denied ${label}: ${JSON.stringify(decision)}`);
    const before = backend.requests.length;
    const answer = await send(gateway.url, path, probe);
    assert.equal(answer.status, 200, `gateway status for ${label}: ${answer.text}`);
    assert.equal(backend.requests.length, before + 1, `the backend was not called once for ${label}`);
    const received = backend.requests.at(-1)!;
    return { headers: received.headers, path: received.path };
  }

  return {
    gateway,
    backend,
    registry,
    logger,
    core,
    expectDenied,
    expectAllowed,
    async close() {
      await gateway.close();
      for (const authorizer of authorizers.values()) authorizer.close();
      registry.close();
      await backend.close();
    },
  };
}
