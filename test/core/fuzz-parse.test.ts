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
import { createMintingKey, mintJwt } from '../support/vectors.js';

const RUNS = Math.max(1, Number(process.env.FUZZ_RUNS ?? 150) || 150);
const ALGS: Alg[] = ['HS256', 'ES256', 'EdDSA', 'RS256', 'PS256'];
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('');

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

/** One mutation of a compact token; the result always differs from the input. */
const mutationArb = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 6 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), order: fc.constantFrom([1, 0, 2], [0, 2, 1], [2, 1, 0], [1, 2, 0], [2, 0, 1]) }),
  fc.record({ kind: fc.constant('pad' as const), segment: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant('standard-base64' as const), segment: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom('.', '=', ' ', '\n', '+', '/', '%', 'é', '\u0000'), fc.constantFrom(...B64URL)) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('replace-char' as const), at: fc.nat(), char: fc.constantFrom(...B64URL) }),
  fc.record({ kind: fc.constant('extra-segment' as const), segment: fc.integer({ min: 0, max: 2 }) }),
);

type Mutation = typeof mutationArb extends fc.Arbitrary<infer T> ? T : never;

function mutate(token: string, mutation: Mutation): string {
  // Earlier mutations in a chain may have emptied the token or dropped segments.
  if (token.length === 0) return '.';
  const parts = token.split('.');
  while (parts.length < 3) parts.push('');
  switch (mutation.kind) {
    case 'flip': {
      const at = mutation.at % token.length;
      return token.slice(0, at) + String.fromCharCode(token.charCodeAt(at) ^ (1 << mutation.bit)) + token.slice(at + 1);
    }
    case 'truncate':
      return token.slice(0, mutation.at % token.length);
    case 'swap':
      return mutation.order.map((i) => parts[i]!).join('.');
    case 'pad': {
      const segment = parts[mutation.segment]!;
      parts[mutation.segment] = segment + '='.repeat((4 - (segment.length % 4)) % 4 || 4);
      return parts.join('.');
    }
    case 'standard-base64':
      parts[mutation.segment] = Buffer.from(parts[mutation.segment]!, 'base64url').toString('base64');
      return parts.join('.');
    case 'insert': {
      const at = mutation.at % (token.length + 1);
      return token.slice(0, at) + mutation.text + token.slice(at);
    }
    case 'delete': {
      const at = mutation.at % token.length;
      return token.slice(0, at) + token.slice(at + mutation.length);
    }
    case 'replace-char': {
      const at = mutation.at % token.length;
      return token.slice(0, at) + mutation.char + token.slice(at + 1);
    }
    case 'extra-segment':
      return `${token}.${parts[mutation.segment]!}`;
  }
}

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
        const mutated = mutations.reduce(mutate, sample.token);
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
