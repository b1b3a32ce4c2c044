/**
 * Prometheus metrics for the gateway and forward-auth (prom-client). Label
 * values come only from the config (endpoint templates, methods, backend
 * origins and patterns, key-source labels without query strings, failure
 * codes from the closed table), never from a request, so the number of series
 * is bounded by the config.
 *
 * Request-path metrics are recorded through EndpointMetrics objects built once
 * per endpoint holding their series (series.ts), so a request costs a few
 * additions, not label lookups. Key-set, cache and logging figures are read
 * when Prometheus scrapes.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { KeySetStatus } from '../keys/key-set.js';
import type { RedisLimiterStats } from '../ratelimit/redis-limiter.js';
import type { RevocationStatus } from '../revocation/store.js';
import { CounterFamily, HistogramFamily, type CounterSeries, type HistogramSeries } from './series.js';

export interface CacheStats {
  readonly size: number;
  readonly bytes: number;
  readonly hits: number;
  readonly misses: number;
}

/** What the metrics read at scrape time. Each getter reads the current (possibly reloaded) state. */
export interface MetricSources {
  keySets(): readonly KeySetStatus[];
  cache(): CacheStats | undefined;
  /** Log lines dropped because the log reader fell behind. */
  droppedLogLines?(): number;
  /** The revocation store's state. */
  revocation?(): RevocationStatus | undefined;
  /** The Redis rate limiters and their counts of answered and failed takes. */
  redisLimiters?(): readonly { readonly scope: string; readonly stats: RedisLimiterStats }[];
  clock?: { now(): number };
}

/** One endpoint's request metrics, labels resolved once. */
export interface EndpointMetrics {
  /** A request reached this endpoint (in-flight +1). */
  started(): void;
  /** The response is done (in-flight −1). */
  finished(status: number, seconds: number): void;
  /** The authorizer answered: `allow` or a failure code. */
  authorized(outcome: string, seconds: number): void;
  /** One backend call ended. */
  backend(index: number, outcome: BackendOutcome, seconds: number): void;
}

export type BackendOutcome = 'ok' | 'error' | 'timeout' | 'status';

export interface EndpointIdentity {
  /** The endpoint template, e.g. `/users/{id}`. */
  readonly path: string;
  readonly method: string;
  /** One label per backend, e.g. `http://users:8000/users/{id}`. */
  readonly backends: readonly string[];
}

export interface RequestMetrics {
  endpoint(identity: EndpointIdentity): EndpointMetrics;
  /** Reloads, by result. */
  reloaded(ok: boolean): void;
  /** A rate limit refused a request: `endpoint` is the template (or `(service)`), `code` the answer's. */
  limited(endpoint: string, code: string): void;
}

export interface PrometheusMetrics extends RequestMetrics {
  readonly registry: Registry;
  /** The text exposition. */
  exposition(): Promise<string>;
  readonly contentType: string;
}

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
// Authorization is sub-millisecond when cached; a key download can take seconds.
const AUTH_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5];
const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createPrometheusMetrics(sources: MetricSources, options: { processMetrics?: boolean } = {}): PrometheusMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    // Gauges named like counters, which promtool (rightly) flags; the handle and request counts are not worth the noise.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  }
  const now = () => (sources.clock?.now() ?? Date.now()) / 1000;

  // The registry reads name, help, type, aggregator and get() (and reset()); the families give exactly those.
  const register = <T extends CounterFamily | HistogramFamily>(family: T): T => {
    registry.registerMetric(family as unknown as Metric);
    return family;
  };
  const counter = (name: string, help: string, labelNames: string[]) => register(new CounterFamily({ name, help, labelNames }));
  const histogram = (name: string, help: string, labelNames: string[], buckets: number[]) => register(new HistogramFamily({ name, help, labelNames, buckets }));

  const requests = counter('portcullis_http_requests_total', 'Requests answered, by endpoint template, method and status class.', ['endpoint', 'method', 'status_class']);
  const requestDuration = histogram(
    'portcullis_http_request_duration_seconds',
    'Time from the request to the end of the response, by endpoint template and method.',
    ['endpoint', 'method'],
    REQUEST_BUCKETS,
  );
  let inFlightCount = 0;
  new Gauge({
    name: 'portcullis_http_requests_in_flight',
    help: 'Requests being handled now.',
    registers: [registry],
    collect() {
      this.set(inFlightCount);
    },
  });
  const decisions = counter(
    'portcullis_authorization_decisions_total',
    'Authorization decisions, by endpoint template and outcome ("allow" or the failure code).',
    ['endpoint', 'decision'],
  );
  const authDuration = histogram(
    'portcullis_authorization_duration_seconds',
    'Time spent authorizing a request (cached tokens take microseconds; a key download, longer).',
    ['endpoint'],
    AUTH_BUCKETS,
  );
  const backendDuration = histogram(
    'portcullis_backend_request_duration_seconds',
    'Time of one backend call, by endpoint template and backend.',
    ['endpoint', 'backend'],
    REQUEST_BUCKETS,
  );
  const backendFailures = counter(
    'portcullis_backend_failures_total',
    'Backend calls that failed, by endpoint template, backend and kind (error, timeout, status).',
    ['endpoint', 'backend', 'kind'],
  );
  const reloads = new Counter({
    name: 'portcullis_config_reloads_total',
    help: 'Configuration reloads, by result (ok, error).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  reloads.labels('ok').inc(0);
  reloads.labels('error').inc(0);

  // Figures kept by the key sets and the cache as plain numbers, turned into metrics at scrape time.
  const seenDownloads = new Map<string, { ok: number; failed: number }>();
  new Counter({
    name: 'portcullis_jwks_downloads_total',
    help: 'JWKS (and discovery) downloads, by key source and result (ok, error).',
    labelNames: ['key_source', 'result'] as const,
    registers: [registry],
    collect() {
      for (const status of sources.keySets()) {
        const seen = seenDownloads.get(status.label) ?? { ok: 0, failed: 0 };
        const ok = status.successCount;
        const failed = status.failureCount;
        // A key set replaced by a reload starts again from zero; a counter never goes down.
        this.labels(status.label, 'ok').inc(ok >= seen.ok ? ok - seen.ok : ok);
        this.labels(status.label, 'error').inc(failed >= seen.failed ? failed - seen.failed : failed);
        seenDownloads.set(status.label, { ok, failed });
      }
    },
  });
  new Gauge({
    name: 'portcullis_jwks_keys',
    help: 'Keys a key set serves now (0 while it has none usable).',
    labelNames: ['key_source'] as const,
    registers: [registry],
    // Over --workers: the worker with the fewest, so a worker missing keys shows.
    aggregator: 'min',
    collect() {
      this.reset();
      for (const status of sources.keySets()) this.labels(status.label).set(status.keyCount);
    },
  });
  new Gauge({
    name: 'portcullis_jwks_last_success_age_seconds',
    help: 'Seconds since the key set last downloaded (or read) its keys successfully; absent until it has.',
    labelNames: ['key_source'] as const,
    aggregator: 'max',
    registers: [registry],
    collect() {
      this.reset();
      const seconds = now();
      for (const status of sources.keySets()) {
        if (status.lastSuccessAt !== undefined) this.labels(status.label).set(Math.max(0, seconds - status.lastSuccessAt / 1000));
      }
    },
  });
  new Gauge({
    name: 'portcullis_jwks_serving_stale',
    help: '1 while a key set serves its last good keys because downloads fail.',
    labelNames: ['key_source'] as const,
    aggregator: 'max',
    registers: [registry],
    collect() {
      this.reset();
      for (const status of sources.keySets()) this.labels(status.label).set(status.stale ? 1 : 0);
    },
  });
  new Gauge({
    name: 'portcullis_jwks_ready',
    help: '1 when a key set has keys it may serve (loaded, and not past jwk_max_stale).',
    labelNames: ['key_source'] as const,
    aggregator: 'min',
    registers: [registry],
    collect() {
      this.reset();
      for (const status of sources.keySets()) this.labels(status.label).set(status.loaded ? 1 : 0);
    },
  });
  let seenHits = 0;
  let seenMisses = 0;
  new Counter({
    name: 'portcullis_token_cache_hits_total',
    help: 'Verified-token cache lookups that found the token.',
    registers: [registry],
    collect() {
      const hits = sources.cache()?.hits ?? 0;
      this.inc(hits >= seenHits ? hits - seenHits : hits);
      seenHits = hits;
    },
  });
  new Counter({
    name: 'portcullis_token_cache_misses_total',
    help: 'Verified-token cache lookups that did not (the token was verified).',
    registers: [registry],
    collect() {
      const misses = sources.cache()?.misses ?? 0;
      this.inc(misses >= seenMisses ? misses - seenMisses : misses);
      seenMisses = misses;
    },
  });
  new Gauge({
    name: 'portcullis_token_cache_entries',
    help: 'Verified tokens held.',
    registers: [registry],
    collect() {
      this.set(sources.cache()?.size ?? 0);
    },
  });
  new Gauge({
    name: 'portcullis_token_cache_bytes',
    help: 'Approximate memory the verified-token cache holds.',
    registers: [registry],
    collect() {
      this.set(sources.cache()?.bytes ?? 0);
    },
  });
  if (sources.droppedLogLines) {
    const dropped = sources.droppedLogLines;
    let seenDropped = 0;
    new Counter({
      name: 'portcullis_log_lines_dropped_total',
      help: 'Log lines dropped because the log reader fell behind (logging never blocks requests).',
      registers: [registry],
      collect() {
        const total = dropped();
        this.inc(total >= seenDropped ? total - seenDropped : total);
        seenDropped = total;
      },
    });
  }

  const limitedCounter = new Counter({
    name: 'portcullis_rate_limited_total',
    help: 'Requests refused by a rate limit, by endpoint template and answer (rate_limited 429, endpoint_rate_limited 503, rate_limiter_unavailable 503).',
    labelNames: ['endpoint', 'code'] as const,
    registers: [registry],
  });
  if (sources.revocation) {
    const revocation = sources.revocation;
    new Gauge({
      name: 'portcullis_revocation_entries',
      help: 'Revocations this instance enforces.',
      registers: [registry],
      // Over --workers: the worker that knows the fewest, so one that missed updates shows.
      aggregator: 'min',
      collect() {
        this.set(revocation()?.size ?? 0);
      },
    });
    new Gauge({
      name: 'portcullis_revocation_synced',
      help: '1 while the revocation set is known to be complete (memory, or loaded and subscribed to Redis), else 0.',
      registers: [registry],
      aggregator: 'min',
      collect() {
        this.set(revocation()?.state === 'synced' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'portcullis_revocation_stale_seconds',
      help: 'Seconds since the revocation store lost Redis (0 while synced); fail_closed refuses once it passes max_staleness.',
      registers: [registry],
      aggregator: 'max',
      collect() {
        const since = revocation()?.staleSince;
        this.set(since === undefined ? 0 : Math.max(0, now() - since / 1000));
      },
    });
  }
  if (sources.redisLimiters) {
    const limiters = sources.redisLimiters;
    new Counter({
      name: 'portcullis_ratelimit_redis_failures_total',
      help: 'Rate-limit takes Redis did not answer (then fail_open decides), by limit scope and reason.',
      labelNames: ['scope', 'reason'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const { scope, stats } of limiters()) for (const [reason, count] of Object.entries(stats.failures)) this.labels(scope, reason).inc(count);
      },
    });
  }

  function endpoint(identity: EndpointIdentity): EndpointMetrics {
    const { path, method } = identity;
    const byClass = STATUS_CLASSES.map((statusClass) => requests.series(path, method, statusClass));
    const duration = requestDuration.series(path, method);
    const auth = authDuration.series(path);
    // Outcomes are "allow" and the closed table of failure codes, so this map stays small.
    const outcomes = new Map<string, CounterSeries>();
    const backendTimes: HistogramSeries[] = identity.backends.map((backend) => backendDuration.series(path, backend));
    const failures = identity.backends.map((backend) => ({
      error: backendFailures.series(path, backend, 'error'),
      timeout: backendFailures.series(path, backend, 'timeout'),
      status: backendFailures.series(path, backend, 'status'),
    }));
    return {
      started: () => {
        inFlightCount++;
      },
      finished(status, seconds) {
        inFlightCount--;
        const index = Math.floor(status / 100) - 1;
        byClass[index >= 0 && index < 5 ? index : 4]!.inc();
        duration.observe(seconds);
      },
      authorized(outcome, seconds) {
        let counter = outcomes.get(outcome);
        if (counter === undefined) {
          counter = decisions.series(path, outcome);
          outcomes.set(outcome, counter);
        }
        counter.inc();
        auth.observe(seconds);
      },
      backend(index, outcome, seconds) {
        backendTimes[index]?.observe(seconds);
        if (outcome !== 'ok') failures[index]?.[outcome].inc();
      },
    };
  }

  return {
    registry,
    endpoint,
    reloaded: (ok) => reloads.labels(ok ? 'ok' : 'error').inc(),
    limited: (endpoint, code) => limitedCounter.labels(endpoint, code).inc(),
    exposition: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
