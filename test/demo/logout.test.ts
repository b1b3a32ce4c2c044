/**
 * "Log out everywhere" in the demo: the issuer's logout revokes the subject in
 * the demo gateway's revocation set, so a token that worked gets 401
 * `token_revoked`, while a token minted afterwards (a new login) works.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo } from '../../src/demo/run-demo.js';

test('POST /admin/logout on the demo issuer: old tokens 401 token_revoked, a new login 200', async () => {
  const demo = await startDemo({ issuerPort: 0, backendPort: 0, gatewayPort: 0 });
  try {
    const mint = async (): Promise<string> => {
      const response = await fetch(`${demo.issuer.url}/admin/mint`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user":"alice"}' });
      assert.equal(response.status, 200);
      return ((await response.json()) as { sessionJwt: string }).sessionJwt;
    };
    const call = (token: string) => fetch(`${demo.gateway.url}/descope-protected`, { headers: { authorization: `Bearer ${token}` } });
    const old = await mint();
    assert.equal((await call(old)).status, 200);
    // As the demo prints it: a demo user by name.
    const logout = await fetch(`${demo.issuer.url}/admin/logout`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user":"alice"}' });
    assert.equal(logout.status, 200);
    assert.match(((await logout.json()) as { revokedBefore: string }).revokedBefore, /^\d{4}-\d{2}-\d{2}T/);
    const denied = await call(old);
    assert.equal(denied.status, 401);
    assert.equal(((await denied.json()) as { code: string }).code, 'token_revoked');
    // iat has whole seconds and the logout covers the second it was made in: a login from the next second on works.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal((await call(await mint())).status, 200);
    const bad = await fetch(`${demo.issuer.url}/admin/logout`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"alice"}' });
    assert.equal(bad.status, 400);
  } finally {
    await demo.close();
  }
});
