/**
 * `npm run bench:roca`: what the ROCA fingerprint check adds to an RSA key
 * import, next to createPublicKey and the whole importJwk. Rounds of 1,000
 * imports are interleaved and medians compared within this one run, because
 * the machine is shared.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { importJwk, type Jwk } from '../src/jwt/keys.js';
import { hasRocaFingerprint } from '../src/jwt/roca.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const IMPORTS = 1000;

// 16 distinct keys, cycled: generating 1,000 RSA keys would take minutes and measure nothing more.
const jwks = Array.from({ length: 16 }, (_, i) =>
  generateKeyPairSync('rsa', { modulusLength: i % 4 === 3 ? 4096 : 2048 }).publicKey.export({ format: 'jwk' }),
);

/** Microseconds per call of `fn` over IMPORTS calls. */
function perCall(fn: (jwk: (typeof jwks)[number]) => unknown): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < IMPORTS; i++) fn(jwks[i % jwks.length]!);
  return Number(process.hrtime.bigint() - start) / 1000 / IMPORTS;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const cases = {
  'ROCA check (decode n + test)': (jwk: (typeof jwks)[number]) => hasRocaFingerprint(Buffer.from(jwk.n!, 'base64url')),
  createPublicKey: (jwk: (typeof jwks)[number]) => createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' }),
  'importJwk (with the check)': (jwk: (typeof jwks)[number]) => importJwk(jwk as Jwk, ['RS256']),
};
const samples = new Map<string, number[]>(Object.keys(cases).map((name) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, fn] of Object.entries(cases)) samples.get(name)!.push(perCall(fn));
}
const medians = Object.fromEntries([...samples].map(([name, values]) => [name, median(values)]));
for (const [name, value] of Object.entries(medians)) console.log(`${name.padEnd(30)} ${value.toFixed(2).padStart(8)} µs per key (median of ${ROUNDS} rounds of ${IMPORTS})`);
const check = medians['ROCA check (decode n + test)']!;
console.log(`check / createPublicKey: ${((100 * check) / medians.createPublicKey!).toFixed(1)} %`);
console.log(`check / importJwk:       ${((100 * check) / medians['importJwk (with the check)']!).toFixed(1)} %`);
