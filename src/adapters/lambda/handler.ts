/**
 * The ready Lambda handler (`portcullis/lambda/handler`, and the entry of
 * scripts/build-lambda.mjs): importing it builds the authorizer from the
 * environment (from-env.ts says which variables), once per container. Bundle
 * it as it is, or re-export it from your own entry: `export { handler } from
 * 'portcullis/lambda/handler'`.
 */
import { createLambdaAuthorizerFromEnv } from './from-env.js';

export const handler = createLambdaAuthorizerFromEnv();
