import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfigFile, loadGatewayPlan, parseConfigText, scanJson } from '../../src/config/load.js';
import { assertIssue, assertIssues, configWith, SEED_CONFIG } from './helpers.js';
import { ConfigError } from '../../src/config/validate.js';
import { compileGateway } from '../../src/config/compile.js';
import { fromRoot } from '../support/repo-root.js';

const json = (value: unknown, options?: { strict?: boolean }) => parseConfigText(JSON.stringify(value), 'test.json', options);
const VALIDATOR = { alg: 'RS256', jwk_url: 'https://idp.example/jwks' };

describe('loading files', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-load-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads YAML (.yaml and .yml) and JSON into the same config', () => {
    const config = {
      ...configWith({ input_headers: ['X-User'], extra_config: { 'auth/validator': VALIDATOR } }, { timeout: '3s', port: 8081 }),
    };
    writeFileSync(join(dir, 'c.json'), JSON.stringify(config, null, 2));
    writeFileSync(join(dir, 'c.yaml'), stringify(config));
    writeFileSync(join(dir, 'c.yml'), stringify(config));
    const fromJson = loadConfigFile(join(dir, 'c.json'));
    assert.deepEqual(loadConfigFile(join(dir, 'c.yaml')), fromJson);
    assert.deepEqual(loadConfigFile(join(dir, 'c.yml')), fromJson);
    assert.deepEqual(fromJson.config, config);
    assert.deepEqual(fromJson.warnings, []);
  });

  it('treats an unknown extension as JSON', () => {
    writeFileSync(join(dir, 'c.conf'), 'version: 3\nendpoints: []\n');
    assertIssue(() => loadConfigFile(join(dir, 'c.conf')), '$', `${join(dir, 'c.conf')}:1:1: invalid JSON: unexpected character "v"`);
  });

  it('accepts a UTF-8 byte order mark', () => {
    writeFileSync(join(dir, 'bom.json'), `\uFEFF${JSON.stringify(configWith())}`);
    assert.equal(loadConfigFile(join(dir, 'bom.json')).config.version, 3);
  });

  it('reports an unreadable file at $', () => {
    const missing = join(dir, 'missing.json');
    assertIssue(() => loadConfigFile(missing), '$', `cannot read ${missing}: ENOENT`);
  });

  it('loads the KrakenD Descope seed config and the example file with zero warnings', () => {
    assert.deepEqual(json(SEED_CONFIG).warnings, []);
    const example = fromRoot('examples/krakend-descope.json');
    assert.deepEqual(JSON.parse(readFileSync(example, 'utf8')), SEED_CONFIG);
    const { plan, warnings } = loadGatewayPlan(example);
    assert.deepEqual(warnings, []);
    assert.equal(plan.endpoints[0]!.timeoutMs, 3000);
    assert.equal(plan.endpoints[0]!.auth!.path, '$.endpoints[0].extra_config["auth/validator"]');
  });

  it('loadGatewayPlan reports validator problems with their JSON path', () => {
    const file = join(dir, 'insecure.json');
    writeFileSync(file, JSON.stringify(configWith({ extra_config: { 'auth/validator': { alg: 'RS256', jwk_url: 'http://idp.example/jwks' } } })));
    assertIssue(
      () => loadGatewayPlan(file),
      '$.endpoints[0].extra_config["auth/validator"].jwk_url',
      'JWKS URL http://idp.example must use https (http is allowed only for loopback hosts or with disable_jwk_security)',
    );
  });

  it('loadGatewayPlan reports compile problems', () => {
    const file = join(dir, 'collide.json');
    writeFileSync(file, JSON.stringify({ version: 3, host: ['http://127.0.0.1:9'], endpoints: [
      { endpoint: '/a/{id}', backend: [{ url_pattern: '/' }] },
      { endpoint: '/a/{name}', backend: [{ url_pattern: '/' }] },
    ] }));
    assertIssue(() => loadGatewayPlan(file), '$.endpoints[1].endpoint', /^route collision: GET \/a\/\{name\} and \/a\/\{id\}/);
  });
});

describe('syntax errors', () => {
  it('reports JSON syntax errors with line and column, without quoting the file', () => {
    const text = '{\n  "version": 3,\n  "endpoints": [\n    {"k": "secret-value",}\n  ]\n}';
    assertIssue(() => parseConfigText(text, 'c.json'), '$', 'c.json:4:26: invalid JSON: trailing comma');
  });

  it('reports truncated JSON', () => {
    assertIssue(() => parseConfigText('{"version": 3', 'c.json'), '$', 'c.json:1:14: invalid JSON: unexpected end of input');
  });

  it('reports an empty file', () => {
    assertIssue(() => parseConfigText('', 'c.json'), '$', 'c.json:1:1: invalid JSON: unexpected end of input');
  });

  it('rejects duplicate JSON keys, which JSON.parse would resolve silently', () => {
    const text = '{"version": 3, "endpoints": [{"endpoint": "/a", "extra_config": {"auth/validator": {}},\n "extra_config": {}, "backend": []}]}';
    assertIssue(() => parseConfigText(text, 'c.json'), '$.endpoints[0].extra_config', 'c.json:2:2: duplicate key "extra_config"');
  });

  it('reports YAML syntax errors with line and column', () => {
    const text = 'version: 3\nendpoints:\n  - endpoint: /x\n   backend: []\n';
    assertIssue(() => parseConfigText(text, 'c.yaml'), '$', 'c.yaml:4:1: invalid YAML: Sequence item without - indicator');
  });

  it('rejects duplicate YAML keys', () => {
    assertIssue(() => parseConfigText('version: 3\nversion: 3\n', 'c.yml'), '$', 'c.yml:2:1: invalid YAML: Map keys must be unique');
  });

  it('refuses YAML alias bombs', () => {
    const text = ['a: &a [1, 2]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c]'].join('\n');
    assertIssue(() => parseConfigText(text, 'c.yaml'), '$', 'c.yaml: invalid YAML: Excessive alias count indicates a resource exhaustion attack');
  });

  it('scanJson accepts what JSON.parse accepts', () => {
    for (const text of ['{}', '[]', '"x"', '-0.5e+3', '{"a":[1,{"b":null}],"c":"\\u00e9\\n"}', ' true ']) {
      assert.equal(scanJson(text), undefined, text);
    }
  });
});

function issuesOf(fn: () => unknown): readonly { path: string; message: string }[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  assert.fail('expected a ConfigError');
}

describe('schema checks', () => {
  it('allows $schema and @comment keys', () => {
    const config = { $schema: 'https://www.krakend.io/schema/v2.13/krakend.json', '@comment': 'x', ...configWith({ '@comment': 'y' }) };
    assert.deepEqual(json(config).warnings, []);
  });

  it('warns on unknown keys with their JSON path, saying what is not applied, and fails on them with strict', () => {
    const config = configWith({ concurrent_calls: 2, x_owner: 'team-a', extra_config: { 'security/cors': { allow_origins: ['*'] } } });
    const expected = [
      { path: '$.endpoints[0].concurrent_calls', message: '"concurrent_calls": not implemented by portcullis: each backend is called once' },
      {
        path: '$.endpoints[0].extra_config["security/cors"]',
        message: '"security/cors" is read only in the root extra_config (as in KrakenD); not applied here',
      },
      { path: '$.endpoints[0].x_owner', message: 'unknown key' },
    ];
    assert.deepEqual(json(config).warnings, expected);
    assertIssues(() => json(config, { strict: true }), expected);
  });

  it('reports a version other than 3 as KrakenD does', () => {
    assertIssue(() => json({ ...configWith(), version: 2 }), '$.version', 'unsupported version: 2 (want: 3)');
    assertIssue(() => json({ ...configWith(), version: '3' }), '$.version', 'unsupported version: "3" (want: 3)');
  });

  it('reports a missing version', () => {
    const { version: _version, ...config } = configWith();
    assertIssue(() => json(config), '$', 'missing required key "version"');
  });

  it('words pattern failures of paths as such', () => {
    assertIssues(() => json(configWith({}, { extra_config: { router: { health_path: 'h' } } })), [{ path: '$.extra_config.router.health_path', message: 'must start with "/"' }]);
    assertIssue(() => json(configWith({ timeout: '5 s' })), '$.endpoints[0].timeout', 'must be a duration such as "500ms", "5s", "15m" or "1h"');
  });

  it('passes other schema errors through with their path', () => {
    assertIssue(() => json(configWith({ method: 'TRACE' })), '$.endpoints[0].method', /^must be one of "GET", "POST"/);
  });
});

describe('valid KrakenD configs portcullis used to refuse', () => {
  it('accepts what lura cleans or defaults: rootless paths, schemeless hosts, an empty backend host list, safejson', () => {
    const loaded = json({
      version: 3,
      host: ['users:8000'],
      endpoints: [
        { endpoint: 'users/{id}', backend: [{ host: [], url_pattern: 'u/{id}', encoding: 'safejson' }] },
        { endpoint: '/pets', backend: [{ host: ['pets:8080'], url_pattern: '/pets' }] },
        { endpoint: '/raw', output_encoding: 'no-op', backend: [{ host: ['pets:8080'], url_pattern: '/raw', encoding: 'json' }] },
      ],
    });
    assert.deepEqual(loaded.warnings, []);
  });

  it('reads a backend encoding KrakenD does not know as json, as lura does, and says so; refuses the decoders KrakenD has and portcullis lacks', () => {
    const backend = (encoding: string) => ({ host: ['http://127.0.0.1:9'], url_pattern: '/', encoding });
    const loaded = json({
      version: 3,
      endpoints: [
        { endpoint: '/form', backend: [backend('form')] },
        { endpoint: '/typo', backend: [backend('no_op')] },
        // Proxied as it is under a no-op endpoint, whatever the backend says.
        { endpoint: '/raw', output_encoding: 'no-op', backend: [backend('xml')] },
      ],
    });
    assert.deepEqual(loaded.warnings, [
      { path: '$.endpoints[0].backend[0].encoding', message: '"form" is not an encoding KrakenD knows: the answer is decoded as "json", as KrakenD does' },
      { path: '$.endpoints[1].backend[0].encoding', message: '"no_op" is not an encoding KrakenD knows: the answer is decoded as "json", as KrakenD does; to get "no-op", write it so' },
    ]);
    const plan = compileGateway(loaded.config);
    assert.deepEqual(plan.endpoints.map((e) => e.backends[0]!.encoding), ['json', 'json', 'no-op']);
    for (const name of ['xml', 'rss', 'yaml']) {
      assertIssue(() => json(configWith({ backend: [backend(name)] })), '$.endpoints[0].backend[0].encoding', new RegExp(`^the "${name}" decoder is not implemented by portcullis`));
    }
    assertIssue(() => json(configWith({ backend: [backend('')] })), '$.endpoints[0].backend[0].encoding', /^must/);
  });

  it('accepts "audience": [] and says that no audience is checked', () => {
    const loaded = json(configWith({ extra_config: { 'auth/validator': { ...VALIDATOR, audience: [] } } }));
    assert.deepEqual(loaded.warnings, [
      {
        path: '$.endpoints[0].extra_config["auth/validator"].audience',
        message: '"audience" is empty: the token\'s "aud" is not checked (as in KrakenD); list the accepted audiences to check it',
      },
    ]);
    assert.deepEqual(json(configWith({ extra_config: { 'github.com/devopsfaith/krakend-jose/validator': { ...VALIDATOR, audience: [] } } })).warnings.map((w) => w.path), [
      '$.endpoints[0].extra_config["github.com/devopsfaith/krakend-jose/validator"].audience',
    ]);
    // An empty string is still refused: it names no audience at all.
    assertIssue(() => json(configWith({ extra_config: { 'auth/validator': { ...VALIDATOR, audience: [''] } } })), '$.endpoints[0].extra_config["auth/validator"].audience', /^must be/);
  });

  it('accepts return_error_details, router.return_error_msg and the redirect keys of backend/http/client, and warns about the client keys it does not apply', () => {
    const loaded = json(
      configWith(
        {
          backend: [
            {
              host: ['http://127.0.0.1:9'],
              url_pattern: '/',
              extra_config: {
                'backend/http': { return_error_details: 'users' },
                'backend/http/client': { send_body_on_redirect: true, no_redirect: false, redirect_hosts: ['https://sso.internal'], client_tls: {}, proxy_address: 'http://proxy:3128' },
              },
            },
          ],
        },
        { extra_config: { router: { return_error_msg: true } } },
      ),
    );
    assert.deepEqual(loaded.warnings, [
      {
        path: '$.endpoints[0].backend[0].extra_config["backend/http/client"].client_tls',
        message: '"client_tls": not implemented by portcullis: backends are called with the default TLS settings',
      },
      {
        path: '$.endpoints[0].backend[0].extra_config["backend/http/client"].proxy_address',
        message: '"proxy_address": not implemented by portcullis: the backend is called directly, not through this proxy',
      },
    ]);
    assertIssue(
      () => json(configWith({ backend: [{ host: ['http://127.0.0.1:9'], url_pattern: '/', extra_config: { 'backend/http/client': { send_body_on_redirects: true } } }] })),
      '$.endpoints[0].backend[0].extra_config["backend/http/client"].send_body_on_redirects',
      'unknown key; did you mean "send_body_on_redirect"?',
    );
  });
});

describe('Flexible Config templates', () => {
  it('get a hint to render them first instead of a JSON syntax error, at the first {{', () => {
    const text = '{\n  "version": 3,\n  "port": {{ .service.port }},\n  "endpoints": {{ template "endpoints.tmpl" . }}\n}';
    assertIssue(
      () => parseConfigText(text, 'krakend.tmpl'),
      '$',
      'krakend.tmpl:3:11: this is a Flexible Config template ({{ … }}): render it first (FC_ENABLE=1 FC_OUT=rendered.json krakend check -c krakend.tmpl, with FC_SETTINGS, FC_PARTIALS and FC_TEMPLATES as for krakend run) and load rendered.json',
    );
  });

  it('get the hint only when the file does not parse', () => {
    assertIssue(() => parseConfigText('{"version": 3, "endpoints": [{{ range .e }}{}{{ end }}]}', 'c.json'), '$', /^c\.json:1:30: this is a Flexible Config template/);
    // A template marker inside a string that parses is left to the normal checks.
    assert.deepEqual(json(configWith({ '@comment': 'rendered from {{ .env }}' })).warnings, []);
    assertIssue(() => parseConfigText('{"version": 3,}', 'c.json'), '$', 'c.json:1:15: invalid JSON: trailing comma');
  });
});

describe('warnings next to errors', () => {
  it('are carried by the ConfigError, so a file with a schema error still gets its unknown keys reported', () => {
    let caught: unknown;
    try {
      json(configWith({ method: 'TRACE', x_team: 'payments', concurrent_calls: 2 }));
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof ConfigError);
    assert.deepEqual(caught.issues.map((issue) => issue.path), ['$.endpoints[0].method']);
    assert.deepEqual(caught.warnings, [
      { path: '$.endpoints[0].concurrent_calls', message: '"concurrent_calls": not implemented by portcullis: each backend is called once' },
      { path: '$.endpoints[0].x_team', message: 'unknown key' },
    ]);
  });

  it('are errors themselves with strict, and not repeated as warnings', () => {
    let caught: unknown;
    try {
      json(configWith({ method: 'TRACE', x_team: 'payments' }), { strict: true });
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof ConfigError);
    assert.deepEqual(caught.issues.map((issue) => issue.path), ['$.endpoints[0].method', '$.endpoints[0].x_team']);
    assert.deepEqual(caught.warnings, []);
  });
});

describe('keys KrakenD ignores silently', () => {
  it('rejects headers_to_pass, naming input_headers', () => {
    assertIssue(
      () => json(configWith({ headers_to_pass: ['Authorization'] })),
      '$.endpoints[0].headers_to_pass',
      '"headers_to_pass" is the KrakenD v1 name, ignored by v2; use "input_headers"',
    );
  });

  it('rejects querystring_params, naming input_query_strings', () => {
    assertIssue(
      () => json(configWith({ querystring_params: ['page'] })),
      '$.endpoints[0].querystring_params',
      '"querystring_params" is the KrakenD v1 name, ignored by v2; use "input_query_strings"',
    );
  });

  it('rejects v1 hyphenated validator keys, naming the snake_case key', () => {
    assertIssues(() => json(configWith({ extra_config: { 'auth/validator': { ...VALIDATOR, 'propagate-claims': [['sub', 'X-User']], 'roles-key': 'r' } } })), [
      { path: '$.endpoints[0].extra_config["auth/validator"]["propagate-claims"]', message: '"propagate-claims" is the KrakenD v1 spelling, ignored by v2; use "propagate_claims"' },
      { path: '$.endpoints[0].extra_config["auth/validator"]["roles-key"]', message: '"roles-key" is the KrakenD v1 spelling, ignored by v2; use "roles_key"' },
    ]);
  });

  it('rejects hyphenated keys under the v1 validator namespace too', () => {
    assertIssue(
      () => json(configWith({ extra_config: { 'github.com/devopsfaith/krakend-jose/validator': { alg: 'RS256', 'jwk-url': 'https://idp.example/jwks', jwk_url: 'https://idp.example/jwks' } } })),
      '$.endpoints[0].extra_config["github.com/devopsfaith/krakend-jose/validator"]["jwk-url"]',
      '"jwk-url" is the KrakenD v1 spelling, ignored by v2; use "jwk_url"',
    );
  });

  it('refuses any other unknown key inside auth/validator: a misspelled rule must not run open', () => {
    assertIssues(() => json(configWith({ extra_config: { 'auth/validator': { ...VALIDATOR, 'no-such-key': 1, role: ['admin'], audiance: ['api'] } } })), [
      { path: '$.endpoints[0].extra_config["auth/validator"]["no-such-key"]', message: 'unknown key' },
      { path: '$.endpoints[0].extra_config["auth/validator"].role', message: 'unknown key; did you mean "roles"?' },
      { path: '$.endpoints[0].extra_config["auth/validator"].audiance', message: 'unknown key; did you mean "audience"?' },
    ]);
  });

  it('refuses access-control namespaces it cannot enforce, at endpoint, backend and root level', () => {
    const message = (ns: string) => `"${ns}" is not supported by portcullis; refusing to run without the access control it configures`;
    assertIssue(() => json(configWith({ extra_config: { 'auth/api-keys': {} } })), '$.endpoints[0].extra_config["auth/api-keys"]', message('auth/api-keys'));
    assertIssue(
      () => json(configWith({ backend: [{ host: ['http://127.0.0.1:9'], url_pattern: '/', extra_config: { 'validation/cel': [] } }] })),
      '$.endpoints[0].backend[0].extra_config["validation/cel"]',
      message('validation/cel'),
    );
    assertIssue(() => json(configWith({}, { extra_config: { 'security/policies': {} } })), '$.extra_config["security/policies"]', message('security/policies'));
  });

  it('refuses every namespace that restricts access, limits or reshapes data, in its v1 spellings too', () => {
    const endpointNamespaces = [
      'github_com/devopsfaith/bloomfilter',
      'validation/json-schema',
      'security/bot-detector',
      'modifier/lua-endpoint',
      'modifier/lua-proxy',
      'security/http',
      'qos/ratelimit/proxy',
      'plugin/http-server',
      'modifier/martian',
    ];
    for (const namespace of endpointNamespaces) {
      const issues = issuesOf(() => json(configWith({ extra_config: { [namespace]: {} } })));
      assert.equal(issues.length, 1, namespace);
      assert.equal(issues[0]!.path, `$.endpoints[0].extra_config[${JSON.stringify(namespace)}]`);
      assert.match(issues[0]!.message, new RegExp(`^"${namespace.replace(/[/.]/g, '\\$&')}" is not supported by portcullis; refusing`), namespace);
    }
  });

  it('accepts backend response manipulation (allow, deny, mapping, group, target, is_collection) with no issue', () => {
    const manipulation = { allow: ['id', 'user.name'], deny: [], mapping: { id: 'user_id' }, group: 'g', target: 'data', is_collection: false };
    for (const [key, value] of Object.entries(manipulation)) {
      const loaded = json(configWith({ backend: [{ host: ['http://127.0.0.1:9'], url_pattern: '/', [key]: value }] }), { strict: true });
      assert.deepEqual(loaded.warnings, [], key);
      assert.deepEqual((loaded.config.endpoints[0]!.backend[0] as Record<string, unknown>)[key], value, key);
    }
  });

  it('accepts flatmap_filter on endpoints and backends, and still refuses what it does not implement: shadow, static, sequential, per-backend input_headers, the v1 filter names', () => {
    const flatmap = { flatmap_filter: [{ type: 'del', args: ['items.*.password'] }, { type: 'move', args: ['a', 'b'] }] };
    const accepted = json(configWith({ extra_config: { proxy: flatmap }, backend: [{ host: ['http://127.0.0.1:9'], url_pattern: '/', extra_config: { proxy: flatmap } }] }), { strict: true });
    assert.deepEqual(accepted.warnings, []);

    const backend = {
      host: ['http://127.0.0.1:9'],
      url_pattern: '/',
      whitelist: ['id'],
      blacklist: ['password'],
      input_headers: ['X-A'],
      extra_config: { proxy: { shadow: true, ...flatmap } },
    };
    const issues = issuesOf(() => json(configWith({ extra_config: { proxy: { sequential: true, static: { data: {} } } }, backend: [backend] })));
    assert.deepEqual(issues.map((issue) => issue.path).sort(), [
      '$.endpoints[0].backend[0].blacklist',
      '$.endpoints[0].backend[0].extra_config.proxy.shadow',
      '$.endpoints[0].backend[0].input_headers',
      '$.endpoints[0].backend[0].whitelist',
      '$.endpoints[0].extra_config.proxy.sequential',
      '$.endpoints[0].extra_config.proxy.static',
    ]);
    const message = (path: string) => issues.find((issue) => issue.path === path)!.message;
    assert.equal(message('$.endpoints[0].backend[0].whitelist'), '"whitelist" is the KrakenD v1 name, ignored by v2 (the fields would not be filtered); use "allow"');
    assert.equal(message('$.endpoints[0].backend[0].blacklist'), '"blacklist" is the KrakenD v1 name, ignored by v2 (the fields would not be filtered); use "deny"');
    assert.match(message('$.endpoints[0].backend[0].extra_config.proxy.shadow'), /^"shadow" is not supported by portcullis; refusing/);
  });

  it('refuses a flatmap operation of an unknown type, or a misspelled flatmap_filter, with its JSON path', () => {
    const typo = issuesOf(() => json(configWith({ extra_config: { proxy: { flatmap_filter: [{ type: 'delete', args: ['a'] }] } } })));
    assert.deepEqual(typo.map((issue) => issue.path), ['$.endpoints[0].extra_config.proxy.flatmap_filter[0].type']);
    assertIssue(() => json(configWith({ extra_config: { proxy: { flatmap_filters: [] } } })), '$.endpoints[0].extra_config.proxy.flatmap_filters', 'unknown key; did you mean "flatmap_filter"?');
  });

  it('warns when allow and deny are both set, and when a mapping target has a dot', () => {
    const loaded = json(configWith({ backend: [{ host: ['http://127.0.0.1:9'], url_pattern: '/', allow: ['a'], deny: ['a.b'], mapping: { x: 'y.z', 'p.q': 'r' } }] }));
    assert.deepEqual(loaded.warnings, [
      {
        path: '$.endpoints[0].backend[0].deny',
        message: 'allow and deny are both set: portcullis applies allow, then deny (KrakenD ignores deny when allow is set); keep one of them',
      },
      { path: '$.endpoints[0].backend[0].mapping.x', message: 'mapping renames top-level fields only: "x" becomes "y" (the part before the first dot, as in KrakenD)' },
    ]);
  });

  it('warns when a mapping answers a field under a name deny removes', () => {
    const loaded = json(configWith({ backend: [{ host: ['http://127.0.0.1:9'], url_pattern: '/', deny: ['password'], mapping: { pwd: 'password', id: 'uid' } }] }));
    assert.deepEqual(loaded.warnings, [
      {
        path: '$.endpoints[0].backend[0].mapping.pwd',
        message: 'renames "pwd" to "password", which deny removes: mapping runs after deny, so the answer has a "password" again (as in KrakenD); deny "pwd" too if neither should be seen',
      },
    ]);
  });

  it('checks the types of the manipulation keys with their JSON path', () => {
    const issues = issuesOf(() => json(configWith({ backend: [{ host: ['http://127.0.0.1:9'], url_pattern: '/', allow: 'id', mapping: { a: 1 }, is_collection: 'yes' }] })));
    assert.deepEqual(issues.map((issue) => issue.path).sort(), ['$.endpoints[0].backend[0].allow', '$.endpoints[0].backend[0].is_collection', '$.endpoints[0].backend[0].mapping.a']);
  });

  it('refuses keys that look like misspellings of known ones, such as a misspelled validator namespace or extra_config', () => {
    assertIssue(
      () => json(configWith({ extra_config: { 'auth/validater': VALIDATOR } })),
      '$.endpoints[0].extra_config["auth/validater"]',
      'unknown key; did you mean "auth/validator"?',
    );
    assertIssue(() => json(configWith({ extra_confg: { 'auth/validator': VALIDATOR } })), '$.endpoints[0].extra_confg', 'unknown key; did you mean "extra_config"?');
    assertIssue(() => json(configWith({ input_header: ['X-User'] })), '$.endpoints[0].input_header', 'unknown key; did you mean "input_headers"?');
  });
});
