/**
 * What portcullis does with the KrakenD keys it does not implement. A key that
 * restricts access, filters or reshapes data, or changes which backend is
 * called is REFUSED: running without it would let through, or hand out, what
 * KrakenD would not. A key whose absence only loses a convenience or
 * observability is WARNED about, and the warning says what is not applied.
 * Everything else portcullis does not know is an unknown key (an error when
 * it looks like a misspelling of a key portcullis knows).
 *
 * The same namespace may appear at the service, endpoint or backend level;
 * KrakenD v1 spellings (`github.com/devopsfaith/…`, and the underscore
 * `github_com/…` forms KrakenD's own alias table uses) are listed beside the
 * v2 names.
 */

export type Treatment = { readonly action: 'refuse' | 'warn'; readonly why: string };

const refuse = (why: string): Treatment => Object.freeze({ action: 'refuse', why });
const warn = (why: string): Treatment => Object.freeze({ action: 'warn', why });

const NO_ACCESS_CONTROL = refuse('refusing to run without the access control it configures');
const NO_FILTER = refuse('refusing to run without the request or response filtering it configures');
const NO_LIMIT = refuse('refusing to run without the rate limit it configures');
const NO_BACKEND_KIND = refuse('refusing to call this backend over plain HTTP instead');
const NO_MODIFIER = refuse('refusing to pass requests and responses through unmodified');
const NO_PLUGIN = refuse('refusing to run without what the plugin does (plugins cannot run in portcullis)');
const NO_TELEMETRY = warn('nothing is exported (observability only)');

/** Namespaces under `extra_config`, wherever they appear. */
export const NAMESPACE_TREATMENTS: ReadonlyMap<string, Treatment> = new Map([
  ['auth/api-keys', NO_ACCESS_CONTROL],
  ['auth/basic', NO_ACCESS_CONTROL],
  ['github.com/devopsfaith/bloomfilter', NO_ACCESS_CONTROL],
  ['github_com/devopsfaith/bloomfilter', NO_ACCESS_CONTROL],
  ['validation/cel', NO_ACCESS_CONTROL],
  ['github.com/devopsfaith/krakend-cel', NO_ACCESS_CONTROL],
  ['security/policies', NO_ACCESS_CONTROL],
  ['validation/json-schema', NO_ACCESS_CONTROL],
  ['github.com/devopsfaith/krakend-jsonschema', NO_ACCESS_CONTROL],
  ['validation/response-json-schema', NO_FILTER],
  ['security/bot-detector', NO_ACCESS_CONTROL],
  ['github_com/devopsfaith/krakend-botdetector', NO_ACCESS_CONTROL],
  ['security/http', NO_ACCESS_CONTROL],
  ['github_com/devopsfaith/krakend-httpsecure', NO_ACCESS_CONTROL],
  ['governance/quota', NO_LIMIT],
  ['qos/ratelimit/proxy', NO_LIMIT],
  ['qos/ratelimit/tiered', NO_LIMIT],
  ['qos/ratelimit/proxy/redis', NO_LIMIT],
  ['github_com/devopsfaith/krakend-ratelimit/juju/router', NO_LIMIT],
  ['github_com/devopsfaith/krakend-ratelimit/juju/proxy', NO_LIMIT],
  ['modifier/lua-endpoint', NO_ACCESS_CONTROL],
  ['modifier/lua-proxy', NO_ACCESS_CONTROL],
  ['modifier/lua-backend', NO_ACCESS_CONTROL],
  ['github.com/devopsfaith/krakend-lua/router', NO_ACCESS_CONTROL],
  ['github.com/devopsfaith/krakend-lua/proxy', NO_ACCESS_CONTROL],
  ['github.com/devopsfaith/krakend-lua/proxy/backend', NO_ACCESS_CONTROL],
  ['modifier/martian', NO_MODIFIER],
  ['github.com/devopsfaith/krakend-martian', NO_MODIFIER],
  ['modifier/jmespath', NO_FILTER],
  ['modifier/body-generator', NO_MODIFIER],
  ['modifier/request-body-generator', NO_MODIFIER],
  ['modifier/response-body-generator', NO_MODIFIER],
  ['modifier/response-headers', NO_MODIFIER],
  ['plugin/http-server', NO_PLUGIN],
  ['plugin/http-client', NO_PLUGIN],
  ['plugin/req-resp-modifier', NO_PLUGIN],
  ['backend/grpc', NO_BACKEND_KIND],
  ['backend/soap', NO_BACKEND_KIND],
  ['backend/graphql', NO_BACKEND_KIND],
  ['backend/lambda', NO_BACKEND_KIND],
  ['backend/amqp/consumer', NO_BACKEND_KIND],
  ['backend/amqp/producer', NO_BACKEND_KIND],
  ['backend/pubsub/subscriber', NO_BACKEND_KIND],
  ['backend/pubsub/publisher', NO_BACKEND_KIND],
  ['backend/static-filesystem', NO_BACKEND_KIND],
  ['qos/circuit-breaker', warn('not implemented by portcullis: no circuit breaker opens on backend failures')],
  ['qos/http-cache', warn('not implemented by portcullis: backend responses are not cached')],
  ['auth/client-credentials', warn('not implemented by portcullis: the backend is called without these credentials')],
  ['auth/gcp', warn('not implemented by portcullis: the backend is called without these credentials')],
  ['auth/ntlm', warn('not implemented by portcullis: the backend is called without these credentials')],
  ['documentation/openapi', warn('not used by portcullis (documentation only)')],
  ['server/static-filesystem', warn('not implemented by portcullis: the files are not served (404)')],
  ['websocket', warn('not implemented by portcullis: WebSocket upgrades are not proxied')],
  ['telemetry/logging', warn('not implemented by portcullis: portcullis writes its own JSON log lines (see docs/gateway-operations.md)')],
  ['telemetry/gelf', NO_TELEMETRY],
  ['telemetry/metrics', NO_TELEMETRY],
  ['telemetry/opencensus', NO_TELEMETRY],
  ['telemetry/influx', NO_TELEMETRY],
  ['telemetry/newrelic', NO_TELEMETRY],
  ['telemetry/moesif', NO_TELEMETRY],
  ['telemetry/instana', NO_TELEMETRY],
]);

/** Keys of the config root. */
export const ROOT_KEY_TREATMENTS: ReadonlyMap<string, Treatment> = new Map([
  ['plugin', NO_PLUGIN],
  ['async_agent', warn('not implemented by portcullis: the asynchronous agents do not run')],
  ['client_tls', warn('not implemented by portcullis: backends are called with the default TLS settings')],
  ['disable_rest', warn('not implemented by portcullis: REST-style routing rules are not changed')],
  ['sequential_start', warn('not needed by portcullis (ignored)')],
  ['read_timeout', warn('not applied: portcullis takes its server timeouts from extra_config["portcullis/server"]')],
  ['write_timeout', warn('not applied: portcullis takes its server timeouts from extra_config["portcullis/server"]')],
  ['idle_timeout', warn('not applied: portcullis takes its server timeouts from extra_config["portcullis/server"]')],
  ['read_header_timeout', warn('not applied: portcullis takes its server timeouts from extra_config["portcullis/server"]')],
  ['max_header_bytes', warn('not applied: portcullis takes its header limit from extra_config["portcullis/server"].max_header_size')],
  ['dialer_timeout', warn('not applied (backend connection settings)')],
  ['dialer_keep_alive', warn('not applied (backend connection settings)')],
  ['dialer_fallback_delay', warn('not applied (backend connection settings)')],
  ['disable_keep_alives', warn('not applied (backend connection settings)')],
  ['disable_compression', warn('not applied (backend connection settings)')],
  ['max_idle_connections', warn('not applied (backend connection settings)')],
  ['max_idle_connections_per_host', warn('not applied (backend connection settings)')],
  ['idle_connection_timeout', warn('not applied (backend connection settings)')],
  ['response_header_timeout', warn('not applied (backend connection settings)')],
  ['expect_continue_timeout', warn('not applied (backend connection settings)')],
  ['allow_insecure_connections', warn('not applied: backend certificates are always verified')],
  ['use_h2c', warn('not applied: portcullis serves HTTP/1.1')],
]);

/** Keys of an endpoint. */
export const ENDPOINT_KEY_TREATMENTS: ReadonlyMap<string, Treatment> = new Map([
  ['concurrent_calls', warn('not implemented by portcullis: each backend is called once')],
]);

/** Keys of a backend. */
export const BACKEND_KEY_TREATMENTS: ReadonlyMap<string, Treatment> = new Map([
  ['input_headers', refuse('refusing to send this backend every header the endpoint forwards (per-backend filtering is not implemented yet)')],
  ['input_query_strings', refuse('refusing to send this backend every query string the endpoint forwards (per-backend filtering is not implemented yet)')],
  ['sd', warn('not implemented by portcullis: hosts are used as they are written (static)')],
  ['disable_host_sanitize', warn('not implemented by portcullis (ignored)')],
]);

/** Keys of a backend's `backend/http/client` block portcullis does not apply (the block's redirect keys it does). */
export const HTTP_CLIENT_KEY_TREATMENTS: ReadonlyMap<string, Treatment> = new Map([
  ['client_tls', warn('not implemented by portcullis: backends are called with the default TLS settings')],
  ['proxy_address', warn('not implemented by portcullis: the backend is called directly, not through this proxy')],
]);

/** Keys of the `proxy` namespace of an endpoint or backend. */
export const PROXY_KEY_TREATMENTS: ReadonlyMap<string, Treatment> = new Map([
  ['sequential', refuse('refusing to call the backends in parallel where KrakenD chains them')],
  ['shadow', refuse("refusing to merge a shadow backend's response into the answer")],
  ['static', refuse('refusing to answer without the static data it adds')],
]);

/** How an issue about `key` reads, e.g. `"auth/basic" is not supported by portcullis; refusing to run without …`. */
export function describeTreatment(key: string, treatment: Treatment): string {
  return treatment.action === 'refuse' ? `"${key}" is not supported by portcullis; ${treatment.why}` : `"${key}": ${treatment.why}`;
}
