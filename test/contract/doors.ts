/**
 * Every front door, driven the way its real caller drives it, reduced to one
 * comparable outcome: the HTTP status the client ends up with, the failure
 * code where the door reports one, the challenge, and the user the upstream
 * sees on an allow.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayRequestAuthorizerEvent, APIGatewayRequestAuthorizerEventV2, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import express from 'express';
import Fastify from 'fastify';
import { request } from 'undici';
import { startForwardAuth } from '../../src/adapters/forward-auth/server.js';
import { createLambdaAuthorizer, type LambdaAuthorizerHandler } from '../../src/adapters/lambda/authorizer.js';
import type { IamPolicyResult, LambdaAuthorizerResult, SimpleResult } from '../../src/adapters/lambda/response.js';
import { portcullisExpress } from '../../src/adapters/middleware/express.js';
import { portcullisFastify } from '../../src/adapters/middleware/fastify.js';
import { portcullisMiddleware } from '../../src/adapters/middleware/node.js';
import { createAuthorizer } from '../../src/runtime/create-authorizer.js';
import type { GatewayPlan } from '../../src/config/compile.js';
import type { ValidatorConfig } from '../../src/config/validator-schema.js';
import { startGateway } from '../../src/gateway/server.js';
import type { BackendServer } from '../support/backend-server.js';
import { planFrom } from '../support/plan.js';
import { credentialHeaders, type ContractCase } from './cases.js';

export interface Outcome {
  status: number;
  /** The failure code, where the door reports one (the Lambda doors cannot). */
  code?: string | undefined;
  wwwAuthenticate?: string | undefined;
  /** On allow: the `sub` the upstream or handler sees. */
  sub?: string | undefined;
}

export interface RunningDoor {
  decide(testCase: ContractCase): Promise<Outcome>;
  close(): Promise<void>;
}

export interface Door {
  readonly name: string;
  /** False for doors that report no failure code (Lambda: API Gateway owns the response). */
  readonly reportsCode: boolean;
  /** Cases this transport cannot express (a TOKEN event carries no cookie). */
  readonly skips?: (testCase: ContractCase) => boolean;
  start(validator: ValidatorConfig, backend: BackendServer): Promise<RunningDoor>;
}

export const ROUTE_PATH = '/orders/42';
const METHOD_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/orders/42';

export function contractPlan(validator: ValidatorConfig, backendUrl: string): GatewayPlan {
  const config = {
    version: 3,
    endpoints: [
      {
        endpoint: '/orders/{id}',
        method: 'GET',
        input_headers: ['X-User', 'X-Roles'],
        extra_config: { 'auth/validator': validator },
        backend: [{ host: [backendUrl], url_pattern: '/orders/{id}' }],
      },
    ],
  };
  return planFrom(config);
}

async function httpGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  const response = await request(url, { method: 'GET', headers });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

function codeOf(text: string): string | undefined {
  if (text === '') return undefined;
  try {
    return (JSON.parse(text) as { code?: string }).code;
  } catch {
    return undefined;
  }
}

function header(headers: Record<string, unknown>, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** An HTTP outcome where the allowed user comes from `subOf`. */
async function httpOutcome(url: string, headers: Record<string, string>, subOf: (allowed: { headers: Record<string, unknown>; text: string }) => string | undefined): Promise<Outcome> {
  const response = await httpGet(url, headers);
  if (response.status === 200) return { status: 200, sub: subOf(response) };
  return { status: response.status, code: codeOf(response.text), wwwAuthenticate: header(response.headers, 'www-authenticate') };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

/** The reference: the core's own Decision, shaped as an HTTP door would answer it. */
export const coreDoor: Door = {
  name: 'core authorize()',
  reportsCode: true,
  async start(validator) {
    const authorizer = createAuthorizer(validator);
    await authorizer.ready();
    return {
      async decide(testCase) {
        const decision = await authorizer.authorize({ headers: credentialHeaders(testCase), query: '', params: { id: '42' } });
        if (decision.allowed) return { status: 200, sub: decision.claims.sub as string | undefined };
        return { status: decision.status, code: decision.code, wwwAuthenticate: decision.wwwAuthenticate };
      },
      close: async () => authorizer.close(),
    };
  },
};

const gatewayDoor: Door = {
  name: 'gateway',
  reportsCode: true,
  async start(validator, backend) {
    const gateway = await startGateway(contractPlan(validator, backend.url), { host: '127.0.0.1', port: 0, accessLog: false });
    await gateway.ready();
    return {
      decide: (testCase) =>
        httpOutcome(`${gateway.url}${ROUTE_PATH}`, credentialHeaders(testCase), ({ text }) => {
          const echoed = JSON.parse(text) as { headers: Record<string, string> };
          return echoed.headers['x-user'];
        }),
      close: () => gateway.close(),
    };
  },
};

function forwardAuthDoor(proxy: 'nginx' | 'traefik' | 'envoy'): Door {
  const original: Record<string, Record<string, string>> = {
    nginx: { 'x-original-method': 'GET', 'x-original-uri': ROUTE_PATH, 'x-original-host': 'shop.example' },
    traefik: { 'x-forwarded-method': 'GET', 'x-forwarded-uri': ROUTE_PATH, 'x-forwarded-host': 'shop.example', 'x-forwarded-proto': 'https' },
    envoy: {},
  };
  return {
    name: `forward-auth (${proxy})`,
    reportsCode: true,
    async start(validator, backend) {
      const server = await startForwardAuth(contractPlan(validator, backend.url), {
        proxy,
        ...(proxy === 'envoy' ? { pathPrefix: '/ext_authz' } : {}),
        host: '127.0.0.1',
        port: 0,
        accessLog: false,
      });
      await server.ready();
      const checkPath = proxy === 'envoy' ? `/ext_authz${ROUTE_PATH}` : '/auth';
      return {
        decide: (testCase) =>
          httpOutcome(`${server.url}${checkPath}`, { ...original[proxy], ...credentialHeaders(testCase) }, ({ headers }) => header(headers, 'x-user')),
        close: () => server.close(),
      };
    },
  };
}

type LambdaKind = 'TOKEN' | 'REQUEST' | 'v2 simple' | 'v2 iam';

/** The event shapes of cloud-authorizers.md §2.1, §2.2 and §2.4, with the case's credential. */
export function lambdaEvent(kind: LambdaKind, testCase: ContractCase): APIGatewayTokenAuthorizerEvent | APIGatewayRequestAuthorizerEvent | APIGatewayRequestAuthorizerEventV2 {
  const credential = credentialHeaders(testCase);
  if (kind === 'TOKEN') return { type: 'TOKEN', authorizationToken: credential.authorization ?? '', methodArn: METHOD_ARN };
  if (kind === 'REQUEST') {
    const headers: Record<string, string> = { Accept: '*/*', Host: 'abcdef123.execute-api.us-east-1.amazonaws.com' };
    if (credential.authorization) headers.Authorization = credential.authorization;
    if (credential.cookie) headers.Cookie = credential.cookie;
    return {
      type: 'REQUEST',
      methodArn: METHOD_ARN,
      resource: '/orders/{id}',
      path: ROUTE_PATH,
      httpMethod: 'GET',
      headers,
      multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
      queryStringParameters: {},
      multiValueQueryStringParameters: {},
      pathParameters: { id: '42' },
      stageVariables: {},
      requestContext: {
        path: `/prod${ROUTE_PATH}`,
        accountId: '123456789012',
        resourceId: '05c7jb',
        stage: 'prod',
        requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
        resourcePath: '/orders/{id}',
        httpMethod: 'GET',
        apiId: 'abcdef123',
        identity: { sourceIp: '203.0.113.7', userAgent: 'curl/8' },
      },
    } as unknown as APIGatewayRequestAuthorizerEvent;
  }
  const headers: Record<string, string> = { accept: '*/*', host: 'abcdef123.execute-api.us-east-1.amazonaws.com' };
  if (credential.authorization) headers.authorization = credential.authorization;
  return {
    version: '2.0',
    type: 'REQUEST',
    routeArn: METHOD_ARN,
    identitySource: credential.authorization ? [credential.authorization] : [],
    routeKey: 'GET /orders/{id}',
    rawPath: ROUTE_PATH,
    rawQueryString: 'a=1',
    // Payload 2.0 moves cookies out of the headers.
    cookies: credential.cookie ? credential.cookie.split('; ') : [],
    headers,
    queryStringParameters: { a: '1' },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abcdef123',
      domainName: 'abcdef123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abcdef123',
      http: { method: 'GET', path: ROUTE_PATH, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'curl/8' },
      requestId: 'id',
      routeKey: 'GET /orders/{id}',
      stage: '$default',
      time: '12/Mar/2020:19:03:58 +0000',
      timeEpoch: 1583348638390,
    },
    pathParameters: { id: '42' },
    stageVariables: {},
  } as unknown as APIGatewayRequestAuthorizerEventV2;
}

/** API Gateway's reading of a Lambda authorizer's answer: 200 on Allow, 403 on Deny, 401 on "Unauthorized", 500 otherwise. */
export async function lambdaOutcome(handler: LambdaAuthorizerHandler, event: unknown): Promise<Outcome> {
  let result: LambdaAuthorizerResult;
  try {
    result = await handler(event as Parameters<LambdaAuthorizerHandler>[0]);
  } catch (error) {
    return { status: (error as Error).message === 'Unauthorized' ? 401 : 500 };
  }
  if ('isAuthorized' in result) {
    const simple = result as SimpleResult;
    return simple.isAuthorized ? { status: 200, sub: simple.context.sub } : { status: 403 };
  }
  const policy = result as IamPolicyResult;
  const effect = policy.policyDocument.Statement[0].Effect;
  return effect === 'Allow' ? { status: 200, sub: policy.principalId } : { status: 403 };
}

function lambdaDoor(kind: LambdaKind): Door {
  return {
    name: `Lambda ${kind}`,
    reportsCode: false,
    ...(kind === 'TOKEN' ? { skips: (testCase: ContractCase) => testCase.place === 'cookie' } : {}),
    async start(validator) {
      const handler = createLambdaAuthorizer({ validator, response: kind === 'v2 iam' ? 'iam' : 'simple' });
      await handler.ready();
      return { decide: (testCase) => lambdaOutcome(handler, lambdaEvent(kind, testCase)), close: async () => handler.close() };
    },
  };
}

const nodeMiddlewareDoor: Door = {
  name: 'node:http middleware',
  reportsCode: true,
  async start(validator) {
    const middleware = portcullisMiddleware(validator);
    await middleware.ready();
    const server = createServer((req, res) => {
      middleware(req, res, () => {
        const sub = (req as unknown as { auth: { claims: { sub?: string } } }).auth.claims.sub;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sub, xUser: req.headers['x-user'] }));
      });
    });
    const url = await listen(server);
    return {
      decide: (testCase) => httpOutcome(`${url}${ROUTE_PATH}`, credentialHeaders(testCase), ({ text }) => (JSON.parse(text) as { sub: string }).sub),
      close: async () => {
        await closeServer(server);
        middleware.close();
      },
    };
  },
};

const expressDoor: Door = {
  name: 'Express middleware',
  reportsCode: true,
  async start(validator) {
    const middleware = portcullisExpress(validator);
    await middleware.ready();
    const app = express();
    app.get('/orders/:id', middleware, (req, res) => {
      res.json({ sub: req.auth?.claims.sub, xUser: req.headers['x-user'] });
    });
    const server = createServer(app);
    const url = await listen(server);
    return {
      decide: (testCase) => httpOutcome(`${url}${ROUTE_PATH}`, credentialHeaders(testCase), ({ text }) => (JSON.parse(text) as { sub: string }).sub),
      close: async () => {
        await closeServer(server);
        middleware.close();
      },
    };
  },
};

const fastifyDoor: Door = {
  name: 'Fastify plugin',
  reportsCode: true,
  async start(validator) {
    const app = Fastify();
    await app.register(portcullisFastify, { validator });
    app.get('/orders/:id', async (request) => ({ sub: request.auth?.claims.sub, xUser: request.headers['x-user'] }));
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    return {
      decide: (testCase) => httpOutcome(`${url}${ROUTE_PATH}`, credentialHeaders(testCase), ({ text }) => (JSON.parse(text) as { sub: string }).sub),
      close: () => app.close(),
    };
  },
};

export const DOORS: readonly Door[] = [
  gatewayDoor,
  forwardAuthDoor('nginx'),
  forwardAuthDoor('traefik'),
  forwardAuthDoor('envoy'),
  lambdaDoor('TOKEN'),
  lambdaDoor('REQUEST'),
  lambdaDoor('v2 simple'),
  lambdaDoor('v2 iam'),
  nodeMiddlewareDoor,
  expressDoor,
  fastifyDoor,
];
