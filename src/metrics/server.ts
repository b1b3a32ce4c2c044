/**
 * The metrics listener: `GET /metrics` in the Prometheus text format, on its
 * own port, never the public one (KrakenD's `telemetry/opentelemetry`
 * Prometheus exporter does the same). With `--workers`, the primary serves it
 * with the sum over workers (prom-client's cluster aggregator).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { createLimitedServer, drain, listen, type Listening } from '../http/server.js';
import { BODIES, sendJson } from '../http/response.js';
import type { Logger } from '../lib/logger.js';

export interface MetricsSource {
  readonly contentType: string;
  exposition(): Promise<string>;
}

export interface MetricsServer extends Listening {
  close(): Promise<void>;
}

export const METRICS_PATH = '/metrics';

const LIMITS = { maxHeaderSize: 16_384, headersTimeoutMs: 5_000, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000 };

export async function startMetricsServer(source: MetricsSource, where: { port: number; host: string | undefined }, logger: Logger): Promise<MetricsServer> {
  const server = createLimitedServer(LIMITS, (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== METRICS_PATH) return sendJson(res, 404, BODIES.notFound);
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, BODIES.methodNotAllowed, { allow: 'GET, HEAD' });
    source.exposition().then(
      (body) => {
        res.writeHead(200, { 'content-type': source.contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (error: unknown) => {
        logger.error({ err: { name: (error as Error)?.name, message: (error as Error)?.message } }, '[SERVICE: Metrics] cannot collect the metrics');
        sendJson(res, 500, BODIES.internalError);
      },
    );
  });
  const listening = await listen(server, where);
  logger.info({ address: listening.address, port: listening.port }, `[SERVICE: Metrics] Prometheus metrics on ${listening.url}${METRICS_PATH}`);
  return { ...listening, close: () => drain(server, 1000) };
}

/** In a cluster worker: answer the primary's requests for this worker's metrics. */
export function shareWithClusterPrimary(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  // prom-client only starts answering the primary once an AggregatorRegistry exists in the worker.
  new AggregatorRegistry();
}

/** In the cluster primary: the metrics of every worker, summed (gauges marked otherwise use max or min). */
export function clusterMetricsSource(): MetricsSource {
  const aggregator = new AggregatorRegistry();
  return { contentType: aggregator.contentType, exposition: () => aggregator.clusterMetrics() };
}
