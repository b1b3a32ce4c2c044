/** portcullis: the public library API. Every front door is built on these. */
export { createAuthorizer, type Authorizer, type AuthorizerOptions, type AuthorizerRevocation } from './runtime/create-authorizer.js';
export { createMemoryRevocationStore, type MemoryRevocationStoreOptions } from './revocation/memory-store.js';
export { createRedisRevocationStore, type RedisRevocationStoreOptions, type RedisRevocationStore } from './revocation/redis-store.js';
export type { RevocationStore, RevocationStatus } from './revocation/store.js';
export type { RevocationEntry, RevocationKind } from './revocation/entry.js';
export type { AuthorizeRequest, Decision, Allow, Deny } from './authorizer/decision.js';
export type { PropagatedHeader } from './authorizer/propagate.js';
export { createVerifiedTokenCache, type VerifiedTokenCache } from './authorizer/cache.js';
export { createKeySetRegistry, type KeySetRegistry, type KeySource } from './keys/registry.js';
export type { KeySet, KeySetStatus, KeyIndex } from './keys/key-set.js';
export { createRemoteKeySet } from './keys/remote.js';
export { createDiscoveryKeySet } from './keys/discovery.js';
export { createFileKeySet, createInlineKeySet } from './keys/local.js';
export { verifyJws, indexKeys, type VerifyJwsOptions, type VerifiedJws } from './authorizer/verify-jws.js';
export { verifySignature } from './jwt/verify.js';
export { importJwk, type Jwk, type VerificationKey } from './jwt/keys.js';
export { parseCompactJws, type ParsedJws, type JwsHeader, type Claims, type ParseLimits } from './jwt/parse.js';
export { SUPPORTED_ALGS, type Alg } from './jwt/algorithms.js';
export { AuthError, FAILURE_CODES, ALL_FAILURE_CODES, type FailureCode } from './jwt/errors.js';
export { ValidatorSchema, type ValidatorConfig } from './config/validator-schema.js';
export { ConfigError, type ConfigIssue } from './config/validate.js';
export { startForwardAuth, createForwardAuthHandler, FORWARD_AUTH_BODIES, type ForwardAuthOptions, type ForwardAuthServer, type ForwardAuthHandler } from './adapters/forward-auth/server.js';
export { FORWARD_AUTH_PROXIES, type ForwardAuthProxy } from './adapters/forward-auth/original-request.js';
export { createLambdaAuthorizer, KeysUnavailableError, AllowTooWideError, UNAUTHORIZED_MESSAGE, type LambdaAuthorizerConfig, type LambdaAuthorizerOptions, type LambdaAuthorizerHandler } from './adapters/lambda/authorizer.js';
export type { LambdaAuthorizerEvent, TokenAuthorizerEvent, RequestAuthorizerEvent, RequestAuthorizerEventV2 } from './adapters/lambda/events.js';
export type { LambdaAuthorizerResult, IamPolicyResult, SimpleResult, AuthorizerContext } from './adapters/lambda/response.js';
export { createLambdaAuthorizerFromEnv } from './adapters/lambda/from-env.js';
export {
  portcullisMiddleware,
  withAuthorization,
  type NodeMiddleware,
  type NodeMiddlewareOptions,
  type WithAuthorizationOptions,
  type GuardedListener,
  type AuthorizedRequest,
} from './adapters/middleware/node.js';
export type { RequestAuth, AuthorizerSource, AuthOf, WithAuth, GuardOptions, DenialMode } from './adapters/middleware/core.js';
export { PortcullisAuthError, type DenialFields } from './adapters/middleware/auth-error.js';
// Express, Fastify and Lambda also live at `portcullis/express`, `portcullis/fastify` and `portcullis/lambda`:
// the first two so their types are needed only by their users, the last so a bundle holds only the Lambda door.
