/**
 * The config side of `security/cors`, `cache_ttl` and the test endpoints:
 * what is refused (with its JSON path) and what the plan holds. CORS with
 * credentials must name origins a stranger cannot own; cache_ttl must mark
 * answers for identified callers private unless the endpoint opts in.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileGateway } from '../../src/config/compile.js';
import { parseConfigText } from '../../src/config/load.js';
import { checkConfig } from '../../src/cli/check.js';
import { assertIssue, assertIssues, configWith } from './helpers.js';

const compile = (config: unknown) => compileGateway(parseConfigText(JSON.stringify(config), 'test.json').config);
const withCors = (cors: unknown, key = 'security/cors') => configWith({}, { extra_config: { [key]: cors } });
const CORS = '$.extra_config["security/cors"]';
const VALIDATOR = { alg: 'RS256', jwk_url: 'https://idp.example/jwks' };

describe('security/cors in the config', () => {
  it('refuses credentials with an origin anyone can have: "*", no list, "null", broad wildcards', () => {
    assertIssue(
      () => compile(withCors({ allow_origins: ['https://app.example', '*'], allow_credentials: true })),
      `${CORS}.allow_origins`,
      `allow_credentials with "*" would let every website read its visitors' authorized answers; list the origins that may`,
    );
    assertIssue(
      () => compile(withCors({ allow_credentials: true })),
      `${CORS}.allow_credentials`,
      `allow_credentials with no allow_origins (every origin) would let every website read its visitors' authorized answers; list the origins that may`,
    );
    assertIssue(() => compile(withCors({ allow_origins: [], allow_credentials: true })), `${CORS}.allow_credentials`, /no allow_origins/);
    assertIssue(() => compile(withCors({ allow_origins: ['null'], allow_credentials: true })), `${CORS}.allow_origins[0]`, /Origin: null/);
    const broad = ['https://*', 'https://*.com', 'https://example.*', 'http://*:8080', '*.example.com'];
    assertIssues(
      () => compile(withCors({ allow_origins: ['https://ok.example', ...broad], allow_credentials: true })),
      broad.map((origin, i) => ({
        path: `${CORS}.allow_origins[${i + 1}]`,
        message: `"${origin}" with allow_credentials matches origins anyone can register; write it as scheme://*.your-domain.tld (subdomains) or scheme://host:* (ports)`,
      })),
    );
    assertIssue(() => compile(withCors({ allow_origins: ['https://*.*.example.com'] })), `${CORS}.allow_origins[0]`, 'one "*" per origin at most (as in KrakenD)');
  });

  it('accepts narrow wildcards with credentials, and anything without them', () => {
    const plan = compile(withCors({ allow_origins: ['https://*.Example.com', 'http://localhost:*', 'https://App.example'], allow_credentials: true }));
    assert.deepEqual(plan.cors!.originWildcards, [
      { prefix: 'https://', suffix: '.example.com' },
      { prefix: 'http://localhost:', suffix: '' },
    ]);
    assert.deepEqual([...plan.cors!.origins], ['https://app.example']);
    assert.equal(compile(withCors({ allow_origins: ['*', 'null', 'https://*'] })).cors!.anyOrigin, true);
  });

  it("fills in KrakenD's defaults and reads every option", () => {
    const defaults = compile(withCors({})).cors!;
    assert.equal(defaults.anyOrigin, true);
    assert.equal(defaults.anyHeader, true);
    assert.deepEqual([...defaults.methods], ['GET', 'POST', 'HEAD']);
    assert.equal(defaults.maxAgeSeconds, 0);
    assert.equal(defaults.optionsSuccessStatus, 204);
    assert.equal(defaults.exposeHeaders, '');
    const full = compile(
      withCors({
        allow_origins: ['https://app.example'],
        allow_methods: ['PUT', 'DELETE'],
        allow_headers: ['X-Custom', 'Authorization'],
        expose_headers: ['X-Total', 'Link'],
        allow_credentials: true,
        max_age: '12h',
        allow_private_network: true,
        options_passthrough: true,
        options_success_status: 200,
        debug: true,
      }),
    ).cors!;
    assert.deepEqual([...full.methods], ['PUT', 'DELETE']);
    assert.deepEqual([...full.headers], ['x-custom', 'authorization']);
    assert.equal(full.anyHeader, false);
    assert.equal(full.exposeHeaders, 'X-Total, Link');
    assert.equal(full.maxAgeSeconds, 43_200);
    assert.equal(full.allowPrivateNetwork && full.optionsPassthrough && full.debug && full.allowCredentials, true);
    assert.equal(full.optionsSuccessStatus, 200);
    assert.equal(compile(configWith()).cors, undefined);
  });

  it('reads the v1 name, refuses both names at once, and checks types and statuses with the schema', () => {
    assert.equal(compile(withCors({ allow_origins: ['https://a.example'] }, 'github_com/devopsfaith/krakend-cors')).cors!.origins.has('https://a.example'), true);
    assertIssue(
      () => compile(configWith({}, { extra_config: { 'security/cors': {}, 'github_com/devopsfaith/krakend-cors': {} } })),
      '$.extra_config["github_com/devopsfaith/krakend-cors"]',
      'both "security/cors" and its v1 name "github_com/devopsfaith/krakend-cors" are set; keep only "security/cors"',
    );
    assertIssue(() => compile(withCors({ options_success_status: 404 })), `${CORS}.options_success_status`, /must be <= 299/);
    assertIssue(() => compile(withCors({ max_age: 3600 })), `${CORS}.max_age`, /must be string/);
    assertIssue(() => compile(withCors({ allow_origin: ['*'] })), `${CORS}.allow_origin`, /unknown key; did you mean "allow_origins"/);
  });
});

describe('cache_ttl in the config', () => {
  it('takes the endpoint value, else the root one; "0s" on an endpoint turns it off; whole seconds, truncated; never on no-op', () => {
    const plan = compile({
      version: 3,
      cache_ttl: '1h',
      host: ['http://127.0.0.1:9'],
      endpoints: [
        { endpoint: '/root', backend: [{ url_pattern: '/' }] },
        { endpoint: '/own', cache_ttl: '1500ms', backend: [{ url_pattern: '/' }] },
        { endpoint: '/off', cache_ttl: '0s', backend: [{ url_pattern: '/' }] },
        { endpoint: '/raw', output_encoding: 'no-op', backend: [{ url_pattern: '/' }] },
      ],
    });
    assert.equal(plan.endpoints[0]!.cache!.publicValue, 'public, max-age=3600');
    assert.equal(plan.endpoints[1]!.cache!.publicValue, 'public, max-age=1');
    assert.equal(plan.endpoints[2]!.cache, undefined);
    assert.equal(plan.endpoints[3]!.cache, undefined);
    assert.equal(compile(configWith()).endpoints[0]!.cache, undefined);
  });

  it('is private for validated endpoints and for forwarded credentials, unless portcullis/cache says public_with_credentials', () => {
    const plan = compile({
      version: 3,
      cache_ttl: '60s',
      host: ['http://127.0.0.1:9'],
      endpoints: [
        { endpoint: '/validated', extra_config: { 'auth/validator': VALIDATOR }, backend: [{ url_pattern: '/' }] },
        { endpoint: '/header', extra_config: { 'auth/validator': { ...VALIDATOR, auth_header_name: 'X-Token' } }, backend: [{ url_pattern: '/' }] },
        { endpoint: '/shared', extra_config: { 'auth/validator': VALIDATOR, 'portcullis/cache': { public_with_credentials: true } }, backend: [{ url_pattern: '/' }] },
        { endpoint: '/forwards', input_headers: ['Cookie', 'X-Other'], backend: [{ url_pattern: '/' }] },
        { endpoint: '/all', input_headers: ['*'], backend: [{ url_pattern: '/' }] },
        { endpoint: '/none', input_headers: ['X-Other'], backend: [{ url_pattern: '/' }] },
      ],
    });
    const caches = plan.endpoints.map((endpoint) => ({ privateIf: endpoint.cache!.privateIf, vary: endpoint.cache!.privateVary }));
    assert.deepEqual(caches, [
      { privateIf: 'always', vary: 'Authorization, Cookie' },
      { privateIf: 'always', vary: 'X-Token, Cookie' },
      { privateIf: [], vary: '' },
      { privateIf: ['cookie'], vary: 'Cookie' },
      { privateIf: ['authorization', 'cookie'], vary: 'Authorization, Cookie' },
      { privateIf: [], vary: '' },
    ]);
    assert.equal(plan.endpoints[0]!.cache!.privateValue, 'private, max-age=60');
  });

  it('names a bad duration by its path', () => {
    assertIssue(() => compile(configWith({ cache_ttl: '10 minutes' })), '$.endpoints[0].cache_ttl', 'must be a duration such as "500ms", "5s", "15m" or "1h"');
  });
});

describe('debug_endpoint and echo_endpoint in the config', () => {
  it('are off by default; check warns when they are on, and collects what /__echo/ redacts', () => {
    const off = compile(configWith());
    assert.equal(off.debugEndpoint || off.echoEndpoint, false);
    const plan = compile({
      ...configWith({ extra_config: { 'auth/validator': { ...VALIDATOR, auth_header_name: 'X-Token', query_key: 'access_token' } } }),
      debug_endpoint: true,
      echo_endpoint: true,
    });
    assert.equal(plan.debugEndpoint && plan.echoEndpoint, true);
    assert.deepEqual([...plan.credentialHeaders].sort(), ['authorization', 'cookie', 'proxy-authorization', 'x-token']);
    assert.deepEqual([...plan.credentialQueryKeys], ['access_token']);

    const dir = mkdtempSync(join(tmpdir(), 'portcullis-debug-'));
    try {
      const file = join(dir, 'debug.json');
      writeFileSync(file, JSON.stringify({ ...configWith(), debug_endpoint: true, echo_endpoint: true }));
      const lines: string[] = [];
      assert.equal(checkConfig({ config: file }, (line) => lines.push(line)), 0);
      assert.deepEqual(lines.slice(1), [
        'WARNING $.debug_endpoint: "debug_endpoint" is on: /__debug/ answers anyone, without authorization; keep it off in production',
        'WARNING $.echo_endpoint: "echo_endpoint" is on: /__echo/ answers anyone with the request it received (headers, query and body; credential values redacted), without authorization; keep it off in production',
        'Syntax OK!',
      ]);
      writeFileSync(file, JSON.stringify({ ...configWith(), debug_endpoint: false }));
      lines.length = 0;
      assert.equal(checkConfig({ config: file }, (line) => lines.push(line)), 0);
      assert.deepEqual(lines.slice(1), ['Syntax OK!']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
