/**
 * Property tests through the authorizer, the way every front door calls it:
 * mutated genuine tokens (bit flips, truncation, re-encoding, swapped header
 * and payload, re-serialised JSON under the original signature) and arbitrary
 * requests are never allowed, and `authorize` never throws, never rejects and
 * never answers a 5xx. A slice of the same mutations goes end to end through
 * the gateway: never a 5xx, never a backend call.
 *
 * FUZZ_RUNS sets the runs per property (CI default 150; `npm run fuzz` 20000).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { connect } from 'node:net';
import { Pool } from 'undici';
import { createAuthorizer, type Authorizer } from '../../src/runtime/create-authorizer.js';
import type { AuthorizeRequest, Decision } from '../../src/authorizer/decision.js';
import { createKeySetRegistry } from '../../src/keys/registry.js';
import { startGateway, type Gateway } from '../../src/gateway/server.js';
import { startBackendServer, type BackendServer } from '../support/backend-server.js';
import { startJwksServer, type JwksServer } from '../support/jwks-server.js';
import { claims, createMaterial, genuine, type Material } from './fixtures.js';
import { applyMutations, mutationArb } from '../support/mutations.js';
import { planFrom } from '../support/plan.js';
import type { SigningAlg } from './support.js';

const RUNS = Math.max(1, Number(process.env.FUZZ_RUNS ?? 150) || 150);
const ALGS: SigningAlg[] = ['RS256', 'PS256', 'ES256', 'EdDSA', 'HS256'];

let material: Material;
let jwks: JwksServer;
let backend: BackendServer;
let gateway: Gateway;
let pool: Pool;
const registry = createKeySetRegistry();
/** Inline public keys for every asymmetric algorithm, the remote JWKS, and an inline HMAC secret (a set may not mix both kinds). */
const authorizers: Authorizer[] = [];
const genuineTokens: string[] = [];

before(async () => {
  material = await createMaterial();
  jwks = await startJwksServer();
  jwks.setKeys({ keys: [material.rsa.publicJwk, material.ec.publicJwk, material.ed.publicJwk] });
  const inlineKeys = [material.rsa.publicJwk, material.ec.publicJwk, material.ed.publicJwk];
  const hmacKeys = [{ kty: 'oct', kid: material.hmac.kid, k: material.hmac.secret.toString('base64url') }];
  const validators = [
    { alg: ['RS256', 'PS256', 'ES256', 'EdDSA'], jwk_keys: inlineKeys, roles: ['admin'], propagate_claims: [['sub', 'X-User']] },
    { alg: ['RS256', 'PS256', 'ES256', 'EdDSA'], jwk_url: jwks.url('/jwks'), roles: ['admin'] },
    { alg: ['HS256'], jwk_keys: hmacKeys, roles: ['admin'], propagate_claims: [['sub', 'X-User']] },
  ];
  for (const validator of validators) authorizers.push(createAuthorizer(validator as never, { keySets: registry, cacheSize: 1000 }));
  await registry.ready();
  for (const alg of ALGS) genuineTokens.push(genuine(material, alg, claims({ nested: { a: [1, 'x'] } })));

  backend = await startBackendServer();
  const plan = planFrom({
    version: 3,
    endpoints: [
      ...validators.map((validator, i) => ({
        endpoint: `/p${i}`,
        input_headers: ['*'],
        extra_config: { 'auth/validator': validator },
        backend: [{ host: [backend.url], url_pattern: '/echo' }],
      })),
      {
        endpoint: '/items/{id}/{JWT}',
        method: 'POST',
        input_headers: ['*'],
        input_query_strings: ['*'],
        extra_config: { 'auth/validator': validators[0] },
        backend: [{ host: [backend.url], url_pattern: '/items/{id}/{JWT}/{JWT.sub}/{JWT.nested}' }],
      },
      { endpoint: '/open/{page}', input_headers: ['*'], backend: [{ host: [backend.url], url_pattern: '/open/{page}' }] },
    ],
  }, { strict: true, checkSources: true });
  gateway = await startGateway(plan, { host: '127.0.0.1', port: 0, keySets: registry, accessLog: false });
  await gateway.ready();
  pool = new Pool(gateway.url, { connections: 4 });

  // The properties below mean something only if the unmutated tokens are allowed (and cached) first.
  const [inline, remote, hmac] = authorizers as [Authorizer, Authorizer, Authorizer];
  for (const [i, token] of genuineTokens.entries()) {
    if (ALGS[i] === 'HS256') {
      assert.equal((await hmac.authorize(bearer(token))).allowed, true, ALGS[i]);
      continue;
    }
    assert.equal((await inline.authorize(bearer(token))).allowed, true, ALGS[i]);
    assert.equal((await remote.authorize(bearer(token))).allowed, true, ALGS[i]);
  }
});

after(async () => {
  await pool?.close();
  await gateway?.close();
  for (const authorizer of authorizers) authorizer.close();
  registry.close();
  await backend?.close();
  await jwks?.close();
});

function bearer(token: string): AuthorizeRequest {
  return { headers: { authorization: `Bearer ${token}` } };
}

/** authorize must settle to a Decision: a sync throw or a rejection fails the property. */
async function decide(authorizer: Authorizer, request: AuthorizeRequest): Promise<Decision> {
  let result: Decision | Promise<Decision>;
  try {
    result = authorizer.authorize(request);
  } catch (error) {
    return assert.fail(`authorize threw ${String(error)}`);
  }
  try {
    return await result;
  } catch (error) {
    return assert.fail(`authorize rejected with ${String(error)}`);
  }
}

function assertRefused(decision: Decision, what: string): void {
  assert.equal(decision.allowed, false, `allowed ${what}`);
  if (!decision.allowed) {
    assert.ok(decision.status === 401 || decision.status === 403, `status ${decision.status} (${decision.code}) for ${what}`);
    assert.ok(!decision.detail.includes(what) || what.length < 12, 'the denial detail quotes the token');
  }
}

const tokenArb = fc.nat().map((i) => genuineTokens[i % genuineTokens.length]!);
const mutatedArb = fc
  .tuple(tokenArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }))
  .map(([token, mutations]) => ({ original: token, mutated: applyMutations(token, mutations, genuineTokens), mutations }));

/** A value node:http can carry in a header line. */
const sendable = (value: string): boolean => /^[\t\x20-\x7e]*$/.test(value);

describe('fuzz: authorize', () => {
  test('mutated genuine tokens are never allowed, and authorize never throws', async () => {
    await fc.assert(
      fc.asyncProperty(mutatedArb, async ({ original, mutated }) => {
        fc.pre(mutated !== original && !genuineTokens.includes(mutated));
        // RFC 6265 §5.2 trims whitespace around a cookie value, so a padded genuine token stays genuine there.
        const cookieTrimsToGenuine = genuineTokens.includes(mutated.trim());
        for (const authorizer of authorizers) {
          assertRefused(await decide(authorizer, bearer(mutated)), mutated);
          if (!cookieTrimsToGenuine) assertRefused(await decide(authorizer, { headers: { cookie: `access_token=${mutated}` } }), mutated);
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });

  test('arbitrary requests: no throw, no 5xx, and only a genuine token is ever allowed', async () => {
    const value = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      tokenArb,
      tokenArb.map((token) => `Bearer ${token}`),
      tokenArb.map((token) => `bearer  ${token}`),
      tokenArb.map((token) => `Basic ${token}`),
      mutatedArb.map(({ mutated }) => `Bearer ${mutated}`),
    );
    const headerBag = fc.dictionary(
      fc.constantFrom('authorization', 'cookie', 'x-user', 'host', '__proto__', 'constructor'),
      fc.oneof(value, fc.array(value, { maxLength: 3 }), fc.constant(undefined)),
      { maxKeys: 4 },
    );
    const cookie = fc.tuple(fc.constantFrom('access_token', 'access_token ', 'ACCESS_TOKEN', 'x'), value).map(([name, v]) => `${name}=${v}`);
    const query = fc.oneof(fc.string({ maxLength: 60 }), tokenArb.map((token) => `access_token=${token}`), fc.constant(undefined));
    await fc.assert(
      fc.asyncProperty(headerBag, fc.option(cookie), query, async (headers, extraCookie, rawQuery) => {
        const bag: Record<string, string | string[] | undefined> = { ...headers };
        if (extraCookie !== null) bag.cookie = extraCookie;
        for (const authorizer of authorizers) {
          const decision = await decide(authorizer, { headers: bag, query: rawQuery });
          if (decision.allowed) {
            // Only a genuine token, taken from the header or the cookie, in the documented forms.
            const authorization = typeof bag.authorization === 'string' ? bag.authorization : undefined;
            const source = decision.tokenLocation === 'header' ? authorization : bag.cookie;
            assert.ok(genuineTokens.some((token) => typeof source === 'string' && source.includes(token)), `allowed ${JSON.stringify(bag).slice(0, 200)}`);
          } else {
            assert.ok(decision.status === 401 || decision.status === 403, `status ${decision.status}`);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('end to end: arbitrary methods, paths, query strings and headers never get a 5xx (the backend is healthy)', async (t) => {
    const pathChar = fc.constantFrom('a', 'Z', '0', '/', '.', '..', '%', '%2e', '%2F', '%00', '%ff', '%e2%80%ae', ';', '~', '{', '}', '*', '@', ':', 'é', '\\');
    const path = fc.oneof(
      // Heavy enough that about 10 of the runs reach an authorizer (checked below), so the check cannot fail by chance.
      { weight: 9, arbitrary: fc.constantFrom('/p0', '/p1', '/p2', '/items/1/2', '/open/page', '/open/%C3%A9') },
      fc.array(pathChar, { maxLength: 12 }).map((chars) => `/${chars.join('')}`),
      fc.tuple(fc.constantFrom('/p0', '/p1', '/p2', '/items/', '/open/', '/__health', '/'), fc.array(pathChar, { maxLength: 8 })).map(([base, chars]) => base + chars.join('')),
      fc.constantFrom('*', 'http://127.0.0.1/p0', '//p0', '/p0?', '/p0#x', '/items/1/2', '/items/../p0', '/open/%2e%2e', '/open/..%2f..%2fp0'),
    );
    const query = fc.oneof(fc.constant(''), fc.string({ maxLength: 30 }).map((q) => `?${encodeURI(q)}`), fc.constantFrom('?access_token=x', '?a=%zz', '?&&==', '?a=1&a=2'));
    const method = fc.oneof(
      { weight: 2, arbitrary: fc.constant('GET') },
      fc.constantFrom('GET', 'POST', 'POST', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'PATCH', 'TRACE', 'CONNECT', 'FOO', 'get', 'M-SEARCH', 'PROPFIND'),
    );
    const header = fc.oneof(
      tokenArb.map((token) => `Authorization: Bearer ${token}`),
      mutatedArb.filter(({ mutated }) => sendable(mutated)).map(({ mutated }) => `Authorization: Bearer ${mutated}`),
      fc.constantFrom(
        'Authorization: Basic YTpi', 'Authorization:', 'Cookie: access_token=', 'Cookie: access_token="a.b.c"', 'Content-Length: 5', 'Content-Length: abc',
        'Transfer-Encoding: chunked', 'Transfer-Encoding: gzip, chunked', 'Expect: 100-continue', 'Expect: nonsense', 'Connection: x-user, close',
        'X-User: admin', 'X-Forwarded-For: 1.2.3.4', 'Content-Type: application/json', 'Upgrade: websocket', 'Host: ', 'X: \u00ff',
      ),
    );
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(method, path, query, fc.array(header, { maxLength: 4 }), async (verb, target, search, headers) => {
        const status = await rawRequest(`${verb} ${target}${search} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers.map((h) => `${h}\r\n`).join('')}Connection: close\r\n\r\n`);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        assert.ok(status === 0 || status < 500, `${status} for ${verb} ${target}${search} with ${JSON.stringify(headers).slice(0, 200)}`);
      }),
      { numRuns: Math.max(1, Math.ceil(RUNS / 2)) },
    );
    t.diagnostic(`statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);
    // Some requests must reach an authorizer, or the property only exercised node's parser and the router.
    if (RUNS >= 100) assert.ok((statuses.get(200) ?? 0) + (statuses.get(401) ?? 0) > 0, 'no request ever reached an endpoint');
  });

  test('end to end: mutated tokens through the gateway never reach the backend and never get a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(mutatedArb, fc.integer({ min: 0, max: 1 }), async ({ original, mutated }, endpoint) => {
        // HTTP drops whitespace around a field value (RFC 9110 §5.5): a padded genuine token is genuine on the wire.
        fc.pre(mutated !== original && !genuineTokens.includes(mutated.replace(/^[ \t]+|[ \t]+$/g, '')) && sendable(mutated));
        const before = backend.requests.length;
        const response = await pool.request({ path: `/p${endpoint}`, method: 'GET', headers: { authorization: `Bearer ${mutated}` } });
        const text = await response.body.text();
        assert.ok(response.statusCode === 401 || response.statusCode === 431, `status ${response.statusCode} for ${JSON.stringify(mutated.slice(0, 100))}: ${text}`);
        assert.equal(backend.requests.length, before, 'the backend was called');
      }),
      { numRuns: Math.max(1, Math.ceil(RUNS / 2)) },
    );
  });
});

/** Writes one raw HTTP/1.1 request and resolves with the status of the answer (0 when the server closed without one). */
function rawRequest(text: string): Promise<number> {
  const { port } = new URL(gateway.url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    let head = '';
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      head += chunk;
      // Skip interim answers (100 Continue) for the final status.
      const match = /^(?:HTTP\/1\.[01] 1\d\d [^\r]*\r\n(?:[^\r]+\r\n)*\r\n)*HTTP\/1\.[01] ([2-5]\d\d)/.exec(head);
      if (match) {
        clearTimeout(timer);
        socket.destroy();
        resolve(Number(match[1]));
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(0);
    });
    socket.end(text, 'latin1');
  });
}
