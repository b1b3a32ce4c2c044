// A Lambda authorizer written against the library. The authorizer is built
// once, at module scope: its key set and verified-token cache then serve every
// warm invocation of the container. (scripts/build-lambda.mjs builds a ready
// bundle that does the same from portcullis-lambda.json.)
import { readFileSync } from 'node:fs';
import { createLambdaAuthorizer } from 'portcullis/lambda';

const config = JSON.parse(readFileSync(new URL('./portcullis-lambda.json', import.meta.url), 'utf8'));

export const handler = createLambdaAuthorizer(config);
