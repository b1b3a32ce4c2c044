import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileGateway } from '../../src/config/compile.js';
import { checkPlanSources } from '../../src/runtime/bind.js';
import type { GatewayConfig } from '../../src/config/schema.js';
import { configWith } from './helpers.js';
import { createAuthorizer } from '../../src/runtime/create-authorizer.js';
import { portcullisMiddleware } from '../../src/adapters/middleware/node.js';
import { portcullisExpress } from '../../src/adapters/middleware/express.js';
import { createFastifyHook } from '../../src/adapters/middleware/fastify.js';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/validate.js';
import type { ValidatorConfig } from '../../src/config/validator-schema.js';

const PATH = '$.endpoints[0].extra_config["auth/validator"]';
/** What `check` reports about validators: compile errors, else what opening the static key sources finds. */
function checkValidators(config: GatewayConfig) {
  try {
    return checkPlanSources(compileGateway(config));
  } catch (error) {
    if (error instanceof ConfigError) return [...error.issues];
    throw error;
  }
}
const issuesFor = (validator: Record<string, unknown>, endpoint: Record<string, unknown> = {}) =>
  checkValidators(configWith({ ...endpoint, extra_config: { 'auth/validator': validator } }) as GatewayConfig);

describe('validator checks (compile, then the static key sources)', () => {
  let dir: string;
  let jwksFile: string;
  let jwksServer: Server;
  let jwksUrl: string;
  let jwksRequests = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-validators-'));
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    jwksFile = join(dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }] }));
    jwksServer = createServer((_req, res) => {
      jwksRequests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await new Promise((resolve) => jwksServer.close(resolve));
  });

  it('accepts valid blocks without downloading anything', () => {
    // Everything below is synchronous: a download it started would show now as a new timer or socket, or later as a request.
    const resourcesBefore = process.getActiveResourcesInfo();
    assert.deepEqual(issuesFor({ alg: 'RS256', jwk_url: jwksUrl }), []);
    assert.deepEqual(issuesFor({ alg: 'RS256', jwk_url: 'https://idp.example/jwks', scopes: ['read'], scopes_key: 'scope' }), []);
    assert.deepEqual(issuesFor({ alg: 'RS256', jwk_local_path: jwksFile, disable_jwk_security: true }), []);
    assert.deepEqual(issuesFor({ alg: 'RS256', jwk_url: jwksUrl, tenant: { from: 'param' } }, { endpoint: '/t/{tenant}' }), []);
    assert.deepEqual(process.getActiveResourcesInfo(), resourcesBefore, 'checking opened a timer or a socket');
    assert.equal(jwksRequests, 0);
  });

  it('ignores endpoints without a validator', () => {
    assert.deepEqual(checkValidators(configWith() as GatewayConfig), []);
  });

  it('requires exactly one key source', () => {
    assert.deepEqual(issuesFor({ alg: 'RS256' }), [
      { path: `${PATH}.jwk_url`, message: 'one key source is required: jwk_url, jwk_local_path, jwk_keys, discovery_url or oidc_discovery' },
    ]);
    assert.deepEqual(issuesFor({ alg: 'RS256', jwk_url: jwksUrl, jwk_local_path: jwksFile }), [
      { path: `${PATH}.jwk_local_path`, message: 'only one key source may be set, found jwk_url, jwk_local_path' },
    ]);
  });

  it('requires https for a non-loopback jwk_url unless disable_jwk_security', () => {
    assert.deepEqual(issuesFor({ alg: 'RS256', jwk_url: 'http://idp.example/jwks' }), [
      { path: `${PATH}.jwk_url`, message: 'JWKS URL http://idp.example must use https (http is allowed only for loopback hosts or with disable_jwk_security)' },
    ]);
    assert.deepEqual(issuesFor({ alg: 'RS256', jwk_url: 'http://idp.example/jwks', disable_jwk_security: true }), []);
  });

  it('rejects scopes without scopes_key', () => {
    assert.deepEqual(issuesFor({ alg: 'RS256', jwk_url: jwksUrl, scopes: ['read'] }), [
      { path: `${PATH}.scopes`, message: 'scopes need scopes_key (KrakenD would silently skip the check)' },
    ]);
  });

  it('requires a readable, valid jwk_local_path', () => {
    const missing = join(dir, 'missing.json');
    assert.deepEqual(issuesFor({ alg: 'RS256', jwk_local_path: missing }), [
      { path: `${PATH}.jwk_local_path`, message: `cannot read JWKS file ${missing}: ENOENT` },
    ]);
    const notJson = join(dir, 'not-json.json');
    writeFileSync(notJson, 'nope');
    assert.deepEqual(issuesFor({ alg: 'RS256', jwk_local_path: notJson }), [
      { path: `${PATH}.jwk_local_path`, message: `JWKS file ${notJson} is not JSON` },
    ]);
  });

  it('requires a readable jwk_local_ca', () => {
    const missing = join(dir, 'missing-ca.pem');
    assert.deepEqual(issuesFor({ alg: 'RS256', jwk_url: 'https://idp.example/jwks', jwk_local_ca: missing }), [
      { path: `${PATH}.jwk_local_ca`, message: `cannot read ${missing}: ENOENT` },
    ]);
  });

  it('requires the route parameter a tenant rule reads', () => {
    assert.deepEqual(issuesFor({ alg: 'RS256', jwk_url: jwksUrl, tenant: { from: 'param', name: 'org' } }, { endpoint: '/t/{tenant}' }), [
      { path: `${PATH}.tenant.name`, message: 'the endpoint has no {org} path parameter' },
    ]);
  });

  it('runs the validator schema on blocks that skipped the loader', () => {
    const issues = issuesFor({ alg: 'none', jwk_url: jwksUrl });
    assert.equal(issues.length, 1);
    assert.equal(issues[0]!.path, `${PATH}.alg`);
    assert.match(issues[0]!.message, /^must be one of "RS256", /);
  });

  it('reports the v1 alias block under its own path', () => {
    const config = configWith({ endpoint: '/x/{tenant}', extra_config: { 'github.com/devopsfaith/krakend-jose/validator': { alg: 'RS256', jwk_url: 'http://idp.example/jwks' } } });
    assert.deepEqual(checkValidators(config as GatewayConfig), [
      {
        path: '$.endpoints[0].extra_config["github.com/devopsfaith/krakend-jose/validator"].jwk_url',
        message: 'JWKS URL http://idp.example must use https (http is allowed only for loopback hosts or with disable_jwk_security)',
      },
    ]);
  });
});

describe('every entry point refuses a misspelled validator key, naming it and the likely intent', () => {
  const misspelled = { alg: 'RS256', jwk_url: 'https://idp.example/jwks', role: ['admin'], audiance: ['api'] } as unknown as ValidatorConfig;
  const expected = [
    { path: '$.role', message: 'unknown key; did you mean "roles"?' },
    { path: '$.audiance', message: 'unknown key; did you mean "audience"?' },
  ];

  it('the library (createAuthorizer)', () => {
    assert.throws(() => createAuthorizer(misspelled), (error: unknown) => error instanceof ConfigError && assert.deepEqual(error.issues, expected) === undefined);
  });

  it('the node:http, Express and Fastify middleware', () => {
    for (const create of [() => portcullisMiddleware(misspelled), () => portcullisExpress(misspelled), () => createFastifyHook(misspelled)]) {
      assert.throws(create, (error: unknown) => error instanceof ConfigError && assert.deepEqual(error.issues, expected) === undefined);
    }
  });

  it('the gateway and forward-auth loader (check and run)', () => {
    assert.throws(
      () => parseConfigText(JSON.stringify(configWith({ extra_config: { 'auth/validator': misspelled } })), 'c.json'),
      (error: unknown) =>
        error instanceof ConfigError &&
        assert.deepEqual(
          error.issues.map((issue) => issue.path),
          [`${PATH}.role`, `${PATH}.audiance`],
        ) === undefined,
    );
  });
});

describe('jwk_fingerprints', () => {
  const SHA = 'n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg';
  it('refuses a pin that is not the base64url SHA-256 of a key, which could never match', () => {
    assert.deepEqual(issuesFor({ alg: 'RS256', jwk_url: 'https://idp.example/jwks', jwk_fingerprints: ['base64-encoded-certificate-fingerprint', SHA, `${SHA}=`, 'n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg', `${SHA.slice(0, -1)}h`] }), [
      { path: `${PATH}.jwk_fingerprints[0]`, message: 'must be the base64url SHA-256 of a DER public key (43 characters, or 44 ending in "=")' },
      { path: `${PATH}.jwk_fingerprints[3]`, message: 'must be the base64url SHA-256 of a DER public key (43 characters, or 44 ending in "=")' },
      { path: `${PATH}.jwk_fingerprints[4]`, message: 'must be the base64url SHA-256 of a DER public key (43 characters, or 44 ending in "=")' },
    ]);
  });
});
