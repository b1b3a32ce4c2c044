/**
 * `explain` for every endpoint of a gateway plan at once: what the issuer's
 * token debugger page shows as one table of checks per endpoint. It binds each
 * endpoint's policy the way `portcullis explain` does (its own key sets, a
 * cache of size 0, so every answer verifies), once, and keeps the key sets
 * until closed, so inspecting a token does not download the keys every time.
 * Route parameters need values: a parameter whose name mentions "tenant"
 * gets the token's `dct` (else its first tenant), any other one `example`.
 */
import { createVerifiedTokenCache } from '../authorizer/cache.js';
import { explainRequest, type ExplainLine } from '../authorizer/explain.js';
import type { GatewayPlan } from '../config/compile.js';
import { ConfigError } from '../config/validate.js';
import { parseCompactJws } from '../jwt/parse.js';
import { createKeySetRegistry } from '../keys/registry.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { bindPolicy, type Authorizer } from './bind.js';

export interface EndpointExplanation {
  readonly method: string;
  /** As configured, e.g. `/tenants/{tenant}/projects`. */
  readonly endpoint: string;
  /** With the route parameters filled, e.g. `/tenants/T2acme/projects`. */
  readonly path: string;
  /** No auth/validator: every request is forwarded, and there are no checks. */
  readonly public: boolean;
  readonly decision: { readonly allowed: boolean; readonly status?: number; readonly code?: string; readonly detail?: string };
  readonly lines: readonly ExplainLine[];
}

export interface PlanExplainer {
  /** The endpoints, in the plan's order: what the page lists before a token is given. */
  readonly endpoints: readonly { readonly method: string; readonly endpoint: string }[];
  explain(token: string): Promise<EndpointExplanation[]>;
  /** Stops the key sets' timers. */
  close(): void;
}

export function createPlanExplainer(plan: GatewayPlan, options: { clock?: Clock } = {}): PlanExplainer {
  const clock = options.clock ?? systemClock;
  const keySets = createKeySetRegistry();
  // Bound on first use: a key source that cannot open (a missing file) is reported in the page, per endpoint.
  const bound = new Map<number, Authorizer | ConfigError>();
  const authorizerFor = (index: number): Authorizer | ConfigError => {
    let entry = bound.get(index);
    if (entry === undefined) {
      const endpoint = plan.endpoints[index]!;
      try {
        entry = bindPolicy(endpoint.auth!, { keySets, cache: createVerifiedTokenCache(0), label: endpoint.label });
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        entry = error;
      }
      bound.set(index, entry);
    }
    return entry;
  };

  return {
    endpoints: plan.endpoints.map((e) => ({ method: e.method, endpoint: e.path })),
    async explain(token) {
      const params = routeParams(token);
      const results: EndpointExplanation[] = [];
      for (const [index, endpoint] of plan.endpoints.entries()) {
        const values = Object.fromEntries(endpoint.params.map((name) => [name, /tenant/i.test(name) ? params.tenant : 'example']));
        const path = endpoint.path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(values[name] ?? 'example'));
        const base = { method: endpoint.method, endpoint: endpoint.path, path };
        if (endpoint.auth === undefined) {
          results.push({ ...base, public: true, decision: { allowed: true }, lines: [] });
          continue;
        }
        const authorizer = authorizerFor(index);
        if (authorizer instanceof ConfigError) {
          const detail = authorizer.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
          results.push({ ...base, public: false, decision: { allowed: false, code: 'config_error', detail }, lines: [] });
          continue;
        }
        await authorizer.ready();
        const headerName = authorizer.policy.extraction.headerName;
        const explanation = await explainRequest(authorizer, { headers: { [headerName]: token }, params: values }, clock);
        const d = explanation.decision;
        results.push({
          ...base,
          public: false,
          decision: d.allowed ? { allowed: true } : { allowed: false, status: d.status, code: d.code, ...(d.detail ? { detail: d.detail } : {}) },
          lines: explanation.lines,
        });
      }
      return results;
    },
    close: () => keySets.close(),
  };
}

/** The tenant a token most likely means: its `dct`, else the first of its `tenants`. Unreadable tokens give `example`. */
function routeParams(token: string): { tenant: string } {
  try {
    const { payload } = parseCompactJws(token);
    if (typeof payload.dct === 'string' && payload.dct.length > 0) return { tenant: payload.dct };
    const tenants = payload.tenants;
    if (typeof tenants === 'object' && tenants !== null && !Array.isArray(tenants)) {
      const first = Object.keys(tenants)[0];
      if (first !== undefined) return { tenant: first };
    }
  } catch {
    // The explanation's own lines say why the token cannot be read.
  }
  return { tenant: 'example' };
}

/** Where a gateway running `plan` can be reached from this machine, for curl lines: its listen_ip (a wildcard as loopback) and port. */
export function gatewayUrlOf(plan: Pick<GatewayPlan, 'port' | 'listenIp'>): string {
  const ip = plan.listenIp ?? '';
  const host = ip === '' || ip === '0.0.0.0' ? '127.0.0.1' : ip === '::' ? '[::1]' : ip.includes(':') ? `[${ip}]` : ip;
  return `http://${host}:${plan.port}`;
}
