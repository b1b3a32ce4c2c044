/** Shared helpers for config tests: minimal configs and ConfigError assertions. */
import assert from 'node:assert/strict';
import { ConfigError, type ConfigIssue } from '../../src/config/validate.js';

export const SEED_CONFIG = {
  version: 3,
  timeout: '3s',
  endpoints: [
    {
      endpoint: '/descope-protected',
      extra_config: { 'auth/validator': { alg: 'RS256', jwk_url: 'https://api.descope.com/v2/keys/<project_id>' } },
      backend: [{ host: ['http://localhost:8080'], url_pattern: '/__health' }],
    },
  ],
};

/** One endpoint with one backend; `endpoint` and `backend` fields override the defaults. */
export function configWith(endpoint: Record<string, unknown> = {}, root: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: 3,
    ...root,
    endpoints: [{ endpoint: '/a', backend: [{ host: ['http://127.0.0.1:9'], url_pattern: '/' }], ...endpoint }],
  };
}

/** Runs `fn`, expects a ConfigError, and returns its issues. */
export function configIssues(fn: () => unknown): readonly ConfigIssue[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.issues;
  }
  assert.fail('expected a ConfigError, but nothing was thrown');
}

/** Asserts that `fn` fails with exactly the issues given (path and message, in order). */
export function assertIssues(fn: () => unknown, expected: readonly ConfigIssue[]): void {
  assert.deepEqual(
    configIssues(fn).map(({ path, message }) => ({ path, message })),
    expected,
  );
}

/** Asserts that `fn` fails with one issue at `path` whose message matches. */
export function assertIssue(fn: () => unknown, path: string, message: string | RegExp): void {
  const issues = configIssues(fn);
  assert.equal(issues.length, 1, `expected one issue, got ${JSON.stringify(issues)}`);
  assert.equal(issues[0]!.path, path);
  if (typeof message === 'string') assert.equal(issues[0]!.message, message);
  else assert.match(issues[0]!.message, message);
}
