/**
 * Request bodies on their way to backends: streamed when one backend gets
 * them, buffered when several do (each needs its own copy, as lura clones
 * the request). Both paths stop at the size limit.
 */
import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { BodyTooLargeError, type Exchange } from './exchange.js';

/** True when the request carries a body (RFC 9112 §6.3: a length or a transfer coding). */
export function hasRequestBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

/** The declared Content-Length, or undefined for chunked bodies. Node's parser already rejected malformed values. */
export function declaredLength(req: IncomingMessage): number | undefined {
  const length = req.headers['content-length'];
  return length === undefined ? undefined : Number(length);
}

/** Passes bytes through until the limit, then fails the stream and marks the exchange. */
class BodyLimit extends Transform {
  #seen = 0;
  readonly #maxBytes: number;
  readonly #exchange: Exchange;

  constructor(maxBytes: number, exchange: Exchange) {
    super();
    this.#maxBytes = maxBytes;
    this.#exchange = exchange;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.#maxBytes) {
      this.#exchange.bodyTooLarge = true;
      callback(new BodyTooLargeError());
      return;
    }
    callback(null, chunk);
  }
}

/**
 * The body to stream to a single backend. A declared length was checked
 * against the limit before, and node's parser stops at it, so only chunked
 * bodies need counting.
 */
export function streamedBody(exchange: Exchange, maxBytes: number): IncomingMessage | Transform {
  const req = exchange.req;
  if (req.headers['content-length'] !== undefined) return req;
  const limiter = new BodyLimit(maxBytes, exchange);
  req.on('error', (error) => limiter.destroy(error));
  req.pipe(limiter);
  return limiter;
}

/** Reads the whole body, or answers undefined (and marks the exchange) once it passes the limit. */
export async function bufferedBody(exchange: Exchange, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of exchange.req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) {
      exchange.bodyTooLarge = true;
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}
