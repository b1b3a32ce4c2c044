/**
 * One HTTP GET of a JSON document (a JWKS or an OIDC discovery document) under
 * the limits of security.md §2: https only (except loopback or the explicit
 * insecure flag), status 200 only, a JSON content type, a body capped while
 * streaming and a timeout that really aborts the request.
 *
 * Redirects are followed, at most MAX_REDIRECTS of them, because IdPs move key
 * sets behind 301s and refusing them left a gateway answering 503 forever. Each
 * hop passes the same URL rule and the same dispatcher (so the same pins) as the
 * configured URL; https never leads to http, and a loop is refused.
 *
 * Errors are JwksFetchError with a short reason. They never quote the body:
 * an IdP error page may echo request data, and a misconfigured URL may point at
 * something that is not meant to reach our logs.
 */
import { readFileSync } from 'node:fs';
import { createHash, X509Certificate } from 'node:crypto';
import { rootCertificates, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import { Agent, buildConnector, request, type Dispatcher } from 'undici';
import { assertJwksUrlAllowed, DEFAULT_TIMEOUT_MS } from './remote-source.js';

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const PIN_MISMATCH_MESSAGE = 'JWK client did not find a pinned key';
export const MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export class JwksFetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JwksFetchError';
  }
}

/** TLS-related options; they decide which dispatcher a download uses. */
export interface JwksTlsOptions {
  /** KrakenD `disable_jwk_security`: allows http:// anywhere and turns off certificate verification. */
  allowInsecure?: boolean;
  /** KrakenD `jwk_fingerprints`: base64url SHA-256 of the DER SPKI of any certificate in the peer chain. */
  fingerprints?: readonly string[];
  /** KrakenD `jwk_local_ca`: a PEM file added to the default roots. */
  caFile?: string;
}

export interface FetchJsonOptions extends JwksTlsOptions {
  url: string;
  timeoutMs?: number;
  maxBodyBytes?: number;
  /** Used as given; when absent, one is chosen from the TLS options. */
  dispatcher?: Dispatcher;
  /** Aborts the download from outside (a key set being closed). */
  signal?: AbortSignal;
}

export interface FetchedJson {
  readonly document: unknown;
  /** Every URL requested, in order: the given one first, the one that answered 200 last. */
  readonly urls: readonly string[];
}

const ACCEPTED_MEDIA_TYPES = new Set(['application/json', 'application/jwk-set+json']);

// Shared by every download that needs no special TLS settings, so connections are reused.
const defaultAgent = new Agent({ keepAliveTimeout: 10_000 });

/**
 * Builds a dispatcher for the TLS options, or returns undefined when none are
 * set (then the shared default agent serves). The caller owns, and closes, the
 * dispatcher it gets. Throws a plain Error when the CA file cannot be read.
 */
export function createJwksDispatcher(tls: JwksTlsOptions): Dispatcher | undefined {
  const pins = tls.fingerprints?.length ? new Set(tls.fingerprints) : undefined;
  if (!tls.allowInsecure && !pins && !tls.caFile) return undefined;

  let ca: string[] | undefined;
  if (tls.caFile) {
    try {
      ca = [...rootCertificates, readFileSync(tls.caFile, 'utf8')];
    } catch (error) {
      throw new Error(`cannot read jwk_local_ca ${tls.caFile}: ${(error as NodeJS.ErrnoException).code ?? 'read error'}`, { cause: error });
    }
  }
  const connector = buildConnector({
    ...(ca ? { ca } : {}),
    rejectUnauthorized: !tls.allowInsecure,
    // A resumed TLS session skips certificate checks; with pins, every connection does a full handshake.
    ...(pins ? { maxCachedSessions: 0 } : {}),
  });
  return new Agent({ keepAliveTimeout: 10_000, connect: pins ? pinningConnector(connector, pins) : connector });
}

/**
 * Checks the pins after the handshake rather than in `checkServerIdentity`: node
 * ignores a `checkServerIdentity` failure when `rejectUnauthorized` is false,
 * and KrakenD still enforces pins with `disable_jwk_security` (Go calls
 * VerifyPeerCertificate even with InsecureSkipVerify).
 */
function pinningConnector(connect: buildConnector.connector, pins: ReadonlySet<string>): buildConnector.connector {
  return (options, callback) => {
    connect(options, (...result) => {
      const [error, socket] = result;
      if (error) return callback(error, null);
      // A plain-http socket has no certificate, so it can match no pin.
      const tlsSocket = socket as Partial<TLSSocket>;
      const peer = typeof tlsSocket.getPeerCertificate === 'function' ? tlsSocket.getPeerCertificate(true) : undefined;
      if (peer && chainMatchesPin(peer, pins)) return callback(null, socket);
      socket.destroy();
      callback(new JwksFetchError(PIN_MISMATCH_MESSAGE), null);
    });
  };
}

function chainMatchesPin(leaf: DetailedPeerCertificate, pins: ReadonlySet<string>): boolean {
  const seen = new Set<DetailedPeerCertificate>();
  // `cert.pubkey` is the bare key (an EC point, a PKCS#1 RSA key), not the SPKI KrakenD hashes,
  // so the SPKI is rebuilt from the DER certificate.
  for (let cert: DetailedPeerCertificate | undefined = leaf; cert?.raw && !seen.has(cert); cert = cert.issuerCertificate) {
    seen.add(cert);
    try {
      const spki = new X509Certificate(cert.raw).publicKey.export({ type: 'spki', format: 'der' });
      if (pins.has(createHash('sha256').update(spki).digest('base64url'))) return true;
    } catch {
      // An unparseable certificate simply matches nothing.
    }
  }
  return false;
}

/** GETs `url` and returns the parsed JSON body, or throws JwksFetchError. */
export async function fetchJson(options: FetchJsonOptions): Promise<unknown> {
  return (await fetchJsonDocument(options)).document;
}

/** As fetchJson, and says which URLs were requested on the way (redirects). */
export async function fetchJsonDocument(options: FetchJsonOptions): Promise<FetchedJson> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  try {
    assertJwksUrlAllowed(options.url, options.allowInsecure);
  } catch (error) {
    throw new JwksFetchError((error as Error).message);
  }

  let ownDispatcher: Dispatcher | undefined;
  if (!options.dispatcher) {
    try {
      ownDispatcher = createJwksDispatcher(options);
    } catch (error) {
      throw new JwksFetchError((error as Error).message);
    }
  }
  const dispatcher = options.dispatcher ?? ownDispatcher ?? defaultAgent;

  // Our own controller, so the catch block can tell a timeout from a caller's abort.
  // One timer for the whole chain of redirects: a redirecting server cannot extend it.
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const onOuterAbort = (): void => controller.abort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (options.signal?.aborted) controller.abort();

  const urls: string[] = [options.url];
  try {
    // The same two fixed headers on every hop: nothing that could be a credential
    // exists to leak to another origin. Keep it so, or drop such headers on cross-origin hops.
    const send = (url: string): Promise<Dispatcher.ResponseData> =>
      request(url, {
        method: 'GET',
        dispatcher,
        signal: controller.signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        headers: { accept: 'application/jwk-set+json, application/json', 'user-agent': 'portcullis' },
      });
    for (;;) {
      const url = urls[urls.length - 1]!;
      let response: Dispatcher.ResponseData;
      try {
        response = await send(url);
      } catch (error) {
        // A kept-alive connection the server closed just before reuse fails before any response.
        // GET is idempotent, so one retry on a fresh connection (within the same timeout) is safe;
        // without it a rotation refetch could fail and leave the new kid unknown for a cooldown.
        if (controller.signal.aborted || !isClosedConnection(error)) throw error;
        response = await send(url);
      }
      const { statusCode, headers, body } = response;
      if (REDIRECT_STATUSES.has(statusCode)) {
        discard(body);
        urls.push(redirectTarget(url, statusCode, headerValue(headers.location), urls, options.allowInsecure));
        continue;
      }
      const failure = responseProblem(statusCode, headers, maxBodyBytes);
      if (failure) {
        discard(body);
        throw new JwksFetchError(failure);
      }
      const text = await readCapped(body, maxBodyBytes);
      try {
        return { document: JSON.parse(text) as unknown, urls };
      } catch {
        throw new JwksFetchError('body is not JSON');
      }
    }
  } catch (error) {
    throw new JwksFetchError(`${failureReason(error, timedOut, timeoutMs, controller.signal)}${afterRedirects(urls.length - 1)}`);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onOuterAbort);
    if (ownDispatcher) void ownDispatcher.destroy().catch(() => {});
  }
}

function failureReason(error: unknown, timedOut: boolean, timeoutMs: number, signal: AbortSignal): string {
  if (timedOut || isUndiciTimeout(error)) return `timeout after ${timeoutMs} ms`;
  if (error instanceof JwksFetchError) return error.message;
  if (signal.aborted) return 'aborted';
  return transportReason(error);
}

// The hop count goes into the reason, so status and logs show that a failure happened past a redirect.
function afterRedirects(count: number): string {
  return count === 0 ? '' : ` (after ${count} redirect${count === 1 ? '' : 's'})`;
}

/**
 * Where a redirect from `from` leads, or a JwksFetchError. The target passes the
 * rule a configured URL passes, and more: never from https to http, not even to
 * loopback or with the insecure flag (a server reached over TLS must not steer us
 * to plaintext), never a URL already requested, never more than MAX_REDIRECTS hops.
 */
function redirectTarget(from: string, statusCode: number, location: string | undefined, requested: readonly string[], allowInsecure = false): string {
  if (requested.length > MAX_REDIRECTS) throw new JwksFetchError('too many redirects');
  if (location === undefined || location === '') throw new JwksFetchError(`redirect (status ${statusCode}) without a location`);
  let target: URL;
  try {
    target = new URL(location, from);
  } catch {
    throw new JwksFetchError(`redirect (status ${statusCode}) to an invalid location`);
  }
  target.hash = '';
  try {
    assertJwksUrlAllowed(target.href, allowInsecure);
  } catch (error) {
    throw new JwksFetchError(`redirect refused: ${printable((error as Error).message, 200)}`);
  }
  if (new URL(from).protocol === 'https:' && target.protocol !== 'https:') throw new JwksFetchError('redirect from https to http refused');
  if (requested.some((url) => withoutHash(url) === target.href)) throw new JwksFetchError('redirect loop');
  return target.href;
}

function withoutHash(url: string): string {
  const parsed = new URL(url);
  parsed.hash = '';
  return parsed.href;
}

function responseProblem(statusCode: number, headers: Record<string, string | string[] | undefined>, maxBodyBytes: number): string | undefined {
  if (statusCode !== 200) return `status ${statusCode}`;
  const contentType = headerValue(headers['content-type']);
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  if (!ACCEPTED_MEDIA_TYPES.has(mediaType)) {
    return contentType === undefined ? 'no content type' : `content type ${printable(mediaType || contentType)}`;
  }
  const declared = Number(headerValue(headers['content-length']));
  if (Number.isFinite(declared) && declared > maxBodyBytes) return `body exceeds ${maxBodyBytes} bytes`;
  return undefined;
}

async function readCapped(body: Dispatcher.ResponseData['body'], maxBodyBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBodyBytes) {
      discard(body);
      throw new JwksFetchError(`body exceeds ${maxBodyBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

// Destroying an undici body emits an AbortError; nobody else listens, so it would be uncaught.
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

// Header values are server-controlled: keep them short and printable before they reach a log.
function printable(text: string, maxLength = 80): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, maxLength);
}

const TRANSPORT_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connect timeout',
  UND_ERR_CONNECT_TIMEOUT: 'connect timeout',
  UND_ERR_SOCKET: 'connection closed by the server',
  UND_ERR_CLOSED: 'connection closed',
  UND_ERR_DESTROYED: 'connection destroyed',
};

// undici's own headers/body timeouts back up our timer; whichever fires first, the reason reads the same.
function isUndiciTimeout(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
}

function isClosedConnection(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET';
}

function transportReason(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') {
    if (code in TRANSPORT_REASONS) return TRANSPORT_REASONS[code]!;
    // OpenSSL verification codes (DEPTH_ZERO_SELF_SIGNED_CERT, CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID, …).
    if (/CERT|SSL|TLS/.test(code)) return `TLS error ${printable(code)}`;
    return `request failed (${printable(code)})`;
  }
  return 'request failed';
}
