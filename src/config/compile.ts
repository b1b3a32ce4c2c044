/**
 * Turns a schema-valid gateway config into frozen plans and runs the semantic
 * checks the schema cannot express (route collisions, reserved paths,
 * url_pattern placeholders, no-op rules, backend hosts) and compiles each
 * backend's response manipulation (compile-shape.ts). Every problem becomes
 * a ConfigIssue with its JSON path; all of them are collected before throwing,
 * so one `check` run lists everything wrong with a file.
 */
import type { EndpointPolicy } from '../authorizer/policy.js';
import { parseDurationMs } from '../lib/duration.js';
import { canonicalHeaderName } from '../lib/headers.js';
import { compileCors } from './compile-cors.js';
import { compileSigner } from './compile-signer.js';
import { compileTls } from './compile-tls.js';
import { compileEndpointFlatmap, compileResponseShape, manipulationKeys } from './compile-shape.js';
import { compileValidator } from './compile-validator.js';
import { BACKEND_ENCODINGS } from './krakend-compat.js';
import { compileRateLimit, compileRedisPools, compileRevocation } from './compile-fleet.js';
import {
  CACHE_KEY,
  GATEWAY_DEFAULTS,
  SIGNER_KEY,
  SIGNER_V1_KEY,
  VALIDATOR_KEY,
  VALIDATOR_V1_KEY,
  type BackendEncoding,
  type BackendPlan,
  type CachePlan,
  type Encoding,
  type EndpointPlan,
  type GatewayPlan,
  type MetricsPlan,
  type RedisPoolPlan,
  type ResponseBufferLimits,
  type ServerLimits,
  type UrlPart,
} from './plan.js';
import type { BackendConfig, EndpointConfig, GatewayConfig } from './schema.js';
import { ConfigError, jsonPath, type ConfigIssue } from './validate.js';

export type { BackendEncoding, BackendPlan, CachePlan, CorsPlan, Encoding, EndpointPlan, GatewayPlan, MetricsPlan, OriginWildcard, RedirectPlan, ResponseBufferLimits, ServerLimits, SignerPlan, TlsPlan, UrlPart } from './plan.js';
export { GATEWAY_DEFAULTS, VALIDATOR_KEY, VALIDATOR_V1_KEY } from './plan.js';

/** lura's `endpointURLKeysPattern`: a parameter is a whole segment `{name}`. */
const PARAM_SEGMENT = /^\{([a-zA-Z0-9_-]+)\}$/;
/** lura's `simpleURLKeysPattern` for url_pattern placeholders. */
const PLACEHOLDER = /\{([\w\-.:/]+)\}/g;
const CLAIM_PREFIX = 'JWT.';

/** Paths lura keeps for itself; an endpoint there would never be reached (or would shadow a built-in). */
const RESERVED_PREFIXES = ['/__debug', '/__echo', '/__catchall', '/__stats'];

/**
 * Compiles a config that already passed the schema (see load.ts). `path` is the
 * JSON path of the config root in messages (default `$`). Throws ConfigError
 * with every semantic problem found.
 */
export function compileGateway(config: GatewayConfig, options: { path?: string } = {}): GatewayPlan {
  const root = options.path ?? '$';
  const issues: ConfigIssue[] = [];
  const at = (pointer: string) => jsonPath(root, pointer);

  const rootTimeoutMs = positiveDuration(config.timeout, at('/timeout'), issues) ?? GATEWAY_DEFAULTS.timeoutMs;
  const rootCacheTtlMs = cacheTtl(config.cache_ttl, at('/cache_ttl'), issues) ?? 0;
  const router = config.extra_config?.router;
  const healthPath = router?.disable_health ? undefined : (router?.health_path ?? GATEWAY_DEFAULTS.healthPath);
  const server = config.extra_config?.['portcullis/server'];
  const readyPath = server?.disable_ready ? undefined : (server?.ready_path ?? GATEWAY_DEFAULTS.readyPath);
  if (readyPath !== undefined && readyPath === healthPath) {
    issues.push({ path: at('/extra_config/portcullis~1server/ready_path'), message: `must differ from the health path (${healthPath})` });
  }
  const limits = compileLimits(config, at, issues);
  const tls = compileTls(config.tls, at, issues);
  const responseBuffers = compileResponseBuffers(config, at, issues);
  const redisPools = compileRedisPools(config, at, issues);
  const revocation = compileRevocation(config, redisPools, at, issues);
  const serviceRateLimit = compileRateLimit(
    config.extra_config?.['qos/ratelimit/service'],
    { pointer: '/extra_config/qos~1ratelimit~1service', params: undefined, validated: false },
    redisPools,
    at,
    issues,
  );

  const endpoints = (config.endpoints ?? []).map((endpoint, i) =>
    compileEndpoint(endpoint, `/endpoints/${i}`, { config, rootTimeoutMs, rootCacheTtlMs, healthPath, readyPath, redisPools, at, issues }),
  );
  checkCollisions(endpoints, at, issues);
  const cors = compileCors(config, at, issues);

  if (issues.length > 0) throw new ConfigError(issues);
  return Object.freeze({
    port: config.port ?? GATEWAY_DEFAULTS.port,
    listenIp: config.listen_ip,
    tls,
    healthPath,
    readyPath,
    endpoints: Object.freeze(endpoints),
    metrics: compileMetrics(config),
    limits: Object.freeze(limits),
    verifiedTokenCacheSize: config.extra_config?.['portcullis/server']?.verified_token_cache_size ?? GATEWAY_DEFAULTS.verifiedTokenCacheSize,
    verifiedTokenCacheMaxBytes:
      config.extra_config?.['portcullis/server']?.verified_token_cache_max_bytes ?? GATEWAY_DEFAULTS.verifiedTokenCacheMaxBytes,
    responseBuffers,
    redisPools: Object.freeze(redisPools),
    revocation,
    serviceRateLimit,
    cors,
    debugEndpoint: config.debug_endpoint === true,
    echoEndpoint: config.echo_endpoint === true,
    ...credentialNames(endpoints),
  });
}

/** Where credentials may travel, for /__echo/ to redact: the usual headers, and every validator's token header and query key. */
function credentialNames(endpoints: readonly EndpointPlan[]): { credentialHeaders: ReadonlySet<string>; credentialQueryKeys: ReadonlySet<string> } {
  const headers = new Set(['authorization', 'proxy-authorization', 'cookie']);
  const queryKeys = new Set<string>();
  for (const endpoint of endpoints) {
    const extraction = endpoint.auth?.extraction;
    if (extraction === undefined) continue;
    headers.add(extraction.headerName);
    if (extraction.queryKey !== undefined) queryKeys.add(extraction.queryKey);
  }
  return { credentialHeaders: Object.freeze(headers), credentialQueryKeys: Object.freeze(queryKeys) };
}

interface EndpointContext {
  config: GatewayConfig;
  rootTimeoutMs: number;
  rootCacheTtlMs: number;
  healthPath: string | undefined;
  readyPath: string | undefined;
  redisPools: readonly RedisPoolPlan[];
  at: (pointer: string) => string;
  issues: ConfigIssue[];
}

function compileEndpoint(endpoint: EndpointConfig, pointer: string, ctx: EndpointContext): EndpointPlan {
  const { at, issues } = ctx;
  const path = cleanPath(endpoint.endpoint);
  const params = parseEndpointPath(path, at(`${pointer}/endpoint`), issues);
  checkReserved(path, ctx, at(`${pointer}/endpoint`), issues);
  const method = endpoint.method ?? GATEWAY_DEFAULTS.method;

  const extra = endpoint.extra_config;
  const current = extra?.[VALIDATOR_KEY];
  const legacy = extra?.[VALIDATOR_V1_KEY];
  if (current !== undefined && legacy !== undefined) {
    issues.push({
      path: at(`${pointer}/extra_config/${escapeKey(VALIDATOR_V1_KEY)}`),
      message: `both "${VALIDATOR_KEY}" and its v1 alias "${VALIDATOR_V1_KEY}" are set; keep only "${VALIDATOR_KEY}"`,
    });
  }
  const validator = current ?? legacy;
  const validatorPath = at(`${pointer}/extra_config/${escapeKey(current === undefined && legacy !== undefined ? VALIDATOR_V1_KEY : VALIDATOR_KEY)}`);
  let auth: EndpointPolicy | undefined;
  if (validator !== undefined) {
    try {
      auth = compileValidator(validator, { path: validatorPath, routeParams: params });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      issues.push(...error.issues);
    }
  }

  const outputEncoding: Encoding = endpoint.output_encoding ?? ctx.config.output_encoding ?? 'json';
  const signerConfig = extra?.[SIGNER_KEY] ?? extra?.[SIGNER_V1_KEY];
  if (extra?.[SIGNER_KEY] !== undefined && extra[SIGNER_V1_KEY] !== undefined) {
    issues.push({
      path: at(`${pointer}/extra_config/${escapeKey(SIGNER_V1_KEY)}`),
      message: `both "${SIGNER_KEY}" and its v1 alias "${SIGNER_V1_KEY}" are set; keep only "${SIGNER_KEY}"`,
    });
  }
  const signerPath = at(`${pointer}/extra_config/${escapeKey(extra?.[SIGNER_KEY] === undefined && extra?.[SIGNER_V1_KEY] !== undefined ? SIGNER_V1_KEY : SIGNER_KEY)}`);
  const signer = signerConfig === undefined ? undefined : compileSigner(signerConfig, signerPath, outputEncoding, issues);
  const backendConfigs = endpoint.backend ?? [];
  if (outputEncoding === 'no-op' && backendConfigs.length > 1) {
    issues.push({
      path: at(`${pointer}/backend`),
      message: 'can not use NoOp encoding with more than one backends connected to the same endpoint',
    });
  }
  const flatmap = compileEndpointFlatmap(endpoint, pointer, ctx);
  if (flatmap !== undefined && outputEncoding === 'no-op') {
    issues.push({
      path: at(`${pointer}/extra_config/proxy/flatmap_filter`),
      message: 'cannot be applied to a "no-op" endpoint (its answer is passed through unchanged); use the "json" output_encoding to manipulate the answer',
    });
  }
  const backends = backendConfigs.map((backend, j) =>
    compileBackend(backend, `${pointer}/backend/${j}`, { method, params, outputEncoding, hasValidator: validator !== undefined }, ctx),
  );
  const inputHeaders = allowList(endpoint.input_headers, (name) => name.toLowerCase());
  const cacheTtlMs = endpoint.cache_ttl === undefined ? ctx.rootCacheTtlMs : cacheTtl(endpoint.cache_ttl, at(`${pointer}/cache_ttl`), issues);

  const rateLimits = (['qos/ratelimit/router', 'qos/ratelimit/router/redis'] as const).flatMap((key) => {
    const scope = { pointer: `${pointer}/extra_config/${escapeKey(key)}`, params, validated: validator !== undefined };
    const compiled = compileRateLimit(extra?.[key], scope, ctx.redisPools, at, issues);
    return compiled === undefined ? [] : [compiled];
  });

  return Object.freeze({
    path,
    method,
    params: Object.freeze(params),
    timeoutMs: positiveDuration(endpoint.timeout, at(`${pointer}/timeout`), issues) ?? ctx.rootTimeoutMs,
    inputHeaders,
    inputQueryStrings: allowList(endpoint.input_query_strings, (name) => name),
    outputEncoding,
    backends: Object.freeze(backends),
    flatmap: outputEncoding === 'no-op' ? undefined : flatmap,
    auth,
    rateLimits: Object.freeze(rateLimits),
    // A no-op answer is the backend's, headers included (its own Cache-Control passes through), as in lura.
    cache: outputEncoding === 'no-op' ? undefined : compileCache(cacheTtlMs ?? 0, auth, inputHeaders, extra?.[CACHE_KEY]?.public_with_credentials === true),
    signer,
    label: `[ENDPOINT: ${path}]`,
    returnErrorMsg: ctx.config.extra_config?.router?.return_error_msg ?? false,
  });
}

/** Headers that identify a caller to a backend when forwarded; their presence makes a cached answer private. */
const CREDENTIAL_REQUEST_HEADERS = ['authorization', 'cookie'];

function compileCache(ttlMs: number, auth: EndpointPolicy | undefined, inputHeaders: ReadonlySet<string> | '*', publicWithCredentials: boolean): CachePlan | undefined {
  if (ttlMs <= 0) return undefined;
  // lura truncates to whole seconds (`int(CacheTTL.Seconds())`), so "500ms" sends max-age=0.
  const maxAge = Math.floor(ttlMs / 1000);
  let privateIf: CachePlan['privateIf'];
  let varyNames: string[];
  if (publicWithCredentials) {
    privateIf = [];
    varyNames = [];
  } else if (auth !== undefined) {
    // The answer is for the token's subject: its header, and the cookie the validator falls back to.
    privateIf = 'always';
    varyNames = [auth.extraction.headerName, ...(auth.extraction.cookieName !== undefined ? ['cookie'] : [])];
  } else {
    // A backend can only tell callers apart by the credentials it receives.
    privateIf = CREDENTIAL_REQUEST_HEADERS.filter((name) => inputHeaders === '*' || inputHeaders.has(name));
    varyNames = [...privateIf];
  }
  return Object.freeze({
    publicValue: `public, max-age=${maxAge}`,
    privateValue: `private, max-age=${maxAge}`,
    privateIf: typeof privateIf === 'string' ? privateIf : Object.freeze(privateIf),
    privateVary: [...new Set(varyNames)].map(canonicalHeaderName).join(', '),
  });
}

interface BackendContext {
  method: string;
  params: readonly string[];
  outputEncoding: Encoding;
  hasValidator: boolean;
}

function compileBackend(backend: BackendConfig, pointer: string, endpoint: BackendContext, ctx: EndpointContext): BackendPlan {
  const { at, issues } = ctx;
  const hosts = backendHosts(backend, pointer, ctx);
  const urlPattern = cleanPath(backend.url_pattern);
  const urlParts = parseUrlPattern(urlPattern, at(`${pointer}/url_pattern`), endpoint, issues);

  // A no-op endpoint proxies its backend unchanged whatever the backend's encoding says (lura forces it,
  // since v2.0.2). The other way round would answer "{}": KrakenD needs the endpoint to say no-op too.
  const encoding: BackendEncoding = endpoint.outputEncoding === 'no-op' ? 'no-op' : backendEncoding(backend.encoding);
  if (endpoint.outputEncoding !== 'no-op' && encoding === 'no-op') {
    issues.push({
      path: at(`${pointer}/encoding`),
      message: `"no-op" needs the endpoint output_encoding "no-op" too (found "${endpoint.outputEncoding}")`,
    });
  }

  // KrakenD passes a no-op answer through untouched and silently skips these keys; a deny that is never applied
  // would hand clients what the config hides, so the combination is refused.
  if (encoding === 'no-op') {
    for (const key of manipulationKeys(backend)) {
      issues.push({ path: at(`${pointer}/${key}`), message: `cannot be applied to a "no-op" backend (its answer is passed through unchanged); use the "json" encoding on the endpoint and the backend to manipulate the answer` });
    }
  }
  // A string answer is {"content": text} and an is_collection one {"collection": [items]}: a deny path below either
  // can never match (paths do not enter text or lists), so it would hide nothing; KrakenD runs it silently.
  const wrapper = encoding === 'string' ? 'content' : backend.is_collection === true ? 'collection' : undefined;
  if (wrapper !== undefined && encoding !== 'no-op' && !backend.target) {
    (backend.deny ?? []).forEach((path, k) => {
      if (path === wrapper) return;
      issues.push({
        path: at(`${pointer}/deny/${k}`),
        message:
          wrapper === 'content'
            ? `can never match: a "string" answer is {"content": "<the body as text>"}, and deny does not reach inside the text; deny "content" to hide the whole body, or read the answer as "json"`
            : `can never match: an is_collection answer is {"collection": [items]}, and deny does not enter lists; remove it and use extra_config.proxy.flatmap_filter [{"type": "del", "args": ["collection.*.${path.replace(/^collection\./, '')}"]}]`,
      });
    });
  }

  const http = backend.extra_config?.['backend/http'];
  // lura reads return_error_details first: with it, return_error_code is not looked at.
  const returnErrorDetails = http?.return_error_details;
  const client = backend.extra_config?.['backend/http/client'];
  return Object.freeze({
    hosts: Object.freeze(hosts),
    urlPattern,
    urlParts: Object.freeze(urlParts),
    method: backend.method ?? endpoint.method,
    encoding,
    returnErrorCode: returnErrorDetails === undefined ? (http?.return_error_code ?? false) : false,
    returnErrorDetails,
    isCollection: backend.is_collection ?? false,
    shape: encoding === 'no-op' ? undefined : compileResponseShape(backend, pointer, ctx),
    redirects: Object.freeze({
      follow: client?.no_redirect !== true,
      sendBody: client?.send_body_on_redirect === true,
      origins: Object.freeze(redirectOrigins(hosts, client?.redirect_hosts, at(`${pointer}/extra_config/backend~1http~1client/redirect_hosts`), issues)),
    }),
  });
}

/** lura decodes a name it does not know as JSON (the loader warns about it, and refuses the decoders portcullis lacks). */
function backendEncoding(name: string | undefined): BackendEncoding {
  return name !== undefined && BACKEND_ENCODINGS.has(name) ? (name as BackendEncoding) : 'json';
}

function backendHosts(backend: BackendConfig, pointer: string, ctx: EndpointContext): string[] {
  const { at, issues } = ctx;
  // lura: an empty host list, like a missing one, takes the root hosts.
  const own = backend.host !== undefined && backend.host.length > 0;
  const hosts = own ? backend.host! : ctx.config.host;
  if (!hosts || hosts.length === 0) {
    issues.push({ path: at(`${pointer}/host`), message: 'missing: the backend has no "host" and the root has no default "host"' });
    return [];
  }
  const base = own ? `${pointer}/host` : '/host';
  return hosts.map((host, k) => {
    const cleaned = cleanHost(host);
    const problem = hostProblem(cleaned);
    if (problem) issues.push({ path: at(`${base}/${k}`), message: problem });
    return cleaned.replace(/\/+$/, '');
  });
}

/** lura's CleanHost: a host written without a scheme (`pets:8080`, docker-compose style) is plain HTTP. */
function cleanHost(host: string): string {
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(host) ? host : `http://${host}`;
}

/** lura's CleanPath: paths are rooted, so `users/{id}` is `/users/{id}`. */
function cleanPath(path: string): string {
  return path.startsWith('/') ? path : `/${path}`;
}

/**
 * Where this backend's redirects may lead: its own hosts' origins, plus the
 * `redirect_hosts` the config names, each a bare origin so a listed host
 * cannot smuggle in a path, a query or credentials.
 */
function redirectOrigins(hosts: readonly string[], extra: readonly string[] | undefined, issuePath: string, issues: ConfigIssue[]): string[] {
  const origins = new Set<string>();
  for (const host of hosts) {
    try {
      origins.add(new URL(host).origin);
    } catch {
      // Reported by backendHosts.
    }
  }
  extra?.forEach((entry, i) => {
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {
      url = undefined;
    }
    const path = `${issuePath}[${i}]`;
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      issues.push({ path, message: 'must be an http or https origin such as "https://auth.internal:8443"' });
    } else if (!/^https?:\/\/[^/?#@\\]+\/?$/i.test(entry)) {
      issues.push({ path, message: 'must be an origin only (scheme://host[:port]): no credentials, path, query or fragment' });
    } else {
      origins.add(url.origin);
    }
  });
  return [...origins];
}

function hostProblem(host: string): string | undefined {
  let url: URL;
  try {
    url = new URL(host);
  } catch {
    return 'is not a valid URL (want scheme://host:port)';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must use http or https';
  if (url.search !== '' || url.hash !== '' || host.includes('?') || host.includes('#')) return 'must not have a query or fragment';
  return undefined;
}

/** Splits an endpoint path into its parameter names, reporting malformed `{…}` segments. */
export function parseEndpointPath(path: string, issuePath: string, issues: ConfigIssue[]): string[] {
  if (!path.startsWith('/')) {
    issues.push({ path: issuePath, message: 'must start with "/"' });
    return [];
  }
  if (path.includes('%')) {
    // Requests are matched after percent-decoding, so an encoded endpoint could never match; a neighbouring
    // {param} route would then serve what this endpoint was meant to protect.
    issues.push({ path: issuePath, message: 'must not contain percent-encoded text ("%"): write the path decoded, as requests are matched decoded' });
    return [];
  }
  const params: string[] = [];
  for (const segment of path.slice(1).split('/')) {
    if (!segment.includes('{') && !segment.includes('}')) continue;
    const match = PARAM_SEGMENT.exec(segment);
    if (!match) {
      issues.push({ path: issuePath, message: `malformed parameter segment "${segment}": a parameter is a whole segment {name} (letters, digits, "_" or "-")` });
      continue;
    }
    if (params.includes(match[1]!)) {
      issues.push({ path: issuePath, message: `parameter {${match[1]}} appears twice` });
      continue;
    }
    params.push(match[1]!);
  }
  return params;
}

function parseUrlPattern(pattern: string, issuePath: string, endpoint: BackendContext, issues: ConfigIssue[]): UrlPart[] {
  const parts: UrlPart[] = [];
  let last = 0;
  const literal = (text: string) => {
    if (text === '') return;
    const previous = parts[parts.length - 1];
    if (previous?.kind === 'literal') parts[parts.length - 1] = { kind: 'literal', text: previous.text + text };
    else parts.push({ kind: 'literal', text });
  };
  for (const match of pattern.matchAll(PLACEHOLDER)) {
    const name = match[1]!;
    literal(pattern.slice(last, match.index));
    last = match.index! + match[0].length;
    if (name.startsWith(CLAIM_PREFIX) && name.length > CLAIM_PREFIX.length) {
      const claim = name.slice(CLAIM_PREFIX.length);
      if (!endpoint.hasValidator) {
        issues.push({ path: issuePath, message: `{${name}} needs an "auth/validator" on the endpoint to read the claim from` });
      }
      parts.push({ kind: 'claim', name: claim });
    } else if (endpoint.params.includes(name)) {
      parts.push({ kind: 'param', name });
    } else {
      const known = endpoint.params.length > 0 ? endpoint.params.map((p) => `{${p}}`).join(', ') : 'none';
      issues.push({ path: issuePath, message: `undefined output param {${name}}: not a parameter of the endpoint (parameters: ${known}) nor {JWT.claim}` });
    }
  }
  literal(pattern.slice(last));
  return parts;
}

function checkReserved(path: string, paths: { healthPath: string | undefined; readyPath: string | undefined }, issuePath: string, issues: ConfigIssue[]): void {
  if (paths.healthPath !== undefined && path === paths.healthPath) {
    issues.push({
      path: issuePath,
      message: `${path} is reserved for the health endpoint; rename it with extra_config.router.health_path or set disable_health`,
    });
    return;
  }
  if (paths.readyPath !== undefined && path === paths.readyPath) {
    issues.push({
      path: issuePath,
      message: `${path} is reserved for the readiness endpoint; rename it with extra_config["portcullis/server"].ready_path or set disable_ready`,
    });
    return;
  }
  const prefix = RESERVED_PREFIXES.find((reserved) => path === reserved || path.startsWith(`${reserved}/`));
  if (prefix) issues.push({ path: issuePath, message: `${prefix} is a reserved path` });
}

function compileMetrics(config: GatewayConfig): MetricsPlan | undefined {
  const exporter = config.extra_config?.['telemetry/opentelemetry']?.exporters?.prometheus?.[0];
  if (exporter === undefined) return undefined;
  return Object.freeze({
    port: exporter.port ?? GATEWAY_DEFAULTS.metricsPort,
    listenIp: exporter.listen_ip ?? GATEWAY_DEFAULTS.metricsListenIp,
    processMetrics: exporter.process_metrics ?? true,
  });
}

/** Same method and same shape (parameters as wildcards) is the same route: gin panics, we refuse. */
function checkCollisions(endpoints: readonly EndpointPlan[], at: (pointer: string) => string, issues: ConfigIssue[]): void {
  const seen = new Map<string, number>();
  endpoints.forEach((endpoint, i) => {
    if (!endpoint.path.startsWith('/')) return;
    const shape = `${endpoint.method} ${endpoint.path.replace(/\{[^/]*\}/g, '{}')}`;
    const first = seen.get(shape);
    if (first === undefined) {
      seen.set(shape, i);
      return;
    }
    const other = endpoints[first]!;
    const issuePath = at(`/endpoints/${i}/endpoint`);
    issues.push({
      path: issuePath,
      message:
        other.path === endpoint.path
          ? `duplicate endpoint ${endpoint.method} ${endpoint.path} (already defined at ${at(`/endpoints/${first}`)})`
          : `route collision: ${endpoint.method} ${endpoint.path} and ${other.path} (${at(`/endpoints/${first}`)}) match the same requests with different parameter names`,
    });
  });
}

function compileLimits(config: GatewayConfig, at: (pointer: string) => string, issues: ConfigIssue[]): ServerLimits {
  const server = config.extra_config?.['portcullis/server'];
  const base = '/extra_config/portcullis~1server';
  const defaults = GATEWAY_DEFAULTS.limits;
  const limits: ServerLimits = {
    maxHeaderSize: server?.max_header_size ?? defaults.maxHeaderSize,
    maxBodySize: server?.max_body_size ?? defaults.maxBodySize,
    headersTimeoutMs: positiveDuration(server?.headers_timeout, at(`${base}/headers_timeout`), issues) ?? defaults.headersTimeoutMs,
    requestTimeoutMs: positiveDuration(server?.request_timeout, at(`${base}/request_timeout`), issues) ?? defaults.requestTimeoutMs,
    keepAliveTimeoutMs: positiveDuration(server?.keep_alive_timeout, at(`${base}/keep_alive_timeout`), issues) ?? defaults.keepAliveTimeoutMs,
  };
  // node:http refuses to start when headersTimeout exceeds requestTimeout.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    issues.push({
      path: at(`${base}/${server?.headers_timeout !== undefined ? 'headers_timeout' : 'request_timeout'}`),
      message: `headers_timeout (${limits.headersTimeoutMs} ms) must not exceed request_timeout (${limits.requestTimeoutMs} ms)`,
    });
  }
  return limits;
}

function compileResponseBuffers(config: GatewayConfig, at: (pointer: string) => string, issues: ConfigIssue[]): ResponseBufferLimits {
  const server = config.extra_config?.['portcullis/server'];
  const defaults = GATEWAY_DEFAULTS.responseBuffers;
  const limits: ResponseBufferLimits = Object.freeze({
    maxBackendResponseSize: server?.max_backend_response_size ?? defaults.maxBackendResponseSize,
    maxBufferedBytes: server?.max_buffered_bytes ?? defaults.maxBufferedBytes,
  });
  // A budget smaller than one answer would fail every answer between the two sizes, whatever the load.
  if (limits.maxBufferedBytes < limits.maxBackendResponseSize) {
    const key = server?.max_buffered_bytes !== undefined ? 'max_buffered_bytes' : 'max_backend_response_size';
    issues.push({
      path: at(`/extra_config/portcullis~1server/${key}`),
      message: `max_buffered_bytes (${limits.maxBufferedBytes}) must be at least max_backend_response_size (${limits.maxBackendResponseSize})`,
    });
  }
  return limits;
}

/** A cache_ttl: zero or more ("0s" switches it off). */
function cacheTtl(text: string | undefined, issuePath: string, issues: ConfigIssue[]): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDurationMs(text);
  if (ms === undefined) issues.push({ path: issuePath, message: 'must be a duration such as "30s", "5m" or "1h"' });
  return ms;
}

/** A duration that must be above zero: "0" would switch a timeout off entirely. */
function positiveDuration(text: string | undefined, issuePath: string, issues: ConfigIssue[]): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDurationMs(text);
  if (ms === undefined) {
    issues.push({ path: issuePath, message: 'must be a duration such as "500ms", "5s", "15m" or "1h"' });
    return undefined;
  }
  if (ms <= 0) {
    issues.push({ path: issuePath, message: 'must be greater than zero' });
    return undefined;
  }
  return ms;
}

function allowList(names: readonly string[] | undefined, normalise: (name: string) => string): ReadonlySet<string> | '*' {
  if (names?.includes('*')) return '*';
  return Object.freeze(new Set((names ?? []).map(normalise)));
}

function escapeKey(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}
