/**
 * One JSON line shape for every command: the process logger's two formats
 * (KrakenD's level names and ISO time; pino's numeric levels and epoch
 * milliseconds), stderr for the issuer, and the Lambda handler writing the
 * same lines to stdout, INFO by default, as real child processes running the
 * built modules.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createPinoLogger } from '../../src/lib/pino-logger.js';
import { assertDistBuilt } from '../support/cli.js';
import { generateSigningKey } from '../support/jwks-server.js';
import { fromRoot } from '../support/repo-root.js';

// The built modules, as a deployment loads them (`npm test` builds dist first).
const PINO_LOGGER = fromRoot('dist/src/lib/pino-logger.js');
const LAMBDA_HANDLER = fromRoot('dist/src/adapters/lambda/handler.js');

function capture() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const destination = {
    write: (text: string) => {
      raw.push(text);
      lines.push(JSON.parse(text) as Record<string, unknown>);
    },
  };
  return { lines, raw, destination };
}

/** Runs an ES module snippet with plain node; resolves with its exit code and output. */
function runModule(script: string, env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  assertDistBuilt();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const jsonLines = (text: string) => text.trimEnd().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);

describe('log formats', () => {
  const clock = { now: () => Date.UTC(2025, 4, 1, 10, 0, 0, 5) };

  it('krakend (default): upper-case level names with WARNING, ISO time, pid, fields, msg last', () => {
    const { raw, destination } = capture();
    const logger = createPinoLogger({ destination, clock, level: 'debug' });
    logger.warn({ keySet: 'x' }, '[KeySet] something');
    logger.debug('[SERVICE: Gateway] d');
    logger.error('e');
    assert.deepEqual(raw, [
      `{"level":"WARNING","time":"2025-05-01T10:00:00.005Z","pid":${process.pid},"keySet":"x","msg":"[KeySet] something"}\n`,
      `{"level":"DEBUG","time":"2025-05-01T10:00:00.005Z","pid":${process.pid},"msg":"[SERVICE: Gateway] d"}\n`,
      `{"level":"ERROR","time":"2025-05-01T10:00:00.005Z","pid":${process.pid},"msg":"e"}\n`,
    ]);
  });

  it("pino: pino's numeric levels and epoch-millisecond time, the rest the same", () => {
    const { raw, destination } = capture();
    const logger = createPinoLogger({ destination, clock, format: 'pino' });
    logger.info({ port: 8080 }, '[SERVICE: Gateway] Listening on port 8080');
    logger.warn('w');
    assert.deepEqual(raw, [
      `{"level":30,"time":${clock.now()},"pid":${process.pid},"port":8080,"msg":"[SERVICE: Gateway] Listening on port 8080"}\n`,
      `{"level":40,"time":${clock.now()},"pid":${process.pid},"msg":"w"}\n`,
    ]);
  });

  it('writes to stderr when asked (the issuer), nothing to stdout', async () => {
    const child = await runModule(
      `const { createPinoLogger, flushLogger } = await import(${JSON.stringify(PINO_LOGGER)});
       const logger = createPinoLogger({ output: 'stderr', format: 'pino' });
       logger.info({ url: 'http://127.0.0.1:4000' }, 'issuer: listening');
       await flushLogger(logger);`,
    );
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout, '');
    const [line] = jsonLines(child.stderr);
    assert.deepEqual({ ...line, time: typeof line!.time }, { level: 30, time: 'number', pid: line!.pid, url: 'http://127.0.0.1:4000', msg: 'issuer: listening' });
  });
});

describe('the Lambda handler logs JSON lines to stdout', () => {
  async function invoke(env: NodeJS.ProcessEnv) {
    const key = await generateSigningKey('k1');
    const config = { validator: { alg: 'RS256', jwk_keys: [key.publicJwk] } };
    const event = { type: 'TOKEN', authorizationToken: 'Bearer not-a-jwt', methodArn: 'arn:aws:execute-api:eu-west-1:123456789012:api/prod/GET/x' };
    return runModule(
      `const { handler } = await import(${JSON.stringify(LAMBDA_HANDLER)});
       let answer;
       try { await handler(${JSON.stringify(event)}); } catch (error) { answer = error.message; }
       console.error('answer: ' + answer);`,
      { PORTCULLIS_LAMBDA_CONFIG: JSON.stringify(config), ...env },
    );
  }

  it('INFO by default: the denial line, and no debug line', async () => {
    const child = await invoke({});
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stderr, /answer: Unauthorized/);
    const lines = jsonLines(child.stdout);
    assert.equal(lines.length, 1, child.stdout);
    assert.deepEqual({ ...lines[0], time: undefined, pid: undefined }, {
      level: 'INFO',
      time: undefined,
      pid: undefined,
      code: 'token_malformed',
      status: 401,
      msg: '[SERVICE: LambdaAuthorizer][JWTValidator] denied: token_malformed',
    });
    assert.match(String(lines[0]!.time), /^\d{4}-\d\d-\d\dT/);
  });

  it('PORTCULLIS_LOG_LEVEL and PORTCULLIS_LOG_FORMAT change the level and the format', async () => {
    const child = await invoke({ PORTCULLIS_LOG_LEVEL: 'debug', PORTCULLIS_LOG_FORMAT: 'pino' });
    assert.equal(child.status, 0, child.stderr);
    const lines = jsonLines(child.stdout);
    assert.deepEqual(lines.map((line) => line.level), [30, 20]);
    assert.equal(typeof lines[0]!.time, 'number');
    assert.match(String(lines[1]!.msg), /^\[SERVICE: LambdaAuthorizer\] denied: /);
  });

  it('an unknown level stops the container start, naming the variable', async () => {
    const child = await invoke({ PORTCULLIS_LOG_LEVEL: 'loud' });
    assert.notEqual(child.status, 0);
    assert.match(child.stderr, /ERROR in the portcullis Lambda config: \$: PORTCULLIS_LOG_LEVEL must be one of debug, info, warn, error, silent/);
  });
});
