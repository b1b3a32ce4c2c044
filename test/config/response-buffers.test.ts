/**
 * `max_backend_response_size` and `max_buffered_bytes` in
 * `extra_config["portcullis/server"]`: defaults, overrides, and the errors a
 * bad value gets (with its JSON path).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileGateway } from '../../src/config/compile.js';
import { parseConfigText } from '../../src/config/load.js';
import { assertIssue, configIssues, configWith } from './helpers.js';

const compile = (config: unknown) => compileGateway(parseConfigText(JSON.stringify(config), 'test.json').config);
const server = (settings: Record<string, unknown>) => configWith({}, { extra_config: { 'portcullis/server': settings } });

describe('backend answer buffering limits', () => {
  it('default to 8 MiB per answer and 128 MiB in flight', () => {
    assert.deepEqual(compile(configWith()).responseBuffers, { maxBackendResponseSize: 8_388_608, maxBufferedBytes: 134_217_728 });
  });

  it('take the configured byte counts', () => {
    const plan = compile(server({ max_backend_response_size: 1_048_576, max_buffered_bytes: 4_194_304 }));
    assert.deepEqual(plan.responseBuffers, { maxBackendResponseSize: 1_048_576, maxBufferedBytes: 4_194_304 });
    assert.ok(Object.isFrozen(plan.responseBuffers));
  });

  it('refuse a budget smaller than one answer, naming the key that was set', () => {
    assertIssue(
      () => compile(server({ max_buffered_bytes: 1_000_000 })),
      '$.extra_config["portcullis/server"].max_buffered_bytes',
      'max_buffered_bytes (1000000) must be at least max_backend_response_size (8388608)',
    );
    assertIssue(
      () => compile(server({ max_backend_response_size: 200_000_000 })),
      '$.extra_config["portcullis/server"].max_backend_response_size',
      'max_buffered_bytes (134217728) must be at least max_backend_response_size (200000000)',
    );
  });

  it('refuse zero, negative and fractional sizes', () => {
    for (const [key, value] of [
      ['max_backend_response_size', 0],
      ['max_buffered_bytes', -1],
      ['max_backend_response_size', 1.5],
    ] as const) {
      const issues = configIssues(() => compile(server({ [key]: value })));
      assert.equal(issues[0]!.path, `$.extra_config["portcullis/server"].${key}`, JSON.stringify(issues));
    }
  });
});
