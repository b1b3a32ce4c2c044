/**
 * The Node middleware enforces revocations given to it (`revocation` option):
 * the same check, at the same place, as every other front door.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMemoryRevocationStore, portcullisMiddleware } from '../../src/index.js';
import { nowSeconds } from '../support/clock.js';
import { generateSigningKey, jwksOf, mintToken, startJwksServer } from '../support/jwks-server.js';

test('a revoked subject gets 401 token_revoked from the middleware; others pass', async () => {
  const jwks = await startJwksServer();
  const key = await generateSigningKey('mw-rev');
  jwks.setKeys(jwksOf(key));
  const store = createMemoryRevocationStore();
  const middleware = portcullisMiddleware({ alg: 'RS256', jwk_url: jwks.url('/jwks') }, { revocation: { store } });
  const server = createServer((req, res) => middleware(req, res, () => res.end('ok')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    const iat = nowSeconds() - 5;
    const alice = await mintToken(key, { sub: 'alice', iat, exp: iat + 600 });
    const bob = await mintToken(key, { sub: 'bob', iat, exp: iat + 600 });
    assert.equal((await fetch(url, { headers: { authorization: `Bearer ${alice}` } })).status, 200);
    await store.revoke({ kind: 'sub', value: 'alice', before: nowSeconds(), expiresAt: nowSeconds() + 3600 });
    const denied = await fetch(url, { headers: { authorization: `Bearer ${alice}` } });
    assert.equal(denied.status, 401);
    assert.equal(((await denied.json()) as { code: string }).code, 'token_revoked');
    assert.equal((await fetch(url, { headers: { authorization: `Bearer ${bob}` } })).status, 200);
  } finally {
    middleware.close();
    await store.close();
    await new Promise((resolve) => server.close(resolve));
    await jwks.close();
  }
});
