import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileGateway, GATEWAY_DEFAULTS } from '../../src/config/compile.js';
import { parseConfigText } from '../../src/config/load.js';
import type { GatewayConfig } from '../../src/config/schema.js';
import { assertIssue, assertIssues, configWith, SEED_CONFIG } from './helpers.js';

/** Schema-checked first, as the loader does, so each test proves compile adds the check. */
const compile = (config: unknown) => compileGateway(parseConfigText(JSON.stringify(config), 'test.json').config);
/** Skips the schema, for inputs the schema already rejects with a generic message. */
const compileRaw = (config: unknown) => compileGateway(config as GatewayConfig);
const VALIDATOR = { alg: 'RS256', jwk_url: 'https://idp.example/jwks' };
const HOST = ['http://127.0.0.1:9'];

describe('compileGateway plans', () => {
  it('compiles the KrakenD Descope seed config', () => {
    const plan = compile(SEED_CONFIG);
    assert.equal(plan.port, 8080);
    assert.equal(plan.listenIp, undefined);
    assert.equal(plan.healthPath, '/__health');
    assert.deepEqual(plan.limits, { ...GATEWAY_DEFAULTS.limits });
    assert.equal(plan.verifiedTokenCacheSize, 100_000);
    const [endpoint] = plan.endpoints;
    assert.equal(endpoint!.path, '/descope-protected');
    assert.equal(endpoint!.method, 'GET');
    assert.equal(endpoint!.timeoutMs, 3000);
    assert.equal(endpoint!.label, '[ENDPOINT: /descope-protected]');
    assert.deepEqual([...endpoint!.auth!.allowedAlgs], ['RS256']);
    assert.equal(endpoint!.auth!.keySource.kind, 'remote');
    assert.equal((endpoint!.auth!.keySource as { url: string }).url, SEED_CONFIG.endpoints[0]!.extra_config['auth/validator'].jwk_url);
    assert.deepEqual(endpoint!.backends, [
      {
        hosts: ['http://localhost:8080'],
        urlPattern: '/__health',
        urlParts: [{ kind: 'literal', text: '/__health' }],
        method: 'GET',
        encoding: 'json',
        returnErrorCode: false,
        returnErrorDetails: undefined,
        redirects: { follow: true, sendBody: false, origins: ['http://localhost:8080'] },
        isCollection: false,
        shape: undefined,
      },
    ]);
    assert.equal(endpoint!.returnErrorMsg, false);
    assert.ok(Object.isFrozen(plan) && Object.isFrozen(endpoint) && Object.isFrozen(endpoint!.backends[0]));
  });

  it('resolves defaults and overrides', () => {
    const plan = compile({
      version: 3,
      port: 9000,
      listen_ip: '127.0.0.1',
      timeout: '1500ms',
      host: ['http://root.example:8000/'],
      output_encoding: 'string',
      extra_config: {
        router: { health_path: '/healthz' },
        'portcullis/server': { max_header_size: 8192, max_body_size: 1024, headers_timeout: '2s', request_timeout: '4s', keep_alive_timeout: '1s', verified_token_cache_size: 0 },
      },
      endpoints: [
        {
          endpoint: '/users/{id}/orders/{order}',
          method: 'POST',
          timeout: '250ms',
          input_headers: ['X-User', 'content-TYPE'],
          input_query_strings: ['Page'],
          extra_config: { 'auth/validator': VALIDATOR },
          backend: [
            { url_pattern: '/u/{JWT.sub}/o/{order}?id={id}', method: 'PUT', extra_config: { 'backend/http': { return_error_code: true } } },
            { host: ['https://b.example'], url_pattern: '/b', encoding: 'json' },
          ],
        },
        { endpoint: '/all', input_headers: ['X-A', '*'], input_query_strings: ['*'], backend: [{ url_pattern: '/' }] },
        { endpoint: '/v1', extra_config: { 'github.com/devopsfaith/krakend-jose/validator': VALIDATOR }, backend: [{ url_pattern: '/' }] },
      ],
    });
    assert.equal(plan.port, 9000);
    assert.equal(plan.listenIp, '127.0.0.1');
    assert.equal(plan.healthPath, '/healthz');
    assert.deepEqual(plan.limits, { maxHeaderSize: 8192, maxBodySize: 1024, headersTimeoutMs: 2000, requestTimeoutMs: 4000, keepAliveTimeoutMs: 1000 });
    assert.equal(plan.verifiedTokenCacheSize, 0);
    const [users, all, v1] = plan.endpoints;
    assert.equal(users!.method, 'POST');
    assert.deepEqual(users!.params, ['id', 'order']);
    assert.equal(users!.timeoutMs, 250);
    assert.deepEqual([...(users!.inputHeaders as Set<string>)], ['x-user', 'content-type']);
    assert.deepEqual([...(users!.inputQueryStrings as Set<string>)], ['Page']);
    assert.equal(users!.outputEncoding, 'string');
    assert.deepEqual(users!.backends[0], {
      hosts: ['http://root.example:8000'],
      urlPattern: '/u/{JWT.sub}/o/{order}?id={id}',
      urlParts: [
        { kind: 'literal', text: '/u/' },
        { kind: 'claim', name: 'sub' },
        { kind: 'literal', text: '/o/' },
        { kind: 'param', name: 'order' },
        { kind: 'literal', text: '?id=' },
        { kind: 'param', name: 'id' },
      ],
      method: 'PUT',
      encoding: 'json',
      returnErrorCode: true,
      returnErrorDetails: undefined,
      redirects: { follow: true, sendBody: false, origins: ['http://root.example:8000'] },
      isCollection: false,
      shape: undefined,
    });
    assert.deepEqual(users!.backends[1]!.hosts, ['https://b.example']);
    assert.equal(users!.backends[1]!.method, 'POST');
    assert.equal(all!.inputHeaders, '*');
    assert.equal(all!.inputQueryStrings, '*');
    assert.equal(all!.timeoutMs, 1500);
    assert.equal(v1!.auth!.path, '$.endpoints[2].extra_config["github.com/devopsfaith/krakend-jose/validator"]');
    assert.deepEqual([...v1!.auth!.allowedAlgs], [VALIDATOR.alg]);
  });

  it('forwards nothing by default and uses the 2 s default timeout', () => {
    const [endpoint] = compile(configWith()).endpoints;
    assert.deepEqual([...(endpoint!.inputHeaders as Set<string>)], []);
    assert.deepEqual([...(endpoint!.inputQueryStrings as Set<string>)], []);
    assert.equal(endpoint!.timeoutMs, 2000);
    assert.equal(endpoint!.auth, undefined);
  });

  it('disables the health endpoint', () => {
    assert.equal(compile(configWith({}, { extra_config: { router: { disable_health: true } } })).healthPath, undefined);
  });

  it('reads a missing backend encoding under a no-op endpoint as no-op', () => {
    const [endpoint] = compile(configWith({ output_encoding: 'no-op' })).endpoints;
    assert.equal(endpoint!.outputEncoding, 'no-op');
    assert.equal(endpoint!.backends[0]!.encoding, 'no-op');
  });

  it('forces no-op on the backend of a no-op endpoint, whatever its encoding says (lura since v2.0.2)', () => {
    for (const encoding of ['json', 'safejson', 'string']) {
      const [endpoint] = compile(configWith({ output_encoding: 'no-op', backend: [{ host: HOST, url_pattern: '/', encoding }] })).endpoints;
      assert.equal(endpoint!.backends[0]!.encoding, 'no-op', encoding);
    }
    const [inherited] = compile(configWith({ backend: [{ host: HOST, url_pattern: '/', encoding: 'json' }] }, { output_encoding: 'no-op' })).endpoints;
    assert.equal(inherited!.backends[0]!.encoding, 'no-op');
  });

  it('compiles "audience": [] to no audience check, whatever the matcher (KrakenD checks none of zero audiences)', () => {
    const checks = (validator: Record<string, unknown>) => compile(configWith({ extra_config: { 'auth/validator': { ...VALIDATOR, ...validator } } })).endpoints[0]!.auth!.checks.map((check) => check.name);
    assert.ok(checks({ audience: ['api'] }).includes('aud'));
    assert.ok(!checks({ audience: [] }).includes('aud'));
    assert.ok(!checks({ audience: [], audience_matcher: 'any' }).includes('aud'));
  });

  it('accepts encoding "safejson"', () => {
    const [endpoint] = compile(configWith({ backend: [{ host: HOST, url_pattern: '/', encoding: 'safejson' }] })).endpoints;
    assert.equal(endpoint!.backends[0]!.encoding, 'safejson');
  });

  it('roots an endpoint and a url_pattern written without a leading "/", as lura\'s CleanPath does', () => {
    const [endpoint] = compile(configWith({ endpoint: 'users/{id}', backend: [{ host: HOST, url_pattern: 'u/{id}' }] })).endpoints;
    assert.equal(endpoint!.path, '/users/{id}');
    assert.deepEqual(endpoint!.params, ['id']);
    assert.equal(endpoint!.label, '[ENDPOINT: /users/{id}]');
    assert.equal(endpoint!.backends[0]!.urlPattern, '/u/{id}');
    assert.deepEqual(endpoint!.backends[0]!.urlParts, [{ kind: 'literal', text: '/u/' }, { kind: 'param', name: 'id' }]);
    const [empty] = compile(configWith({ backend: [{ host: HOST, url_pattern: '' }] })).endpoints;
    assert.equal(empty!.backends[0]!.urlPattern, '/');
  });

  it('finds a collision between a cleaned path and a rooted one', () => {
    assertIssue(
      () => compile({ version: 3, host: HOST, endpoints: [{ endpoint: '/a', backend: [{ url_pattern: '/' }] }, { endpoint: 'a', backend: [{ url_pattern: '/' }] }] }),
      '$.endpoints[1].endpoint',
      'duplicate endpoint GET /a (already defined at $.endpoints[0])',
    );
  });

  it('adds http:// to hosts written without a scheme, at the backend and the root (lura\'s CleanHost)', () => {
    const plan = compile({
      version: 3,
      host: ['users:8000'],
      endpoints: [
        { endpoint: '/a', backend: [{ host: ['pets:8080', 'https://secure.example', '10.0.0.7'], url_pattern: '/' }] },
        { endpoint: '/b', backend: [{ url_pattern: '/' }] },
      ],
    });
    assert.deepEqual(plan.endpoints[0]!.backends[0]!.hosts, ['http://pets:8080', 'https://secure.example', 'http://10.0.0.7']);
    assert.deepEqual(plan.endpoints[1]!.backends[0]!.hosts, ['http://users:8000']);
  });

  it('uses the root hosts for a backend whose "host" is an empty list', () => {
    const plan = compile({ version: 3, host: ['http://root.example:8000'], endpoints: [{ endpoint: '/a', backend: [{ host: [], url_pattern: '/' }] }] });
    assert.deepEqual(plan.endpoints[0]!.backends[0]!.hosts, ['http://root.example:8000']);
  });

  it('reads return_error_details (which, as in lura, turns return_error_code off) and router.return_error_msg', () => {
    const [endpoint] = compile(
      configWith(
        { backend: [{ host: HOST, url_pattern: '/', extra_config: { 'backend/http': { return_error_details: 'users', return_error_code: true } } }] },
        { extra_config: { router: { return_error_msg: true } } },
      ),
    ).endpoints;
    assert.equal(endpoint!.backends[0]!.returnErrorDetails, 'users');
    assert.equal(endpoint!.backends[0]!.returnErrorCode, false);
    assert.equal(endpoint!.returnErrorMsg, true);
  });

  it('reads the redirect settings of backend/http/client', () => {
    const [endpoint] = compile(
      configWith({
        backend: [
          {
            host: ['http://a.internal:8000', 'https://b.internal/api'],
            url_pattern: '/',
            extra_config: { 'backend/http/client': { no_redirect: true, send_body_on_redirect: true, redirect_hosts: ['https://auth.internal:8443', 'http://A.internal:8000/'] } },
          },
        ],
      }),
    ).endpoints;
    assert.deepEqual(endpoint!.backends[0]!.redirects, {
      follow: false,
      sendBody: true,
      origins: ['http://a.internal:8000', 'https://b.internal', 'https://auth.internal:8443'],
    });
  });

  it('keeps text that is not a placeholder as a literal', () => {
    const [endpoint] = compile(configWith({ backend: [{ host: HOST, url_pattern: '/a/{not valid}/b' }] })).endpoints;
    assert.deepEqual(endpoint!.backends[0]!.urlParts, [{ kind: 'literal', text: '/a/{not valid}/b' }]);
  });

  it('allows the same path under different methods and /__health once it is renamed', () => {
    const plan = compile({
      version: 3,
      host: HOST,
      extra_config: { router: { health_path: '/healthz' } },
      endpoints: [
        { endpoint: '/a/{id}', backend: [{ url_pattern: '/' }] },
        { endpoint: '/a/{name}', method: 'POST', backend: [{ url_pattern: '/' }] },
        { endpoint: '/__health', backend: [{ url_pattern: '/' }] },
      ],
    });
    assert.equal(plan.endpoints.length, 3);
  });
});

describe('compileGateway errors', () => {
  it('rejects an endpoint path with percent-encoded text, which could never match a decoded request', () => {
    for (const endpoint of ['/admin%2Fpanel', '/%61dmin', '/files/{name}/a%20b', '/100%']) {
      assertIssue(
        () => compile(configWith({ endpoint })),
        '$.endpoints[0].endpoint',
        'must not contain percent-encoded text ("%"): write the path decoded, as requests are matched decoded',
      );
    }
  });

  it('rejects a malformed parameter segment', () => {
    assertIssue(
      () => compile(configWith({ endpoint: '/users/id-{id}' })),
      '$.endpoints[0].endpoint',
      'malformed parameter segment "id-{id}": a parameter is a whole segment {name} (letters, digits, "_" or "-")',
    );
    assertIssue(
      () => compile(configWith({ endpoint: '/users/{JWT.sub}' })),
      '$.endpoints[0].endpoint',
      'malformed parameter segment "{JWT.sub}": a parameter is a whole segment {name} (letters, digits, "_" or "-")',
    );
  });

  it('rejects a parameter used twice in one path', () => {
    assertIssue(() => compile(configWith({ endpoint: '/a/{id}/b/{id}' })), '$.endpoints[0].endpoint', 'parameter {id} appears twice');
  });

  it('rejects the health path unless renamed or disabled', () => {
    assertIssue(
      () => compile(configWith({ endpoint: '/__health' })),
      '$.endpoints[0].endpoint',
      '/__health is reserved for the health endpoint; rename it with extra_config.router.health_path or set disable_health',
    );
    assertIssue(
      () => compile(configWith({ endpoint: '/healthz' }, { extra_config: { router: { health_path: '/healthz' } } })),
      '$.endpoints[0].endpoint',
      '/healthz is reserved for the health endpoint; rename it with extra_config.router.health_path or set disable_health',
    );
    assert.equal(compile(configWith({ endpoint: '/__health' }, { extra_config: { router: { disable_health: true } } })).endpoints.length, 1);
  });

  for (const [path, prefix] of [
    ['/__debug/x', '/__debug'],
    ['/__echo/', '/__echo'],
    ['/__catchall', '/__catchall'],
    ['/__stats/metrics', '/__stats'],
  ] as const) {
    it(`rejects the reserved path ${path}`, () => {
      assertIssue(() => compile(configWith({ endpoint: path })), '$.endpoints[0].endpoint', `${prefix} is a reserved path`);
    });
  }

  it('rejects route collisions that differ only in parameter names, naming both paths', () => {
    assertIssue(
      () => compile({ version: 3, host: HOST, endpoints: [
        { endpoint: '/a/{id}/b', backend: [{ url_pattern: '/' }] },
        { endpoint: '/c', backend: [{ url_pattern: '/' }] },
        { endpoint: '/a/{name}/b', backend: [{ url_pattern: '/' }] },
      ] }),
      '$.endpoints[2].endpoint',
      'route collision: GET /a/{name}/b and /a/{id}/b ($.endpoints[0]) match the same requests with different parameter names',
    );
  });

  it('rejects exact duplicates (the default method counts as GET)', () => {
    assertIssue(
      () => compile({ version: 3, host: HOST, endpoints: [
        { endpoint: '/a', backend: [{ url_pattern: '/' }] },
        { endpoint: '/a', method: 'GET', backend: [{ url_pattern: '/' }] },
      ] }),
      '$.endpoints[1].endpoint',
      'duplicate endpoint GET /a (already defined at $.endpoints[0])',
    );
  });

  it('rejects url_pattern placeholders that are not endpoint parameters', () => {
    assertIssue(
      () => compile(configWith({ endpoint: '/a/{id}', backend: [{ host: HOST, url_pattern: '/b/{user}' }] })),
      '$.endpoints[0].backend[0].url_pattern',
      'undefined output param {user}: not a parameter of the endpoint (parameters: {id}) nor {JWT.claim}',
    );
    assertIssue(
      () => compile(configWith({ backend: [{ host: HOST, url_pattern: '/b/{JWT.}' }] })),
      '$.endpoints[0].backend[0].url_pattern',
      'undefined output param {JWT.}: not a parameter of the endpoint (parameters: none) nor {JWT.claim}',
    );
  });

  it('rejects {JWT.claim} on an endpoint without auth/validator', () => {
    assertIssue(
      () => compile(configWith({ backend: [{ host: HOST, url_pattern: '/u/{JWT.sub}' }] })),
      '$.endpoints[0].backend[0].url_pattern',
      '{JWT.sub} needs an "auth/validator" on the endpoint to read the claim from',
    );
  });

  it('rejects no-op with more than one backend, in KrakenD words', () => {
    assertIssue(
      () => compile(configWith({ output_encoding: 'no-op', backend: [{ host: HOST, url_pattern: '/' }, { host: HOST, url_pattern: '/b' }] })),
      '$.endpoints[0].backend',
      'can not use NoOp encoding with more than one backends connected to the same endpoint',
    );
  });

  it('rejects a no-op backend under a decoding endpoint', () => {
    assertIssue(
      () => compile(configWith({ backend: [{ host: HOST, url_pattern: '/', encoding: 'no-op' }] })),
      '$.endpoints[0].backend[0].encoding',
      '"no-op" needs the endpoint output_encoding "no-op" too (found "json")',
    );
  });

  it('rejects a backend without host when the root has none', () => {
    assertIssue(
      () => compile(configWith({ backend: [{ url_pattern: '/' }] })),
      '$.endpoints[0].backend[0].host',
      'missing: the backend has no "host" and the root has no default "host"',
    );
  });

  it('rejects redirect_hosts entries that are not bare http(s) origins', () => {
    const path = '$.endpoints[0].backend[0].extra_config["backend/http/client"].redirect_hosts';
    assertIssues(
      () =>
        compile(
          configWith({
            backend: [{ host: HOST, url_pattern: '/', extra_config: { 'backend/http/client': { redirect_hosts: ['auth.internal', 'ftp://x', 'https://x/path', 'https://u:p@x', 'https://x?a=1'] } } }],
          }),
        ),
      [
        { path: `${path}[0]`, message: 'must be an http or https origin such as "https://auth.internal:8443"' },
        { path: `${path}[1]`, message: 'must be an http or https origin such as "https://auth.internal:8443"' },
        { path: `${path}[2]`, message: 'must be an origin only (scheme://host[:port]): no credentials, path, query or fragment' },
        { path: `${path}[3]`, message: 'must be an origin only (scheme://host[:port]): no credentials, path, query or fragment' },
        { path: `${path}[4]`, message: 'must be an origin only (scheme://host[:port]): no credentials, path, query or fragment' },
      ],
    );
  });

  it('rejects hosts that are not http(s) base URLs, at their own path or the root one', () => {
    assertIssue(() => compile(configWith({ backend: [{ host: ['ftp://x'], url_pattern: '/' }] })), '$.endpoints[0].backend[0].host[0]', 'must use http or https');
    assertIssue(
      () => compile(configWith({ backend: [{ host: [HOST[0], 'http://x:99999'], url_pattern: '/' }] })),
      '$.endpoints[0].backend[0].host[1]',
      'is not a valid URL (want scheme://host:port)',
    );
    assertIssue(
      () => compile({ ...configWith({ backend: [{ url_pattern: '/' }] }), host: ['http://x/api?k=v'] }),
      '$.host[0]',
      'must not have a query or fragment',
    );
  });

  it('rejects auth/validator together with its v1 alias', () => {
    assertIssue(
      () => compile(configWith({ extra_config: { 'auth/validator': VALIDATOR, 'github.com/devopsfaith/krakend-jose/validator': VALIDATOR } })),
      '$.endpoints[0].extra_config["github.com/devopsfaith/krakend-jose/validator"]',
      'both "auth/validator" and its v1 alias "github.com/devopsfaith/krakend-jose/validator" are set; keep only "auth/validator"',
    );
  });

  it('rejects zero and malformed timeouts', () => {
    assertIssue(() => compile(configWith({}, { timeout: '0' })), '$.timeout', 'must be greater than zero');
    assertIssue(() => compile(configWith({ timeout: '0s' })), '$.endpoints[0].timeout', 'must be greater than zero');
    assertIssue(() => compileRaw(configWith({ timeout: '5 s' })), '$.endpoints[0].timeout', 'must be a duration such as "500ms", "5s", "15m" or "1h"');
    assertIssue(
      () => compile(configWith({}, { extra_config: { 'portcullis/server': { keep_alive_timeout: '0ms' } } })),
      '$.extra_config["portcullis/server"].keep_alive_timeout',
      'must be greater than zero',
    );
  });

  it('rejects a headers timeout above the request timeout', () => {
    assertIssue(
      () => compile(configWith({}, { extra_config: { 'portcullis/server': { headers_timeout: '31s' } } })),
      '$.extra_config["portcullis/server"].headers_timeout',
      'headers_timeout (31000 ms) must not exceed request_timeout (30000 ms)',
    );
    assertIssue(
      () => compile(configWith({}, { extra_config: { 'portcullis/server': { request_timeout: '5s' } } })),
      '$.extra_config["portcullis/server"].request_timeout',
      'headers_timeout (10000 ms) must not exceed request_timeout (5000 ms)',
    );
  });

  it('reports every problem at once, and uses the given root path', () => {
    assertIssues(
      () => compileGateway(configWith({ endpoint: '/__debug', backend: [{ url_pattern: '/{x}' }] }) as GatewayConfig, { path: '$.gateway' }),
      [
        { path: '$.gateway.endpoints[0].endpoint', message: '/__debug is a reserved path' },
        { path: '$.gateway.endpoints[0].backend[0].host', message: 'missing: the backend has no "host" and the root has no default "host"' },
        { path: '$.gateway.endpoints[0].backend[0].url_pattern', message: 'undefined output param {x}: not a parameter of the endpoint (parameters: none) nor {JWT.claim}' },
      ],
    );
  });
});
