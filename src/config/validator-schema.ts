/**
 * The `auth/validator` block: KrakenD's options with their KrakenD names, plus
 * portcullis's extensions. This one definition yields the TypeScript type, the
 * defaults, the published JSON Schema and the runtime validation.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { SUPPORTED_ALGS } from '../jwt/algorithms.js';
import { DURATION_PATTERN } from '../lib/duration.js';

/** KrakenD allows annotation keys such as `@comment` anywhere in its objects. */
export const ANNOTATION_KEYS = '^[@$_#]';

export function strictObject<T extends Record<string, TSchema>>(properties: T, description?: string) {
  return Type.Object(properties, {
    additionalProperties: false,
    patternProperties: { [ANNOTATION_KEYS]: {} },
    ...(description ? { description } : {}),
  });
}

const Duration = (description: string) => Type.String({ pattern: DURATION_PATTERN, description });
const NonEmptyString = (description: string) => Type.String({ minLength: 1, description });
const StringOrList = (description: string) =>
  Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })], { description });
const Matcher = (description: string) => Type.Union([Type.Literal('any'), Type.Literal('all')], { description });

export const AlgSchema = Type.Union(
  SUPPORTED_ALGS.map((alg) => Type.Literal(alg)),
  { description: 'A JWS algorithm. `none` is never accepted.' },
);

const JwkSchema = Type.Object(
  { kty: Type.String({ description: 'Key type: RSA, EC, OKP or oct.' }) },
  { additionalProperties: true, description: 'A JSON Web Key (public members; oct keys carry `k`).' },
);

export const ClaimRuleSchema = strictObject(
  {
    claim: NonEmptyString('Claim name; dots reach into nested objects unless the name starts with "http".'),
    equals: Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Boolean()], { description: 'The claim must equal this value.' })),
    one_of: Type.Optional(Type.Array(Type.Union([Type.String(), Type.Number(), Type.Boolean()]), { minItems: 1, description: 'The claim must equal one of these values.' })),
    contains: Type.Optional(Type.String({ description: 'The claim (array, or space-separated string) must contain this value.' })),
    not_equals: Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Boolean()], { description: 'The claim must be absent or differ from this value (e.g. reject Descope refresh tokens: drn ≠ "DSR").' })),
  },
  'One claim rule; exactly one of equals, one_of, contains, not_equals.',
);

export const TenantRuleSchema = strictObject(
  {
    from: Type.Union([Type.Literal('param'), Type.Literal('header'), Type.Literal('claim')], {
      description: 'Where the tenant id comes from: a path parameter, a request header, or a claim (Descope `dct`).',
    }),
    name: Type.Optional(NonEmptyString('Parameter, header or claim name. Defaults: param "tenant", header "X-Tenant-Id", claim "dct".')),
    roles: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Roles required in tenants.<id>.roles.' })),
    roles_matcher: Type.Optional(Matcher('`all` (default, as Descope SDKs) or `any`.')),
    permissions: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Permissions required in tenants.<id>.permissions.' })),
    permissions_matcher: Type.Optional(Matcher('`all` (default) or `any`.')),
  },
  'Descope tenant-scoped roles and permissions.',
);

export const ValidatorSchema = strictObject(
  {
    alg: Type.Union([AlgSchema, Type.Array(AlgSchema, { minItems: 1 })], {
      description: 'Allowed algorithm (KrakenD), or a list of them (portcullis). The token header must name one of them exactly.',
    }),
    jwk_url: Type.Optional(NonEmptyString('URL of the JWKS (a JWKS object, or Descope v1 bare array).')),
    jwk_local_path: Type.Optional(NonEmptyString('Path of a JWKS file read once at start.')),
    jwk_keys: Type.Optional(Type.Array(JwkSchema, { minItems: 1, description: 'portcullis: inline JWKs.' })),
    oidc_discovery: Type.Optional(Type.Boolean({ description: 'portcullis: find the JWKS through `<issuer>/.well-known/openid-configuration` (needs exactly one issuer).' })),
    discovery_url: Type.Optional(NonEmptyString('portcullis: URL of an OIDC discovery document that names the JWKS.')),
    cache: Type.Optional(Type.Boolean({ description: 'Accepted for KrakenD compatibility; keys are always cached and shared.' })),
    cache_duration: Type.Optional(Type.Integer({ minimum: 0, description: 'Seconds between background JWKS refreshes (0 or unset: 900).' })),
    failed_jwk_key_cooldown: Type.Optional(Duration('How long a key id that a JWKS download lacked is not retried (default "30s", minimum 1s). Other unknown key ids download at most once per second.')),
    jwk_fetch_timeout: Type.Optional(Duration('portcullis: JWKS download timeout (default "5s").')),
    jwk_max_stale: Type.Optional(Duration('portcullis: how long the last good keys keep serving while downloads fail (default "24h").')),
    disable_jwk_security: Type.Optional(Type.Boolean({ description: 'Allow a non-https jwk_url and skip TLS certificate checks for the JWKS.' })),
    jwk_fingerprints: Type.Optional(Type.Array(NonEmptyString('base64url SHA-256 of a DER public key in the JWKS server certificate chain.'))),
    jwk_local_ca: Type.Optional(NonEmptyString('PEM file added to the trusted roots for the JWKS download.')),
    cipher_suites: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 65535 }), { description: 'TLS cipher suites for the JWKS client (IANA numbers).' })),
    key_identify_strategy: Type.Optional(
      Type.Union([Type.Literal('kid'), Type.Literal('x5t'), Type.Literal('x5t#S256'), Type.Literal('kid_x5t')], {
        description: 'How the token names its key (default "kid").',
      }),
    ),

    issuer: Type.Optional(StringOrList('Accepted `iss`: one exact value (KrakenD) or a list (portcullis).')),
    audience: Type.Optional(
      Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }))], {
        description: 'Audiences; with the default matcher every one must be in `aud`. An empty list checks no audience (as in KrakenD).',
      }),
    ),
    audience_matcher: Type.Optional(Matcher('portcullis: `all` (KrakenD, default) or `any` (AWS/GCP/Envoy).')),
    subject: Type.Optional(StringOrList('portcullis: accepted `sub` values.')),
    leeway: Type.Optional(Duration('Clock skew allowed for exp, nbf and iat (default and minimum "1s").')),
    require_exp: Type.Optional(Type.Boolean({ description: 'portcullis: reject tokens without `exp` (default true; false for KrakenD parity).' })),
    max_token_lifetime: Type.Optional(Duration('portcullis: reject tokens whose exp - iat (or exp - now without iat) exceeds this.')),
    typ: Type.Optional(StringOrList('portcullis: accepted header `typ` values (case-insensitive), e.g. "at+jwt".')),

    roles: Type.Optional(Type.Array(Type.String(), { description: 'The token must hold at least one of these roles.' })),
    roles_key: Type.Optional(Type.String({ description: 'Claim holding the roles (default "roles").' })),
    roles_key_is_nested: Type.Optional(Type.Boolean({ description: 'Read roles_key as a dot path.' })),
    scopes: Type.Optional(Type.Array(Type.String(), { description: 'Required scopes; needs scopes_key.' })),
    scopes_key: Type.Optional(StringOrList('Claim holding the scopes; a list means the first present claim, e.g. ["scope","scp"].')),
    scopes_matcher: Type.Optional(Matcher('`any` (default) or `all`.')),
    permissions: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'portcullis: project-level permissions, all required.' })),
    permissions_key: Type.Optional(NonEmptyString('portcullis: claim holding permissions (default "permissions").')),
    tenant: Type.Optional(TenantRuleSchema),
    claims: Type.Optional(Type.Array(ClaimRuleSchema, { description: 'portcullis: claim rules, all must pass.' })),

    cookie_key: Type.Optional(Type.String({ description: 'Cookie read when the header has no token (default "access_token").' })),
    auth_header_name: Type.Optional(Type.String({ description: 'Header read for the token (default "Authorization").' })),
    query_key: Type.Optional(NonEmptyString('portcullis: query parameter read when header and cookie have no token.')),
    max_token_size: Type.Optional(Type.Integer({ minimum: 64, maximum: 1_048_576, description: 'portcullis: maximum token length in characters (default 16384).' })),

    propagate_claims: Type.Optional(
      Type.Array(Type.Array(Type.String()), { description: 'Pairs [claim, header]: claims copied to backend request headers.' }),
    ),
    propagate_claims_preserve_array: Type.Optional(Type.Boolean({ description: 'Send array claims as several header values.' })),
    forward_payload_header: Type.Optional(NonEmptyString('portcullis: header that carries the verified payload as base64url JSON.')),

    operation_debug: Type.Optional(Type.Boolean({ description: 'Log the reason of every rejection.' })),
    error_body: Type.Optional(Type.Boolean({ description: 'portcullis: JSON error body on 401/403 (default true; false for KrakenD parity).' })),
    www_authenticate: Type.Optional(Type.Boolean({ description: 'portcullis: RFC 6750 WWW-Authenticate on 401/403 (default true).' })),
    realm: Type.Optional(NonEmptyString('portcullis: realm in WWW-Authenticate.')),
  },
  'JWT validation for one endpoint.',
);

export type ValidatorConfig = Static<typeof ValidatorSchema>;
export type ClaimRuleConfig = Static<typeof ClaimRuleSchema>;
export type TenantRuleConfig = Static<typeof TenantRuleSchema>;

/** Namespaces under which KrakenD reads the validator (the v1 name is an alias). */
export const VALIDATOR_NAMESPACES = ['auth/validator', 'github.com/devopsfaith/krakend-jose/validator'] as const;
