/**
 * A compiled endpoint policy: everything the config says about one endpoint's
 * authorization, resolved once, with no live parts. The key set is described
 * (`keySource`), not opened; binding it (src/runtime/bind.ts) gives the
 * authorizer. The request path reads only this, never raw config.
 *
 * `checks` is the ordered list every request runs once the token is known
 * (cached or freshly verified): token checks (alg, typ, times, identity), then
 * the slot for request-time checks such as revocation, then the policy rules.
 * `authorize` stops at the first failure; `explain` runs the same list and
 * reports every step, so the two cannot disagree.
 */
import type { Alg } from '../jwt/algorithms.js';
import type { DenialShape, FailureCode } from '../jwt/errors.js';
import type { Claims, JwsHeader, ParseLimits } from '../jwt/parse.js';
import type { KeySource } from '../keys/registry.js';
import type { KeyIdentifyStrategy } from '../keys/select.js';
import type { AuthorizeRequest } from './decision.js';
import type { ExtractionSpec } from './extract.js';
import type { Propagation } from './propagate.js';

/** What a check looks at: the verified token (or, in `explain`, an unverified one). */
export interface CheckSubject {
  readonly alg: string;
  readonly header: JwsHeader;
  readonly claims: Claims;
}

export interface NamedCheck {
  /** Shown by `explain`, e.g. `exp` or `roles: any of ["admin"] in "roles"`. */
  readonly name: string;
  /**
   * Where it runs: `token` checks (401 codes) first, then `request` checks at the slot after the
   * signature (revocation), then `policy` rules (403 codes), then `limit` checks (rate limits).
   */
  readonly kind: 'token' | 'request' | 'policy' | 'limit';
  /**
   * Throws AuthError when the request must be refused. Only a check that needs I/O (a shared rate
   * limit) returns a promise; every other check answers synchronously, so cached requests stay sync.
   */
  readonly check: (subject: CheckSubject, request: AuthorizeRequest, nowSeconds: number) => void | Promise<void>;
  /** For `explain`: what passed, e.g. the expiry as a date. */
  readonly describe?: (subject: CheckSubject, nowSeconds: number) => string;
  /** For `explain`: the requirement in words, e.g. `any of ["admin"]`, shown next to what was found. */
  readonly expected?: string;
  /**
   * For `explain`: what the token (or the request) holds for this check, e.g. the `roles` claim as
   * JSON or `absent`; claim values only, never the token or its signature.
   */
  readonly found?: (subject: CheckSubject, request: AuthorizeRequest, nowSeconds: number) => string;
}

/** What token verification needs: the allowed algorithms, how keys are named, and the parse limits. */
export interface VerifySpec {
  readonly allowedAlgs: ReadonlySet<Alg>;
  readonly keyStrategy: KeyIdentifyStrategy;
  readonly parseLimits: ParseLimits;
}

export interface EndpointPolicy extends VerifySpec {
  readonly keySource: KeySource;
  readonly extraction: ExtractionSpec;
  /** Every check after verification, in order; see the file header. */
  readonly checks: readonly NamedCheck[];
  readonly propagation: Propagation;
  /** Lower-case names of request headers the rules read (the tenant header); other spellings of them are not forwarded. */
  readonly checkedHeaders: readonly string[];
  readonly denials: Readonly<Record<FailureCode, DenialShape>>;
  readonly operationDebug: boolean;
  /** JSON path of the config block, e.g. `$.endpoints[0].extra_config["auth/validator"]`. */
  readonly path: string;
  /** JSON path of the key source option (`…jwk_url`, `…jwk_keys`), for errors found when the key set is opened. */
  readonly keySourcePath: string;
}

const ORDER: Readonly<Record<NamedCheck['kind'], number>> = { token: 0, request: 1, policy: 2, limit: 3 };

/**
 * The list with bound checks (revocation, rate limits) placed at their slots:
 * `request` checks after the token checks and before the policy rules,
 * `limit` checks after the policy rules. The order within a kind is kept.
 */
export function withBoundChecks(checks: readonly NamedCheck[], extra: readonly NamedCheck[]): readonly NamedCheck[] {
  if (extra.length === 0) return checks;
  // A stable sort by slot: Array.prototype.sort is stable.
  return Object.freeze([...checks, ...extra].sort((a, b) => ORDER[a.kind] - ORDER[b.kind]));
}
