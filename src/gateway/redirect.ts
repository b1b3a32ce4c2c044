/**
 * Backend redirects, followed as KrakenD follows them (lura calls backends
 * with Go's http.Client): 301, 302 and 303 turn a method other than GET or
 * HEAD into GET and drop the body; 307 and 308 keep the method and the body,
 * and when the body cannot be sent again (it was streamed, not buffered) the
 * redirect itself is the answer, as in Go. A redirect without a Location is
 * the answer too. At most 10 are followed.
 *
 * Unlike Go, a redirect may only lead to one of the backend's own origins, or
 * to one `redirect_hosts` names: a backend (or whoever controls what it
 * echoes into a Location) must not be able to point the gateway at an
 * arbitrary host. Another scheme, credentials in the URL and a request already
 * made in the chain (a loop) fail the call.
 *
 * Every hop sends the headers the first one sent, which were filtered once
 * (input_headers, identity headers stripped, claims propagated): nothing is
 * read from the client again, and the next URL is the Location alone, so the
 * client's query and the url_pattern rules cannot be bypassed through it.
 * As in Go, Authorization and Cookie are dropped once the chain has left the
 * first origin, and Referer names the previous URL unless the client's own
 * Referer was forwarded or the chain goes from https to http.
 */
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Exchange } from './exchange.js';

/** Go's http.Client default. */
export const MAX_REDIRECTS = 10;

/** Bytes of a followed redirect's own body read (and dropped) to keep its connection, as Go's client does; past it the connection is cut. */
const MAX_REDIRECT_BODY_BYTES = 2048;

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** Request headers Go's client drops once a redirect leaves the first host. */
const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'www-authenticate', 'cookie', 'cookie2']);

/** Where a backend's redirects may go: the connection pool of an allowed origin, or undefined for any other. */
export interface RedirectRoute {
  poolFor(origin: string): Dispatcher | undefined;
}

/** One backend request, as sent on the first hop. */
export interface RedirectableCall {
  /** `scheme://host[:port]` of the first hop. */
  readonly origin: string;
  /** Path and query of the first hop. */
  readonly path: string;
  readonly method: string;
  /** undici's flat header list, lower-case names. */
  readonly headers: string[];
  readonly body: Readable | Buffer | null;
}

/** The classic undici handler interface the gateway's handlers implement. */
export interface CallHandler {
  onConnect(abort: (error?: Error) => void): void;
  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(trailers: unknown): void;
  onError(error: Error): void;
}

/** A redirect the gateway refuses to follow; `clientText` says so without naming any URL. */
export class BackendRedirectError extends Error {
  readonly clientText: string;
  constructor(clientText: string, detail?: string) {
    super(detail === undefined ? clientText : `${clientText}: ${detail}`);
    this.name = 'BackendRedirectError';
    this.clientText = clientText;
  }
}

/** Sends `call` through `pool`, following redirects along `route` (none when route is undefined: no_redirect). */
export function dispatchFollowing(exchange: Exchange, pool: Dispatcher, call: RedirectableCall, handler: CallHandler, route: RedirectRoute | undefined): void {
  const options = { path: call.path, method: call.method as Dispatcher.HttpMethod, headers: call.headers, body: call.body };
  if (route === undefined) {
    pool.dispatch(options, handler);
    return;
  }
  // Nothing is parsed or remembered until a redirect arrives: most calls never see one.
  const chain: Chain = { exchange, route, inner: handler, first: call, requested: undefined, redirects: 0, leftFirstOrigin: false };
  pool.dispatch(options, new RedirectingHandler(chain, undefined, call.method, call.body !== null));
}

interface Chain {
  readonly exchange: Exchange;
  readonly route: RedirectRoute;
  readonly inner: CallHandler;
  /** The first hop; every later hop derives its headers and body from it. */
  readonly first: RedirectableCall;
  /** `METHOD url` of every request made so far, once the first redirect arrived. */
  requested: Set<string> | undefined;
  redirects: number;
  /** Sticky, as in Go since 1.24: credentials once dropped stay dropped, even back on the first origin. */
  leftFirstOrigin: boolean;
}

interface NextHop {
  readonly pool: Dispatcher;
  readonly url: URL;
  readonly method: string;
  readonly withBody: boolean;
}

/** Wraps the gateway's handler for one hop: a redirect to follow is read and dropped here, anything else goes to the handler. */
class RedirectingHandler implements CallHandler {
  readonly #chain: Chain;
  /** This hop's URL; for the first hop, parsed when a redirect needs it. */
  #url: URL | undefined;
  readonly #method: string;
  readonly #withBody: boolean;
  #abort: ((error?: Error) => void) | null = null;
  #next: NextHop | null = null;
  #drained = 0;
  #failure: Error | null = null;

  constructor(chain: Chain, url: URL | undefined, method: string, withBody: boolean) {
    this.#chain = chain;
    this.#url = url;
    this.#method = method;
    this.#withBody = withBody;
  }

  get #current(): URL {
    // Concatenated, not resolved: a path such as `//x` is a path on this origin, not another host.
    if (this.#url === undefined) this.#url = new URL(this.#chain.first.origin + this.#chain.first.path);
    return this.#url;
  }

  onConnect(abort: (error?: Error) => void): void {
    this.#abort = abort;
    this.#chain.inner.onConnect(abort);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (REDIRECT_STATUSES.has(statusCode)) {
      let next: NextHop | undefined;
      try {
        next = this.#follow(statusCode, headerValue(rawHeaders, 'location'));
      } catch (error) {
        this.#failure = error as Error;
        this.#abort?.(this.#failure);
        return false;
      }
      if (next !== undefined) {
        this.#next = next;
        return true;
      }
    }
    return this.#chain.inner.onHeaders(statusCode, rawHeaders, resume, statusText);
  }

  onData(chunk: Buffer): boolean {
    if (this.#next === null) return this.#chain.inner.onData(chunk);
    this.#drained += chunk.length;
    if (this.#drained <= MAX_REDIRECT_BODY_BYTES) return true;
    // Not worth reading: cut this connection; onError starts the next hop.
    this.#abort?.(new Error('redirect body not read'));
    return false;
  }

  onComplete(trailers: unknown): void {
    if (this.#next === null) return this.#chain.inner.onComplete(trailers);
    this.#start(this.#next);
  }

  onError(error: Error): void {
    // A cut (or broken) redirect body does not stop the chain; an abort of the whole exchange does.
    if (this.#next !== null && this.#chain.exchange.abortReason === undefined) return this.#start(this.#next);
    this.#chain.inner.onError(this.#failure ?? error);
  }

  /** The hop a redirect leads to, undefined when the redirect is the answer, or a BackendRedirectError. */
  #follow(statusCode: number, location: string | undefined): NextHop | undefined {
    const chain = this.#chain;
    if (location === undefined || location === '') return undefined;
    const keepsBody = statusCode === 307 || statusCode === 308;
    // Go answers with the 307/308 itself when it cannot send the body again; a streamed body is gone.
    if (keepsBody && this.#withBody && !Buffer.isBuffer(chain.first.body)) return undefined;
    if (chain.redirects >= MAX_REDIRECTS) throw new BackendRedirectError(`stopped after ${MAX_REDIRECTS} redirects`);
    let url: URL;
    try {
      url = new URL(location, this.#current);
    } catch {
      throw new BackendRedirectError(`redirect (status ${statusCode}) to an invalid location`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new BackendRedirectError(`redirect (status ${statusCode}) to a non-http location refused`);
    if (url.username !== '' || url.password !== '') throw new BackendRedirectError(`redirect (status ${statusCode}) to a URL with credentials refused`);
    url.hash = '';
    const pool = chain.route.poolFor(url.origin);
    if (pool === undefined) {
      throw new BackendRedirectError(`redirect (status ${statusCode}) to another origin refused`, `${url.origin} (allow it in backend/http/client.redirect_hosts)`);
    }
    const method = keepsBody || this.#method === 'GET' || this.#method === 'HEAD' ? this.#method : 'GET';
    chain.requested ??= new Set([requestKey(chain.first.method, this.#current)]);
    if (chain.requested.has(requestKey(method, url))) throw new BackendRedirectError(`redirect loop (after ${chain.redirects + 1} redirect${chain.redirects === 0 ? '' : 's'})`);
    return { pool, url, method, withBody: keepsBody && this.#withBody };
  }

  #start(next: NextHop): void {
    const chain = this.#chain;
    const aborted = chain.exchange.abortReason;
    if (aborted !== undefined) return chain.inner.onError(aborted);
    chain.redirects += 1;
    chain.requested!.add(requestKey(next.method, next.url));
    if (next.url.origin !== chain.first.origin) chain.leftFirstOrigin = true;
    const options = {
      path: next.url.pathname + next.url.search,
      method: next.method as Dispatcher.HttpMethod,
      headers: this.#nextHeaders(next),
      body: next.withBody ? chain.first.body : null,
    };
    next.pool.dispatch(options, new RedirectingHandler(chain, next.url, next.method, next.withBody));
  }

  #nextHeaders(next: NextHop): string[] {
    const chain = this.#chain;
    const source = chain.first.headers;
    const out: string[] = [];
    let clientReferer = false;
    for (let i = 0; i + 1 < source.length; i += 2) {
      const name = source[i]!;
      if (name === 'referer') clientReferer = true;
      if (!next.withBody && name === 'content-length') continue;
      if (chain.leftFirstOrigin && CREDENTIAL_HEADERS.has(name)) continue;
      out.push(name, source[i + 1]!);
    }
    // RFC 9110 §10.1.3: no Referer from an https page in an http request.
    const current = this.#current;
    if (!clientReferer && !(current.protocol === 'https:' && next.url.protocol === 'http:')) out.push('referer', current.href);
    return out;
  }
}

function requestKey(method: string, url: URL): string {
  return `${method} ${url.href}`;
}

/** A header of undici's raw list (Buffers, original case); undefined when absent. */
function headerValue(raw: readonly Buffer[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length === name.length && key.toString('latin1').toLowerCase() === name) return raw[i + 1]!.toString('latin1');
  }
  return undefined;
}
