/**
 * What a compiled gateway config is: frozen plans, with every endpoint's
 * policy compiled and every key source described, but nothing opened. The
 * request path reads only these (src/runtime/bind.ts makes them live), and the
 * defaults they fall back to are declared here, once.
 */
import { DEFAULT_CACHE_ENTRIES, DEFAULT_CACHE_MAX_BYTES } from '../authorizer/cache.js';
import type { EndpointPolicy } from '../authorizer/policy.js';
import type { Alg } from '../jwt/algorithms.js';
import type { SigningKeySource } from '../keys/signing-keys.js';

export type UrlPart = { kind: 'literal'; text: string } | { kind: 'param'; name: string } | { kind: 'claim'; name: string };

export type Encoding = 'json' | 'no-op' | 'string';

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
  /** The compiled auth/validator block (or its v1 alias), or undefined for a public endpoint. */
  readonly auth: EndpointPolicy | undefined;
  /** The compiled auth/signer block (or its v1 alias), or undefined. */
  readonly signer: SignerPlan | undefined;
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
