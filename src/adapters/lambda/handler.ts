/**
 * The Lambda bundle's entry (scripts/build-lambda.mjs): the authorizer is
 * built when the container starts, from `PORTCULLIS_LAMBDA_CONFIG` (the
 * LambdaAuthorizerConfig as JSON) or else the file named by
 * `PORTCULLIS_LAMBDA_CONFIG_FILE` (default `portcullis-lambda.json` in the
 * task root). A bad config fails the container's start, so every invocation
 * answers 500: the authorizer never runs open.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../config/validate.js';
import { createLambdaAuthorizer, type LambdaAuthorizerConfig } from './authorizer.js';

export function loadLambdaConfig(env: NodeJS.ProcessEnv = process.env): LambdaAuthorizerConfig {
  const inline = env.PORTCULLIS_LAMBDA_CONFIG;
  const file = env.PORTCULLIS_LAMBDA_CONFIG_FILE ?? join(env.LAMBDA_TASK_ROOT ?? process.cwd(), 'portcullis-lambda.json');
  let text: string;
  let source: string;
  if (inline !== undefined && inline !== '') {
    text = inline;
    source = 'PORTCULLIS_LAMBDA_CONFIG';
  } else {
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError([{ path: '$', message: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'read error'}` }]);
    }
    source = file;
  }
  try {
    return JSON.parse(text) as LambdaAuthorizerConfig;
  } catch {
    // The parser's message may quote the text, and inline HMAC keys are secrets.
    throw new ConfigError([{ path: '$', message: `${source}: not valid JSON` }]);
  }
}

/** CloudWatch takes console lines; debug stays off so denials do not flood the log. */
function line(obj: object | string, msg?: string): string {
  return typeof obj === 'string' ? obj : `${msg ?? ''} ${JSON.stringify(obj)}`;
}

const logger = {
  debug: () => undefined,
  info: (obj: object | string, msg?: string) => console.info(line(obj, msg)),
  warn: (obj: object | string, msg?: string) => console.warn(line(obj, msg)),
  error: (obj: object | string, msg?: string) => console.error(line(obj, msg)),
};

function build() {
  try {
    return createLambdaAuthorizer(loadLambdaConfig(), { logger });
  } catch (error) {
    // One readable line per problem in CloudWatch, before the init error's stack trace.
    if (error instanceof ConfigError) for (const issue of error.issues) console.error(`ERROR in the portcullis Lambda config: ${issue.path}: ${issue.message}`);
    throw error;
  }
}

export const handler = build();
