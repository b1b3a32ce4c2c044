/**
 * Shared setup for gateway tests: a config object → a running gateway (through
 * the real loader and compiler) with a memory logger, and plain HTTP clients.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request } from 'undici';
import type { ServerLimits } from '../../src/config/compile.js';
import { startGateway, type Gateway, type GatewayOptions } from '../../src/gateway/server.js';
import { createMemoryLogger, type MemoryLogger } from '../support/logger.js';
import { planFrom } from '../support/plan.js';

export async function startTestGateway(
  config: unknown,
  options: { limits?: Partial<ServerLimits>; gateway?: GatewayOptions } = {},
): Promise<{ gateway: Gateway; logger: MemoryLogger }> {
  const logger = createMemoryLogger();
  const gateway = await startGateway(planFrom(config, { limits: options.limits }), { host: '127.0.0.1', port: 0, logger, ...options.gateway });
  await gateway.ready();
  return { gateway, logger };
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

export async function call(url: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Answer> {
  const response = await request(url, {
    method: (init.method ?? 'GET') as 'GET',
    headers: init.headers ?? {},
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await response.body.text();
  return {
    status: response.statusCode,
    headers: response.headers as IncomingHttpHeaders,
    text,
    json: <T>() => JSON.parse(text) as T,
  };
}

/** A request through node:http, for cases undici would refuse to send (chunked bodies, raw header names). */
export function rawCall(
  url: string,
  init: { method?: string; headers?: Record<string, string | string[]>; chunks?: (string | Buffer)[] },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T });
      });
    });
    req.on('error', reject);
    for (const chunk of init.chunks ?? []) req.write(chunk);
    req.end();
  });
}
