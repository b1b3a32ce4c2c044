/**
 * A remote key set whose JWKS URL comes from an OIDC discovery document
 * (OpenID Connect Discovery 1.0 §4). The document is fetched under the same
 * rules as a JWKS; its `issuer` must equal the configured one (§4.3), so a
 * document for another issuer can never supply our keys, and its `jwks_uri`
 * must obey the same https rule as a configured JWKS URL. Both downloads follow
 * redirects under fetch-jwks.ts's rules; a document that reached us through any
 * hop off this machine counts as fetched from the network.
 *
 * Discovery runs as part of each download until it has succeeded once; the
 * jwks_uri is then kept for the life of the set (IdPs do not move it in practice,
 * and re-discovering on every refresh would double the requests).
 */
import { createJwksDispatcher, fetchJsonDocument, JwksFetchError, type FetchedJson } from './fetch-jwks.js';
import { assertJwksUrlAllowed, isLoopbackHost } from './remote-source.js';
import type { KeySet } from './key-set.js';
import { createRemoteKeySet, describeUrl, type RemoteKeySetOptions } from './remote.js';

export interface DiscoveryKeySetOptions extends Omit<RemoteKeySetOptions, 'url' | 'resolveUrl'> {
  discoveryUrl: string;
  /** When set, the document's `issuer` must equal it byte for byte. */
  expectedIssuer?: string;
}

export function createDiscoveryKeySet(options: DiscoveryKeySetOptions): KeySet {
  const { discoveryUrl, expectedIssuer, ...rest } = options;
  assertJwksUrlAllowed(discoveryUrl, options.allowInsecure);
  // One dispatcher for the discovery document and the JWKS: same host in practice, same TLS rules.
  const ownDispatcher = options.dispatcher ? undefined : createJwksDispatcher(options);
  const dispatcher = options.dispatcher ?? ownDispatcher;
  let jwksUri: string | undefined;

  async function resolveUrl(signal: AbortSignal): Promise<string> {
    if (jwksUri !== undefined) return jwksUri;
    let fetched: FetchedJson;
    try {
      fetched = await fetchJsonDocument({
        url: discoveryUrl,
        timeoutMs: options.timeoutMs,
        maxBodyBytes: options.maxBodyBytes,
        allowInsecure: options.allowInsecure,
        dispatcher,
        signal,
      });
    } catch (error) {
      throw error instanceof JwksFetchError ? new JwksFetchError(`discovery document: ${error.message}`) : error;
    }
    const discoveryOnLoopback = fetched.urls.every((url) => isLoopbackHost(new URL(url).hostname));
    jwksUri = jwksUriOf(fetched.document, expectedIssuer, options.allowInsecure ?? false, discoveryOnLoopback);
    const redirects = fetched.urls.length - 1;
    if (redirects > 0) {
      options.logger?.info(
        { keySet: describeUrl(discoveryUrl), redirects, finalUrl: describeUrl(fetched.urls[redirects]!) },
        `[KeySet] discovery document redirected ${redirects} time${redirects === 1 ? '' : 's'}; consider configuring the final URL`,
      );
    }
    return jwksUri;
  }

  const keySet = createRemoteKeySet({ ...rest, url: discoveryUrl, resolveUrl, dispatcher });
  return {
    ...keySet,
    close(): void {
      keySet.close();
      if (ownDispatcher) void ownDispatcher.destroy().catch(() => {});
    },
  };
}

// Messages name what is wrong but never quote the document: its values are not ours to log.
function jwksUriOf(document: unknown, expectedIssuer: string | undefined, allowInsecure: boolean, discoveryOnLoopback: boolean): string {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new JwksFetchError('discovery document is not a JSON object');
  }
  const { issuer, jwks_uri: jwksUri } = document as { issuer?: unknown; jwks_uri?: unknown };
  if (expectedIssuer !== undefined && issuer !== expectedIssuer) {
    throw new JwksFetchError(`discovery document issuer does not match ${JSON.stringify(expectedIssuer)}`);
  }
  if (typeof jwksUri !== 'string') throw new JwksFetchError('discovery document has no jwks_uri string');
  try {
    assertJwksUrlAllowed(jwksUri, allowInsecure);
    // The loopback exemption is for URLs the operator configured. A document fetched over https
    // must not steer key downloads to plain http on this machine.
    if (!allowInsecure && !discoveryOnLoopback && new URL(jwksUri).protocol !== 'https:') throw new Error('http');
  } catch {
    throw new JwksFetchError('discovery jwks_uri is not an allowed URL (https, or loopback http)');
  }
  return jwksUri;
}
