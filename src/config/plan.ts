/**
 * What a compiled gateway config is: frozen plans, with every endpoint's
 * policy compiled and every key source described, but nothing opened. The
 * request path reads only these (src/runtime/bind-plan.ts makes them live), and the
 * defaults they fall back to are declared here, once.
 */
import { DEFAULT_CACHE_ENTRIES, DEFAULT_CACHE_MAX_BYTES } from '../authorizer/cache.js';
import type { EndpointPolicy } from '../authorizer/policy.js';
import type { Alg } from '../jwt/algorithms.js';
import type { SigningKeySource } from '../keys/signing-keys.js';

export type UrlPart = { kind: 'literal'; text: string } | { kind: 'param'; name: string } | { kind: 'claim'; name: string };

export type Encoding = 'json' | 'no-op' | 'string';

/** How a backend answer is read: an output encoding, or `safejson` (any JSON value). */
export type BackendEncoding = Encoding | 'safejson';

/** How a backend's redirects are followed (see src/gateway/redirect.ts). */
export interface RedirectPlan {
  /** `backend/http/client.no_redirect`: relay or fail on a redirect instead of following it. */
  readonly follow: boolean;
  /** `send_body_on_redirect`: the request body is buffered so a 307/308 can send it again. */
  readonly sendBody: boolean;
  /** Origins a redirect may lead to: the backend's own hosts, then `redirect_hosts`. */
  readonly origins: readonly string[];
}

/**
 * Object keys selected by dotted paths, split once at compile time: a key
 * mapped to null selects its whole value, one mapped to a tree selects inside
 * it (objects only, as in KrakenD: arrays are not entered).
 */
export type KeyTree = ReadonlyMap<string, KeyTree | null>;

/**
 * One `flatmap_filter` operation (KrakenD `proxy` namespace), its dotted
 * arguments split once: `*` matches every key or index, a number an index.
 */
export type FlatmapOp =
  | { readonly type: 'move' | 'append'; readonly args: readonly [readonly string[], readonly string[]] }
  | { readonly type: 'del'; readonly args: readonly (readonly string[])[] };

/**
 * A backend's response manipulation (KrakenD `target`, `allow`, `deny`,
 * `mapping`, `group`), applied in that order to the decoded answer before it
 * is merged (lura `proxy/formatter.go`). With `flatmap`, its operations run
 * between `target` and `group` instead of allow, deny and mapping (the loader
 * refuses a config that sets both, as KrakenD would ignore the latter).
 */
export interface ResponseShape {
  /** `target` split on dots: the object to extract first; undefined for none. */
  readonly target: readonly string[] | undefined;
  /** `allow`: only these paths are kept; undefined for none. */
  readonly allow: KeyTree | undefined;
  /** `deny`: these paths are removed; undefined for none. */
  readonly deny: KeyTree | undefined;
  /** `mapping` as [from, to] pairs of top-level keys, applied together. */
  readonly mapping: readonly (readonly [string, string])[];
  /** `group`: the key the whole answer is nested under; undefined for none. */
  readonly group: string | undefined;
  /** `extra_config.proxy.flatmap_filter`, or undefined for none. */
  readonly flatmap: readonly FlatmapOp[] | undefined;
}

export interface BackendPlan {
  /** Base URLs without trailing slash, e.g. "http://127.0.0.1:8000". */
  readonly hosts: readonly string[];
  readonly urlPattern: string;
  readonly urlParts: readonly UrlPart[];
  /** Backend method; defaults to the endpoint's. */
  readonly method: string;
  readonly encoding: BackendEncoding;
  /** extra_config["backend/http"].return_error_code (false when return_error_details is set, as in KrakenD) */
  readonly returnErrorCode: boolean;
  /** extra_config["backend/http"].return_error_details: the name in `error_<name>`, or undefined. */
  readonly returnErrorDetails: string | undefined;
  readonly redirects: RedirectPlan;
  /** `is_collection`: the answer must be a JSON array, merged as {"collection": […]}. */
  readonly isCollection: boolean;
  /** The response manipulation, or undefined when the answer is merged as it is. */
  readonly shape: ResponseShape | undefined;
}

/** A compiled `auth/signer` block; the key is read when the plan is served (src/gateway/signer.ts). */
export interface SignerPlan {
  readonly alg: Alg;
  readonly kid: string | undefined;
  /** Keys of the merged answer whose object values become JWTs. */
  readonly keysToSign: readonly string[];
  /** `full`: the JWS JSON serialization instead of the compact one. */
  readonly full: boolean;
  readonly source: SigningKeySource;
  /** JSON path of the block, e.g. `$.endpoints[0].extra_config["auth/signer"]`. */
  readonly path: string;
  /** JSON path of jwk_url or jwk_local_path, for key errors. */
  readonly sourcePath: string;
}

export interface EndpointPlan {
  readonly path: string;
  readonly method: string;
  readonly params: readonly string[];
  /** Endpoint timeout, else the root timeout. */
  readonly timeoutMs: number;
  /** Lower-case names; '*' forwards all. */
  readonly inputHeaders: ReadonlySet<string> | '*';
  /** Case-sensitive names; '*' forwards all. */
  readonly inputQueryStrings: ReadonlySet<string> | '*';
  readonly outputEncoding: Encoding;
  readonly backends: readonly BackendPlan[];
  /** `extra_config.proxy.flatmap_filter` of the endpoint: applied to the merged answer; undefined for none. */
  readonly flatmap: readonly FlatmapOp[] | undefined;
  /** The compiled auth/validator block (or its v1 alias), or undefined for a public endpoint. */
  readonly auth: EndpointPolicy | undefined;
  /** `qos/ratelimit/router` and `qos/ratelimit/router/redis`, in that order (each may be absent). */
  readonly rateLimits: readonly RateLimitPlan[];
  /** `cache_ttl` (endpoint, else root): the Cache-Control of complete answers, or undefined when off. */
  readonly cache: CachePlan | undefined;
  /** The compiled auth/signer block (or its v1 alias), or undefined. */
  readonly signer: SignerPlan | undefined;
  /** "[ENDPOINT: /users/{id}]" */
  readonly label: string;
  /** extra_config.router.return_error_msg: a failed answer says why in its body. */
  readonly returnErrorMsg: boolean;
}

/** One token bucket: `rate` tokens per `everyMs`, holding at most `capacity`. */
export interface BucketPlan {
  readonly rate: number;
  readonly everyMs: number;
  readonly capacity: number;
}

export type ClientStrategy = 'ip' | 'header' | 'param' | 'jwt';

/** One `qos/ratelimit/*` block. */
export interface RateLimitPlan {
  /** `max_rate`: one bucket for every client (503 when empty). */
  readonly endpoint: BucketPlan | undefined;
  /** `client_max_rate`: a bucket per client, keyed by the strategy (429 when empty). */
  readonly client: (BucketPlan & { readonly strategy: ClientStrategy; readonly key: string | undefined }) | undefined;
  /** Advertise the client policy with the IETF RateLimit fields. */
  readonly headers: boolean;
  /** The `redis` pool holding the buckets; undefined: in this process's memory. */
  readonly pool: string | undefined;
  /** Redis only: let requests through when Redis does not answer. */
  readonly failOpen: boolean;
  /** JSON path of the block; also what keeps its buckets apart from every other block's. */
  readonly path: string;
}

/** One entry of `redis.connection_pools`. */
export interface RedisPoolPlan {
  readonly name: string;
  /** `redis://[user:password@]host:port/db`; may hold a password: never log it (log `address`). */
  readonly url: string;
  readonly address: string;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
  readonly maxReconnectDelayMs: number;
  readonly maxOfflineQueue: number;
  readonly keyPrefix: string;
  readonly path: string;
}

/** Service `auth/revoker`. */
export interface RevocationPlan {
  /** What a revocation may name: `jti`, `sub`, `tenant` or a claim name. */
  readonly tokenKeys: readonly string[];
  /** `TTL`: how long a revocation lasts when it names no expiry. */
  readonly ttlSeconds: number;
  /** The `redis` pool that shares revocations; undefined: this process's memory. */
  readonly pool: string | undefined;
  readonly keyPrefix: string | undefined;
  readonly failClosed: boolean;
  readonly maxStalenessMs: number;
  readonly admin: RevocationAdminPlan | undefined;
  readonly path: string;
}

export interface RevocationAdminPlan {
  readonly port: number;
  readonly listenIp: string;
  /** Where the admin bearer token is read from, exactly one of the two. */
  readonly tokenEnv: string | undefined;
  readonly tokenFile: string | undefined;
  readonly path: string;
}

/**
 * What `cache_ttl` sets on a complete answer. KrakenD always says `public`;
 * portcullis says `private` (with `Vary` on the credential headers) when the
 * answer may depend on who asked: the endpoint validates a token, or the
 * request carries credentials the backend receives. `portcullis/cache`
 * `public_with_credentials` restores `public` for such an endpoint.
 */
export interface CachePlan {
  /** `public, max-age=N` */
  readonly publicValue: string;
  /** `private, max-age=N` */
  readonly privateValue: string;
  /** 'always' (a validated endpoint), or the lower-case request headers whose presence makes the answer private (none: always public). */
  readonly privateIf: 'always' | readonly string[];
  /** Added to `Vary` on a private answer, e.g. `Authorization, Cookie`. */
  readonly privateVary: string;
}

/** An allowed-origin pattern with one `*`: the origin starts with `prefix` and ends with `suffix` (lower case). */
export interface OriginWildcard {
  readonly prefix: string;
  readonly suffix: string;
}

/** `security/cors` (KrakenD's rs/cors options), resolved with KrakenD's defaults. */
export interface CorsPlan {
  /** No list, or `*` in it: every origin (answered `*`; credentials are refused with it at load). */
  readonly anyOrigin: boolean;
  /** Exact origins, lower case. */
  readonly origins: ReadonlySet<string>;
  readonly originWildcards: readonly OriginWildcard[];
  /** Upper case; default GET, POST, HEAD. */
  readonly methods: ReadonlySet<string>;
  /** No list, or `*` in it: every requested header. */
  readonly anyHeader: boolean;
  /** Lower case. */
  readonly headers: ReadonlySet<string>;
  /** `Access-Control-Expose-Headers`, or '' for none. */
  readonly exposeHeaders: string;
  readonly allowCredentials: boolean;
  /** `Access-Control-Max-Age`; 0 sends none. */
  readonly maxAgeSeconds: number;
  readonly allowPrivateNetwork: boolean;
  /** Let preflights on to the router after the CORS headers are set. */
  readonly optionsPassthrough: boolean;
  /** Status of an answered preflight (default 204). */
  readonly optionsSuccessStatus: number;
  /** Log each CORS decision at debug level. */
  readonly debug: boolean;
}

export interface MetricsPlan {
  readonly port: number;
  readonly listenIp: string;
  readonly processMetrics: boolean;
}

export interface ServerLimits {
  maxHeaderSize: number;
  maxBodySize: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

/** Bounds on the backend answers merging endpoints (json, string) read whole into memory. */
export interface ResponseBufferLimits {
  /** `max_backend_response_size`: bytes of one backend answer. */
  readonly maxBackendResponseSize: number;
  /** `max_buffered_bytes`: bytes of backend answers all requests in flight may hold together. */
  readonly maxBufferedBytes: number;
}

/** One certificate and its key, as files, with the JSON paths errors name. */
export interface TlsKeyPairPlan {
  readonly certFile: string;
  readonly keyFile: string;
  /** e.g. `$.tls.keys[0].public_key` */
  readonly certPath: string;
  readonly keyPath: string;
}

/** The root `tls` block, in node:tls terms; nothing read yet (src/runtime/listener-tls.ts reads the files). */
export interface TlsPlan {
  /** The first pair is served when the client names no host (or one no certificate matches). */
  readonly keyPairs: readonly TlsKeyPairPlan[];
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  readonly maxVersion: 'TLSv1.2' | 'TLSv1.3';
  /** An OpenSSL cipher list: the TLS 1.3 suites, then the allowed TLS 1.2 suites. */
  readonly ciphers: string;
  /** An OpenSSL group list, e.g. `P-521:P-384:P-256`. */
  readonly ecdhCurve: string;
  /** `enable_mtls`: every client must present a certificate that chains to one of these; undefined without mTLS. */
  readonly mtls: { readonly caFiles: readonly { readonly file: string; readonly path: string }[]; readonly systemPool: boolean } | undefined;
  /** `$.tls` */
  readonly path: string;
}

export interface GatewayPlan {
  readonly port: number;
  readonly listenIp: string | undefined;
  /** HTTPS settings, or undefined to serve plain HTTP (no `tls`, or `tls.disabled`). */
  readonly tls: TlsPlan | undefined;
  /** "/__health" unless renamed, undefined when disabled. */
  readonly healthPath: string | undefined;
  /** "/__ready" unless renamed, undefined when disabled. */
  readonly readyPath: string | undefined;
  readonly endpoints: readonly EndpointPlan[];
  /** The Prometheus listener (`telemetry/opentelemetry` exporters.prometheus), or undefined when there is none. */
  readonly metrics: MetricsPlan | undefined;
  readonly limits: ServerLimits;
  readonly verifiedTokenCacheSize: number;
  /** Approximate memory bound of that cache; 0 disables it. */
  readonly verifiedTokenCacheMaxBytes: number;
  readonly responseBuffers: ResponseBufferLimits;
  readonly redisPools: readonly RedisPoolPlan[];
  readonly revocation: RevocationPlan | undefined;
  /** `qos/ratelimit/service`: before routing, for every request. */
  readonly serviceRateLimit: RateLimitPlan | undefined;
  /** `security/cors` (or its v1 alias), or undefined when CORS is off. */
  readonly cors: CorsPlan | undefined;
  /** `debug_endpoint`: serve /__debug/. */
  readonly debugEndpoint: boolean;
  /** `echo_endpoint`: serve /__echo/. */
  readonly echoEndpoint: boolean;
  /**
   * Header names (lower case) and query keys that may carry credentials: /__echo/
   * redacts their values (Authorization, Proxy-Authorization, Cookie and every
   * validator's token header and query key).
   */
  readonly credentialHeaders: ReadonlySet<string>;
  readonly credentialQueryKeys: ReadonlySet<string>;
}

export const GATEWAY_DEFAULTS = Object.freeze({
  port: 8080,
  timeoutMs: 2000,
  healthPath: '/__health',
  readyPath: '/__ready',
  metricsPort: 9090,
  metricsListenIp: '127.0.0.1',
  method: 'GET',
  verifiedTokenCacheSize: DEFAULT_CACHE_ENTRIES,
  verifiedTokenCacheMaxBytes: DEFAULT_CACHE_MAX_BYTES,
  // 8 MiB decodes in about 75 ms and 40 MiB of memory; 128 MiB is 16 such answers in flight (docs/gateway-operations.md).
  redis: Object.freeze({ connectTimeoutMs: 2000, commandTimeoutMs: 500, maxReconnectDelayMs: 5000, maxOfflineQueue: 0, keyPrefix: 'portcullis:' }),
  revocationMaxStalenessMs: 30_000,
  revocationAdminListenIp: '127.0.0.1',
  responseBuffers: Object.freeze({
    maxBackendResponseSize: 8 * 1024 * 1024,
    maxBufferedBytes: 128 * 1024 * 1024,
  }),
  limits: Object.freeze({
    maxHeaderSize: 16_384,
    maxBodySize: 10 * 1024 * 1024,
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    keepAliveTimeoutMs: 5_000,
  }),
});

export const VALIDATOR_KEY = 'auth/validator';
export const CORS_KEY = 'security/cors';
export const CORS_V1_KEY = 'github_com/devopsfaith/krakend-cors';
export const CACHE_KEY = 'portcullis/cache';
export const VALIDATOR_V1_KEY = 'github.com/devopsfaith/krakend-jose/validator';
export const SIGNER_KEY = 'auth/signer';
export const SIGNER_V1_KEY = 'github.com/devopsfaith/krakend-jose/signer';
