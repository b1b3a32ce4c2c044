/**
 * THE schema of a portcullis gateway config: the KrakenD v3 keys portcullis
 * supports, with `auth/validator` from validator-schema.ts. TypeScript types,
 * defaults, the published JSON Schema (schema/portcullis.schema.json) and
 * `portcullis check` all come from here. Both generated files (the JSON
 * Schema, and the validators in src/config/generated/ that load.ts runs) are
 * rewritten by scripts/write-schema.ts and scripts/write-validators.ts after a
 * change; tests fail until they are.
 */
import { Type, type Static } from '@sinclair/typebox';
import { DURATION_PATTERN } from '../lib/duration.js';
import { SignerSchema } from './signer-schema.js';
import { strictObject, ValidatorSchema } from './validator-schema.js';

const Duration = (description: string) => Type.String({ pattern: DURATION_PATTERN, description });
const Method = Type.Union(
  ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'].map((m) => Type.Literal(m)),
  { description: 'HTTP method.' },
);
const Encoding = Type.String({
  minLength: 1,
  examples: ['json', 'safejson', 'no-op', 'string'],
  description:
    'How the backend response is read: `json` (merged), `safejson` (any JSON: arrays as {"collection": …}, other values as {"result": …}), `no-op` (streamed unchanged; forced under a no-op endpoint) or `string` (wrapped as {"content": …}). Another name is read as `json`, as KrakenD does (warned); `xml`, `rss` and `yaml` are refused.',
});
const OutputEncoding = Type.Union([Type.Literal('json'), Type.Literal('no-op'), Type.Literal('string')], {
  description: 'How the endpoint answers: `json` (default), `no-op` or `string`.',
});

const NOT_APPLIED = (what: string) => Type.Optional(Type.Unknown({ description: `Accepted for KrakenD compatibility; ${what}` }));

/** One rate limit, KrakenD CE's `qos/ratelimit/router` keys plus `strategy: "jwt"`. */
const RateLimitProperties = {
  max_rate: Type.Optional(Type.Integer({ minimum: 1, description: 'Tokens per `every` for the whole endpoint (all clients); over it: 503.' })),
  capacity: Type.Optional(Type.Integer({ minimum: 1, description: 'Size of the endpoint bucket (default: max_rate per second, truncated, at least 1).' })),
  client_max_rate: Type.Optional(Type.Integer({ minimum: 1, description: 'Tokens per `every` for each client; over it: 429.' })),
  client_capacity: Type.Optional(Type.Integer({ minimum: 1, description: 'Size of each client bucket (default: client_max_rate per second, truncated, at least 1).' })),
  every: Type.Optional(Duration('The refill period (default "1s"; shorter counts as 1s, as in KrakenD).')),
  strategy: Type.Optional(
    Type.Union([Type.Literal('ip'), Type.Literal('header'), Type.Literal('param'), Type.Literal('jwt')], {
      description: 'Who a client is: the peer address (ip), a header, a route parameter, or a claim of the verified token (jwt).',
    }),
  ),
  key: Type.Optional(Type.String({ minLength: 1, description: 'The header, parameter or claim the strategy reads (for ip: an optional forwarding header).' })),
  ratelimit_headers: Type.Optional(Type.Boolean({ description: 'portcullis: advertise the client policy with the IETF RateLimit fields (default true; false answers as KrakenD does, without them).' })),
  num_shards: NOT_APPLIED('the memory limiter needs no shards.'),
  cleanup_period: NOT_APPLIED('idle client buckets are forgotten least recently used first.'),
  cleanup_threads: NOT_APPLIED('there are no cleanup threads.'),
};

export const RateLimitSchema = strictObject(RateLimitProperties, 'A token-bucket rate limit, counted per instance.');

export const RedisRateLimitSchema = strictObject(
  {
    ...RateLimitProperties,
    connection_pool: Type.String({ minLength: 1, description: 'The `redis` pool that holds the buckets (shared by every instance).' }),
    fail_open: Type.Optional(Type.Boolean({ description: 'portcullis: when Redis does not answer in time, let the request through (default true) or answer 503.' })),
  },
  'A token-bucket rate limit shared by every instance through Redis.',
);

export const RedisPoolSchema = strictObject(
  {
    name: Type.String({ minLength: 1, description: 'Referred to by `connection_pool`.' }),
    address: Type.Optional(Type.String({ minLength: 1, description: '`host:port` of the Redis server.' })),
    url: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'portcullis: `redis://[user:password@]host:port/db` (or `rediss://` for TLS), instead of address.' })),
    username: Type.Optional(Type.String()),
    password: Type.Optional(Type.String()),
    db: Type.Optional(Type.Integer({ minimum: 0 })),
    dial_timeout: Type.Optional(Duration('Per connection attempt (default "2s").')),
    read_timeout: Type.Optional(Duration('Bound on every command (default "500ms").')),
    write_timeout: NOT_APPLIED('commands are bounded by read_timeout.'),
    max_retry_backoff: Type.Optional(Duration('Cap of the reconnect backoff (default "5s").')),
    max_offline_queue: Type.Optional(Type.Integer({ minimum: 0, description: 'portcullis: commands that may wait for a reconnect (default 0: fail at once).' })),
    key_prefix: Type.Optional(Type.String({ description: 'portcullis: prefix of every key and channel (default "portcullis:").' })),
    pool_size: NOT_APPLIED('one pipelined connection is used (plus one subscriber for revocation).'),
    min_idle_conns: NOT_APPLIED('one pipelined connection is used.'),
    max_idle_conns: NOT_APPLIED('one pipelined connection is used.'),
    max_retries: NOT_APPLIED('a failed command is not retried; fail_open or fail_closed applies.'),
    min_retry_backoff: NOT_APPLIED('reconnects back off from 100 ms.'),
    conn_max_idle_time: NOT_APPLIED('the connection is kept.'),
    conn_max_lifetime: NOT_APPLIED('the connection is kept.'),
    pool_timeout: NOT_APPLIED('there is no pool to wait for.'),
  },
  'A Redis connection.',
);

export const RevokerSchema = strictObject(
  {
    token_keys: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description: 'What a revocation may name: jti, sub, tenant, or any claim (e.g. sid).',
    }),
    TTL: Type.Integer({ minimum: 1, description: 'Seconds a revocation lasts when it names no expiry: the longest token lifetime.' }),
    N: NOT_APPLIED('portcullis keeps an exact set, not a bloom filter.'),
    P: NOT_APPLIED('portcullis keeps an exact set, not a bloom filter.'),
    hash_name: NOT_APPLIED('portcullis keeps an exact set, not a bloom filter.'),
    port: NOT_APPLIED('no bloom-filter RPC listener is opened; revoke with `portcullis revoke` or the admin endpoint.'),
    connection_pool: Type.Optional(Type.String({ minLength: 1, description: 'portcullis: the `redis` pool that shares revocations across instances (default: in memory, per process).' })),
    fail_closed: Type.Optional(Type.Boolean({ description: 'portcullis: refuse (503) while the set is older than max_staleness (default false).' })),
    max_staleness: Type.Optional(Duration('portcullis: the bound for fail_closed (default "30s").')),
    key_prefix: Type.Optional(Type.String({ description: "portcullis: prefix of the Redis keys and channel (default: the pool's)." })),
    admin: Type.Optional(
      strictObject({
        port: Type.Integer({ minimum: 0, maximum: 65535, description: 'Port of the admin listener (never the public one).' }),
        listen_ip: Type.Optional(Type.String({ description: 'Address of the admin listener (default 127.0.0.1).' })),
        token_env: Type.Optional(Type.String({ minLength: 1, description: 'Environment variable holding the admin bearer token.' })),
        token_file: Type.Optional(Type.String({ minLength: 1, description: 'File holding the admin bearer token.' })),
      }),
    ),
  },
  'Token revocation (KrakenD auth/revoker), enforced on every validated endpoint.',
);

/** KrakenD's `security/cors` (rs/cors options), service level only. */
export const CorsSchema = strictObject(
  {
    allow_origins: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description: 'Origins allowed to read answers, e.g. "https://app.example.com", one "*" per origin for a group ("https://*.example.com"), or "*" (default: every origin).',
      }),
    ),
    allow_methods: Type.Optional(Type.Array(Method, { description: 'Methods a cross-origin request may use (default GET, HEAD, POST).' })),
    allow_headers: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), { description: 'Request headers a cross-origin request may send; "*" or no list allows every header (as KrakenD).' }),
    ),
    expose_headers: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Response headers the page may read besides the CORS-safelisted ones (default none).' })),
    allow_credentials: Type.Optional(Type.Boolean({ description: 'Let pages send cookies and Authorization and read the answers (default false); needs a list of origins.' })),
    max_age: Type.Optional(Duration('How long browsers may keep a preflight answer (default "0h": no Access-Control-Max-Age).')),
    allow_private_network: Type.Optional(Type.Boolean({ description: 'Answer Private Network Access preflights (default false).' })),
    options_passthrough: Type.Optional(Type.Boolean({ description: 'After the CORS headers, route the preflight like any request instead of answering it (default false).' })),
    options_success_status: Type.Optional(Type.Integer({ minimum: 200, maximum: 299, description: 'Status of an answered preflight (default 204).' })),
    debug: Type.Optional(Type.Boolean({ description: 'Log every CORS decision at debug level (default false).' })),
  },
  'Cross-origin resource sharing: answers preflights before routing and authorization, and adds the CORS headers to every answer.',
);

/** One KrakenD flatmap operation; the arity of each type is checked when compiling. */
export const FlatmapOpSchema = strictObject(
  {
    type: Type.Union([Type.Literal('move'), Type.Literal('del'), Type.Literal('append')], { description: '`move` (or rename), `del`, or `append` (one list after another).' }),
    args: Type.Array(Type.String(), {
      minItems: 1,
      description: 'Dotted paths: `*` matches every key or index, a number an index. move and append take [from, to]; del takes one or more.',
    }),
  },
  'A flatmap operation on arrays (KrakenD proxy.flatmap_filter).',
);

/** KrakenD's `proxy` namespace; of its keys portcullis implements flatmap_filter (the others are refused by the loader). */
export const ProxySchema = strictObject(
  {
    flatmap_filter: Type.Optional(Type.Array(FlatmapOpSchema, { description: 'Operations run in order on the answer, arrays included.' })),
  },
  'KrakenD proxy options.',
);

/** Namespaced extensions; only the ones portcullis implements are typed, others are reported as unknown. */
export const EndpointExtraSchema = strictObject(
  {
    'auth/validator': Type.Optional(ValidatorSchema),
    'github.com/devopsfaith/krakend-jose/validator': Type.Optional(ValidatorSchema),
    'auth/signer': Type.Optional(SignerSchema),
    'github.com/devopsfaith/krakend-jose/signer': Type.Optional(SignerSchema),
    'qos/ratelimit/router': Type.Optional(RateLimitSchema),
    'qos/ratelimit/router/redis': Type.Optional(RedisRateLimitSchema),
    'portcullis/cache': Type.Optional(
      strictObject(
        {
          public_with_credentials: Type.Optional(
            Type.Boolean({
              description:
                "portcullis: send cache_ttl as `public` even when the endpoint validates a token or the request carries credentials: only for answers that are the same for every caller (default false: `private`).",
            }),
          ),
        },
        'portcullis: how cache_ttl treats answers to identified callers.',
      ),
    ),
    proxy: Type.Optional(ProxySchema),
  },
  'Endpoint namespaces.',
);

export const BackendExtraSchema = strictObject(
  {
    proxy: Type.Optional(ProxySchema),
    'backend/http': Type.Optional(
      strictObject({
        return_error_code: Type.Optional(Type.Boolean({ description: 'Pass the backend error status through.' })),
        return_error_details: Type.Optional(
          Type.String({
            minLength: 1,
            description: 'A name: a failed status adds {"error_<name>": {"http_status_code", "http_body", "http_body_encoding"}} to the answer (return_error_code is then ignored, as in KrakenD).',
          }),
        ),
      }),
    ),
    'backend/http/client': Type.Optional(
      strictObject({
        no_redirect: Type.Optional(Type.Boolean({ description: 'Do not follow redirects: a no-op endpoint relays the 3xx, a merging one fails the backend.' })),
        send_body_on_redirect: Type.Optional(Type.Boolean({ description: 'Buffer the request body (within max_body_size) so a 307 or 308 redirect can send it again.' })),
        redirect_hosts: Type.Optional(
          Type.Array(Type.String({ minLength: 1 }), {
            description: 'portcullis: origins (`scheme://host[:port]`) a redirect may lead to besides the backend\'s own hosts.',
          }),
        ),
      }),
    ),
  },
  'Backend namespaces.',
);

export const RouterSchema = strictObject(
  {
    health_path: Type.Optional(Type.String({ pattern: '^/', description: 'Path of the health endpoint (default /__health).' })),
    disable_health: Type.Optional(Type.Boolean({ description: 'Remove the health endpoint.' })),
    return_error_msg: Type.Optional(Type.Boolean({ description: 'When no backend answered, write why in the body (text/plain) instead of an empty body.' })),
  },
  'Router settings.',
);

/** KrakenD's Prometheus exporter; portcullis serves `/metrics` on this listener. */
export const PrometheusExporterSchema = strictObject(
  {
    name: Type.Optional(Type.String({ description: 'A name for the exporter (KrakenD requires one; portcullis only shows it in logs).' })),
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'Port of the metrics listener (default 9090, as KrakenD).' })),
    listen_ip: Type.Optional(Type.String({ description: 'Address of the metrics listener (default 127.0.0.1: metrics stay on the machine unless you open them).' })),
    process_metrics: Type.Optional(Type.Boolean({ description: 'Include process metrics (CPU, memory, event loop; default true).' })),
    go_metrics: Type.Optional(Type.Boolean({ description: 'Accepted for KrakenD compatibility; there is no Go runtime to report.' })),
  },
  'A Prometheus exporter: GET /metrics on its own listener.',
);

export const OpenTelemetrySchema = strictObject(
  {
    service_name: Type.Optional(Type.String({ description: 'Accepted for KrakenD compatibility.' })),
    metric_reporting_period: Type.Optional(Type.Integer({ minimum: 0, description: 'Accepted for KrakenD compatibility (Prometheus pulls).' })),
    trace_sample_rate: Type.Optional(Type.Number({ description: 'Accepted; portcullis passes trace context through but does not export spans.' })),
    exporters: Type.Optional(
      strictObject({
        prometheus: Type.Optional(Type.Array(PrometheusExporterSchema, { maxItems: 1, description: 'At most one Prometheus exporter.' })),
        otlp: Type.Optional(Type.Array(Type.Unknown(), { description: 'Accepted; nothing is exported over OTLP.' })),
      }),
    ),
    layers: Type.Optional(Type.Unknown({ description: 'Accepted for KrakenD compatibility.' })),
    skip_paths: Type.Optional(Type.Array(Type.String(), { description: 'Accepted for KrakenD compatibility.' })),
  },
  'KrakenD telemetry; portcullis implements the Prometheus exporter.',
);

export const ServiceExtraSchema = strictObject(
  {
    router: Type.Optional(RouterSchema),
    'telemetry/opentelemetry': Type.Optional(OpenTelemetrySchema),
    'auth/revoker': Type.Optional(RevokerSchema),
    redis: Type.Optional(
      strictObject({
        connection_pools: Type.Array(RedisPoolSchema, { minItems: 1 }),
      }),
    ),
    'qos/ratelimit/service': Type.Optional(RateLimitSchema),
    'security/cors': Type.Optional(CorsSchema),
    'github_com/devopsfaith/krakend-cors': Type.Optional(CorsSchema),
    'auth/validator': Type.Optional(
      strictObject({ shared_cache_duration: Type.Optional(Type.Integer({ minimum: 0, description: 'Accepted for KrakenD compatibility; keys are always shared.' })) }),
    ),
    'portcullis/server': Type.Optional(
      strictObject({
        max_header_size: Type.Optional(Type.Integer({ minimum: 1024, description: 'Maximum request header bytes (default 16384).' })),
        max_body_size: Type.Optional(Type.Integer({ minimum: 0, description: 'Maximum request body bytes forwarded (default 10485760).' })),
        headers_timeout: Type.Optional(Duration('Time allowed to receive request headers (default "10s").')),
        request_timeout: Type.Optional(Duration('Time allowed to receive a whole request (default "30s").')),
        keep_alive_timeout: Type.Optional(Duration('Idle keep-alive time (default "5s").')),
        ready_path: Type.Optional(Type.String({ pattern: '^/', description: 'Path of the readiness endpoint (default /__ready): 503 until every key set has loaded, and while one is past jwk_max_stale.' })),
        disable_ready: Type.Optional(Type.Boolean({ description: 'Remove the readiness endpoint.' })),
        verified_token_cache_size: Type.Optional(Type.Integer({ minimum: 0, description: 'Verified-token cache entries (default 100000; 0 disables).' })),
        verified_token_cache_max_bytes: Type.Optional(
          Type.Integer({ minimum: 0, description: 'Approximate memory bound of the verified-token cache in bytes (default 67108864, 64 MiB; 0 disables).' }),
        ),
        max_backend_response_size: Type.Optional(
          Type.Integer({
            minimum: 1,
            description: 'Largest backend answer a json or string endpoint reads, in bytes (default 8388608, 8 MiB); a larger one fails that backend.',
          }),
        ),
        max_buffered_bytes: Type.Optional(
          Type.Integer({
            minimum: 1,
            description:
              'Backend answer bytes all json/string requests in flight may hold together, per process (default 134217728, 128 MiB); an answer that would go past it fails that backend.',
          }),
        ),
      }),
    ),
  },
  'Service namespaces.',
);

export const BackendSchema = strictObject(
  {
    host: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description: 'Backend base URLs, used round-robin; `http://` is added to a host without a scheme; empty or absent: the root `host`.',
      }),
    ),
    url_pattern: Type.String({ description: 'Path on the backend (a missing leading "/" is added); may use {param} and {JWT.claim}.' }),
    method: Type.Optional(Method),
    encoding: Type.Optional(Encoding),
    target: Type.Optional(Type.String({ description: 'Dotted path of the object inside the answer to use instead of the whole answer (applied first).' })),
    allow: Type.Optional(
      Type.Array(Type.String(), { description: 'Only these fields of the answer are kept; dotted paths reach into nested objects (not arrays).' }),
    ),
    deny: Type.Optional(
      Type.Array(Type.String(), { description: 'These fields of the answer are removed; dotted paths reach into nested objects (not arrays).' }),
    ),
    mapping: Type.Optional(
      Type.Record(Type.String(), Type.String(), { description: 'Renames top-level fields of the answer: {"from": "to"} (applied after allow/deny).' }),
    ),
    group: Type.Optional(Type.String({ description: 'Nests the whole answer under this key (applied last).' })),
    is_collection: Type.Optional(Type.Boolean({ description: 'The answer is a JSON array, merged as {"collection": […]} (rename it with mapping).' })),
    extra_config: Type.Optional(BackendExtraSchema),
  },
  'One backend call.',
);

export const EndpointSchema = strictObject(
  {
    endpoint: Type.String({ description: 'Public path (a missing leading "/" is added); each {param} matches one segment.' }),
    method: Type.Optional(Method),
    timeout: Type.Optional(Duration('Timeout of the whole pipe (default: the root timeout).')),
    cache_ttl: Type.Optional(Duration('Cache-Control max-age of complete answers (default: the root cache_ttl; "0s" turns it off here).')),
    input_headers: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Headers forwarded to backends; ["*"] forwards all.' })),
    input_query_strings: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Query strings forwarded; ["*"] forwards all.' })),
    output_encoding: Type.Optional(OutputEncoding),
    extra_config: Type.Optional(EndpointExtraSchema),
    backend: Type.Array(BackendSchema, { minItems: 1 }),
  },
  'One public endpoint.',
);

const TlsVersion = (description: string) =>
  Type.Union(
    ['SSL3.0', 'TLS10', 'TLS11', 'TLS12', 'TLS13'].map((v) => Type.Literal(v)),
    { description },
  );
const PemFile = (description: string) => Type.String({ minLength: 1, description });

export const TlsKeyPairSchema = strictObject(
  {
    public_key: PemFile('PEM certificate file (the chain may follow the certificate).'),
    private_key: PemFile('PEM private key file (unencrypted).'),
  },
  'A certificate and its private key.',
);

/** KrakenD's `tls` (lura `ParseTLSConfig`): what node:tls can serve faithfully; the rest is refused when compiled. */
export const TlsSchema = strictObject(
  {
    disabled: Type.Optional(Type.Boolean({ description: 'Serve plain HTTP and ignore the rest of this block.' })),
    keys: Type.Optional(Type.Array(TlsKeyPairSchema, { minItems: 1, description: 'Certificates (KrakenD 2.7+); the first is the default, the others are picked by SNI.' })),
    public_key: Type.Optional(PemFile('PEM certificate file (before KrakenD 2.7; served before the `keys`).')),
    private_key: Type.Optional(PemFile('PEM private key of public_key.')),
    min_version: Type.Optional(TlsVersion('Lowest TLS version (default "TLS13"; versions below TLS12 are served as TLS12).')),
    max_version: Type.Optional(TlsVersion('Highest TLS version (default "TLS13"; at least TLS12).')),
    cipher_suites: Type.Optional(
      Type.Array(Type.Integer({ minimum: 0, maximum: 65535 }), {
        description: 'TLS 1.2 cipher suites (IANA numbers; default: the ECDHE AES-GCM and ChaCha20 suites). TLS 1.3 suites are always on, as in Go.',
      }),
    ),
    curve_preferences: Type.Optional(
      Type.Array(Type.Integer({ minimum: 0, maximum: 65535 }), { description: 'Key exchange groups (IANA numbers: 23 P-256, 24 P-384, 25 P-521, 29 X25519; default 25, 24, 23).' }),
    ),
    prefer_server_cipher_suites: Type.Optional(Type.Boolean({ description: 'Accepted for KrakenD compatibility; the server order is always used.' })),
    enable_mtls: Type.Optional(Type.Boolean({ description: 'Require a client certificate that chains to ca_certs (and the system pool unless disabled).' })),
    ca_certs: Type.Optional(Type.Array(PemFile('PEM file of CA certificates.'), { description: 'CAs that client certificates must chain to (with enable_mtls).' })),
    disable_system_ca_pool: Type.Optional(Type.Boolean({ description: "With enable_mtls: trust only ca_certs, not Node's bundled root CAs." })),
  },
  'Serve HTTPS, optionally with client certificates (mTLS).',
);

export const GatewayConfigSchema = strictObject(
  {
    version: Type.Literal(3, { description: 'Config format version; must be 3.' }),
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'Listening port (default 8080).' })),
    listen_ip: Type.Optional(Type.String({ description: 'Listening address (default all interfaces).' })),
    tls: Type.Optional(TlsSchema),
    host: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Default backend hosts; `http://` is added to a host without a scheme.' })),
    timeout: Type.Optional(Duration('Default endpoint timeout (default "2s").')),
    cache_ttl: Type.Optional(Duration('Default endpoint cache_ttl: Cache-Control max-age of complete answers (default "0s": none).')),
    debug_endpoint: Type.Optional(Type.Boolean({ description: 'Serve /__debug/ (answers {"message":"pong"}) to anyone (default false).' })),
    echo_endpoint: Type.Optional(Type.Boolean({ description: 'Serve /__echo/ (answers the request as JSON, credentials redacted) to anyone (default false).' })),
    output_encoding: Type.Optional(OutputEncoding),
    name: Type.Optional(Type.String()),
    extra_config: Type.Optional(ServiceExtraSchema),
    endpoints: Type.Array(EndpointSchema, { description: 'Public endpoints.' }),
  },
  'A portcullis (KrakenD v3 compatible) gateway configuration.',
);

export type GatewayConfig = Static<typeof GatewayConfigSchema>;
export type EndpointConfig = Static<typeof EndpointSchema>;
export type BackendConfig = Static<typeof BackendSchema>;
