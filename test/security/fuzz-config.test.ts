/**
 * Property tests over configuration: random config objects (valid configs with
 * random edits), random validator blocks and random JSON/YAML text go through
 * the loader, the compiler, the validators' static checks and createAuthorizer.
 * Each one either yields a usable result or a ConfigError whose every issue
 * names a JSON path starting with `$`; nothing else may escape, and no message
 * may quote the configured HMAC secret.
 *
 * Key sets are built offline (file and inline keys for real, remote ones inert),
 * so a random URL never causes a download. FUZZ_RUNS sets the runs per property.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify as toYaml } from 'yaml';
import { compileValidator } from '../../src/config/compile-validator.js';
import { compileGateway } from '../../src/config/compile.js';
import { checkPlanSources } from '../../src/runtime/bind.js';
import { loadGatewayPlan, parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/validate.js';

const RUNS = Math.max(1, Number(process.env.FUZZ_RUNS ?? 150) || 150);
/** The base configs' HMAC secret; edits never copy it elsewhere, so a message quoting it leaks it. */
const SECRET = Buffer.alloc(64, 0x5a).toString('base64url');

let dir: string;
let jwksFile: string;
let notJsonFile: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'portcullis-fuzz-config-'));
  jwksFile = join(dir, 'jwks.json');
  notJsonFile = join(dir, 'not-json.txt');
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ kty: 'oct', kid: 'f', k: Buffer.alloc(64, 1).toString('base64url') }] }));
  writeFileSync(notJsonFile, 'not json');
  mkdirSync(join(dir, 'a-directory'));
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

// ------------------------------------------------------------------ outcome checks

/** Runs `step`; it may succeed, or fail with a ConfigError whose issues all carry a `$` path. Returns whether it succeeded. */
function settles(step: () => void, what: string): boolean {
  try {
    step();
    return true;
  } catch (error) {
    assert.ok(error instanceof ConfigError, `${what} threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    assert.ok(error.issues.length > 0, `${what}: a ConfigError without issues`);
    for (const issue of error.issues) {
      assert.equal(typeof issue.path, 'string');
      assert.ok(issue.path.startsWith('$'), `${what}: issue path ${JSON.stringify(issue.path)} does not start with $`);
      assert.equal(typeof issue.message, 'string');
      assert.ok(issue.message.length > 0, `${what}: empty message at ${issue.path}`);
    }
    assert.ok(!error.message.includes(SECRET), `${what}: the message quotes the HMAC secret`);
    return false;
  }
}

/** The in-memory equivalent of `check`: load, compile (every validator included), then open the static key sources. */
function loadAndBuild(text: string, sourceName: string): void {
  let parsed: ReturnType<typeof parseConfigText> | undefined;
  if (!settles(() => void (parsed = parseConfigText(text, sourceName)), 'parseConfigText')) return;
  let plan: ReturnType<typeof compileGateway> | undefined;
  if (!settles(() => void (plan = compileGateway(parsed!.config)), 'compileGateway')) return;
  settles(() => {
    const issues = checkPlanSources(plan!);
    if (issues.length > 0) throw new ConfigError(issues);
  }, 'checkPlanSources');
}

// ------------------------------------------------------------------ random configs

function baseConfigs(): Record<string, unknown>[] {
  const backend = { host: ['http://127.0.0.1:9'], url_pattern: '/b/{id}' };
  return [
    {
      version: 3,
      port: 8080,
      timeout: '2s',
      host: ['http://127.0.0.1:9'],
      extra_config: { router: { health_path: '/__health' }, 'portcullis/server': { max_header_size: 16384, request_timeout: '30s', verified_token_cache_size: 10 } },
      endpoints: [
        {
          endpoint: '/users/{id}',
          method: 'GET',
          input_headers: ['X-User', 'Content-Type'],
          input_query_strings: ['page'],
          extra_config: {
            'auth/validator': {
              alg: ['HS256', 'HS512'],
              jwk_keys: [{ kty: 'oct', kid: 'k1', k: SECRET }],
              issuer: 'https://idp.example.com',
              audience: ['api'],
              roles: ['admin'],
              scopes: ['read'],
              scopes_key: 'scope',
              leeway: '5s',
              max_token_lifetime: '1h',
              typ: 'at+jwt',
              propagate_claims: [['sub', 'X-User']],
              claims: [{ claim: 'drn', not_equals: 'DSR' }],
              tenant: { from: 'param', name: 'id', roles: ['admin'] },
            },
          },
          backend: [{ ...backend, url_pattern: '/b/{id}/{JWT.sub}' }],
        },
      ],
    },
    {
      version: 3,
      endpoints: [
        {
          endpoint: '/a',
          output_encoding: 'no-op',
          extra_config: {
            'github.com/devopsfaith/krakend-jose/validator': {
              alg: 'RS256',
              jwk_url: 'http://127.0.0.1:1/jwks',
              cache_duration: 60,
              failed_jwk_key_cooldown: '1s',
              jwk_fetch_timeout: '500ms',
              key_identify_strategy: 'kid',
              cookie_key: 'session',
              query_key: 'token',
              max_token_size: 4096,
            },
          },
          backend: [{ host: ['http://127.0.0.1:9'], url_pattern: '/a', encoding: 'no-op' }],
        },
        {
          endpoint: '/b/{id}',
          method: 'POST',
          extra_config: { 'auth/validator': { alg: 'HS256', jwk_local_path: '', oidc_discovery: false } },
          backend: [backend, { host: ['https://127.0.0.1:8443/prefix'], url_pattern: '/c', extra_config: { 'backend/http': { return_error_code: true } } }],
        },
      ],
    },
  ];
}

const KEYS = [
  'version', 'port', 'listen_ip', 'host', 'timeout', 'output_encoding', 'name', 'extra_config', 'endpoints', 'endpoint', 'method',
  'input_headers', 'input_query_strings', 'backend', 'url_pattern', 'encoding', 'router', 'health_path', 'disable_health',
  'portcullis/server', 'auth/validator', 'github.com/devopsfaith/krakend-jose/validator', 'backend/http', 'return_error_code',
  'alg', 'jwk_url', 'jwk_local_path', 'jwk_keys', 'oidc_discovery', 'discovery_url', 'cache', 'cache_duration', 'failed_jwk_key_cooldown',
  'jwk_fetch_timeout', 'jwk_max_stale', 'disable_jwk_security', 'jwk_fingerprints', 'jwk_local_ca', 'cipher_suites', 'key_identify_strategy',
  'issuer', 'audience', 'audience_matcher', 'subject', 'leeway', 'require_exp', 'max_token_lifetime', 'typ', 'roles', 'roles_key',
  'roles_key_is_nested', 'scopes', 'scopes_key', 'scopes_matcher', 'permissions', 'permissions_key', 'tenant', 'from', 'claims', 'claim',
  'equals', 'one_of', 'contains', 'not_equals', 'cookie_key', 'auth_header_name', 'query_key', 'max_token_size', 'propagate_claims',
  'propagate_claims_preserve_array', 'forward_payload_header', 'operation_debug', 'error_body', 'www_authenticate', 'realm', 'kty', 'k', 'kid',
  'headers_to_pass', 'jwk-url', 'auth/api-keys', 'security/policies', '@comment', '__proto__', 'constructor', 'toString', '', ' ', 'é',
];

const interestingValue = fc.constantFrom<unknown>(
  '', ' ', '*', '0s', '-1s', '0', '1ms', '5s', '1h', '99999999h', '1.5s', 'abc', 0, -1, 1, 3, 1024, 65535, 65536, 2 ** 31, 2 ** 53, 1e308, -0, 0.5,
  true, false, null, [], {}, ['*'], [''], ['RS256'], ['none'], 'none', 'RS256', 'HS256', 'EdDSA', ['HS256', 'RS256'],
  'http://127.0.0.1:1/jwks', 'https://idp.example.com', 'http://idp.example.com/jwks', 'ftp://127.0.0.1/', 'http://u:p@127.0.0.1/', 'http://[::1]:1/', 'not a url',
  '/', '/users/{id}', '/{a}/{a}', '/{', '/x/{JWT.}', '/x/{JWT.sub}', '/__health', '/__debug/x', '{id}', 'GET', 'get', 'POST',
  'no-op', 'json', 'string', 'param', 'header', 'claim', 'any', 'all', 'kid', 'x5t', 'x5t#S256', 'kid_x5t',
  [['sub', 'X-User']], [['sub']], [['sub', 'bad header']], [['sub', 'X-A', 'X-B']], [[]], [{ claim: 'a', equals: 1, one_of: [1] }], [{ claim: 'a' }],
  [{ kty: 'oct', k: '' }], [{ kty: 'oct', k: Buffer.alloc(32, 1).toString('base64url') }], [{ kty: 'oct', k: Buffer.alloc(16).toString('base64url') }], [{ kty: 'RSA', n: 'AQAB', e: 'AQAB' }],
  [{ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }], [{ kty: 'OKP', crv: 'Ed25519', x: 'AA' }], [{ kty: 'oct', k: Buffer.alloc(32, 2).toString('base64url'), alg: 'RS256' }], [{ kty: 'oct', k: Buffer.alloc(32, 3).toString('base64url'), use: 'enc' }],
  [{}], [null], [1], { from: 'param' }, { from: 'header', name: 'X-T' }, { from: 'nowhere' },
  'a'.repeat(3000), '\u0000', 'é', '\ud800', '$.x', '["a"]', '__proto__',
);

const randomValue = fc.oneof(
  { weight: 5, arbitrary: interestingValue },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.integer() },
);

const editArb = fc.record({
  op: fc.constantFrom('set', 'set', 'delete', 'add', 'add'),
  pick: fc.nat(),
  key: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...KEYS) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) }),
  value: randomValue,
});

type Edit = typeof editArb extends fc.Arbitrary<infer T> ? T : never;
type Container = Record<string, unknown> | unknown[];

/** Every (container, key) slot in `root`, depth first; the root itself has none. */
function slots(root: unknown): [Container, string | number][] {
  const out: [Container, string | number][] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        out.push([value, i]);
        visit(item);
      });
    } else if (typeof value === 'object' && value !== null) {
      for (const key of Object.keys(value)) {
        out.push([value as Container, key]);
        visit((value as Record<string, unknown>)[key]);
      }
    }
  };
  visit(root);
  return out;
}

function containers(root: unknown): Container[] {
  const out: Container[] = [];
  const visit = (value: unknown): void => {
    if (typeof value !== 'object' || value === null) return;
    out.push(value as Container);
    for (const child of Object.values(value)) visit(child);
  };
  visit(root);
  return out;
}

/** Own data property, even for "__proto__", so JSON.stringify writes it. */
function put(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function applyEdit(root: Record<string, unknown>, edit: Edit): void {
  const value = structuredClone(edit.value);
  if (edit.op === 'add') {
    const all = containers(root);
    const target = all[edit.pick % all.length]!;
    if (Array.isArray(target)) target.push(value);
    else put(target, edit.key, value);
    return;
  }
  const all = slots(root);
  if (all.length === 0) return;
  const [parent, key] = all[edit.pick % all.length]!;
  if (edit.op === 'delete') {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key as string];
  } else if (Array.isArray(parent)) parent[key as number] = value;
  else put(parent, key as string, value);
}

const configArb = fc
  .tuple(fc.nat(), fc.array(editArb, { minLength: 1, maxLength: 6 }))
  .map(([base, edits]) => {
    const bases = baseConfigs();
    const config = structuredClone(bases[base % bases.length]!);
    for (const edit of edits) applyEdit(config, edit);
    return config;
  });

/** Random file paths are limited to these, so the properties never read arbitrary files. */
function withSafePaths(config: Record<string, unknown>, pick: number): Record<string, unknown> {
  const paths = [jwksFile, notJsonFile, join(dir, 'missing.json'), join(dir, 'a-directory'), ''];
  const replace = (value: unknown): void => {
    if (typeof value !== 'object' || value === null) return;
    for (const key of Object.keys(value)) {
      const record = value as Record<string, unknown>;
      if ((key === 'jwk_local_path' || key === 'jwk_local_ca') && typeof record[key] === 'string') put(record, key, paths[pick % paths.length]);
      else replace(record[key]);
    }
  };
  replace(config);
  return config;
}

describe('fuzz: configuration', () => {
  test('the unedited base configs load, compile and build', () => {
    for (const config of baseConfigs()) {
      const { config: parsed } = parseConfigText(JSON.stringify(withSafePaths(config, 0)), 'base.json');
      const plan = compileGateway(parsed);
      assert.deepEqual(checkPlanSources(plan), []);
      for (const endpoint of plan.endpoints) assert.ok(endpoint.auth, `${endpoint.path} has its validator compiled`);
    }
  });

  test('random config objects: a plan, or a ConfigError with $ paths (JSON and YAML, in memory)', () => {
    let valid = 0;
    fc.assert(
      fc.property(configArb, fc.nat(), fc.boolean(), (config, pathPick, yaml) => {
        const safe = withSafePaths(config, pathPick);
        const text = yaml ? toYaml(safe) : JSON.stringify(safe);
        loadAndBuild(text, yaml ? 'random.yaml' : 'random.json');
        try {
          compileGateway(parseConfigText(JSON.stringify(safe), 'r.json').config);
          valid++;
        } catch {
          // Counted only to show the edits also produce valid configs.
        }
      }),
      { numRuns: RUNS * 2 },
    );
    // The edits must not be so destructive that only the first check is ever reached.
    if (RUNS >= 50) assert.ok(valid > 0, 'no random config ever compiled');
  });

  test('loadGatewayPlan on random config files: a plan, or a ConfigError with $ paths', () => {
    fc.assert(
      fc.property(configArb, fc.nat(), fc.constantFrom('json', 'yaml', 'yml'), fc.boolean(), (config, pathPick, ext, strict) => {
        const safe = withSafePaths(config, pathPick);
        const file = join(dir, `config.${ext}`);
        writeFileSync(file, ext === 'json' ? JSON.stringify(safe, null, 2) : toYaml(safe));
        settles(() => void loadGatewayPlan(file, { strict }), 'loadGatewayPlan');
      }),
      { numRuns: Math.max(1, Math.ceil(RUNS / 3)) },
    );
  });

  test('random validator blocks straight into createAuthorizer: an authorizer, or a ConfigError with $ paths', () => {
    const validatorArb = fc
      .tuple(configArb, fc.nat())
      .map(([config, pick]) => {
        const safe = withSafePaths(config, pick);
        const endpoints = Array.isArray(safe.endpoints) ? safe.endpoints : [];
        const endpoint = endpoints.find((e) => typeof e === 'object' && e !== null && 'extra_config' in e) as { extra_config?: Record<string, unknown> } | undefined;
        const extra = endpoint?.extra_config;
        return typeof extra === 'object' && extra !== null ? (extra['auth/validator'] ?? extra['github.com/devopsfaith/krakend-jose/validator'] ?? extra) : safe;
      });
    fc.assert(
      fc.property(fc.oneof(validatorArb, fc.jsonValue({ maxDepth: 3 })), (validator) => {
        // What createAuthorizer does before any download: compile, then open a static key source.
        settles(() => {
          const auth = compileValidator(validator, { path: '$.v' });
          const issues = checkPlanSources({ endpoints: [{ auth }] } as never);
          if (issues.length > 0) throw new ConfigError(issues);
        }, 'compileValidator');
      }),
      { numRuns: RUNS },
    );
  });

  test('random JSON and YAML text: a config, or a ConfigError with $ paths', () => {
    const token = fc.constantFrom(
      '{', '}', '[', ']', ':', ',', ' ', '\n', '\t', '"version"', '3', '"endpoints"', '"endpoint"', '"/a"', '"backend"', '"url_pattern"', '"a"', '"a"',
      'true', 'null', '-', '1e999', '0.5', '"\\u0000"', '"\\ud800"', '"\\x"', '\u00a0', '\ufeff', '//', '/*', '#',
      'version: 3', 'endpoints:', '- ', ': ', '? ', '&a ', '*a', '<<: *a', '!!binary ', '!!set ', '!!int ', '!!str ', '!custom ', '---', '...', '%YAML 1.1', '|', '>', "'", '"',
    );
    const text = fc.oneof(
      fc.array(token, { maxLength: 60 }).map((items) => items.join('')),
      fc.string({ maxLength: 200 }),
      fc.string({ unit: 'binary', maxLength: 100 }),
      fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
      fc.integer({ min: 1, max: 5000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
      fc.integer({ min: 1, max: 200 }).map((n) => `a: &a [${'*a, '.repeat(n)}1]\n${Array.from({ length: 5 }, (_, i) => `b${i}: &b${i} [*a, *a, *a]`).join('\n')}\n`),
    );
    fc.assert(
      fc.property(text, fc.constantFrom('c.json', 'c.yaml', 'c.yml', 'c'), (source, name) => {
        loadAndBuild(source, name);
      }),
      { numRuns: RUNS * 2 },
    );
  });
});
