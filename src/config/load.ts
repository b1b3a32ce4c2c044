/**
 * Reads a gateway config file (JSON, or YAML by extension), validates it
 * against THE schema and reports every problem with its JSON path.
 *
 * What portcullis does not implement is sorted by krakend-compat.ts: keys
 * that restrict access or filter data are errors (running without them would
 * run open), the others are warnings that say what is not applied. Keys
 * KrakenD silently drops but that change behaviour (v1 names) are errors. An
 * unknown key inside `auth/validator`, `auth/signer` or `tls`, or one that
 * looks like a misspelling of a known key, is an error with a "did you mean";
 * any other unknown key is a warning (KrakenD's `run` ignores them) unless
 * `strict` is set.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import type * as Yaml from 'yaml';
import { compileGateway, VALIDATOR_KEY, VALIDATOR_V1_KEY, type GatewayPlan } from './compile.js';
import { SIGNER_KEY, SIGNER_V1_KEY } from './plan.js';
import type { GatewayConfig } from './schema.js';
import { checkSchema, ConfigError, jsonPath, type ConfigIssue } from './validate.js';
import { validateGatewayConfig } from './generated/gateway-config.js';
import { VALIDATOR_CONFIG_KEYS } from './generated/validator-config.js';
import {
  BACKEND_ENCODINGS,
  BACKEND_KEY_TREATMENTS,
  describeTreatment,
  ENDPOINT_KEY_TREATMENTS,
  HTTP_CLIENT_KEY_TREATMENTS,
  NAMESPACE_TREATMENTS,
  PROXY_KEY_TREATMENTS,
  ROOT_KEY_TREATMENTS,
  type Treatment,
  UNSUPPORTED_BACKEND_ENCODINGS,
} from './krakend-compat.js';

export interface LoadOptions {
  /** Unknown keys are errors instead of warnings. */
  strict?: boolean;
}

export interface LoadedConfig {
  config: GatewayConfig;
  warnings: ConfigIssue[];
}

const SUPPORTED_VERSION = 3;

/** KrakenD v1 endpoint keys that lura v2 no longer reads, with their v2 names. */
const LEGACY_ENDPOINT_KEYS: Readonly<Record<string, string>> = {
  headers_to_pass: 'input_headers',
  querystring_params: 'input_query_strings',
};

/**
 * KrakenD v1 backend filters that lura v2 no longer reads, with their v2
 * names: KrakenD v2 would hand out the fields they list, portcullis refuses.
 */
const LEGACY_BACKEND_KEYS: Readonly<Record<string, string>> = {
  whitelist: 'allow',
  blacklist: 'deny',
};

/**
 * An unknown key under a validator or signer block, or under `tls`: they
 * restrict access (or decide what a client is handed), so a typo, or a key
 * portcullis does not know, must stop the load.
 */
const UNKNOWN_IS_ERROR =
  /^\$\.endpoints\[\d+\]\.extra_config\["(auth\/validator|github\.com\/devopsfaith\/krakend-jose\/validator|auth\/signer|github\.com\/devopsfaith\/krakend-jose\/signer)"\]|^\$\.tls(\.|\[|$)/;

const VALIDATOR_KEYS: ReadonlySet<string> = new Set(VALIDATOR_CONFIG_KEYS);

/**
 * The YAML parser, required by the first YAML file: loading it costs a start about 0.05 s of CPU and most
 * configs are JSON. require, not import(): a load is synchronous. No bundle holds this file (the Lambda
 * reads JSON), so the package needs no bundler's help to be found.
 */
const requireYaml = (): typeof Yaml => createRequire(import.meta.url)('yaml') as typeof Yaml;

export function loadConfigFile(path: string, options: LoadOptions = {}): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([{ path: '$', message: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'read error'}` }]);
  }
  return parseConfigText(text, path, options);
}

/** `sourceName` picks the format: `.yaml`/`.yml` is YAML, anything else JSON. */
export function parseConfigText(text: string, sourceName: string, options: LoadOptions = {}): LoadedConfig {
  let raw: unknown;
  try {
    raw = isYamlName(sourceName) ? parseYaml(text, sourceName) : parseJson(text, sourceName);
  } catch (error) {
    throw templateHint(text, sourceName) ?? error;
  }
  const { errors, unknownKeys } = checkSchema(validateGatewayConfig, raw);
  const special = specialIssues(raw);
  const handled = new Set([...special.errors, ...special.warnings].map((issue) => issue.path));
  const schemaErrors = dedupe(errors.map((issue) => rewriteSchemaError(issue, raw)));
  const misspelled: ConfigIssue[] = [];
  const unknown: ConfigIssue[] = [];
  for (const issue of unknownKeys) {
    if (handled.has(issue.path)) continue;
    if (UNKNOWN_IS_ERROR.test(issue.path) || issue.message.includes('did you mean')) misspelled.push(issue);
    else unknown.push(issue);
  }
  const warnings = [...special.warnings, ...unknown];

  const fatal = [...schemaErrors, ...special.errors, ...misspelled, ...(options.strict ? warnings : [])];
  if (fatal.length > 0) throw new ConfigError(fatal, options.strict ? [] : warnings);
  return { config: raw as GatewayConfig, warnings };
}

/** Load and compile: a pure plan, nothing opened (key files are read when the plan is bound, or by checkPlanSources). */
export function loadGatewayPlan(path: string, options: LoadOptions = {}): { plan: GatewayPlan; warnings: ConfigIssue[] } {
  const { config, warnings } = loadConfigFile(path, options);
  return { plan: compileGateway(config), warnings };
}

/**
 * A file that does not parse and holds `{{ … }}` is almost surely a KrakenD
 * Flexible Config template: its syntax error (at the first `{{`, usually)
 * would only puzzle. One line says what to do instead.
 */
function templateHint(text: string, sourceName: string): ConfigError | undefined {
  const source = stripBom(text);
  const open = source.search(/\{\{[^\n]*?\}\}/);
  if (open === -1) return undefined;
  const { line, column } = lineColumn(source, open);
  return new ConfigError([
    {
      path: '$',
      message: `${sourceName}:${line}:${column}: this is a Flexible Config template ({{ … }}): render it first (FC_ENABLE=1 FC_OUT=rendered.json krakend check -c ${sourceName}, with FC_SETTINGS, FC_PARTIALS and FC_TEMPLATES as for krakend run) and load rendered.json`,
    },
  ]);
}

function isYamlName(name: string): boolean {
  const ext = extname(name).toLowerCase();
  return ext === '.yaml' || ext === '.yml';
}

function parseYaml(text: string, sourceName: string): unknown {
  const doc = requireYaml().parseDocument(stripBom(text), { prettyErrors: true, uniqueKeys: true });
  const [error] = doc.errors;
  if (error) {
    const where = error.linePos?.[0];
    const reason = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '');
    throw new ConfigError([{ path: '$', message: `${sourceName}${where ? `:${where.line}:${where.col}` : ''}: invalid YAML: ${reason}` }]);
  }
  try {
    // A small alias budget stops "billion laughs" expansion.
    return doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new ConfigError([{ path: '$', message: `${sourceName}: invalid YAML: ${(error as Error).message.split('\n')[0]}` }]);
  }
}

function parseJson(text: string, sourceName: string): unknown {
  const source = stripBom(text);
  let value: unknown;
  let parsed = true;
  try {
    value = JSON.parse(source);
  } catch {
    parsed = false;
  }
  // V8's messages may quote the file (inline HMAC keys are secrets) and rarely carry a position, so the
  // scanner locates problems itself. It also catches duplicate keys, which JSON.parse resolves silently
  // (the last wins): a second "extra_config" would drop the validator a reviewer saw in the first.
  const problem = scanJson(source);
  if (problem === undefined && parsed) return value;
  const { offset, reason, path } = problem ?? { offset: 0, reason: 'not valid JSON', path: undefined };
  const { line, column } = lineColumn(source, offset);
  throw new ConfigError([{ path: path ?? '$', message: `${sourceName}:${line}:${column}: ${path ? '' : 'invalid JSON: '}${reason}` }]);
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** Messages for the schema's own findings where KrakenD has a better-known wording. */
function rewriteSchemaError(issue: ConfigIssue, raw: unknown): ConfigIssue {
  if (issue.path === '$.version' && isObject(raw) && raw.version !== undefined) {
    return { path: issue.path, message: `unsupported version: ${JSON.stringify(raw.version)} (want: ${SUPPORTED_VERSION})` };
  }
  return issue;
}

/** A wrong version fails both `type` and `const`; once rewritten, the two say the same thing. */
function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter(({ path, message }) => {
    const id = `${path}\u0000${message}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

interface SpecialIssues {
  /** Keys that must stop the load, each with a message saying why. */
  errors: ConfigIssue[];
  /** Keys portcullis knows from KrakenD and does not apply, each saying what is lost. */
  warnings: ConfigIssue[];
}

/** The keys the schema would only call "unknown", sorted by what running without them would mean. */
function specialIssues(raw: unknown): SpecialIssues {
  const found: SpecialIssues = { errors: [], warnings: [] };
  if (!isObject(raw)) return found;
  treatKeys(raw, '', ROOT_KEY_TREATMENTS, found);
  tlsNotes(raw.tls, found);
  debugEndpointNotes(raw, found);
  treatNamespaces(raw.extra_config, '/extra_config', found);
  if (isObject(raw.extra_config)) {
    telemetryNotes(raw.extra_config['telemetry/opentelemetry'], found);
    revokerIssues(raw.extra_config['auth/revoker'], found);
    rateLimitNotes(raw.extra_config['qos/ratelimit/service'], '/extra_config/qos~1ratelimit~1service', found);
    const redis = raw.extra_config.redis;
    if (isObject(redis) && Array.isArray(redis.connection_pools)) {
      redis.connection_pools.forEach((pool: unknown, i: number) => {
        if (!isObject(pool)) return;
        for (const key of ['write_timeout', 'pool_size', 'min_idle_conns', 'max_idle_conns', 'max_retries', 'min_retry_backoff', 'conn_max_idle_time', 'conn_max_lifetime', 'pool_timeout']) {
          if (key in pool) found.warnings.push({ path: jsonPath('$', `/extra_config/redis/connection_pools/${i}/${key}`), message: `"${key}": not applied: portcullis keeps one pipelined connection per use and does not retry failed commands` });
        }
      });
    }
  }
  if (!Array.isArray(raw.endpoints)) return found;
  raw.endpoints.forEach((endpoint: unknown, i: number) => {
    if (!isObject(endpoint)) return;
    const base = `/endpoints/${i}`;
    for (const [legacy, current] of Object.entries(LEGACY_ENDPOINT_KEYS)) {
      if (legacy in endpoint) {
        found.errors.push({ path: jsonPath('$', `${base}/${legacy}`), message: `"${legacy}" is the KrakenD v1 name, ignored by v2; use "${current}"` });
      }
    }
    treatKeys(endpoint, base, ENDPOINT_KEY_TREATMENTS, found);
    treatNamespaces(endpoint.extra_config, `${base}/extra_config`, found);
    misplacedServiceNamespaces(endpoint.extra_config, `${base}/extra_config`, found);
    if (isObject(endpoint.extra_config)) {
      rateLimitNotes(endpoint.extra_config['qos/ratelimit/router'], `${base}/extra_config/qos~1ratelimit~1router`, found);
      rateLimitNotes(endpoint.extra_config['qos/ratelimit/router/redis'], `${base}/extra_config/qos~1ratelimit~1router~1redis`, found);
    }
    if (isObject(endpoint.extra_config)) {
      for (const namespace of [VALIDATOR_KEY, VALIDATOR_V1_KEY]) {
        const pointer = `${base}/extra_config/${escapeKey(namespace)}`;
        hyphenatedValidatorKeys(endpoint.extra_config[namespace], pointer, found.errors);
        emptyAudienceNote(endpoint.extra_config[namespace], pointer, found);
      }
      for (const namespace of [SIGNER_KEY, SIGNER_V1_KEY]) {
        encryptedSignerKeys(endpoint.extra_config[namespace], `${base}/extra_config/${escapeKey(namespace)}`, found.errors);
      }
    }
    if (Array.isArray(endpoint.backend)) {
      endpoint.backend.forEach((backend: unknown, j: number) => {
        if (!isObject(backend)) return;
        treatKeys(backend, `${base}/backend/${j}`, BACKEND_KEY_TREATMENTS, found);
        for (const [legacy, current] of Object.entries(LEGACY_BACKEND_KEYS)) {
          if (legacy in backend) {
            found.errors.push({ path: jsonPath('$', `${base}/backend/${j}/${legacy}`), message: `"${legacy}" is the KrakenD v1 name, ignored by v2 (the fields would not be filtered); use "${current}"` });
          }
        }
        manipulationNotes(backend, `${base}/backend/${j}`, found);
        // Under a no-op endpoint the backend is proxied as it is, whatever its encoding says (lura forces no-op).
        if ((endpoint.output_encoding ?? raw.output_encoding) !== 'no-op') encodingNote(backend.encoding, `${base}/backend/${j}/encoding`, found);
        treatNamespaces(backend.extra_config, `${base}/backend/${j}/extra_config`, found);
        misplacedServiceNamespaces(backend.extra_config, `${base}/backend/${j}/extra_config`, found);
        if (isObject(backend.extra_config) && isObject(backend.extra_config['backend/http/client'])) {
          treatKeys(backend.extra_config['backend/http/client'], `${base}/backend/${j}/extra_config/backend~1http~1client`, HTTP_CLIENT_KEY_TREATMENTS, found);
        }
      });
    }
  });
  return found;
}

function treatKeys(object: Record<string, unknown>, pointer: string, table: ReadonlyMap<string, Treatment>, found: SpecialIssues): void {
  for (const key of Object.keys(object)) {
    const treatment = table.get(key);
    if (treatment === undefined) continue;
    const issue = { path: jsonPath('$', `${pointer}/${escapeKey(key)}`), message: describeTreatment(key, treatment) };
    (treatment.action === 'refuse' ? found.errors : found.warnings).push(issue);
  }
}

function treatNamespaces(extra: unknown, pointer: string, found: SpecialIssues): void {
  if (!isObject(extra)) return;
  treatKeys(extra, pointer, NAMESPACE_TREATMENTS, found);
  const proxy = extra.proxy;
  if (isObject(proxy)) treatKeys(proxy, `${pointer}/proxy`, PROXY_KEY_TREATMENTS, found);
}

/** A backend encoding portcullis does not decode: refused when KrakenD has a decoder for it, else read as JSON, as lura does. */
function encodingNote(encoding: unknown, pointer: string, found: SpecialIssues): void {
  if (typeof encoding !== 'string' || encoding === '' || BACKEND_ENCODINGS.has(encoding)) return;
  const path = jsonPath('$', pointer);
  if (UNSUPPORTED_BACKEND_ENCODINGS.has(encoding)) {
    found.errors.push({ path, message: `the "${encoding}" decoder is not implemented by portcullis; refusing to read the answer otherwise than KrakenD would (use "json", "safejson", "string" or "no-op")` });
    return;
  }
  const near = encoding.toLowerCase().replace(/[_ ]/g, '-');
  const hint = near !== encoding && BACKEND_ENCODINGS.has(near) ? `; to get "${near}", write it so` : '';
  found.warnings.push({ path, message: `"${encoding}" is not an encoding KrakenD knows: the answer is decoded as "json", as KrakenD does${hint}` });
}

/** The built-in test endpoints answer anyone, before any validator: worth a line on every `check` and `run`. */
function debugEndpointNotes(raw: Record<string, unknown>, found: SpecialIssues): void {
  if (raw.debug_endpoint === true) {
    found.warnings.push({
      path: jsonPath('$', '/debug_endpoint'),
      message: '"debug_endpoint" is on: /__debug/ answers anyone, without authorization; keep it off in production',
    });
  }
  if (raw.echo_endpoint === true) {
    found.warnings.push({
      path: jsonPath('$', '/echo_endpoint'),
      message: '"echo_endpoint" is on: /__echo/ answers anyone with the request it received (headers, query and body; credential values redacted), without authorization; keep it off in production',
    });
  }
}

/** Namespaces KrakenD reads only at the root; elsewhere it ignores them, and so does portcullis, saying so. */
function misplacedServiceNamespaces(extra: unknown, pointer: string, found: SpecialIssues): void {
  if (!isObject(extra)) return;
  for (const key of ['security/cors', 'github_com/devopsfaith/krakend-cors']) {
    if (key in extra) {
      found.warnings.push({ path: jsonPath('$', `${pointer}/${escapeKey(key)}`), message: `"${key}" is read only in the root extra_config (as in KrakenD); not applied here` });
    }
  }
}

/**
 * Response manipulation that runs, but not quite as written: both filters at
 * once (KrakenD applies only allow; portcullis applies allow, then deny, so
 * neither list is ignored), mapping targets with a dot (only the part before
 * it is used, as in KrakenD), and a mapping onto a name deny removes.
 */
function manipulationNotes(backend: Record<string, unknown>, pointer: string, found: SpecialIssues): void {
  if (Array.isArray(backend.allow) && backend.allow.length > 0 && Array.isArray(backend.deny) && backend.deny.length > 0) {
    found.warnings.push({
      path: jsonPath('$', `${pointer}/deny`),
      message: 'allow and deny are both set: portcullis applies allow, then deny (KrakenD ignores deny when allow is set); keep one of them',
    });
  }
  if (isObject(backend.mapping)) {
    const denied = new Set(Array.isArray(backend.deny) ? backend.deny.filter((path): path is string => typeof path === 'string') : []);
    for (const [from, to] of Object.entries(backend.mapping)) {
      if (typeof to !== 'string') continue;
      const name = to.split('.')[0]!;
      if (to.includes('.')) {
        found.warnings.push({
          path: jsonPath('$', `${pointer}/mapping/${escapeKey(from)}`),
          message: `mapping renames top-level fields only: "${from}" becomes "${name}" (the part before the first dot, as in KrakenD)`,
        });
      }
      // mapping runs after deny: the renamed field is answered under the name deny removed.
      if (denied.has(name) && from !== name) {
        found.warnings.push({
          path: jsonPath('$', `${pointer}/mapping/${escapeKey(from)}`),
          message: `renames "${from}" to "${name}", which deny removes: mapping runs after deny, so the answer has a "${name}" again (as in KrakenD); deny "${from}" too if neither should be seen`,
        });
      }
    }
  }
}

/** KrakenD's limiter tuning keys, which the portcullis limiters do not need. */
function rateLimitNotes(block: unknown, pointer: string, found: SpecialIssues): void {
  if (!isObject(block)) return;
  for (const key of ['num_shards', 'cleanup_period', 'cleanup_threads']) {
    if (key in block) found.warnings.push({ path: jsonPath('$', `${pointer}/${key}`), message: `"${key}": not applied: idle client buckets are forgotten least recently used first (at most 100,000 per limiter)` });
  }
}

/**
 * KrakenD EE's revoker can register with a Revoke Server; revocations made
 * there would be reported as done and never reach portcullis. Its bloom-filter
 * knobs and RPC port only lose a mechanism portcullis does not need.
 */
function revokerIssues(block: unknown, found: SpecialIssues): void {
  if (!isObject(block)) return;
  const base = '/extra_config/auth~1revoker';
  for (const key of Object.keys(block)) {
    const path = jsonPath('$', `${base}/${key}`);
    if (key.startsWith('revoke_server_')) {
      found.errors.push({ path, message: `"${key}" is not supported by portcullis; refusing to run with revocations that a KrakenD Revoke Server would never pass on: revoke with \`portcullis revoke\`, the admin endpoint or Redis` });
    } else if (key === 'N' || key === 'P' || key === 'hash_name') {
      found.warnings.push({ path, message: `"${key}": not applied: portcullis keeps an exact revocation set (no bloom filter, no false positives)` });
    } else if (key === 'port') {
      found.warnings.push({ path, message: '"port": not applied: no bloom-filter RPC listener is opened; revoke with `portcullis revoke` or the admin endpoint (auth/revoker.admin)' });
    }
  }
}

/** The parts of KrakenD's OpenTelemetry block portcullis accepts but does not apply (it implements the Prometheus exporter). */
function telemetryNotes(block: unknown, found: SpecialIssues): void {
  if (!isObject(block)) return;
  const base = '/extra_config/telemetry~1opentelemetry';
  const notes: Record<string, string> = {
    trace_sample_rate: 'no spans are exported (trace context is passed through to backends)',
    layers: 'not applied: portcullis reports its own metrics (docs/gateway-operations.md)',
    skip_paths: 'not applied: health and readiness requests are counted under their own endpoint label',
  };
  for (const [key, what] of Object.entries(notes)) {
    if (key in block) found.warnings.push({ path: jsonPath('$', `${base}/${key}`), message: `"${key}": ${what}` });
  }
  if (isObject(block.exporters) && 'otlp' in block.exporters) {
    found.warnings.push({ path: jsonPath('$', `${base}/exporters/otlp`), message: '"otlp": not implemented by portcullis: nothing is exported over OTLP; scrape the Prometheus exporter instead' });
  }
}

/**
 * What `tls` cannot do as written, said at load: versions below TLS 1.2 (Node's
 * OpenSSL refuses their signatures), and what mTLS trusts.
 */
function tlsNotes(tls: unknown, found: SpecialIssues): void {
  if (tls === undefined) return;
  if (!isObject(tls)) return;
  if (tls.disabled === true) {
    found.warnings.push({ path: jsonPath('$', '/tls'), message: '"tls" is disabled (ignored)' });
    return;
  }
  if (tls.min_version === 'SSL3.0' || tls.min_version === 'TLS10' || tls.min_version === 'TLS11') {
    found.warnings.push({ path: jsonPath('$', '/tls/min_version'), message: `${tls.min_version} is served as TLS12: Node's OpenSSL cannot complete older handshakes` });
  }
  if (tls.enable_mtls === true) {
    if (tls.disable_system_ca_pool !== true) {
      found.warnings.push({
        path: jsonPath('$', '/tls/enable_mtls'),
        message: 'client certificates from any CA in the system pool (Node\'s bundled root CAs) are accepted too, as in KrakenD; set "disable_system_ca_pool": true to accept only ca_certs',
      });
    }
  } else {
    for (const key of ['ca_certs', 'disable_system_ca_pool']) {
      if (key in tls) found.warnings.push({ path: jsonPath('$', `/tls/${key}`), message: `"${key}": not used without "enable_mtls": true (as in KrakenD)` });
    }
  }
}

/** KrakenD decrypts an encrypted jwk_local_path with these; portcullis cannot, and would sign nothing. */
function encryptedSignerKeys(block: unknown, pointer: string, issues: ConfigIssue[]): void {
  if (!isObject(block)) return;
  for (const key of ['secret_url', 'cypher_key']) {
    if (!(key in block)) continue;
    issues.push({
      path: jsonPath('$', `${pointer}/${key}`),
      message: `"${key}" (an encrypted JWK file) is not supported by portcullis; refusing to start without the signing key: decrypt the file for jwk_local_path, or serve it from jwk_url`,
    });
  }
}

/** `"audience": []` is valid in KrakenD and checks nothing; a reader could take it for "no audience is accepted". */
function emptyAudienceNote(block: unknown, pointer: string, found: SpecialIssues): void {
  if (!isObject(block) || !Array.isArray(block.audience) || block.audience.length > 0) return;
  found.warnings.push({
    path: jsonPath('$', `${pointer}/audience`),
    message: '"audience" is empty: the token\'s "aud" is not checked (as in KrakenD); list the accepted audiences to check it',
  });
}

/** v1 spelled some validator keys with hyphens (`jwk-url`); v2 ignores them, leaving the endpoint misconfigured. */
function hyphenatedValidatorKeys(block: unknown, pointer: string, issues: ConfigIssue[]): void {
  if (!isObject(block)) return;
  for (const key of Object.keys(block)) {
    if (!key.includes('-')) continue;
    const snake = key.replace(/-/g, '_');
    if (!VALIDATOR_KEYS.has(snake)) continue;
    issues.push({ path: jsonPath('$', `${pointer}/${escapeKey(key)}`), message: `"${key}" is the KrakenD v1 spelling, ignored by v2; use "${snake}"` });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function escapeKey(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

export interface JsonProblem {
  offset: number;
  reason: string;
  /** JSON path of a duplicated key; absent for syntax errors. */
  path?: string;
}

/**
 * Walks the JSON grammar (RFC 8259) and returns the first syntax error or
 * duplicate object key, or undefined for a clean document.
 */
export function scanJson(text: string): JsonProblem | undefined {
  let i = 0;
  const fail = (reason: string, path?: string): never => {
    throw { offset: i, reason, ...(path ? { path } : {}) } satisfies JsonProblem;
  };
  const unexpected = (): never =>
    i >= text.length ? fail('unexpected end of input') : fail(`unexpected character ${JSON.stringify(text[i])}`);
  const skipSpace = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const string = () => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail('control character in string');
      if (c === 0x5c) {
        i++;
        const e = text[i];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail('invalid \\u escape');
          i += 5;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else fail('invalid escape');
      } else i++;
    }
  };
  const number = () => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!match || match[0] === '-') unexpected();
    i += match![0].length;
  };
  const object = (depth: number, pointer: string) => {
    i++;
    skipSpace();
    if (text[i] === '}') {
      i++;
      return;
    }
    const keys = new Set<string>();
    for (;;) {
      skipSpace();
      if (text[i] !== '"') fail(text[i] === '}' ? 'trailing comma' : 'expected a double-quoted property name');
      const start = i;
      string();
      const key = JSON.parse(text.slice(start, i)) as string;
      const keyPointer = `${pointer}/${escapeKey(key)}`;
      if (keys.has(key)) {
        i = start;
        fail(`duplicate key ${JSON.stringify(key)}`, jsonPath('$', keyPointer));
      }
      keys.add(key);
      skipSpace();
      if (text[i] !== ':') fail('expected ":" after property name');
      i++;
      value(depth + 1, keyPointer);
      skipSpace();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        return;
      }
      if (i >= text.length) unexpected();
      fail('expected "," or "}" after property value');
    }
  };
  const array = (depth: number, pointer: string) => {
    i++;
    skipSpace();
    if (text[i] === ']') {
      i++;
      return;
    }
    for (let index = 0; ; index++) {
      skipSpace();
      if (text[i] === ']') fail('trailing comma');
      value(depth + 1, `${pointer}/${index}`);
      skipSpace();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === ']') {
        i++;
        return;
      }
      if (i >= text.length) unexpected();
      fail('expected "," or "]" after array element');
    }
  };
  const value = (depth: number, pointer: string): void => {
    if (depth > 512) fail('nesting too deep');
    skipSpace();
    const c = text[i];
    if (c === '{') return object(depth, pointer);
    if (c === '[') return array(depth, pointer);
    if (c === '"') return string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number();
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    unexpected();
  };
  try {
    value(0, '');
    skipSpace();
    if (i < text.length) fail('unexpected data after the JSON value');
    return undefined;
  } catch (error) {
    if (error instanceof Error) return { offset: i, reason: 'nesting too deep' };
    return error as JsonProblem;
  }
}
