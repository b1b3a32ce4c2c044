/**
 * An `auth/signer` block compiled for one endpoint. What KrakenD would run
 * but hand out unsigned is refused here: a signer on an endpoint whose answer
 * is not a JSON object (`no-op` streams the backend answer through, `string`
 * renders text) would sign nothing, and the client would get the claims raw.
 */
import { assertJwksUrlAllowed, DEFAULT_TIMEOUT_MS } from '../keys/remote-source.js';
import type { SigningKeySource } from '../keys/signing-keys.js';
import { normalizeFingerprint } from './compile-validator.js';
import type { Encoding, SignerPlan } from './plan.js';
import type { SignerConfig } from './signer-schema.js';
import type { ConfigIssue } from './validate.js';

export function compileSigner(config: SignerConfig, path: string, outputEncoding: Encoding, issues: ConfigIssue[]): SignerPlan | undefined {
  const at = (key: string) => `${path}.${key}`;
  const before = issues.length;
  if (outputEncoding !== 'json') {
    issues.push({
      path,
      message: `needs an endpoint answering JSON: with output_encoding "${outputEncoding}" the backend answer would reach the client unsigned (KrakenD signs nothing there either)`,
    });
  }
  let source: SigningKeySource | undefined;
  let sourcePath = at('jwk_url');
  if (config.jwk_url !== undefined && config.jwk_local_path !== undefined) {
    issues.push({ path: at('jwk_local_path'), message: 'only one key source may be set, found jwk_url, jwk_local_path' });
  } else if (config.jwk_local_path !== undefined) {
    source = { kind: 'file', path: config.jwk_local_path };
    sourcePath = at('jwk_local_path');
  } else if (config.jwk_url !== undefined) {
    const allowInsecure = config.disable_jwk_security ?? false;
    try {
      assertJwksUrlAllowed(config.jwk_url, allowInsecure);
    } catch (error) {
      issues.push({ path: at('jwk_url'), message: (error as Error).message });
    }
    if (config.kid === undefined) issues.push({ path: at('kid'), message: 'missing: required to pick the signing key from jwk_url' });
    const fingerprints = config.jwk_fingerprints?.map((pin, i) => normalizeFingerprint(pin, `${at('jwk_fingerprints')}[${i}]`, issues));
    source = {
      kind: 'url',
      url: config.jwk_url,
      timeoutMs: DEFAULT_TIMEOUT_MS,
      allowInsecure,
      ...(fingerprints !== undefined ? { fingerprints } : {}),
      ...(config.jwk_local_ca !== undefined ? { caFile: config.jwk_local_ca } : {}),
    };
  } else {
    issues.push({ path: at('jwk_url'), message: 'one key source is required: jwk_url or jwk_local_path' });
  }
  if (source === undefined || issues.length > before) return undefined;
  return Object.freeze({
    alg: config.alg,
    kid: config.kid,
    keysToSign: Object.freeze([...config.keys_to_sign]),
    full: config.full ?? false,
    source: Object.freeze(source),
    path,
    sourcePath,
  });
}
