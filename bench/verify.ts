/**
 * `npm run bench:verify`: cold verification against raw node:crypto.verify on
 * the same token, and the cached authorize rate. Rounds are interleaved and
 * medians compared within this one run, because the machine is shared.
 */
import { constants, generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { SignJWT, exportJWK, importJWK } from 'jose';
import type * as Portcullis from '../src/index.js';
import type { Alg, ValidatorConfig } from '../src/index.js';

// Measure the compiled library, as users run it (`npm run build` first).
const library = (await import(new URL('../dist/src/index.js', import.meta.url).href)) as typeof Portcullis;
const { createAuthorizer } = library;

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 300);

interface Case {
  alg: Alg;
  hash: string | null;
  dsaEncoding?: 'ieee-p1363';
  padding?: number;
  keys: { publicKey: KeyObject; privateKey: KeyObject };
}

function keysFor(alg: Alg) {
  if (alg === 'RS256') return generateKeyPairSync('rsa', { modulusLength: 2048 });
  if (alg === 'ES256') return generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return generateKeyPairSync('ed25519');
}

const cases: Case[] = [
  { alg: 'RS256', hash: 'sha256', keys: keysFor('RS256') },
  { alg: 'ES256', hash: 'sha256', dsaEncoding: 'ieee-p1363', keys: keysFor('ES256') },
  { alg: 'EdDSA', hash: null, keys: keysFor('EdDSA') },
];

/** Operations per second of `fn`, run repeatedly for about `ROUND_MS`. */
function rate(fn: () => unknown): number {
  let ops = 0;
  const batch = 64;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ROUND_MS) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < batch; i++) fn();
    ops += batch;
    now = process.hrtime.bigint();
  }
  return ops / (Number(now - start) / 1e9);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function assertAllowed(decision: unknown): void {
  if (!(decision as { allowed?: boolean }).allowed) throw new Error(`benchmark token was denied: ${JSON.stringify(decision)}`);
}

const now = Math.floor(Date.now() / 1000);
const rows: string[] = [];
let allMet = true;

for (const c of cases) {
  const jwk = { ...(await exportJWK(c.keys.publicKey)), kid: 'bench', alg: c.alg, use: 'sig' };
  const token = await new SignJWT({ sub: 'user-1', roles: ['admin'], iss: 'https://issuer.example', aud: 'api' })
    .setProtectedHeader({ alg: c.alg, kid: 'bench', typ: 'JWT' })
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(await importJWK({ ...(await exportJWK(c.keys.privateKey)), alg: c.alg }, c.alg));

  const config = { alg: c.alg, jwk_keys: [jwk], issuer: 'https://issuer.example', audience: ['api'], roles: ['admin'] } as ValidatorConfig;
  const cold = createAuthorizer(config, { cacheSize: 0 });
  const request = { headers: { authorization: `Bearer ${token}` } };
  assertAllowed(cold.authorize(request));

  const [h, p, s] = token.split('.') as [string, string, string];
  const data = Buffer.from(`${h}.${p}`);
  const signature = Buffer.from(s, 'base64url');
  const keyOptions = c.dsaEncoding ? { key: c.keys.publicKey, dsaEncoding: c.dsaEncoding } : c.padding ? { key: c.keys.publicKey, padding: constants.RSA_PKCS1_PADDING } : c.keys.publicKey;
  if (!verify(c.hash, data, keyOptions, signature)) throw new Error('raw verify failed');

  const raw: number[] = [];
  const ours: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    raw.push(rate(() => verify(c.hash, data, keyOptions, signature)));
    ours.push(rate(() => cold.authorize(request)));
  }
  const ratio = median(ours) / median(raw);
  const met = ratio >= 0.85;
  allMet &&= met;
  rows.push(
    `${c.alg.padEnd(6)} cold authorize ${median(ours).toFixed(0).padStart(8)}/s   raw crypto.verify ${median(raw).toFixed(0).padStart(8)}/s   ratio ${ratio.toFixed(3)}  (target ≥ 0.85) ${met ? 'met' : 'MISSED'}`,
  );
  cold.close();
}

{
  const c = cases[0]!;
  const jwk = { ...(await exportJWK(c.keys.publicKey)), kid: 'bench', alg: c.alg };
  const token = await new SignJWT({ sub: 'user-1', roles: ['admin', 'reader'], iss: 'https://issuer.example', aud: ['api'], tenants: { t1: { roles: ['owner'] } } })
    .setProtectedHeader({ alg: c.alg, kid: 'bench' })
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(await importJWK({ ...(await exportJWK(c.keys.privateKey)), alg: c.alg }, c.alg));
  const cached = createAuthorizer({
    alg: 'RS256',
    jwk_keys: [jwk],
    issuer: 'https://issuer.example',
    audience: ['api'],
    roles: ['admin'],
    propagate_claims: [['sub', 'X-User'], ['roles', 'X-Roles']],
  } as ValidatorConfig);
  const request = { headers: { authorization: `Bearer ${token}` } };
  assertAllowed(cached.authorize(request));
  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) rates.push(rate(() => cached.authorize(request)));
  const perSecond = median(rates);
  const met = perSecond >= 2_000_000;
  allMet &&= met;
  rows.push(`cached authorize ${perSecond.toFixed(0).padStart(10)}/s on one core (target ≥ 2,000,000) ${met ? 'met' : 'MISSED'}`);
  cached.close();
}

console.log(`bench:verify — medians of ${ROUNDS} interleaved rounds of ${ROUND_MS} ms (node ${process.version})`);
for (const row of rows) console.log(row);
console.log(allMet ? 'all targets met' : 'some targets missed');
