/**
 * `portcullis/lambda`: the Lambda authorizer without the rest of the library
 * in the import graph, so a user's bundler keeps the bundle to what it needs.
 * `createLambdaAuthorizer(config)` is the handler factory for code that holds
 * its config; `createLambdaAuthorizerFromEnv()` reads it from the environment
 * as the ready handler (`portcullis/lambda/handler`) does. Call either at
 * module scope: the key set and the verified-token cache then serve every
 * warm invocation.
 */
export {
  createLambdaAuthorizer,
  KeysUnavailableError,
  AllowTooWideError,
  UNAUTHORIZED_MESSAGE,
  type LambdaAuthorizerConfig,
  type LambdaAuthorizerOptions,
  type LambdaAuthorizerHandler,
  type ResultCacheConfig,
} from './authorizer.js';
export { createLambdaAuthorizerFromEnv, loadLambdaConfig, lambdaLoggerOptions } from './from-env.js';
export type { LambdaAuthorizerEvent, TokenAuthorizerEvent, RequestAuthorizerEvent, RequestAuthorizerEventV2 } from './events.js';
export type { LambdaAuthorizerResult, IamPolicyResult, SimpleResult, AuthorizerContext } from './response.js';
export { ConfigError, type ConfigIssue } from '../../config/validate.js';
