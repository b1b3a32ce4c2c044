/** What the core answers, for every front door to translate into its transport. */
import type { FailureCode } from '../jwt/errors.js';
import type { Claims, JwsHeader } from '../jwt/parse.js';
import type { HeaderBag } from '../lib/headers.js';
import type { QuerySource, TokenLocation } from './extract.js';
import type { PropagatedHeader } from './propagate.js';

export interface AuthorizeRequest extends QuerySource {
  /** Request headers with lower-case names, as node:http provides them. */
  readonly headers: HeaderBag;
  /** Route parameters, for tenant rules that read the tenant id from the path. */
  readonly params?: Readonly<Record<string, string | undefined>> | undefined;
}

export interface Allow {
  readonly allowed: true;
  readonly claims: Claims;
  /** The verified token's protected (JOSE) header. */
  readonly protectedHeader: JwsHeader;
  /** Headers to set on the forwarded request, replacing any value the client sent. */
  readonly headers: readonly PropagatedHeader[];
  /** Lower-case names of every header this endpoint sets; client-sent values must be removed. */
  readonly stripHeaders: readonly string[];
  readonly tokenLocation: TokenLocation;
  /** Non-secret label of the key that verified the token. */
  readonly keyFingerprint: string;
  /** True when the signature check was skipped because the token was verified before. */
  readonly cached: boolean;
}

export interface Deny {
  readonly allowed: false;
  readonly code: FailureCode;
  readonly status: 401 | 403 | 503;
  readonly wwwAuthenticate: string | undefined;
  /** JSON body, or undefined when error bodies are switched off. */
  readonly body: string | undefined;
  /** Why, for logs and `explain`; never holds token or key material. */
  readonly detail: string;
}

export type Decision = Allow | Deny;
