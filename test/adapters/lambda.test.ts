/**
 * The Lambda authorizer with the exact event shapes of cloud-authorizers.md
 * §2 against a JWKS server on 127.0.0.1: the IAM and simple answers, the
 * 401 / 403 / 500 outcomes as API Gateway reads them, flat string context,
 * key sets kept across warm invocations, and the esbuild bundle.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import { createLambdaAuthorizer, KeysUnavailableError, type LambdaAuthorizerConfig } from '../../src/adapters/lambda/authorizer.js';
import type { IamPolicyResult, SimpleResult } from '../../src/adapters/lambda/response.js';
import { ConfigError } from '../../src/config/validate.js';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';

let jwks: JwksServer;
let key: TestSigningKey;
const now = () => Math.floor(Date.now() / 1000);
const METHOD_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/orders/42';
const ROUTE_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request';

function lambdaConfig(extra: Partial<LambdaAuthorizerConfig> = {}, validatorExtra: Record<string, unknown> = {}): LambdaAuthorizerConfig {
  return {
    validator: { alg: 'RS256', jwk_url: jwks.url(), issuer: 'https://api.descope.com/P2abc', audience: ['P2abc'], roles: ['admin'], cookie_key: 'DS', ...validatorExtra },
    ...extra,
  };
}

async function token(claims: Record<string, unknown> = {}): Promise<string> {
  return mintToken(key, {
    iss: 'https://api.descope.com/P2abc',
    aud: ['P2abc'],
    sub: 'U2abc',
    roles: ['admin', 'support'],
    tenants: { T2t1: { roles: ['admin'] } },
    amr: ['pwd'],
    mfa: true,
    exp: now() + 600,
    ...claims,
  });
}

const tokenEvent = (authorizationToken: string) => ({ type: 'TOKEN' as const, authorizationToken, methodArn: METHOD_ARN });

/** §2.2 verbatim, with the credential in place. */
function requestEvent(headers: Record<string, string>, multiValueHeaders: Record<string, string[]> = {}) {
  return {
    type: 'REQUEST' as const,
    methodArn: 'arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request',
    resource: '/request',
    path: '/request',
    httpMethod: 'GET',
    headers,
    multiValueHeaders,
    queryStringParameters: {},
    multiValueQueryStringParameters: {},
    pathParameters: {},
    stageVariables: {},
    requestContext: {
      path: '/request',
      accountId: '123456789012',
      resourceId: '05c7jb',
      stage: 'test',
      requestId: 'r1',
      resourcePath: '/request',
      httpMethod: 'GET',
      apiId: 'abcdef123',
      identity: { apiKey: 'k', sourceIp: '203.0.113.7', clientCert: {} },
    },
  };
}

/** §2.4 verbatim, with the credential in place. */
function v2Event(jwt: string | undefined, cookies: string[] = []): APIGatewayRequestAuthorizerEventV2 {
  return {
    version: '2.0',
    type: 'REQUEST',
    routeArn: ROUTE_ARN,
    identitySource: jwt ? [`Bearer ${jwt}`] : [],
    routeKey: 'GET /request',
    rawPath: '/request',
    rawQueryString: 'a=1',
    cookies,
    headers: jwt ? { authorization: `Bearer ${jwt}` } : {},
    queryStringParameters: { a: '1' },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abcdef123',
      authentication: { clientCert: {} },
      domainName: 'abcdef123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abcdef123',
      http: { method: 'GET', path: '/request', protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'curl/8' },
      requestId: 'id',
      routeKey: 'GET /request',
      stage: '$default',
      time: '12/Mar/2020:19:03:58 +0000',
      timeEpoch: 1583348638390,
    },
    pathParameters: {},
    stageVariables: {},
  } as unknown as APIGatewayRequestAuthorizerEventV2;
}

before(async () => {
  key = await generateSigningKey('lambda-key');
  jwks = await startJwksServer();
  jwks.setKeys(jwksOf(key));
});
after(() => jwks.close());

describe('REST TOKEN events', () => {
  test('allow: an IAM Allow on the method ARN, principalId = sub, flat string context', async () => {
    const handler = createLambdaAuthorizer(lambdaConfig());
    try {
      const result = (await handler(tokenEvent(`Bearer ${await token()}`))) as IamPolicyResult;
      // The shape API Gateway and @types/aws-lambda expect.
      const typed: APIGatewayAuthorizerResult = result;
      assert.equal(typed.principalId, 'U2abc');
      assert.deepEqual(result.policyDocument, {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: METHOD_ARN }],
      });
      assert.equal(result.context.sub, 'U2abc');
      assert.equal(result.context.roles, 'admin,support');
      assert.equal(result.context.tenants, '{"T2t1":{"roles":["admin"]}}');
      assert.equal(result.context.mfa, 'true');
      assert.match(result.context.exp!, /^\d+$/);
      for (const value of Object.values(result.context)) assert.equal(typeof value, 'string');
    } finally {
      handler.close();
    }
  });

  test('a bare token (no Bearer) is accepted, as API Gateway passes the header value through', async () => {
    const handler = createLambdaAuthorizer(lambdaConfig());
    try {
      const result = (await handler(tokenEvent(await token()))) as IamPolicyResult;
      assert.equal(result.policyDocument.Statement[0].Effect, 'Allow');
    } finally {
      handler.close();
    }
  });

  test('token failures throw exactly "Unauthorized" (401); policy failures return Deny (403)', async () => {
    const handler = createLambdaAuthorizer(lambdaConfig());
    try {
      for (const bad of ['', 'Bearer garbage', `Bearer ${await token({ exp: now() - 60 })}`, `Bearer ${await token({ aud: ['other'] })}`]) {
        await assert.rejects(handler(tokenEvent(bad)), (error: Error) => error.message === 'Unauthorized');
      }
      const deny = (await handler(tokenEvent(`Bearer ${await token({ roles: ['viewer'] })}`))) as IamPolicyResult;
      assert.equal(deny.policyDocument.Statement[0].Effect, 'Deny');
      assert.equal(deny.policyDocument.Statement[0].Resource, METHOD_ARN);
      assert.deepEqual(deny.context, { code: 'insufficient_roles' });
      assert.equal(deny.principalId, 'anonymous');
    } finally {
      handler.close();
    }
  });

  test('resource "stage" allows every route of the stage, but a Deny stays on the method', async () => {
    const handler = createLambdaAuthorizer(lambdaConfig({ resource: 'stage' }));
    try {
      const allow = (await handler(tokenEvent(`Bearer ${await token()}`))) as IamPolicyResult;
      assert.equal(allow.policyDocument.Statement[0].Resource, 'arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/*');
      const deny = (await handler(tokenEvent(`Bearer ${await token({ roles: [] })}`))) as IamPolicyResult;
      assert.equal(deny.policyDocument.Statement[0].Resource, METHOD_ARN);
    } finally {
      handler.close();
    }
  });

  test('contextClaims limits the context', async () => {
    const handler = createLambdaAuthorizer(lambdaConfig({ contextClaims: ['sub', 'roles', 'absent'] }));
    try {
      const result = (await handler(tokenEvent(`Bearer ${await token()}`))) as IamPolicyResult;
      assert.deepEqual(result.context, { sub: 'U2abc', roles: 'admin,support' });
    } finally {
      handler.close();
    }
  });
});

describe('REST REQUEST events', () => {
  test('headers in the client letter case, the cookie inside headers.Cookie', async () => {
    const handler = createLambdaAuthorizer(lambdaConfig());
    try {
      const jwt = await token();
      const byHeader = (await handler(requestEvent({ Authorization: `Bearer ${jwt}` }, { Authorization: [`Bearer ${jwt}`] }))) as IamPolicyResult;
      assert.equal(byHeader.policyDocument.Statement[0].Effect, 'Allow');
      assert.equal(byHeader.policyDocument.Statement[0].Resource, 'arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request');
      const byCookie = (await handler(requestEvent({ Cookie: `a=b; DS=${jwt}` }))) as IamPolicyResult;
      assert.equal(byCookie.principalId, 'U2abc');
    } finally {
      handler.close();
    }
  });

  test('two Authorization values are ambiguous: 401, never the friendlier one', async () => {
    const handler = createLambdaAuthorizer(lambdaConfig());
    try {
      const jwt = await token();
      await assert.rejects(
        handler(requestEvent({ Authorization: `Bearer ${jwt}` }, { Authorization: ['Bearer garbage', `Bearer ${jwt}`] })),
        (error: Error) => error.message === 'Unauthorized',
      );
    } finally {
      handler.close();
    }
  });
});

describe('HTTP API payload 2.0', () => {
  test('simple responses: {isAuthorized, context}', async () => {
    const handler = createLambdaAuthorizer(lambdaConfig({ response: 'simple' }));
    try {
      const allow = (await handler(v2Event(await token()))) as SimpleResult;
      const typed: APIGatewaySimpleAuthorizerWithContextResult<Record<string, string>> = allow;
      assert.equal(typed.isAuthorized, true);
      assert.equal(allow.context.sub, 'U2abc');
      const deny = (await handler(v2Event(await token({ roles: ['viewer'] })))) as SimpleResult;
      assert.deepEqual(deny, { isAuthorized: false, context: { code: 'insufficient_roles' } });
      await assert.rejects(handler(v2Event(undefined)), (error: Error) => error.message === 'Unauthorized');
      // Payload 2.0 carries cookies in their own array.
      const cookie = (await handler(v2Event(undefined, ['theme=dark', `DS=${await token()}`]))) as SimpleResult;
      assert.equal(cookie.isAuthorized, true);
    } finally {
      handler.close();
    }
  });

  test('the IAM form when configured, on the route ARN', async () => {
    const handler = createLambdaAuthorizer(lambdaConfig({ response: 'iam' }));
    try {
      const allow = (await handler(v2Event(await token()))) as IamPolicyResult;
      assert.equal(allow.principalId, 'U2abc');
      assert.deepEqual(allow.policyDocument.Statement, [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: ROUTE_ARN }]);
    } finally {
      handler.close();
    }
  });
});

describe('container lifetime and failure modes', () => {
  test('the key set is fetched once and kept across warm invocations', async () => {
    const server = await startJwksServer();
    server.setKeys(jwksOf(key));
    const handler = createLambdaAuthorizer(lambdaConfig({}, { jwk_url: server.url() }));
    try {
      for (let i = 0; i < 5; i++) {
        const result = (await handler(tokenEvent(`Bearer ${await token({ jti: `t${i}` })}`))) as IamPolicyResult;
        assert.equal(result.policyDocument.Statement[0].Effect, 'Allow');
      }
      assert.equal(server.requestCount('/jwks'), 1);
    } finally {
      handler.close();
      await server.close();
    }
  });

  test('no keys could be loaded: a non-Unauthorized error (API Gateway 500), never an allow', async () => {
    const server = await startJwksServer();
    await server.setMode('status500');
    const handler = createLambdaAuthorizer(lambdaConfig({}, { jwk_url: server.url() }));
    try {
      await assert.rejects(handler(tokenEvent(`Bearer ${await token()}`)), (error: Error) => error instanceof KeysUnavailableError && error.message !== 'Unauthorized');
    } finally {
      handler.close();
      await server.close();
    }
  });

  test('anything that is not an authorizer event is refused as Unauthorized', async () => {
    const handler = createLambdaAuthorizer(lambdaConfig());
    try {
      for (const event of [null, 42, 'TOKEN', {}, { type: 'TOKEN' }, { type: 'REQUEST' }, { type: 'REQUEST', version: '2.0' }, { type: 'OTHER', methodArn: METHOD_ARN }]) {
        await assert.rejects(handler(event as never), (error: Error) => error.message === 'Unauthorized', JSON.stringify(event));
      }
    } finally {
      handler.close();
    }
  });

  test('config errors name their JSON path', () => {
    assert.throws(
      () => createLambdaAuthorizer({ ...lambdaConfig(), response: 'full' as 'iam', extra: 1 } as LambdaAuthorizerConfig),
      (error: ConfigError) => error.issues.some((i) => i.path === '$.response') && error.issues.some((i) => i.path === '$.extra'),
    );
    assert.throws(
      () => createLambdaAuthorizer({ validator: { alg: 'none' } } as unknown as LambdaAuthorizerConfig),
      (error: ConfigError) => error instanceof ConfigError && error.issues.some((i) => i.path.startsWith('$.validator.alg')),
    );
  });
});

/** Runs node without blocking this process: the JWKS server here must keep answering the child. */
function runNode(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('the esbuild bundle (scripts/build-lambda.mjs)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-lambda-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  before(async () => {
    const build = await runNode(['scripts/build-lambda.mjs', '--outdir', dir]);
    assert.equal(build.status, 0, build.stderr);
  });

  test('builds one file whose handler answers a TOKEN event with config from the environment', async () => {
    const jwt = await token();
    const script = `const m = await import(${JSON.stringify(pathToFileURL(join(dir, 'index.mjs')).href)});
      const ok = await m.handler(${JSON.stringify(tokenEvent(`Bearer ${jwt}`))});
      let denied; try { await m.handler(${JSON.stringify(tokenEvent('Bearer nope'))}); } catch (e) { denied = e.message; }
      console.log(JSON.stringify({ effect: ok.policyDocument.Statement[0].Effect, principalId: ok.principalId, denied }));`;
    const child = await runNode(['--input-type=module', '-e', script], {
      cwd: dir,
      env: { PATH: process.env.PATH, PORTCULLIS_LAMBDA_CONFIG: JSON.stringify(lambdaConfig()) },
    });
    assert.equal(child.status, 0, child.stderr.slice(-600));
    assert.deepEqual(JSON.parse(child.stdout.trim().split('\n').pop()!), { effect: 'Allow', principalId: 'U2abc', denied: 'Unauthorized' });
  });

  test('a missing config stops the container start (every invocation then fails: never open)', async () => {
    const child = await runNode(['--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL(join(dir, 'index.mjs')).href)})`], {
      cwd: dir,
      env: { PATH: process.env.PATH, LAMBDA_TASK_ROOT: dir },
    });
    assert.notEqual(child.status, 0);
    assert.match(child.stderr.slice(-2000), /portcullis-lambda\.json/);
  });
});

describe('hostile events', () => {
  test('any JSON value as the event: rejected with exactly "Unauthorized", never an allow or another error', async () => {
    const { default: fc } = await import('fast-check');
    // Inline keys: no download, so "keys unavailable" cannot stand in for a decision.
    const handler = createLambdaAuthorizer({ validator: { alg: 'RS256', jwk_keys: [key.publicJwk as { kty: string }], issuer: 'https://api.descope.com/P2abc' } });
    const shaped = fc.record({
      type: fc.constantFrom('TOKEN', 'REQUEST', 'OTHER'),
      version: fc.option(fc.constantFrom('1.0', '2.0'), { nil: undefined }),
      authorizationToken: fc.anything(),
      methodArn: fc.oneof(fc.string(), fc.anything()),
      routeArn: fc.oneof(fc.string(), fc.anything()),
      headers: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.anything())), fc.anything()),
      multiValueHeaders: fc.anything(),
      cookies: fc.anything(),
      rawQueryString: fc.anything(),
      queryStringParameters: fc.anything(),
      multiValueQueryStringParameters: fc.anything(),
      pathParameters: fc.anything(),
    });
    try {
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.anything(), shaped), async (event) => {
          await assert.rejects(handler(event as never), (error: Error) => error.message === 'Unauthorized');
        }),
        { numRuns: 300 },
      );
    } finally {
      handler.close();
    }
  });
});
