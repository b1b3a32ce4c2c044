/**
 * KrakenD's `auth/signer` on the gateway (krakend-jose `SignFields`): after
 * the backends are merged, each `keys_to_sign` key whose value is a JSON
 * object is replaced by a JWT of that object, signed with the configured
 * private key. Other values (absent, strings, arrays) are left as they are,
 * as in KrakenD. This is what KrakenD's login-endpoint examples rely on.
 *
 * Keys are read when a plan is served (start and every reload), before the
 * plan is swapped in: a key that cannot be read or cannot sign refuses the
 * start (or the reload), where KrakenD would log it and hand out the claims
 * unsigned. Tokens and keys never reach a log line.
 */
import type { EndpointPlan, GatewayPlan, SignerPlan } from '../config/plan.js';
import { ConfigError, type ConfigIssue } from '../config/validate.js';
import { signJws, type SigningKey } from '../jwt/sign.js';
import { loadSigningKey } from '../keys/signing-keys.js';
import { stringifyKeepingNumbers } from './json-literals.js';

export interface ResponseSigner {
  /**
   * Replaces, in place, every object under a `keys_to_sign` key with its JWT.
   * `literals`: the data holds kept number literals (json-literals.ts), which
   * the claims must carry as the backend wrote them.
   */
  sign(data: Record<string, unknown>, literals: boolean): void;
}

export function createResponseSigner(plan: SignerPlan, key: SigningKey): ResponseSigner {
  const keys = plan.keysToSign;
  return {
    sign(data, literals) {
      for (const name of keys) {
        if (!Object.hasOwn(data, name)) continue;
        const value = data[name];
        if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
        data[name] = signJws(key, stringifyKeepingNumbers(value, literals), plan.full);
      }
    },
  };
}

/** The signers of every endpoint that has one. Rejects with ConfigError naming each key source that failed. */
export async function loadSigners(plan: GatewayPlan): Promise<ReadonlyMap<EndpointPlan, ResponseSigner>> {
  // A login and a refresh endpoint usually share one key: read (or download) it once.
  const loaded = new Map<string, Promise<SigningKey>>();
  const outcomes = await Promise.all(
    plan.endpoints.map(async (endpoint): Promise<ResponseSigner | ConfigIssue | undefined> => {
      const signer = endpoint.signer;
      if (signer === undefined) return undefined;
      const request = { source: signer.source, kid: signer.kid, alg: signer.alg };
      const id = JSON.stringify(request);
      let key = loaded.get(id);
      if (key === undefined) {
        key = loadSigningKey(request);
        loaded.set(id, key);
      }
      try {
        return createResponseSigner(signer, await key);
      } catch (error) {
        return { path: signer.sourcePath, message: (error as Error).message };
      }
    }),
  );
  const signers = new Map<EndpointPlan, ResponseSigner>();
  const issues: ConfigIssue[] = [];
  outcomes.forEach((outcome, i) => {
    if (outcome === undefined) return;
    if ('sign' in outcome) signers.set(plan.endpoints[i]!, outcome);
    else issues.push(outcome);
  });
  if (issues.length > 0) throw new ConfigError(issues);
  return signers;
}
