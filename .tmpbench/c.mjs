import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, exportJWK, importJWK } from 'jose';
const lib = await import(process.argv[2]);
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256' };
const now = Math.floor(Date.now() / 1000);
const token = await new SignJWT({ sub: 'user-1', roles: ['admin', 'reader'], iss: 'https://issuer.example', aud: ['api'] })
  .setProtectedHeader({ alg: 'RS256', kid: 'bench' }).setIssuedAt(now).setExpirationTime(now + 3600)
  .sign(await importJWK({ ...(await exportJWK(privateKey)), alg: 'RS256' }, 'RS256'));
const a = lib.createAuthorizer({ alg: 'RS256', jwk_keys: [jwk], issuer: 'https://issuer.example', audience: ['api'], roles: ['admin'], propagate_claims: [['sub', 'X-User'], ['roles', 'X-Roles']] });
const req = { headers: { authorization: `Bearer ${token}` } };
if (!a.authorize(req).allowed) throw new Error('denied');
const rates = [];
for (let r = 0; r < 7; r++) {
  const t0 = process.hrtime.bigint(); let n = 0;
  while (process.hrtime.bigint() - t0 < 300_000_000n) { for (let i = 0; i < 256; i++) a.authorize(req); n += 256; }
  rates.push(n / (Number(process.hrtime.bigint() - t0) / 1e9));
}
rates.sort((x, y) => x - y);
console.log(process.argv[2].includes('oldp') ? 'old' : 'new', Math.round(rates[3]));
