/**
 * Writes src/config/generated/: ajv's standalone code for the config schemas
 * (the gateway config, an `auth/validator` block, the issuer config), so that
 * loading a config neither imports TypeBox nor compiles with ajv, which were
 * about a third of the CPU of every `portcullis` process. The TypeBox schemas
 * stay the one definition: test/config/generated-validators.test.ts compares
 * the committed files with renderValidatorModule(), and the errors of the
 * precompiled validators with those of ajv.compile on the same schemas.
 * Run: node --import tsx scripts/write-validators.ts
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Ajv, type Options } from 'ajv';
import standalone from 'ajv/dist/standalone/index.js';
import type { TSchema } from '@sinclair/typebox';
import { GatewayConfigSchema } from '../src/config/schema.js';
import { ValidatorSchema } from '../src/config/validator-schema.js';
import { IssuerConfigSchema } from '../src/issuer/config-schema.js';

// The package root is one level up from scripts/ and two from the compiled copy the tests import; find it rather than assume.
function packageRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  throw new Error('package.json not found above scripts/write-validators');
}

/** Where the validators are written: nothing else lives there, so the lint and coverage can leave the directory out. */
export const VALIDATORS_DIR = join(packageRoot(), 'src', 'config', 'generated');

/**
 * What src/config/validate.ts reads: every error (`allErrors`), each with the schema that failed (`verbose`:
 * `parentSchema` names the known keys of an object and the branches of a union). `strict` off: TypeBox's
 * schemas carry keywords ajv does not know. The code is not optimised: that pass made compiling slower when
 * it ran at every start, and it changes no result.
 */
export const VALIDATOR_OPTIONS = { allErrors: true, strict: false, verbose: true, code: { optimize: false } } satisfies Options;

interface GeneratedValidator {
  /** File name in VALIDATORS_DIR. */
  file: string;
  /** Name of the exported validate function. */
  name: string;
  schema: TSchema;
  /** Where the schema is defined, for the header. */
  source: string;
  /** More exports: declarations of the module. */
  extra?: () => string[];
}

/**
 * One module per schema, so that a process loads only the validators it runs: the issuer does not parse the
 * gateway's, and a Lambda bundle holds only the `auth/validator` one.
 */
export const GENERATED_VALIDATORS: readonly GeneratedValidator[] = [
  { file: 'gateway-config.ts', name: 'validateGatewayConfig', schema: GatewayConfigSchema, source: 'src/config/schema.ts' },
  {
    file: 'validator-config.ts',
    name: 'validateValidatorConfig',
    schema: ValidatorSchema,
    source: 'src/config/validator-schema.ts',
    extra: () => [
      '/** The keys an `auth/validator` block may hold (load.ts recognises their KrakenD v1 spellings). */',
      `export const VALIDATOR_CONFIG_KEYS: readonly string[] = ${JSON.stringify(Object.keys(ValidatorSchema.properties))};`,
      '',
    ],
  },
  { file: 'issuer-config.ts', name: 'validateIssuerConfig', schema: IssuerConfigSchema, source: 'src/issuer/config-schema.ts' },
];

/** The one runtime helper ajv's code requires, and how the ES module reaches it instead. */
const UCS2LENGTH_REQUIRE = 'require("ajv/dist/runtime/ucs2length").default';

/** ajv's code for one schema, as a typed ES module. */
export function renderValidatorModule(validator: GeneratedValidator): string {
  // A statement a line (`lines`), so that a change of a schema is a readable diff.
  const ajv = new Ajv({ ...VALIDATOR_OPTIONS, code: { ...VALIDATOR_OPTIONS.code, source: true, esm: true, lines: true } });
  ajv.addSchema(validator.schema, validator.name);
  let code = standalone.default(ajv, { [validator.name]: validator.name });
  // ajv's ES module output still require()s its runtime helpers; an ES module has no require.
  const usesUcs2length = code.includes(UCS2LENGTH_REQUIRE);
  code = code.split(UCS2LENGTH_REQUIRE).join('ucs2length.default');
  if (code.includes('require(')) throw new Error(`ajv's code for ${validator.name} requires a helper this script does not import`);
  // Modules are strict anyway; after the imports the directive would be a stray string.
  const strict = '"use strict";';
  if (code.startsWith(strict)) code = code.slice(strict.length);
  // A typed export: the file is not type-checked, what imports it is.
  const plain = `export const ${validator.name} = `;
  if (code.split(plain).length !== 2) throw new Error(`ajv's code does not export ${validator.name} once`);
  code = code.replace(plain, `export const ${validator.name}: ConfigValidator = `);
  return [
    '// @ts-nocheck',
    `// Generated by scripts/write-validators.ts: ajv's standalone code for the TypeBox schema in ${validator.source},`,
    '// so that a start neither loads TypeBox nor compiles with ajv. Do not edit; run node --import tsx scripts/write-validators.ts',
    ...(usesUcs2length ? ["import ucs2length from 'ajv/dist/runtime/ucs2length.js';"] : []),
    "import type { ConfigValidator } from '../validate.js';",
    '',
    ...(validator.extra?.() ?? []),
    code.trim(),
    '',
  ].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  mkdirSync(VALIDATORS_DIR, { recursive: true });
  for (const validator of GENERATED_VALIDATORS) {
    const file = join(VALIDATORS_DIR, validator.file);
    writeFileSync(file, renderValidatorModule(validator));
    console.log(`wrote ${file}`);
  }
}
