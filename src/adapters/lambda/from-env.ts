/**
 * The deployable authorizer's setup, as a factory: the config from
 * `PORTCULLIS_LAMBDA_CONFIG` (the LambdaAuthorizerConfig as JSON) or else the
 * file named by `PORTCULLIS_LAMBDA_CONFIG_FILE` (default
 * `portcullis-lambda.json` in the task root), and the same JSON log lines as
 * the gateway on stdout (CloudWatch takes each line as one event): INFO by
 * default, so the rate-limited denial lines are there and debug is not;
 * `PORTCULLIS_LOG_LEVEL` and `PORTCULLIS_LOG_FORMAT` (`krakend` or `pino`)
 * change that. It throws on a bad config, so called at module scope it fails
 * the container's start and every invocation answers 500: the authorizer
 * never runs open. handler.ts is this factory called once, for bundles whose
 * entry is the package's own handler.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../config/validate.js';
import { createPinoLogger, isLogFormat, isLogLevel, LOG_FORMATS, LOG_LEVELS, type PinoLoggerOptions } from '../../lib/pino-logger.js';
import { createLambdaAuthorizer, type LambdaAuthorizerConfig, type LambdaAuthorizerHandler, type LambdaAuthorizerOptions } from './authorizer.js';

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

/** The logger's level and format from the environment; an unknown value fails the start, naming the variable. */
export function lambdaLoggerOptions(env: NodeJS.ProcessEnv = process.env): PinoLoggerOptions {
  const level = env.PORTCULLIS_LOG_LEVEL || 'info';
  const format = env.PORTCULLIS_LOG_FORMAT || 'krakend';
  const issues = [];
  if (!isLogLevel(level)) issues.push({ path: '$', message: `PORTCULLIS_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` });
  if (!isLogFormat(format)) issues.push({ path: '$', message: `PORTCULLIS_LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')}` });
  if (issues.length > 0) throw new ConfigError(issues);
  return { level: level as PinoLoggerOptions['level'], format: format as PinoLoggerOptions['format'] };
}

/**
 * The handler, configured from the environment. `options` are the authorizer's (a logger of your own
 * replaces the JSON lines on stdout).
 */
export function createLambdaAuthorizerFromEnv(env: NodeJS.ProcessEnv = process.env, options: LambdaAuthorizerOptions = {}): LambdaAuthorizerHandler {
  try {
    const logger = options.logger ?? createPinoLogger(lambdaLoggerOptions(env));
    return createLambdaAuthorizer(loadLambdaConfig(env), { ...options, logger });
  } catch (error) {
    // One readable line per problem in CloudWatch, before the init error's stack trace.
    if (error instanceof ConfigError) for (const issue of error.issues) console.error(`ERROR in the portcullis Lambda config: ${issue.path}: ${issue.message}`);
    throw error;
  }
}
