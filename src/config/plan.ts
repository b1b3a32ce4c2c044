/**
 * What a compiled gateway config is: frozen plans, with every endpoint's
 * policy compiled and every key source described, but nothing opened. The
 * request path reads only these (src/runtime/bind.ts makes them live), and the
 * defaults they fall back to are declared here, once.
 */
import { DEFAULT_CACHE_ENTRIES, DEFAULT_CACHE_MAX_BYTES } from '../authorizer/cache.js';
import type { EndpointPolicy } from '../authorizer/policy.js';

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
  /** The compiled auth/validator block (or its v1 alias), or undefined for a public endpoint. */
  readonly auth: EndpointPolicy | undefined;
  /** "[ENDPOINT: /users/{id}]" */
  readonly label: string;
  /** extra_config.router.return_error_msg: a failed answer says why in its body. */
  readonly returnErrorMsg: boolean;
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

export interface GatewayPlan {
  readonly port: number;
  readonly listenIp: string | undefined;
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
export const VALIDATOR_V1_KEY = 'github.com/devopsfaith/krakend-jose/validator';
