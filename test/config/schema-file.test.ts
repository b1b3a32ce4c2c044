import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { buildGatewayJsonSchema, renderGatewayJsonSchema, SCHEMA_FILE, SCHEMA_ID } from '../../scripts/write-schema.js';
import { compileGateway } from '../../src/config/compile.js';
import { RateLimitSchema, RedisRateLimitSchema, type GatewayConfig } from '../../src/config/schema.js';
import { configWith, SEED_CONFIG } from './helpers.js';

describe('schema/portcullis.schema.json', () => {
  it('is the file scripts/write-schema.ts generates (run: node --import tsx scripts/write-schema.ts)', () => {
    assert.equal(readFileSync(SCHEMA_FILE, 'utf8'), renderGatewayJsonSchema());
  });

  it('has an $id and a title, and is usable by a plain JSON Schema validator', () => {
    const schema = buildGatewayJsonSchema();
    assert.equal(schema.$id, SCHEMA_ID);
    assert.equal(typeof schema.title, 'string');
    const validate = new Ajv({ strict: false }).compile(schema);
    assert.equal(validate(SEED_CONFIG), true);
    assert.equal(validate({ ...SEED_CONFIG, version: 2 }), false);
    assert.equal(validate({ ...SEED_CONFIG, unknown_root_key: 1 }), false);
  });

  it('states the default of ratelimit_headers that the compiler applies (on)', () => {
    const plan = compileGateway(configWith({ extra_config: { 'qos/ratelimit/router': { client_max_rate: 5 } } }) as GatewayConfig);
    assert.equal(plan.endpoints[0]!.rateLimits[0]!.headers, true);
    for (const schema of [RateLimitSchema, RedisRateLimitSchema]) {
      assert.match(String(schema.properties.ratelimit_headers.description), /\(default true[;)]/);
    }
  });
});
