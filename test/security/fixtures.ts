/**
 * Keys, a JWKS server and the gateway config shared by the attack tests. One
 * JWKS lists an RSA, an EC P-256 and an Ed25519 key (no `alg` members, so each
 * key fits every algorithm of its family: the strongest setting for confusion
 * attacks); one endpoint holds an inline HMAC key.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { exportJWK, type JWK } from 'jose';
import { startJwksServer, type JwksServer } from '../support/jwks-server.js';
import { nowSeconds } from '../support/clock.js';
import { forge, startSecurityRig, type Part, type SecurityRig, type SigningAlg } from './support.js';

export interface KeyPair {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: JWK;
}

export interface Material {
  rsa: KeyPair;
  ec: KeyPair;
  ed: KeyPair;
  /** The endpoint `/hs` key (256 bits). */
  hmac: { kid: string; secret: Buffer };
  /** Keys that are in no key set. */
  attackerRsa: KeyPair;
  attackerEc: KeyPair;
}

async function pair(kid: string, type: 'rsa' | 'ec' | 'ed25519'): Promise<KeyPair> {
  const { privateKey, publicKey } =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : type === 'ec'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
  return { kid, privateKey, publicKey, publicJwk: { ...(await exportJWK(publicKey)), kid, use: 'sig' } };
}

export async function createMaterial(): Promise<Material> {
  return {
    rsa: await pair('rsa-1', 'rsa'),
    ec: await pair('ec-1', 'ec'),
    ed: await pair('ed-1', 'ed25519'),
    hmac: { kid: 'hs-1', secret: randomBytes(32) },
    attackerRsa: await pair('rsa-1', 'rsa'),
    attackerEc: await pair('attacker-ec', 'ec'),
  };
}

export const ISSUER = 'https://idp.example.com';
export const AUDIENCE = 'https://api.example.com';

/** Standard claims of a token that every endpoint accepts. */
export function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { sub: 'alice', iss: ISSUER, aud: AUDIENCE, roles: ['admin'], iat: nowSeconds(), exp: nowSeconds() + 600, ...extra };
}

/** A genuine token for one of the material's keys, header `{alg, kid}` unless overridden. */
export function genuine(material: Material, alg: SigningAlg, payload: Part = claims(), header: Record<string, unknown> = {}): string {
  if (alg.startsWith('HS')) return forge({ alg, kid: material.hmac.kid, ...header }, payload, alg, material.hmac.secret);
  const key = alg.startsWith('ES') ? material.ec : alg === 'EdDSA' ? material.ed : material.rsa;
  return forge({ alg, kid: key.kid, ...header }, payload, alg, key.privateKey);
}

/** The endpoints every attack test can aim at. */
export function attackConfig(jwksUrl: string, hmac: Material['hmac'], backendUrl: string): Record<string, unknown> {
  // operation_debug logs every rejection reason, which the leak test reads.
  const remote = { jwk_url: jwksUrl, failed_jwk_key_cooldown: '30s', operation_debug: true };
  const endpoint = (path: string, validator: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    endpoint: path,
    input_headers: ['*'],
    extra_config: { 'auth/validator': validator },
    backend: [{ host: [backendUrl], url_pattern: path }],
    ...extra,
  });
  const propagation = {
    propagate_claims: [
      ['sub', 'X-User'],
      ['roles', 'X-Roles'],
      ['tenant', 'X-Tenant'],
    ],
    forward_payload_header: 'X-Jwt-Payload',
  };
  return {
    version: 3,
    timeout: '3s',
    endpoints: [
      endpoint('/rs', { alg: 'RS256', ...remote, ...propagation }),
      endpoint('/listed-headers', { alg: 'RS256', ...remote, ...propagation }, { input_headers: ['X-User', 'X-Roles', 'X-Trace', 'X-Jwt-Payload'] }),
      endpoint('/multi', { alg: ['RS256', 'PS256', 'ES256', 'EdDSA'], ...remote }),
      endpoint('/mixed', { alg: ['RS256', 'HS256'], ...remote }),
      endpoint('/es', { alg: 'ES256', ...remote }),
      endpoint('/hs', { alg: 'HS256', operation_debug: true, jwk_keys: [{ kty: 'oct', kid: hmac.kid, k: hmac.secret.toString('base64url') }] }),
      endpoint('/small', { alg: 'RS256', ...remote, max_token_size: 2048, query_key: 'access_token' }),
      endpoint('/roles', { alg: 'RS256', ...remote, roles: ['admin'] }),
      endpoint('/identity', { alg: 'RS256', ...remote, issuer: ISSUER, audience: AUDIENCE, subject: 'alice' }),
      endpoint('/locations', { alg: 'RS256', ...remote, cookie_key: 'session', query_key: 'access_token' }),
      endpoint('/claim-path/{id}', { alg: 'RS256', ...remote }, { backend: [{ host: [backendUrl], url_pattern: '/users/{JWT.sub}/items/{id}' }] }),
      endpoint('/tenant-header', { alg: 'RS256', ...remote, tenant: { from: 'header' } }),
      { endpoint: '/public', input_headers: ['*'], backend: [{ host: [backendUrl], url_pattern: '/public' }] },
      { endpoint: '/public-listed', input_headers: ['X-User', 'X_User', 'X-Other'], backend: [{ host: [backendUrl], url_pattern: '/public-listed' }] },
    ],
  };
}

export interface AttackRig {
  rig: SecurityRig;
  jwks: JwksServer;
  material: Material;
  close(): Promise<void>;
}

export async function startAttackRig(): Promise<AttackRig> {
  const material = await createMaterial();
  const jwks = await startJwksServer();
  jwks.setKeys({ keys: [material.rsa.publicJwk, material.ec.publicJwk, material.ed.publicJwk] });
  let rig: SecurityRig;
  try {
    rig = await startSecurityRig({ config: (backendUrl) => attackConfig(jwks.url('/jwks'), material.hmac, backendUrl) });
  } catch (error) {
    await jwks.close();
    throw error;
  }
  return {
    rig,
    jwks,
    material,
    async close() {
      await rig.close();
      await jwks.close();
    },
  };
}
