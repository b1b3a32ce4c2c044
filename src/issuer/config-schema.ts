/**
 * The TypeBox schema of the issuer config file: the one definition of its type
 * and of its validation. scripts/write-validators.ts precompiles it into
 * src/config/generated/issuer-config.js; config.ts imports only its type, so
 * the issuer does not load TypeBox.
 */
import { Type, type Static } from '@sinclair/typebox';
import { strictObject } from '../config/validator-schema.js';
import { DURATION_PATTERN } from '../lib/duration.js';
import { ISSUER_ALGS, ISSUER_FORMS } from './options.js';

const Id = (description: string) => Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9._:@-]+$', description });
const Names = (description: string) => Type.Array(Type.String({ minLength: 1 }), { description });
const Claims = Type.Record(Type.String({ minLength: 1, maxLength: 60 }), Type.Unknown(), { description: 'Custom claims (JWT template style).' });
const TenantGrant = strictObject({ id: Id('Tenant id.'), roles: Type.Optional(Names('Roles in this tenant.')) });

export const IssuerConfigSchema = strictObject(
  {
    project_id: Type.Optional(Id('Descope-like project id (default P2portcullisdemo0000000000000).')),
    issuer_form: Type.Optional(Type.Union(ISSUER_FORMS.map((f) => Type.Literal(f)), { description: 'Form of the `iss` claim.' })),
    public_base_url: Type.Optional(Type.String({ pattern: '^https?://[^/?#]+$', description: 'Base URL in iss and discovery (default http://127.0.0.1:<port>).' })),
    alg: Type.Optional(Type.Union(ISSUER_ALGS.map((a) => Type.Literal(a)), { description: 'Signing algorithm of new keys.' })),
    session_ttl: Type.Optional(Type.String({ pattern: DURATION_PATTERN, description: 'Session token lifetime (default "10m").' })),
    keep_rotated_keys: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: 'Retired keys kept published after rotations (default 12).' })),
    audience: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }))], { description: 'Default `aud` (default [project_id]).' })),
    template: Type.Optional(
      strictObject({
        claims: Type.Optional(Claims),
        add_jti: Type.Optional(Type.Boolean({ description: 'Add a random `jti` to every token.' })),
        auto_dct: Type.Optional(Type.Boolean({ description: 'Set `dct` when the subject has exactly one tenant (default true).' })),
        amr: Type.Optional(Names('`amr` of user session tokens (default ["pwd"]).')),
      }),
    ),
    roles: Type.Optional(Type.Array(strictObject({ name: Type.String({ minLength: 1 }), permissions: Type.Optional(Names('Permissions this role grants.')) }))),
    tenants: Type.Optional(Type.Array(strictObject({ id: Id('Tenant id.'), name: Type.Optional(Type.String()) }))),
    users: Type.Optional(
      Type.Array(
        strictObject({
          id: Id('User id, the `sub` of its tokens.'),
          email: Type.Optional(Type.String()),
          roles: Type.Optional(Names('Project-level roles.')),
          tenants: Type.Optional(Type.Array(TenantGrant)),
          claims: Type.Optional(Claims),
        }),
      ),
    ),
    access_keys: Type.Optional(
      Type.Array(
        strictObject({
          id: Id('Access key id, the `sub` of its tokens.'),
          key: Type.String({ minLength: 8, description: 'The secret sent as `Bearer <pid>:<key>`.' }),
          name: Type.Optional(Type.String()),
          roles: Type.Optional(Names('Project-level roles.')),
          tenants: Type.Optional(Type.Array(TenantGrant)),
          claims: Type.Optional(Claims),
        }),
      ),
    ),
  },
  'Config of the local development issuer.',
);

export type IssuerConfigFile = Static<typeof IssuerConfigSchema>;
