/**
 * Property tests: arbitrary strings and mutated valid tokens never make the
 * parser or verifier throw anything but AuthError, are never accepted, and
 * never echo the token in an error. FUZZ_RUNS sets the runs per property.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { parseCompactJws } from '../../src/jwt/parse.js';
import { verifyJws } from '../../src/authorizer/verify-jws.js';
import { AuthError } from '../../src/jwt/errors.js';
import { importJwk, type Jwk, type VerificationKey } from '../../src/jwt/keys.js';
import { SUPPORTED_ALGS, type Alg } from '../../src/jwt/algorithms.js';
import { applyMutations, B64URL, mutationArb } from '../support/mutations.js';
import { createMintingKey, mintJwt } from '../support/vectors.js';

const RUNS = Math.max(1, Number(process.env.FUZZ_RUNS ?? 150) || 150);
const ALGS: Alg[] = ['HS256', 'ES256', 'EdDSA', 'RS256', 'PS256'];

interface Sample {
  alg: Alg;
  token: string;
  keys: VerificationKey[];
}
const samples: Sample[] = [];

before(async () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  for (const alg of ALGS) {
    const key = await createMintingKey(alg, rsa);
    const token = await mintJwt(key, { sub: 'alice', exp: 4_000_000_000, roles: ['admin'], nested: { a: [1, 'x'] } }, { kid: 'k1', typ: 'JWT' });
    const keys = [importJwk({ ...key.publicJwk, kid: 'k1' } as Jwk, [alg])];
    // The check below is only meaningful if the unmutated token verifies.
    assert.equal((await verifyJws(token, keys, { algorithms: [alg] })).claims.sub, 'alice');
    samples.push({ alg, token, keys });
  }
});

/** Parsing may succeed; if it fails, it fails with an AuthError that does not quote the token. */
function parseIsSafe(token: string): void {
  try {
    parseCompactJws(token);
  } catch (error) {
    assertCleanAuthError(error, token);
  }
}

/** Verification must fail, with an AuthError that does not quote the token. */
async function verifyRejects(token: string, keys: VerificationKey[], algorithms: readonly Alg[]): Promise<void> {
  let accepted = false;
  try {
    await verifyJws(token, keys, { algorithms });
    accepted = true;
  } catch (error) {
    assertCleanAuthError(error, token);
  }
  assert.equal(accepted, false, `accepted a token it must refuse: ${JSON.stringify(token.slice(0, 120))}`);
}

function assertCleanAuthError(error: unknown, token: string): void {
  assert.ok(error instanceof AuthError, `threw ${String(error)} for ${JSON.stringify(token.slice(0, 120))}`);
  if (token.length >= 12) assert.equal(error.message.includes(token), false, 'the error quotes the token');
}

const sampleArb = fc.integer({ min: 0, max: ALGS.length - 1 }).map((i) => samples[i]!);

describe('fuzz: parseCompactJws and verifyJws', () => {
  test('arbitrary strings: only AuthError, never accepted', async () => {
    const tokenLike = fc
      .array(fc.oneof(fc.constantFrom(...B64URL), fc.constantFrom('.', '=', '+', '/', ' ')), { maxLength: 200 })
      .map((chars) => chars.join(''));
    const encodedJson = fc
      .tuple(fc.jsonValue({ maxDepth: 4 }), fc.jsonValue({ maxDepth: 4 }), fc.uint8Array({ maxLength: 80 }))
      .map(([h, p, s]) => [h, p].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).concat(Buffer.from(s).toString('base64url')).join('.'));
    const headerWithAlg = fc
      .tuple(fc.constantFrom(...SUPPORTED_ALGS, 'none', 'None'), fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }), fc.jsonValue({ maxDepth: 3 }), fc.uint8Array({ minLength: 1, maxLength: 300 }))
      .map(([alg, extra, payload, sig]) => [{ ...extra, alg }, payload].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).concat(Buffer.from(sig).toString('base64url')).join('.'));
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 100 }), tokenLike, encodedJson, headerWithAlg), sampleArb, async (token, sample) => {
        parseIsSafe(token);
        await verifyRejects(token, sample.keys, SUPPORTED_ALGS);
      }),
      { numRuns: RUNS },
    );
  });

  test('mutated valid tokens: only AuthError, never accepted', async () => {
    await fc.assert(
      fc.asyncProperty(sampleArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), async (sample, mutations) => {
        const mutated = applyMutations(sample.token, mutations, samples.map((other) => other.token));
        fc.pre(mutated !== sample.token);
        parseIsSafe(mutated);
        await verifyRejects(mutated, sample.keys, [sample.alg]);
        await verifyRejects(mutated, sample.keys, SUPPORTED_ALGS);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  test('deep, long and duplicate-heavy JSON never escapes as anything but AuthError', async () => {
    const hostile = fc.oneof(
      fc.integer({ min: 1, max: 20_000 }).map((n) => `{"a":${'['.repeat(n)}${']'.repeat(n)}}`),
      fc.integer({ min: 1, max: 20_000 }).map((n) => `{"a":${'['.repeat(n)}`),
      fc.integer({ min: 1, max: 2_000 }).map((n) => `{${Array.from({ length: n }, () => '"a":1').join(',')}}`),
      fc.integer({ min: 1, max: 2_000 }).map((n) => `{"a":"${'\\'.repeat(n)}"}`),
      fc.integer({ min: 1, max: 2_000 }).map((n) => `{"a":"${'\\"'.repeat(n)}}`),
    );
    await fc.assert(
      fc.asyncProperty(hostile, fc.boolean(), sampleArb, async (json, inHeader, sample) => {
        const encoded = Buffer.from(json).toString('base64url');
        const [h, p, s] = sample.token.split('.') as [string, string, string];
        const token = inHeader ? `${encoded}.${p}.${s}` : `${h}.${encoded}.${s}`;
        parseIsSafe(token);
        await verifyRejects(token, sample.keys, SUPPORTED_ALGS);
      }),
      { numRuns: Math.max(1, Math.floor(RUNS / 3)) },
    );
  });
});
