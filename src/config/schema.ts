/**
 * THE schema of a portcullis gateway config: the KrakenD v3 keys portcullis
 * supports, with `auth/validator` from validator-schema.ts. TypeScript types,
 * defaults, the published JSON Schema (schema/portcullis.schema.json) and
 * `portcullis check` all come from here.
 */
import { Type, type Static } from '@sinclair/typebox';
import { DURATION_PATTERN } from '../lib/duration.js';
import { strictObject, ValidatorSchema } from './validator-schema.js';

const Duration = (description: string) => Type.String({ pattern: DURATION_PATTERN, description });
const Method = Type.Union(
  ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'].map((m) => Type.Literal(m)),
  { description: 'HTTP method.' },
);
const Encoding = Type.Union([Type.Literal('json'), Type.Literal('no-op'), Type.Literal('string')], {
  description: 'How the backend response is read: `json` (merged), `no-op` (streamed unchanged) or `string` (wrapped as {"content": …}).',
});
const OutputEncoding = Type.Union([Type.Literal('json'), Type.Literal('no-op'), Type.Literal('string')], {
  description: 'How the endpoint answers: `json` (default), `no-op` or `string`.',
});

/** Namespaced extensions; only the ones portcullis implements are typed, others are reported as unknown. */
export const EndpointExtraSchema = strictObject(
  {
    'auth/validator': Type.Optional(ValidatorSchema),
    'github.com/devopsfaith/krakend-jose/validator': Type.Optional(ValidatorSchema),
  },
  'Endpoint namespaces.',
);

export const BackendExtraSchema = strictObject(
  {
    'backend/http': Type.Optional(
      strictObject({ return_error_code: Type.Optional(Type.Boolean({ description: 'Pass the backend error status through.' })) }),
    ),
  },
  'Backend namespaces.',
);

export const RouterSchema = strictObject(
  {
    health_path: Type.Optional(Type.String({ pattern: '^/', description: 'Path of the health endpoint (default /__health).' })),
    disable_health: Type.Optional(Type.Boolean({ description: 'Remove the health endpoint.' })),
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
    host: Type.Optional(Type.Array(Type.String({ pattern: '^https?://' }), { minItems: 1, description: 'Backend base URLs, used round-robin.' })),
    url_pattern: Type.String({ pattern: '^/', description: 'Path on the backend; may use {param} and {JWT.claim}.' }),
    method: Type.Optional(Method),
    encoding: Type.Optional(Encoding),
    extra_config: Type.Optional(BackendExtraSchema),
  },
  'One backend call.',
);

export const EndpointSchema = strictObject(
  {
    endpoint: Type.String({ pattern: '^/', description: 'Public path; each {param} matches one segment.' }),
    method: Type.Optional(Method),
    timeout: Type.Optional(Duration('Timeout of the whole pipe (default: the root timeout).')),
    input_headers: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Headers forwarded to backends; ["*"] forwards all.' })),
    input_query_strings: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Query strings forwarded; ["*"] forwards all.' })),
    output_encoding: Type.Optional(OutputEncoding),
    extra_config: Type.Optional(EndpointExtraSchema),
    backend: Type.Array(BackendSchema, { minItems: 1 }),
  },
  'One public endpoint.',
);

export const GatewayConfigSchema = strictObject(
  {
    version: Type.Literal(3, { description: 'Config format version; must be 3.' }),
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'Listening port (default 8080).' })),
    listen_ip: Type.Optional(Type.String({ description: 'Listening address (default all interfaces).' })),
    host: Type.Optional(Type.Array(Type.String({ pattern: '^https?://' }), { minItems: 1, description: 'Default backend hosts.' })),
    timeout: Type.Optional(Duration('Default endpoint timeout (default "2s").')),
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
