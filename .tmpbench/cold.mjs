import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, exportJWK, importJWK } from 'jose';
const lib = await import('/work/main/dist/src/index.js');
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256', use: 'sig' };
const now = Math.floor(Date.now() / 1000);
const token = await new SignJWT({ sub: 'user-1', roles: ['admin'], iss: 'https://issuer.example', aud: 'api' })
  .setProtectedHeader({ alg: 'RS256', kid: 'bench', typ: 'JWT' }).setIssuedAt(now).setExpirationTime(now + 3600)
  .sign(await importJWK({ ...(await exportJWK(privateKey)), alg: 'RS256' }, 'RS256'));
const a = lib.createAuthorizer({ alg: 'RS256', jwk_keys: [jwk], issuer: 'https://issuer.example', audience: ['api'], roles: ['admin'] }, { cacheSize: 0 });
const req = { headers: { authorization: `Bearer ${token}` } };
if (!a.authorize(req).allowed) throw new Error('denied');
const t0 = process.hrtime.bigint(); let n = 0;
while (process.hrtime.bigint() - t0 < 4_000_000_000n) { for (let i = 0; i < 64; i++) a.authorize(req); n += 64; }
console.log('cold/s', Math.round(n / (Number(process.hrtime.bigint() - t0) / 1e9)));
