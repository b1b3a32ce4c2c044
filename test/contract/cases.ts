/**
 * The one table of token cases every front door must decide the same way,
 * and the validator config they run against (Descope-shaped: three accepted
 * `iss` forms, the project as audience, `roles`, the `DS` cookie, refresh
 * tokens refused by `drn`).
 */
import { SignJWT, type JWTPayload } from 'jose';
import type { FailureCode } from '../../src/jwt/errors.js';
import type { ValidatorConfig } from '../../src/config/validator-schema.js';
import { generateSigningKey, jwksOf, mintToken, type TestSigningKey } from '../support/jwks-server.js';
import { nowSeconds } from '../support/clock.js';

export const PROJECT = 'P2contract';
export const ISSUERS = [PROJECT, `https://api.descope.com/${PROJECT}`, `https://api.descope.com/v1/apps/${PROJECT}`];

export function contractValidator(jwkUrl: string): ValidatorConfig {
  return {
    alg: 'RS256',
    jwk_url: jwkUrl,
    issuer: ISSUERS,
    audience: [PROJECT],
    roles: ['admin'],
    cookie_key: 'DS',
    claims: [{ claim: 'drn', not_equals: 'DSR' }],
    propagate_claims: [
      ['sub', 'X-User'],
      ['roles', 'X-Roles'],
    ],
  };
}

export type TokenPlace = 'header' | 'cookie' | 'none';

export interface ContractCase {
  readonly name: string;
  /** The credential as the client sends it (the raw token, or a broken string). */
  readonly token: string | undefined;
  readonly place: TokenPlace;
  readonly expect: { status: 200 | 401 | 403; code?: FailureCode; sub?: string };
}

export interface ContractKeys {
  readonly good: TestSigningKey;
  readonly jwks: ReturnType<typeof jwksOf>;
}

export async function createContractKeys(): Promise<ContractKeys> {
  const good = await generateSigningKey('contract-key');
  return { good, jwks: jwksOf(good) };
}


function claims(overrides: JWTPayload = {}): JWTPayload {
  return { iss: PROJECT, aud: [PROJECT], sub: 'U2alice', drn: 'DS', roles: ['admin', 'support'], iat: nowSeconds() - 10, exp: nowSeconds() + 600, ...overrides };
}

export async function buildCases(keys: ContractKeys): Promise<ContractCase[]> {
  const { good } = keys;
  const impostor = await generateSigningKey(good.kid);
  const stranger = await generateSigningKey('unknown-kid');
  const valid = await mintToken(good, claims());
  const noExp = claims();
  delete noExp.exp;
  return [
    { name: 'valid token in the Authorization header', token: valid, place: 'header', expect: { status: 200, sub: 'U2alice' } },
    { name: 'valid token in the DS cookie', token: valid, place: 'cookie', expect: { status: 200, sub: 'U2alice' } },
    {
      name: 'valid token with the /v1/apps issuer form',
      token: await mintToken(good, claims({ iss: ISSUERS[2], sub: 'U2bob' })),
      place: 'header',
      expect: { status: 200, sub: 'U2bob' },
    },
    { name: 'no token', token: undefined, place: 'none', expect: { status: 401, code: 'token_missing' } },
    { name: 'not a JWT', token: 'not-a-jwt', place: 'header', expect: { status: 401, code: 'token_malformed' } },
    { name: 'expired', token: await mintToken(good, claims({ iat: nowSeconds() - 7200, exp: nowSeconds() - 3600 })), place: 'header', expect: { status: 401, code: 'token_expired' } },
    { name: 'not yet valid', token: await mintToken(good, claims({ nbf: nowSeconds() + 3600 })), place: 'header', expect: { status: 401, code: 'token_not_yet_valid' } },
    { name: 'no exp', token: await mintToken(good, noExp), place: 'header', expect: { status: 401, code: 'expiry_missing' } },
    { name: 'wrong audience', token: await mintToken(good, claims({ aud: ['P2other'] })), place: 'header', expect: { status: 401, code: 'audience_mismatch' } },
    { name: 'wrong issuer', token: await mintToken(good, claims({ iss: 'https://evil.example/P2contract' })), place: 'header', expect: { status: 401, code: 'issuer_mismatch' } },
    { name: 'bad signature (same kid, other key)', token: await mintToken(impostor, claims()), place: 'header', expect: { status: 401, code: 'signature_invalid' } },
    { name: 'unknown kid', token: await mintToken(stranger, claims()), place: 'header', expect: { status: 401, code: 'key_not_found' } },
    {
      name: 'HS256 not allowed',
      token: await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: good.kid }).sign(new Uint8Array(32).fill(7)),
      place: 'header',
      expect: { status: 401, code: 'alg_not_allowed' },
    },
    { name: 'missing role', token: await mintToken(good, claims({ roles: ['viewer'] })), place: 'header', expect: { status: 403, code: 'insufficient_roles' } },
    { name: 'refresh token (drn DSR)', token: await mintToken(good, claims({ drn: 'DSR' })), place: 'header', expect: { status: 403, code: 'claim_mismatch' } },
  ];
}

/** The client's credential headers for a case, as node:http would receive them. */
export function credentialHeaders(testCase: ContractCase): Record<string, string> {
  if (testCase.place === 'header') return { authorization: `Bearer ${testCase.token}` };
  if (testCase.place === 'cookie') return { cookie: `theme=dark; DS=${testCase.token}` };
  return {};
}
