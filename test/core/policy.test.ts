import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { claimRule, permissionsRule, rolesRule, scopesRule, tenantRule, type PolicyContext, type PolicyRule } from '../../src/authorizer/rules.js';
import { claimReader, isNestedPath, stringItems } from '../../src/jwt/claim-path.js';
import { AuthError, type FailureCode } from '../../src/jwt/errors.js';
import type { Claims } from '../../src/jwt/parse.js';

const NO_CONTEXT: PolicyContext = { headers: {} };
const claims = (json: string): Claims => JSON.parse(json) as Claims;

const allows = (rule: PolicyRule, value: Claims, context: PolicyContext = NO_CONTEXT): void => {
  assert.doesNotThrow(() => rule(value, context), JSON.stringify(value));
};
const denies = (rule: PolicyRule, value: Claims, code: FailureCode, context: PolicyContext = NO_CONTEXT): void => {
  assert.throws(
    () => rule(value, context),
    (error: unknown) => {
      assert.ok(error instanceof AuthError, String(error));
      assert.equal(error.code, code);
      return true;
    },
    JSON.stringify(value),
  );
};

describe('rolesRule (KrakenD: ANY)', () => {
  const rule = rolesRule(['admin', 'editor'], 'roles', false);

  test('any one role is enough', () => {
    allows(rule, { roles: ['editor'] });
    allows(rule, { roles: ['viewer', 'admin'] });
    denies(rule, { roles: ['viewer'] }, 'insufficient_roles');
    denies(rule, { roles: [] }, 'insufficient_roles');
    denies(rule, {}, 'insufficient_roles');
  });

  test('a space-separated string is a list; other strings match whole words only', () => {
    allows(rule, { roles: 'viewer admin' });
    allows(rule, { roles: 'admin' });
    denies(rule, { roles: 'administrator' }, 'insufficient_roles');
    denies(rule, { roles: 'viewer,admin' }, 'insufficient_roles');
    denies(rule, { roles: 'Admin' }, 'insufficient_roles');
  });

  test('non-string elements never match and never crash', () => {
    for (const roles of [[1], [null], [['admin']], [{ admin: true }], [true], { admin: true }, 1, null, true]) {
      denies(rule, { roles } as Claims, 'insufficient_roles');
    }
    allows(rule, { roles: [1, null, 'admin'] });
  });

  test('nested roles only with the flag, and never for http keys', () => {
    const value = claims('{"realm_access":{"roles":["admin"]},"realm_access.roles":["viewer"]}');
    denies(rolesRule(['admin'], 'realm_access.roles', false), value, 'insufficient_roles');
    allows(rolesRule(['viewer'], 'realm_access.roles', false), value);
    allows(rolesRule(['admin'], 'realm_access.roles', true), value);
    denies(rolesRule(['viewer'], 'realm_access.roles', true), value, 'insufficient_roles');
    const url = claims('{"https://example.com/roles":["admin"],"https://example":{"com/roles":["viewer"]}}');
    allows(rolesRule(['admin'], 'https://example.com/roles', true), url);
    denies(rolesRule(['viewer'], 'https://example.com/roles', true), url, 'insufficient_roles');
  });

  test('nested paths need objects at every level', () => {
    const rule2 = rolesRule(['admin'], 'a.b.c', true);
    allows(rule2, { a: { b: { c: ['admin'] } } });
    denies(rule2, { a: [{ b: { c: ['admin'] } }] }, 'insufficient_roles');
    denies(rule2, { a: { b: 'admin' } }, 'insufficient_roles');
    denies(rule2, { a: null }, 'insufficient_roles');
  });

  test('an empty role list allows everything', () => {
    allows(rolesRule([], 'roles', false), {});
  });
});

describe('scopesRule', () => {
  test('any (default) and all over a space-separated scope string', () => {
    const any = scopesRule(['read', 'write'], ['scope'], 'any');
    const all = scopesRule(['read', 'write'], ['scope'], 'all');
    allows(any, { scope: 'openid read' });
    denies(all, { scope: 'openid read' }, 'insufficient_scope');
    allows(all, { scope: 'write openid read' });
    allows(all, { scope: ['write', 'read'] });
    denies(any, { scope: 'readwrite' }, 'insufficient_scope');
    denies(any, {}, 'insufficient_scope');
    denies(any, { scope: [1, true, null] }, 'insufficient_scope');
    denies(all, { scope: ['read', 2] }, 'insufficient_scope');
  });

  test('a list of keys reads the first claim present (scope, then scp)', () => {
    const rule = scopesRule(['read'], ['scope', 'scp'], 'any');
    allows(rule, { scp: ['read'] });
    allows(rule, { scope: 'read', scp: [] });
    // The first present claim decides, even if a later one would match.
    denies(rule, { scope: 'write', scp: ['read'] }, 'insufficient_scope');
    denies(rule, { scope: 5, scp: ['read'] }, 'insufficient_scope');
  });

  test('a dotted scopes key is always a path (no http exception, as KrakenD)', () => {
    allows(scopesRule(['read'], ['ext.scopes'], 'any'), { ext: { scopes: 'read' } });
    denies(scopesRule(['read'], ['ext.scopes'], 'any'), { 'ext.scopes': 'read' }, 'insufficient_scope');
  });
});

describe('permissionsRule (ALL)', () => {
  const rule = permissionsRule(['users:read', 'users:write'], 'permissions');
  test('every permission is required', () => {
    allows(rule, { permissions: ['users:write', 'users:read', 'x'] });
    denies(rule, { permissions: ['users:read'] }, 'insufficient_permissions');
    denies(rule, { permissions: 'users:read,users:write' }, 'insufficient_permissions');
    allows(rule, { permissions: 'users:read users:write' });
    denies(rule, {}, 'insufficient_permissions');
    denies(rule, { permissions: [1, 2] }, 'insufficient_permissions');
  });
});

describe('tenantRule (Descope)', () => {
  const token = claims(
    '{"dct":"t1","roles":["top"],"permissions":["p:top"],"tenants":{"t1":{"roles":["admin","viewer"],"permissions":["p:read"]},"t2":{"roles":["viewer"]}}}',
  );

  test('tenant from a path parameter', () => {
    const rule = tenantRule({ from: 'param', roles: ['admin'] });
    allows(rule, token, { headers: {}, params: { tenant: 't1' } });
    denies(rule, token, 'insufficient_roles', { headers: {}, params: { tenant: 't2' } });
    denies(rule, token, 'tenant_not_allowed', { headers: {}, params: { tenant: 't3' } });
    denies(rule, token, 'tenant_not_allowed', { headers: {}, params: {} });
    denies(rule, token, 'tenant_not_allowed', { headers: {} });
    denies(rule, token, 'tenant_not_allowed', { headers: {}, params: { tenant: '' } });
  });

  test('tenant from a header (case-insensitive name, single value only)', () => {
    const rule = tenantRule({ from: 'header', roles: ['viewer'] });
    allows(rule, token, { headers: { 'x-tenant-id': 't2' } });
    denies(rule, token, 'tenant_not_allowed', { headers: { 'x-tenant-id': 'nope' } });
    denies(rule, token, 'tenant_not_allowed', { headers: { 'x-tenant-id': ['t1', 't2'] } });
    const named = tenantRule({ from: 'header', name: 'X-Org' });
    allows(named, token, { headers: { 'x-org': 't1' } });
  });

  test('tenant from a claim (dct by default)', () => {
    allows(tenantRule({ from: 'claim', roles: ['admin'], permissions: ['p:read'] }), token);
    denies(tenantRule({ from: 'claim', permissions: ['p:write'] }), token, 'insufficient_permissions');
    denies(tenantRule({ from: 'claim' }), { ...token, dct: 't9' }, 'tenant_not_allowed');
    denies(tenantRule({ from: 'claim' }), { tenants: token.tenants }, 'tenant_not_allowed');
    denies(tenantRule({ from: 'claim' }), { ...token, dct: 1 }, 'tenant_not_allowed');
  });

  test('roles and permissions matchers: all by default, any on request', () => {
    denies(tenantRule({ from: 'claim', roles: ['admin', 'owner'] }), token, 'insufficient_roles');
    allows(tenantRule({ from: 'claim', roles: ['admin', 'owner'], roles_matcher: 'any' }), token);
    denies(tenantRule({ from: 'claim', permissions: ['p:read', 'p:x'] }), token, 'insufficient_permissions');
    allows(tenantRule({ from: 'claim', permissions: ['p:read', 'p:x'], permissions_matcher: 'any' }), token);
  });

  test('dct without a tenants claim stands for membership, with the top-level roles', () => {
    const tenantOnly = claims('{"dct":"t1","roles":["admin"],"permissions":["p:read"]}');
    allows(tenantRule({ from: 'claim', roles: ['admin'], permissions: ['p:read'] }), tenantOnly);
    allows(tenantRule({ from: 'param', roles: ['admin'] }), tenantOnly, { headers: {}, params: { tenant: 't1' } });
    denies(tenantRule({ from: 'param' }), tenantOnly, 'tenant_not_allowed', { headers: {}, params: { tenant: 't2' } });
    denies(tenantRule({ from: 'claim', roles: ['owner'] }), tenantOnly, 'insufficient_roles');
  });

  test('with a tenants claim, dct alone does not grant membership; the top-level roles never count', () => {
    const value = claims('{"dct":"t1","roles":["admin"],"tenants":{"t2":{"roles":["admin"]}}}');
    denies(tenantRule({ from: 'claim' }), value, 'tenant_not_allowed');
    const inTenant = claims('{"dct":"t1","roles":["admin"],"tenants":{"t1":{"roles":["viewer"]}}}');
    denies(tenantRule({ from: 'claim', roles: ['admin'] }), inTenant, 'insufficient_roles');
  });

  test('malformed tenants claims never grant', () => {
    for (const tenants of ['[]', 'null', '"t1"', '{"t1":null}', '{"t1":["admin"]}', '{"t1":"admin"}', '1']) {
      denies(tenantRule({ from: 'claim' }), claims(`{"dct":"t1","roles":["admin"],"tenants":${tenants}}`), 'tenant_not_allowed');
    }
    denies(tenantRule({ from: 'claim', roles: ['admin'] }), claims('{"dct":"t1","tenants":{"t1":{"roles":[1,["admin"]]}}}'), 'insufficient_roles');
  });

  test('tenant ids that name Object.prototype members never reach it', () => {
    for (const tenant of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      denies(tenantRule({ from: 'param' }), claims('{"tenants":{}}'), 'tenant_not_allowed', { headers: {}, params: { tenant } });
      denies(tenantRule({ from: 'claim', name: 'org' }), claims(`{"org":"${tenant}","tenants":{"t1":{}}}`), 'tenant_not_allowed');
    }
    // A tenant genuinely named "__proto__" in the token is an own member and is honoured.
    allows(tenantRule({ from: 'param', roles: ['admin'] }), claims('{"tenants":{"__proto__":{"roles":["admin"]}}}'), { headers: {}, params: { tenant: '__proto__' } });
  });
});

describe('claimRule', () => {
  test('equals (string, number, boolean), strictly typed', () => {
    allows(claimRule({ claim: 'drn', equals: 'DS' }), { drn: 'DS' });
    denies(claimRule({ claim: 'drn', equals: 'DS' }), { drn: 'DSR' }, 'claim_mismatch');
    denies(claimRule({ claim: 'drn', equals: 'DS' }), {}, 'claim_mismatch');
    allows(claimRule({ claim: 'level', equals: 3 }), { level: 3 });
    denies(claimRule({ claim: 'level', equals: 3 }), { level: '3' }, 'claim_mismatch');
    allows(claimRule({ claim: 'email_verified', equals: true }), { email_verified: true });
    denies(claimRule({ claim: 'email_verified', equals: true }), { email_verified: 'true' }, 'claim_mismatch');
    denies(claimRule({ claim: 'email_verified', equals: true }), { email_verified: [true] }, 'claim_mismatch');
  });

  test('one_of', () => {
    const rule = claimRule({ claim: 'env', one_of: ['prod', 'stage', 1] });
    allows(rule, { env: 'stage' });
    allows(rule, { env: 1 });
    denies(rule, { env: 'dev' }, 'claim_mismatch');
    denies(rule, { env: '1' }, 'claim_mismatch');
    denies(rule, { env: ['prod'] }, 'claim_mismatch');
    denies(rule, {}, 'claim_mismatch');
  });

  test('contains (array or space-separated string)', () => {
    const rule = claimRule({ claim: 'amr', contains: 'mfa' });
    allows(rule, { amr: ['pwd', 'mfa'] });
    allows(rule, { amr: 'pwd mfa' });
    denies(rule, { amr: 'pwdmfa' }, 'claim_mismatch');
    denies(rule, { amr: [['mfa']] }, 'claim_mismatch');
    denies(rule, {}, 'claim_mismatch');
  });

  test('not_equals: absent or different passes (Descope: reject refresh tokens)', () => {
    const rule = claimRule({ claim: 'drn', not_equals: 'DSR' });
    allows(rule, {});
    allows(rule, { drn: 'DS' });
    denies(rule, { drn: 'DSR' }, 'claim_mismatch');
  });

  test('nested paths, and http claims stay flat', () => {
    allows(claimRule({ claim: 'org.plan', equals: 'pro' }), { org: { plan: 'pro' } });
    denies(claimRule({ claim: 'org.plan', equals: 'pro' }), { 'org.plan': 'pro' }, 'claim_mismatch');
    allows(claimRule({ claim: 'http://example.com/is_root', equals: true }), { 'http://example.com/is_root': true });
  });

  test('prototype names are never read from Object.prototype', () => {
    for (const claim of ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'a.constructor', 'constructor.name']) {
      allows(claimRule({ claim, not_equals: 'x' }), {});
      denies(claimRule({ claim, equals: 'Object' }), claims('{"a":{}}'), 'claim_mismatch');
      denies(claimRule({ claim, contains: 'x' }), {}, 'claim_mismatch');
      denies(rolesRule(['function'], claim, true), {}, 'insufficient_roles');
      denies(scopesRule(['Object'], [claim], 'any'), {}, 'insufficient_scope');
      denies(permissionsRule(['x'], claim), {}, 'insufficient_permissions');
      assert.equal(claimReader(claim, isNestedPath(claim))({}), undefined, claim);
    }
    // As own members (from a token) they are ordinary claims.
    allows(claimRule({ claim: '__proto__', equals: 'x' }), claims('{"__proto__":"x"}'));
    allows(claimRule({ claim: 'constructor', equals: 'x' }), claims('{"constructor":"x"}'));
  });
});

describe('claim-path helpers', () => {
  test('isNestedPath', () => {
    assert.equal(isNestedPath('a.b'), true);
    assert.equal(isNestedPath('ab'), false);
    assert.equal(isNestedPath('https://x.com/roles'), false);
    assert.equal(isNestedPath('http.roles'), false, 'KrakenD: any key starting with "http" stays flat');
  });

  test('stringItems', () => {
    assert.deepEqual(stringItems('a  b '), ['a', 'b']);
    assert.deepEqual(stringItems(['a', 1, null, 'b', ['c']]), ['a', 'b']);
    assert.deepEqual(stringItems(undefined), []);
    assert.deepEqual(stringItems({ 0: 'a', length: 1 }), []);
  });
});
