/**
 * The Lambda door with revocations from a real redis-server: what the gateway
 * fleet revokes, a warm container refuses too (401 Unauthorized, as API
 * Gateway maps it), a cold container waits for its first load before the
 * first answer, and `failClosed` turns an unreachable store into a 500 (never
 * a cached answer, never an accept).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLambdaAuthorizer, type LambdaAuthorizerHandler } from '../../src/adapters/lambda/authorizer.js';
import { ConfigError } from '../../src/config/validate.js';
import { createRedisRevocationStore, type RedisRevocationStore } from '../../src/revocation/redis-store.js';
import { unusedPort } from '../support/backend-server.js';
import { nowSeconds } from '../support/clock.js';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { redisSkip, startRedisServer, type RedisServer } from '../support/redis-server.js';

const METHOD_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/orders';
const tokenEvent = (authorizationToken: string) => ({ type: 'TOKEN' as const, authorizationToken, methodArn: METHOD_ARN });

describe('Lambda revocation through Redis', { skip: redisSkip }, () => {
  let redis: RedisServer;
  let jwks: JwksServer;
  let key: TestSigningKey;
  let operator: RedisRevocationStore;

  before(async () => {
    redis = await startRedisServer();
    jwks = await startJwksServer();
    key = await generateSigningKey('lambda-rev');
    jwks.setKeys(jwksOf(key));
    // What `portcullis revoke` does: write through a store of its own.
    operator = createRedisRevocationStore({ redis: redis.url });
    await operator.ready();
  });
  after(async () => {
    await operator.close();
    await jwks.close();
    await redis.close();
  });

  const validator = () => ({ alg: 'RS256' as const, jwk_url: jwks.url('/jwks') });
  const mint = (sub: string, iat = nowSeconds() - 5) => mintToken(key, { sub, iat, exp: iat + 600 });

  test('a revocation written before the cold start and one written while warm are both refused', async () => {
    await operator.revoke({ kind: 'sub', value: 'mallory', before: nowSeconds(), expiresAt: nowSeconds() + 3600 });
    let handler: LambdaAuthorizerHandler | undefined;
    try {
      handler = createLambdaAuthorizer({ validator: validator(), resultCache: 'off', revocation: { urlEnv: 'TEST_REDIS_URL' } }, { env: { TEST_REDIS_URL: redis.url } });
      // The first invocation waits for the set: the earlier revocation already holds.
      await assert.rejects(handler(tokenEvent(`Bearer ${await mint('mallory')}`)), /Unauthorized/);
      const alice = await mint('alice');
      const allowed = await handler(tokenEvent(`Bearer ${alice}`));
      assert.equal((allowed as { policyDocument: { Statement: { Effect: string }[] } }).policyDocument.Statement[0]!.Effect, 'Allow');
      await operator.revoke({ kind: 'sub', value: 'alice', before: nowSeconds(), expiresAt: nowSeconds() + 3600 });
      const started = Date.now();
      for (;;) {
        try {
          await handler(tokenEvent(`Bearer ${alice}`));
        } catch (error) {
          assert.match((error as Error).message, /Unauthorized/);
          break;
        }
        assert.ok(Date.now() - started < 1000, 'the revocation reached the warm container within a second');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    } finally {
      handler?.close();
    }
  });

  test('failClosed with an unreachable store: an error (API Gateway answers 500), not an Allow', async () => {
    const port = await unusedPort();
    const handler = createLambdaAuthorizer({
      validator: validator(),
      resultCache: 'off',
      revocation: { url: `redis://127.0.0.1:${port}`, failClosed: true, initialLoadWaitMs: 100 },
    });
    try {
      await assert.rejects(handler(tokenEvent(`Bearer ${await mint('alice')}`)), (error: Error) => error.message !== 'Unauthorized');
    } finally {
      handler.close();
    }
  });
});

describe('Lambda revocation config', () => {
  test('Redis only, one of url and urlEnv, known keys; a missing environment variable names it', () => {
    const validator = { alg: 'RS256' as const, jwk_url: 'https://example.com/jwks' };
    const refused = (revocation: unknown, pattern: RegExp) =>
      assert.throws(
        () => createLambdaAuthorizer({ validator, revocation } as never),
        (error: unknown) => error instanceof ConfigError && error.issues.some((issue) => pattern.test(`${issue.path} ${issue.message}`)),
      );
    refused({}, /\$\.revocation needs exactly one of "url" and "urlEnv"/);
    refused({ url: 'http://x' }, /\$\.revocation\.url must start with redis/);
    refused({ urlEnv: 'X', store: 'memory' }, /\$\.revocation\.store/);
    refused({ urlEnv: 'X', maxStalenessMs: -1 }, /maxStalenessMs/);
    assert.throws(
      () => createLambdaAuthorizer({ validator, revocation: { urlEnv: 'NOT_SET_ANYWHERE' } }, { env: {} }),
      (error: unknown) => error instanceof ConfigError && /NOT_SET_ANYWHERE is not set/.test(error.issues[0]!.message),
    );
  });
});
