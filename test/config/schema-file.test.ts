import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { buildGatewayJsonSchema, renderGatewayJsonSchema, SCHEMA_FILE, SCHEMA_ID } from '../../scripts/write-schema.js';
import { SEED_CONFIG } from './helpers.js';

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
});
