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
  readonly encoding: Encoding;
  /** extra_config["backend/http"].return_error_code */
  readonly returnErrorCode: boolean;
  /** `is_collection`: the answer must be a JSON array, merged as {"collection": […]}. */
  readonly isCollection: boolean;
  /** The response manipulation, or undefined when the answer is merged as it is. */
  readonly shape: ResponseShape | undefined;
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
  /** "[ENDPOINT: /users/{id}]" */
  readonly label: string;
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
