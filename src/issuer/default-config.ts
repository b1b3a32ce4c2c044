/**
 * The built-in issuer config, used when no --config is given. examples/issuer.json
 * holds the same object (test/issuer/config.test.ts keeps them equal) so users
 * can copy and edit it. This file imports nothing, so the CLI can show these
 * defaults in `--help` without loading the issuer.
 */
/** Where `portcullis issuer` keeps its keys unless told otherwise (relative to the working directory). */
export const DEFAULT_DATA_DIR = '.portcullis/issuer';

/** Where `portcullis token` and `issuer rotate` look for a running issuer unless told otherwise. */
export const DEFAULT_ISSUER_URL = 'http://127.0.0.1:4000';

/**
 * The built-in access key's secret. It is published (docs, examples), so whoever can reach an issuer
 * serving it can exchange it for tokens: `startIssuerServer` refuses it on non-loopback hosts.
 */
export const DEMO_ACCESS_KEY_SECRET = 'demo-access-key-do-not-use-in-production';

export const DEFAULT_ISSUER_CONFIG: unknown = Object.freeze({
  '@comment': 'Default config of `portcullis issuer` (also built in). Development only: access-key secrets are stored in clear.',
  project_id: 'P2portcullisdemo0000000000000',
  issuer_form: 'apps',
  alg: 'RS256',
  session_ttl: '10m',
  keep_rotated_keys: 12,
  template: { claims: { app: 'portcullis-demo' }, add_jti: false, auto_dct: true },
  roles: [
    { name: 'admin', permissions: ['reports:read', 'users:write'] },
    { name: 'viewer', permissions: ['reports:read'] },
    { name: 'editor', permissions: ['projects:read', 'projects:write'] },
    { name: 'service', permissions: ['jobs:run'] },
  ],
  tenants: [{ id: 'T2acme', name: 'Acme' }, { id: 'T2globex', name: 'Globex' }],
  users: [
    {
      id: 'U2alice000000000000000000000',
      email: 'alice@example.com',
      roles: ['admin'],
      tenants: [{ id: 'T2acme', roles: ['editor'] }],
      claims: { plan: 'pro' },
    },
    {
      id: 'U2bob00000000000000000000000',
      email: 'bob@example.com',
      roles: ['viewer'],
      tenants: [{ id: 'T2globex', roles: ['viewer'] }],
      claims: { plan: 'free' },
    },
  ],
  access_keys: [
    {
      id: 'K2demoaccesskey0000000000001',
      key: DEMO_ACCESS_KEY_SECRET,
      name: 'billing worker',
      roles: ['service'],
      tenants: [{ id: 'T2acme', roles: ['service'] }],
      claims: { client: 'billing-worker' },
    },
  ],
});
