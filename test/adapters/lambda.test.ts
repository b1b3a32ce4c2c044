/**
 * The Lambda authorizer with the exact event shapes of cloud-authorizers.md
 * §2 against a JWKS server on 127.0.0.1: the IAM and simple answers, the
 * 401 / 403 / 500 outcomes as API Gateway reads them, flat string context,
 * key sets kept across warm invocations, the configurations refused because
 * a cached answer could admit a request it does not describe, and the
 * esbuild bundle.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import { AllowTooWideError, createLambdaAuthorizer, KeysUnavailableError, type LambdaAuthorizerConfig } from '../../src/adapters/lambda/authorizer.js';
import { lambdaConfigIssues } from '../../src/adapters/lambda/config.js';
import type { IamPolicyResult, SimpleResult } from '../../src/adapters/lambda/response.js';
import { ConfigError } from '../../src/config/validate.js';
import { TenantRuleSchema, ValidatorSchema } from '../../src/config/validator-schema.js';
import { generateSigningKey, jwksOf, mintToken, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.js';
import { spawnNode } from '../support/cli.js';
import { createMemoryLogger } from '../support/logger.js';
import { nowSeconds } from '../support/clock.js';
import { fromRoot } from '../support/repo-root.js';

let jwks: JwksServer;
let key: TestSigningKey;
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
    exp: nowSeconds() + 600,
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
      for (const bad of ['', 'Bearer garbage', `Bearer ${await token({ exp: nowSeconds() - 60 })}`, `Bearer ${await token({ aud: ['other'] })}`]) {
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

describe('answers API Gateway may cache: an Allow must not outlive the rule that granted it', () => {
  const ARN_PREFIX = 'arn:aws:execute-api:us-east-1:123456789012:abcdef123';
  const tenantParam = { tenant: { from: 'param', roles: ['admin'] } };
  const tenantHeader = { tenant: { from: 'header', roles: ['admin'] } };
  const acmeToken = () => token({ tenants: { T2acme: { roles: ['admin'] } } });

  /** A REST REQUEST event for GET /tenants/{tenant}/orders; the method ARN holds the concrete path, as API Gateway sends it. */
  function tenantRequestEvent(jwt: string, tenant: string, headers: Record<string, string> = {}) {
    const event = requestEvent({ Authorization: `Bearer ${jwt}`, ...headers });
    return {
      ...event,
      methodArn: `${ARN_PREFIX}/prod/GET/tenants/${tenant}/orders`,
      resource: '/tenants/{tenant}/orders',
      path: `/tenants/${tenant}/orders`,
      pathParameters: { tenant },
    };
  }

  /** The payload 2.0 event for the same route. */
  function tenantV2Event(jwt: string, tenant: string, headers: Record<string, string> = {}): APIGatewayRequestAuthorizerEventV2 {
    const event = v2Event(jwt) as unknown as Record<string, unknown>;
    return {
      ...event,
      routeArn: `${ARN_PREFIX}/$default/GET/tenants/${tenant}/orders`,
      routeKey: 'GET /tenants/{tenant}/orders',
      rawPath: `/tenants/${tenant}/orders`,
      headers: { authorization: `Bearer ${jwt}`, ...headers },
      pathParameters: { tenant },
    } as unknown as APIGatewayRequestAuthorizerEventV2;
  }

  /** IAM's reading of an execute-api Resource: `*` matches any run of characters, everything else is literal. */
  function policyMatches(resource: string, arn: string): boolean {
    const pattern = resource.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*');
    return new RegExp(`^${pattern}$`).test(arn);
  }

  function refusal(config: unknown): ConfigError {
    let thrown: unknown;
    try {
      const handler = createLambdaAuthorizer(config as LambdaAuthorizerConfig);
      handler.close();
    } catch (error) {
      thrown = error;
    }
    assert.ok(thrown instanceof ConfigError, `expected a ConfigError, got ${String(thrown)}`);
    return thrown;
  }

  function issueAt(error: ConfigError, path: string): string {
    const issue = error.issues.find((i) => i.path === path);
    assert.ok(issue, `no issue at ${path}: ${error.message}`);
    return issue.message;
  }

  test('tenant from a path parameter: resource "method" builds and narrows the Allow to this call; "stage" is refused', async () => {
    const handler = createLambdaAuthorizer(lambdaConfig({ response: 'iam' }, tenantParam));
    try {
      const jwt = await acmeToken();
      const allow = (await handler(tenantRequestEvent(jwt, 'T2acme'))) as IamPolicyResult;
      const statement = allow.policyDocument.Statement[0];
      assert.equal(statement.Effect, 'Allow');
      assert.equal(statement.Resource, `${ARN_PREFIX}/prod/GET/tenants/T2acme/orders`);
      assert.ok(!statement.Resource.includes('*'));
      // API Gateway evaluates a cached policy against the next call's ARN: T2globex's path does not
      // match it, so a cached T2acme Allow answers T2globex with 403 (stale until the TTL, never open).
      assert.equal(policyMatches(statement.Resource, `${ARN_PREFIX}/prod/GET/tenants/T2globex/orders`), false);
      const deny = (await handler(tenantRequestEvent(jwt, 'T2globex'))) as IamPolicyResult;
      assert.deepEqual(deny.policyDocument.Statement[0], { Action: 'execute-api:Invoke', Effect: 'Deny', Resource: `${ARN_PREFIX}/prod/GET/tenants/T2globex/orders` });
      assert.deepEqual(deny.context, { code: 'tenant_not_allowed' });
    } finally {
      handler.close();
    }

    const message = issueAt(refusal(lambdaConfig({ response: 'iam', resource: 'stage' }, tenantParam)), '$.resource');
    assert.match(message, /more than the call it answers/);
    assert.match(message, /\$\.validator\.tenant\) reads path parameter "tenant"/);
    assert.match(message, /admits the same token for another tenant/);
    assert.match(message, /Use "method"/);
    // The hazard the refusal prevents: the stage Allow that T2acme's call would get covers T2globex's path.
    assert.equal(policyMatches(`${ARN_PREFIX}/prod/*`, `${ARN_PREFIX}/prod/GET/tenants/T2globex/orders`), true);
  });

  test('an IAM Allow that only its ARN keeps from other tenants is never given on an ARN that is not one path (500, nothing cached)', async () => {
    const logger = createMemoryLogger();
    const handler = createLambdaAuthorizer(lambdaConfig({ response: 'iam' }, tenantParam), { logger });
    const uncached = createLambdaAuthorizer(lambdaConfig({ response: 'iam', resultCache: 'off' }, tenantParam));
    try {
      const jwt = await acmeToken();
      const concrete = (await handler(tenantV2Event(jwt, 'T2acme'))) as IamPolicyResult;
      assert.equal(concrete.policyDocument.Statement[0].Resource, `${ARN_PREFIX}/$default/GET/tenants/T2acme/orders`);
      // Should API Gateway ever send the route template, or a path holding an IAM wildcard, an Allow on
      // it would match every tenant's path once cached.
      for (const routeArn of [`${ARN_PREFIX}/$default/GET/tenants/{tenant}/orders`, `${ARN_PREFIX}/$default/GET/tenants/T2acme/*`, `${ARN_PREFIX}/$default/GET/tenants/T2acm?/orders`]) {
        const event = { ...tenantV2Event(jwt, 'T2acme'), routeArn };
        await assert.rejects(handler(event), (error: Error) => error instanceof AllowTooWideError && error.message !== 'Unauthorized', routeArn);
        // With caching off nothing can reuse the answer, so the ARN need not be narrow.
        assert.equal(((await uncached(event)) as IamPolicyResult).policyDocument.Statement[0].Resource, routeArn);
      }
      const errors = logger.lines.filter((line) => line.level === 'error').map((line) => line.msg);
      assert.equal(errors.length, 3);
      assert.match(errors[0]!, /does not name a single path/);
    } finally {
      handler.close();
      uncached.close();
    }
  });

  test('resource "stage" is refused for a header tenant and for any response form, even with the result cache declared', () => {
    for (const extra of [{ response: 'iam' as const }, { response: 'simple' as const }, { resultCache: 'off' as const }, { resultCache: { identitySources: ['$request.header.Authorization', '$request.header.X-Tenant-Id'] } }]) {
      for (const tenant of [tenantParam, tenantHeader]) {
        const error = refusal(lambdaConfig({ resource: 'stage', ...extra }, tenant));
        assert.match(issueAt(error, '$.resource'), /"stage" makes an Allow cover more than the call/, JSON.stringify({ extra, tenant }));
      }
    }
  });

  test('resource "stage" without a request-dependent rule still builds: a tenant from a claim is part of the token', async () => {
    const handler = createLambdaAuthorizer(lambdaConfig({ resource: 'stage' }, { tenant: { from: 'claim', name: 'dct', roles: ['admin'] } }));
    try {
      const allow = (await handler(tokenEvent(`Bearer ${await token({ dct: 'T2acme', tenants: { T2acme: { roles: ['admin'] } } })}`))) as IamPolicyResult;
      assert.equal(allow.policyDocument.Statement[0].Resource, `${ARN_PREFIX}/prod/*`);
      const deny = (await handler(tokenEvent(`Bearer ${await token({ dct: 'T2globex', tenants: { T2acme: { roles: ['admin'] } } })}`))) as IamPolicyResult;
      assert.deepEqual(deny.context, { code: 'tenant_not_allowed' });
      assert.equal(deny.policyDocument.Statement[0].Resource, METHOD_ARN);
    } finally {
      handler.close();
    }
    // The same setup with the tenant in the path is the one that is refused.
    refusal(lambdaConfig({ resource: 'stage' }, tenantParam));
  });

  test('simple responses (the default) with a tenant rule are refused unless the result cache is declared', () => {
    for (const response of [undefined, 'simple' as const]) {
      const config = lambdaConfig(response === undefined ? {} : { response }, tenantParam);
      const message = issueAt(refusal(config), '$.response');
      assert.match(message, /a simple response \(the default for payload 2\.0\) names no resource/);
      assert.match(message, /by default only the Authorization header/);
      assert.match(message, /reads path parameter "tenant"/);
      assert.match(message, /resultCache: "off"/);
      assert.match(message, /"\$request\.header\.Authorization", "\$context\.path", "\$context\.routeKey"/);
      assert.match(message, /response: "iam"/);
    }
    const header = issueAt(refusal(lambdaConfig({}, { tenant: { from: 'header', name: 'X-Org', roles: ['admin'] } })), '$.response');
    assert.match(header, /reads header "X-Org"/);
    assert.match(header, /"\$request\.header\.Authorization", "\$request\.header\.X-Org"/);
    // "iam" alone does not help a header tenant: no ARN names a header.
    assert.doesNotMatch(header, /response: "iam"/);
  });

  test('simple + resultCache "off" builds and answers per tenant', async () => {
    const handler = createLambdaAuthorizer(lambdaConfig({ resultCache: 'off' }, tenantParam));
    try {
      const jwt = await acmeToken();
      assert.deepEqual(((await handler(tenantV2Event(jwt, 'T2acme'))) as SimpleResult).isAuthorized, true);
      assert.deepEqual(await handler(tenantV2Event(jwt, 'T2globex')), { isAuthorized: false, context: { code: 'tenant_not_allowed' } });
    } finally {
      handler.close();
    }
  });

  test('simple + identity sources that hold the tenant build and answer; identity sources that miss it are refused', async () => {
    const byPath = createLambdaAuthorizer(
      lambdaConfig({ resultCache: { identitySources: ['$request.header.Authorization', '$context.path', '$context.routeKey'] } }, tenantParam),
    );
    // Header names compare case-insensitively, as API Gateway's do.
    const byHeader = createLambdaAuthorizer(lambdaConfig({ resultCache: { identitySources: ['$request.header.authorization', '$request.header.x-tenant-id'] } }, tenantHeader));
    try {
      const jwt = await acmeToken();
      assert.equal(((await byPath(tenantV2Event(jwt, 'T2acme'))) as SimpleResult).isAuthorized, true);
      assert.deepEqual(await byPath(tenantV2Event(jwt, 'T2globex')), { isAuthorized: false, context: { code: 'tenant_not_allowed' } });
      assert.equal(((await byHeader(tenantV2Event(jwt, 'T2acme', { 'x-tenant-id': 'T2acme' }))) as SimpleResult).isAuthorized, true);
      assert.deepEqual(await byHeader(tenantV2Event(jwt, 'T2acme', { 'x-tenant-id': 'T2globex' })), { isAuthorized: false, context: { code: 'tenant_not_allowed' } });
    } finally {
      byPath.close();
      byHeader.close();
    }

    const onlyToken = issueAt(refusal(lambdaConfig({ resultCache: { identitySources: ['$request.header.Authorization'] } }, tenantParam)), '$.resultCache.identitySources');
    assert.match(onlyToken, /must include "\$context\.path" and "\$context\.routeKey": \$\.validator\.tenant reads path parameter "tenant"/);
    const pathWithoutRoute = issueAt(refusal(lambdaConfig({ resultCache: { identitySources: ['$request.header.Authorization', '$context.path'] } }, tenantParam)), '$.resultCache.identitySources');
    assert.match(pathWithoutRoute, /"\$context\.routeKey"/);
    const otherHeader = issueAt(
      refusal(lambdaConfig({ resultCache: { identitySources: ['$request.header.Authorization', '$request.header.X-Org'] } }, tenantHeader)),
      '$.resultCache.identitySources',
    );
    assert.match(otherHeader, /must include "\$request\.header\.X-Tenant-Id", which \$\.validator\.tenant reads/);
  });

  test('declared identity sources must hold the token header, with or without a tenant rule', () => {
    const withTenant = issueAt(refusal(lambdaConfig({ resultCache: { identitySources: ['$request.header.X-Tenant-Id'] } }, tenantHeader)), '$.resultCache.identitySources');
    assert.match(withTenant, /the token header \("\$request\.header\.Authorization"\): without it one answer is reused for other tokens, or none/);
    const noTenant = issueAt(refusal(lambdaConfig({ resultCache: { identitySources: ['$request.header.X-Api-Key'] } })), '$.resultCache.identitySources');
    assert.match(noTenant, /the token header/);
    // The validator's own token header counts, in any letter case.
    assert.deepEqual(lambdaConfigIssues(lambdaConfig({ resultCache: { identitySources: ['$request.header.x-token'] } }, { auth_header_name: 'X-Token' })), []);
  });

  test('IAM answers with a header tenant need the cache declared: no ARN names a header', async () => {
    const message = issueAt(refusal(lambdaConfig({ response: 'iam' }, tenantHeader)), '$.resultCache');
    assert.match(message, /^missing: the tenant rule \(\$\.validator\.tenant\) reads header "X-Tenant-Id", which no ARN names/);
    assert.match(message, /\["\$request\.header\.Authorization", "\$request\.header\.X-Tenant-Id"\]\} \(HTTP API\)/);
    assert.match(message, /\["method\.request\.header\.Authorization", "method\.request\.header\.X-Tenant-Id"\]\} \(REST\)/);

    // REST identity-source syntax, as a REST REQUEST authorizer writes it.
    const handler = createLambdaAuthorizer(
      lambdaConfig({ response: 'iam', resultCache: { identitySources: ['method.request.header.Authorization', 'method.request.header.X-Tenant-Id'] } }, tenantHeader),
    );
    try {
      const jwt = await acmeToken();
      const allow = (await handler(tenantRequestEvent(jwt, 'T2acme', { 'X-Tenant-Id': 'T2acme' }))) as IamPolicyResult;
      assert.equal(allow.policyDocument.Statement[0].Effect, 'Allow');
      const deny = (await handler(tenantRequestEvent(jwt, 'T2acme', { 'X-Tenant-Id': 'T2globex' }))) as IamPolicyResult;
      assert.deepEqual(deny.context, { code: 'tenant_not_allowed' });
    } finally {
      handler.close();
    }
    const restMissing = issueAt(
      refusal(lambdaConfig({ response: 'iam', resultCache: { identitySources: ['method.request.header.Authorization'] } }, tenantHeader)),
      '$.resultCache.identitySources',
    );
    assert.match(restMissing, /"method\.request\.header\.X-Tenant-Id"/);
  });

  test('resultCache is checked strictly: its shape, unknown keys with a suggestion, and identity sources API Gateway knows', () => {
    const issues = (resultCache: unknown, extra: Record<string, unknown> = {}) => lambdaConfigIssues({ ...lambdaConfig(), resultCache, ...extra });
    assert.deepEqual(issues('on'), [{ path: '$.resultCache', message: 'must be "off" (the authorizer\'s result TTL is 0) or {"identitySources": [...]} (the identity sources that key the cache)' }]);
    assert.deepEqual(
      issues({ identitySource: ['$request.header.Authorization'] }).map((i) => [i.path, i.message.split(':')[0]]),
      [
        ['$.resultCache.identitySource', 'unknown key; did you mean "identitySources"?'],
        ['$.resultCache.identitySources', 'missing'],
      ],
    );
    assert.equal(issues({ identitySources: ['$request.header.Authorization'], ttl: 0 })[0]!.message, 'unknown key');
    assert.match(issues({ identitySources: [] })[0]!.message, /non-empty list/);
    assert.equal(issues({ identitySources: [1] })[0]!.path, '$.resultCache.identitySources[0]');
    const path = issues({ identitySources: ['$request.header.Authorization', '$request.path.tenant'] });
    assert.equal(path[0]!.path, '$.resultCache.identitySources[1]');
    assert.match(path[0]!.message, /cannot key its cache on a path parameter; use "\$context\.path"/);
    assert.match(issues({ identitySources: ['header.Authorization'] })[0]!.message, /is not an identity source API Gateway knows/);
    assert.match(issues({ identitySources: ['$request.header.'] })[0]!.message, /is not an identity source/);
    assert.match(issues({ identitySources: ['$request.header.Authorization', 'method.request.header.X-Tenant-Id'] })[0]!.message, /mixes HTTP API expressions/);
    // Top-level keys get suggestions too.
    assert.deepEqual(lambdaConfigIssues({ ...lambdaConfig(), result_cache: 'off' }), [{ path: '$.result_cache', message: 'unknown key; did you mean "resultCache"?' }]);
    assert.deepEqual(lambdaConfigIssues({ ...lambdaConfig(), resouce: 'method' }), [{ path: '$.resouce', message: 'unknown key; did you mean "resource"?' }]);
  });

  test('a TOKEN event has no path or headers: a tenant rule from either denies every call, with one warning', async () => {
    const logger = createMemoryLogger();
    const handler = createLambdaAuthorizer(lambdaConfig({ response: 'iam' }, tenantParam), { logger });
    try {
      for (let i = 0; i < 2; i++) {
        const deny = (await handler(tokenEvent(`Bearer ${await acmeToken()}`))) as IamPolicyResult;
        assert.equal(deny.policyDocument.Statement[0].Effect, 'Deny');
        assert.deepEqual(deny.context, { code: 'tenant_not_allowed' });
      }
      const warnings = logger.lines.filter((line) => line.level === 'warn').map((line) => line.msg);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /TOKEN event carries no path or headers, so the tenant rule denies every call; use a REQUEST authorizer/);
    } finally {
      handler.close();
    }
  });

  test('every validator key has been reviewed for what the decision reads besides the token', () => {
    // Keys that only shape how the token is found, verified or answered. A key that makes the
    // decision read the path, a header or the query belongs in requestInputs (config.ts) instead.
    const tokenOnly = [
      'alg', 'jwk_url', 'jwk_local_path', 'jwk_keys', 'oidc_discovery', 'discovery_url', 'cache', 'cache_duration', 'failed_jwk_key_cooldown',
      'jwk_fetch_timeout', 'jwk_max_stale', 'disable_jwk_security', 'jwk_fingerprints', 'jwk_local_ca', 'cipher_suites', 'key_identify_strategy',
      'issuer', 'audience', 'audience_matcher', 'subject', 'leeway', 'require_exp', 'max_token_lifetime', 'typ',
      'roles', 'roles_key', 'roles_key_is_nested', 'scopes', 'scopes_key', 'scopes_matcher', 'permissions', 'permissions_key', 'claims',
      'cookie_key', 'auth_header_name', 'query_key', 'max_token_size',
      'propagate_claims', 'propagate_claims_preserve_array', 'forward_payload_header', 'operation_debug', 'error_body', 'www_authenticate', 'realm',
    ];
    const reviewed = [...tokenOnly, 'tenant'].sort();
    assert.deepEqual(Object.keys(ValidatorSchema.properties).sort(), reviewed);
    const froms = (TenantRuleSchema.properties.from.anyOf as { const: string }[]).map((literal) => literal.const).sort();
    assert.deepEqual(froms, ['claim', 'header', 'param']);
    assert.deepEqual(
      froms.map((from) => lambdaConfigIssues(lambdaConfig({ response: 'iam' }, { tenant: { from } })).map((i) => i.path)),
      [[], ['$.resultCache'], []],
    );
  });

  test('the example configs are accepted, and the tenant one only with its resultCache', () => {
    const read = (name: string) => JSON.parse(readFileSync(fromRoot('examples/lambda', name), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(lambdaConfigIssues(read('portcullis-lambda.json')), []);
    const tenant = read('portcullis-lambda-tenant.json');
    assert.deepEqual(lambdaConfigIssues(tenant), []);
    const { resultCache, ...withoutCache } = tenant;
    assert.ok(resultCache);
    assert.deepEqual(lambdaConfigIssues(withoutCache).map((i) => i.path), ['$.response']);
  });

  test('a misspelled validator key is refused with its path', () => {
    const error = refusal({ validator: { alg: 'RS256', jwk_url: jwks.url(), role: ['admin'] } });
    assert.ok(error.issues.some((i) => i.path === '$.validator.role'), error.message);
  });
});

/** Runs node without blocking this process: the JWKS server here must keep answering the child. */
async function runNode(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const run = spawnNode(args, options);
  const { code, signal } = await run.ended;
  assert.equal(signal, null, `node ${args[0]} was killed by ${signal}`);
  return { status: code, stdout: run.stdout(), stderr: run.stderr() };
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

  test('a config where a cached answer could admit another tenant stops the container start, with the reason', async () => {
    const config = lambdaConfig({}, { tenant: { from: 'param', roles: ['admin'] } });
    const child = await runNode(['--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL(join(dir, 'index.mjs')).href)})`], {
      cwd: dir,
      env: { PATH: process.env.PATH, PORTCULLIS_LAMBDA_CONFIG: JSON.stringify(config) },
    });
    assert.notEqual(child.status, 0);
    assert.match(child.stderr, /ERROR in the portcullis Lambda config: \$\.response: a simple response/);
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
