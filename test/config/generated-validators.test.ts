/**
 * src/config/generated/ holds ajv's code for the config schemas, written ahead
 * of time so a start neither loads TypeBox nor compiles with ajv. These tests
 * keep that code a pure function of the TypeBox schemas: the committed files
 * are what scripts/write-validators.ts writes now, and the precompiled
 * validators fail exactly as ajv.compile of the same schemas with the same
 * options does (the errors, and the config issues made of them), over the
 * examples, the built-in issuer config and every single edit of them and of a
 * document that holds every key of each schema.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Ajv, type ErrorObject } from 'ajv';
import type { TSchema } from '@sinclair/typebox';
import { renderValidatorFiles, VALIDATOR_OPTIONS, VALIDATORS_DIR } from '../../scripts/write-validators.js';
import { validateGatewayConfig } from '../../src/config/generated/gateway-config.js';
import { validateIssuerConfig } from '../../src/config/generated/issuer-config.js';
import { VALIDATOR_CONFIG_KEYS, validateValidatorConfig } from '../../src/config/generated/validator-config.js';
import { GatewayConfigSchema } from '../../src/config/schema.js';
import { checkSchema, type ConfigValidator } from '../../src/config/validate.js';
import { ValidatorSchema } from '../../src/config/validator-schema.js';
import { IssuerConfigSchema } from '../../src/issuer/config-schema.js';
import { DEFAULT_ISSUER_CONFIG } from '../../src/issuer/default-config.js';
import { ROOT } from '../support/repo-root.js';
import { SEED_CONFIG } from './helpers.js';

const readJson = (path: string): unknown => JSON.parse(readFileSync(join(ROOT, path), 'utf8'));

const GATEWAY_EXAMPLES = ['examples/demo.json', 'examples/krakend-descope.json', 'examples/login-signer.json', 'examples/nginx/portcullis.json', 'examples/fleet/fleet.json'];
const LAMBDA_EXAMPLES = ['examples/lambda/portcullis-lambda.json', 'examples/lambda/portcullis-lambda-tenant.json'];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface SchemaShape {
  anyOf?: SchemaShape[];
  const?: unknown;
  type?: string;
  properties?: Record<string, SchemaShape>;
  items?: SchemaShape;
  pattern?: string;
  minLength?: number;
  minimum?: number;
}

/** A document with every key a schema names, the first branch of each union, and values that fit the usual constraints. */
function fullDocument(schema: SchemaShape): Json {
  if (schema.anyOf) return fullDocument(schema.anyOf[0]!);
  if ('const' in schema) return schema.const as Json;
  switch (schema.type) {
    case 'object':
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([key, value]) => [key, fullDocument(value)]));
    case 'array':
      return schema.items ? [fullDocument(schema.items)] : [];
    case 'string': {
      if (schema.pattern === undefined) return 'x'.repeat(Math.max(1, schema.minLength ?? 0));
      const pattern = new RegExp(schema.pattern, 'u');
      return ['1s', '/x', 'http://x', 'redis://x', 'abc-12345678'].find((candidate) => pattern.test(candidate)) ?? 'x';
    }
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    default:
      return 'anything';
  }
}

const WRONG_VALUES: readonly Json[] = [null, 'x', '', -1, 1.5, 70_000, true, [], ['x'], {}, { '@comment': 1 }];

/** The document with one edit: every value replaced by each wrong value, every key removed, an unknown and a misspelled key in every object. */
function* singleEdits(document: Json): Generator<Json> {
  yield document;
  function* at(value: Json, replace: (next: Json | undefined) => Json): Generator<Json> {
    for (const wrong of WRONG_VALUES) yield replace(wrong);
    if (Array.isArray(value)) {
      yield replace([...value, {}]);
      for (let i = 0; i < value.length; i++) {
        yield* at(value[i]!, (next) => replace(next === undefined ? value.filter((_, j) => j !== i) : value.map((item, j) => (j === i ? next : item))));
      }
    } else if (value !== null && typeof value === 'object') {
      const keys = Object.keys(value);
      yield replace({ ...value, zz_unknown: 1 });
      if (keys[0] !== undefined) yield replace({ ...value, [`${keys[0]}x`]: 1 });
      for (const key of keys) {
        yield* at(value[key]!, (next) => {
          const copy = { ...value };
          if (next === undefined) delete copy[key];
          else copy[key] = next;
          return replace(copy);
        });
      }
    }
  }
  yield* at(document, (next) => next ?? null);
}

/** Errors as JSON: the schemas a precompiled validator points at are copies, ajv.compile's are TypeBox's objects (whose extra keys are symbols). */
const stringified = new WeakMap<object, string>();
function comparable(errors: readonly ErrorObject[] | null | undefined): unknown[] {
  const text = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object') return value;
    let json = stringified.get(value);
    if (json === undefined) stringified.set(value, (json = JSON.stringify(value)));
    return json;
  };
  return (errors ?? []).map((error) => ({ ...error, schema: text(error.schema), parentSchema: text(error.parentSchema) }));
}

/** Runs both validators over every single edit of every document; returns how many documents were checked and how many failed. */
function assertSameErrors(precompiled: ConfigValidator, schema: TSchema, documents: readonly Json[], basePath: string): { checked: number; invalid: number } {
  const compiled = new Ajv(VALIDATOR_OPTIONS).compile(schema);
  let checked = 0;
  let invalid = 0;
  for (const document of documents) {
    for (const edited of singleEdits(document)) {
      const valid = precompiled(edited);
      const outcomes = [
        [valid, compiled(edited)],
        [comparable(precompiled.errors), comparable(compiled.errors)],
        [checkSchema(precompiled, edited, basePath), checkSchema(compiled, edited, basePath)],
      ];
      // The message (the document) is written only for a difference: there are thousands of documents.
      for (const [actual, expected] of outcomes) {
        if (!isDeepStrictEqual(actual, expected)) assert.deepEqual(actual, expected, `for ${JSON.stringify(edited)}`);
      }
      checked++;
      if (!valid) invalid++;
    }
  }
  return { checked, invalid };
}

describe('src/config/generated (ajv validators precompiled from the TypeBox schemas)', () => {
  it('holds exactly the files scripts/write-validators.ts writes (run: node --import tsx scripts/write-validators.ts)', () => {
    const files = renderValidatorFiles();
    assert.deepEqual(readdirSync(VALIDATORS_DIR).sort(), [...files.keys()].sort());
    for (const [name, text] of files) assert.equal(readFileSync(join(VALIDATORS_DIR, name), 'utf8'), text, name);
  });

  it('lists the keys of the validator block', () => {
    assert.deepEqual(VALIDATOR_CONFIG_KEYS, Object.keys(ValidatorSchema.properties));
  });

  it('the gateway validator fails as ajv.compile does, over the examples and every single edit of them', () => {
    const examples = [SEED_CONFIG as Json, ...GATEWAY_EXAMPLES.map((path) => readJson(path) as Json)];
    const { checked, invalid } = assertSameErrors(validateGatewayConfig, GatewayConfigSchema, [...examples, fullDocument(GatewayConfigSchema as SchemaShape)], '$');
    // The examples are valid; nearly every edit is not, so the comparison is mostly of errors.
    assert.ok(invalid > checked * 0.8, `${invalid} of ${checked} documents were invalid`);
  });

  it('the auth/validator validator fails as ajv.compile does, over the examples\' blocks and every single edit of them', () => {
    const blocks: Json[] = LAMBDA_EXAMPLES.map((path) => (readJson(path) as { validator: Json }).validator);
    for (const path of GATEWAY_EXAMPLES) {
      for (const endpoint of (readJson(path) as { endpoints: { extra_config?: Record<string, Json> }[] }).endpoints) {
        const block = endpoint.extra_config?.['auth/validator'];
        if (block !== undefined) blocks.push(block);
      }
    }
    assert.ok(blocks.length > 5);
    const { invalid } = assertSameErrors(validateValidatorConfig, ValidatorSchema, [...blocks, fullDocument(ValidatorSchema as SchemaShape)], '$.endpoints[0].extra_config["auth/validator"]');
    assert.ok(invalid > 0);
  });

  it('the issuer validator fails as ajv.compile does, over the built-in config, the example and every single edit of them', () => {
    const documents = [DEFAULT_ISSUER_CONFIG as Json, readJson('examples/issuer.json') as Json, fullDocument(IssuerConfigSchema as SchemaShape)];
    const { invalid } = assertSameErrors(validateIssuerConfig, IssuerConfigSchema, documents, '$');
    assert.ok(invalid > 0);
  });
});
