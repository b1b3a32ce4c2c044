/** portcullis: the public library API. Every front door is built on these. */
export { createAuthorizer, type Authorizer, type AuthorizerOptions } from './authorizer/create.js';
export type { AuthorizeRequest, Decision, Allow, Deny } from './authorizer/decision.js';
export type { PropagatedHeader } from './authorizer/propagate.js';
export { createVerifiedTokenCache, type VerifiedTokenCache } from './authorizer/cache.js';
export { createKeySetRegistry, type KeySetRegistry, type KeySource } from './keys/registry.js';
export type { KeySet, KeySetStatus, KeyIndex } from './keys/key-set.js';
export { createRemoteKeySet } from './keys/remote.js';
export { createDiscoveryKeySet } from './keys/discovery.js';
export { createFileKeySet, createInlineKeySet } from './keys/local.js';
export { verifyJws, indexKeys, type VerifyJwsOptions, type VerifiedJws } from './jwt/verify-jws.js';
export { verifySignature } from './jwt/verify.js';
export { importJwk, type Jwk, type VerificationKey } from './jwt/keys.js';
export { parseCompactJws, type ParsedJws, type JwsHeader, type Claims, type ParseLimits } from './jwt/parse.js';
export { SUPPORTED_ALGS, type Alg } from './jwt/algorithms.js';
export { AuthError, FAILURE_CODES, ALL_FAILURE_CODES, type FailureCode } from './jwt/errors.js';
export { ValidatorSchema, type ValidatorConfig } from './config/validator-schema.js';
export { ConfigError, type ConfigIssue } from './config/validate.js';
