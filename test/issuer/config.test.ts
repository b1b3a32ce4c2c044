import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../src/config/validate.js';
import { DEFAULT_PROJECT_ID, resolveIssuerConfig } from '../../src/issuer/config.js';
import { DEFAULT_ISSUER_CONFIG } from '../../src/issuer/default-config.js';
import { parseTtlSeconds } from '../../src/issuer/mint-request.js';
import { fromRoot } from '../support/repo-root.js';

function issuesOf(raw: unknown): { path: string; message: string }[] {
  try {
    resolveIssuerConfig(raw);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return [...error.issues];
  }
  assert.fail('expected a ConfigError');
}

describe('issuer config', () => {
  test('examples/issuer.json is the built-in default', () => {
    const file = JSON.parse(readFileSync(fromRoot('examples/issuer.json'), 'utf8')) as unknown;
    assert.deepEqual(file, DEFAULT_ISSUER_CONFIG);
  });

  test('the default resolves with Descope-like defaults', () => {
    const settings = resolveIssuerConfig(DEFAULT_ISSUER_CONFIG);
    assert.equal(settings.projectId, DEFAULT_PROJECT_ID);
    assert.equal(settings.issuerForm, 'apps');
    assert.equal(settings.alg, 'RS256');
    assert.equal(settings.keepRotatedKeys, 12);
    assert.equal(settings.sessionTtlSeconds, 600);
    assert.deepEqual(settings.rolePermissions.get('admin'), ['reports:read', 'users:write']);
    assert.equal(settings.accessKeys.length, 1);
  });

  test('an empty config is valid: defaults everywhere', () => {
    const settings = resolveIssuerConfig({});
    assert.equal(settings.projectId, DEFAULT_PROJECT_ID);
    assert.equal(settings.accessKeys.length, 0);
    assert.deepEqual(settings.amr, ['pwd']);
  });

  test('overrides win over the file', () => {
    const settings = resolveIssuerConfig({ project_id: 'P2file', alg: 'RS256' }, { projectId: 'P2flag', alg: 'EdDSA', issuerForm: 'url' });
    assert.equal(settings.projectId, 'P2flag');
    assert.equal(settings.alg, 'EdDSA');
    assert.equal(settings.issuerForm, 'url');
  });

  test('errors name their JSON path', () => {
    assert.deepEqual(
      issuesOf({
        roles: [{ name: 'admin' }],
        tenants: [{ id: 'T1' }],
        users: [{ id: 'U1', roles: ['admn'], tenants: [{ id: 'T9', roles: ['admin'] }] }],
        template: { claims: { sub: 'x' } },
      }),
      [
        { path: '$.template.claims.sub', message: '"sub" is a reserved claim' },
        { path: '$.users[0].roles[0]', message: 'unknown role "admn" (not in $.roles)' },
        { path: '$.users[0].tenants[0].id', message: 'unknown tenant "T9" (not in $.tenants)' },
      ],
    );
    assert.deepEqual(issuesOf({ alg: 'HS256' }), [{ path: '$.alg', message: 'must be one of "RS256", "ES256", "ES384", "EdDSA"' }]);
    assert.deepEqual(issuesOf({ projectid: 'x' }), [{ path: '$.projectid', message: 'unknown key; did you mean "project_id"?' }]);
    assert.deepEqual(issuesOf({ public_base_url: 'http://host/path' })[0]?.path, '$.public_base_url');
  });

  test('a duplicate access key is reported without echoing the secret', () => {
    const issues = issuesOf({ access_keys: [{ id: 'K1', key: 'secret-secret' }, { id: 'K2', key: 'secret-secret' }] });
    assert.deepEqual(issues, [{ path: '$.access_keys[1].key', message: 'duplicate access key' }]);
  });

  test('ttl parsing: durations, seconds, negative for expired, limits', () => {
    assert.equal(parseTtlSeconds('10m'), 600);
    assert.equal(parseTtlSeconds('1h30m'), 5400);
    assert.equal(parseTtlSeconds('90'), 90);
    assert.equal(parseTtlSeconds(90), 90);
    assert.equal(parseTtlSeconds('-5m'), -300);
    assert.throws(() => parseTtlSeconds('soon'), /ttl must be/);
    assert.throws(() => parseTtlSeconds('9999h'), /within a year/);
    assert.throws(() => parseTtlSeconds(1.5), /ttl must be/);
  });
});
