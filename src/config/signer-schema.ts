/**
 * The `auth/signer` block (KrakenD CE's signer, krakend-jose): which keys of
 * the backend answer become signed JWTs, and the private key that signs them.
 * `secret_url`/`cypher_key` (encrypted JWK files) are not here: load.ts
 * refuses them by name, since without them the file could not be read.
 */
import { Type, type Static } from '@sinclair/typebox';
import { AlgSchema, strictObject } from './validator-schema.js';

const NonEmptyString = (description: string) => Type.String({ minLength: 1, description });

export const SignerSchema = strictObject(
  {
    alg: AlgSchema,
    kid: Type.Optional(NonEmptyString('Key id of the signing key in the JWKS, and the `kid` of every token (portcullis: optional with an issuer key index, which then signs with its current key).')),
    keys_to_sign: Type.Array(NonEmptyString('A key of the answer whose object value is replaced by a JWT of it.'), { minItems: 1 }),
    jwk_url: Type.Optional(NonEmptyString('URL of a JWKS holding the private key (read once at start and at each reload).')),
    jwk_local_path: Type.Optional(NonEmptyString('Path of a JWKS file holding the private key, or of the local issuer\'s keys.json.')),
    full: Type.Optional(Type.Boolean({ description: 'Sign into the JWS JSON serialization (a string of JSON) instead of the compact form.' })),
    disable_jwk_security: Type.Optional(Type.Boolean({ description: 'Allow a non-https jwk_url and skip TLS certificate checks for it.' })),
    jwk_fingerprints: Type.Optional(Type.Array(NonEmptyString('base64url SHA-256 of a DER public key in the jwk_url server certificate chain.'))),
    jwk_local_ca: Type.Optional(NonEmptyString('PEM file added to the trusted roots for the jwk_url download.')),
    cipher_suites: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 65535 }), { description: 'Accepted for KrakenD compatibility; the jwk_url download uses Node\'s TLS defaults.' })),
  },
  'Signs parts of the backend answer as JWTs (login endpoints).',
);

export type SignerConfig = Static<typeof SignerSchema>;
