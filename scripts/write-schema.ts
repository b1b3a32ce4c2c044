/**
 * Writes schema/portcullis.schema.json from GatewayConfigSchema, the one
 * definition the loader validates with. Run: node --import tsx scripts/write-schema.ts
 * A test compares the committed file with renderGatewayJsonSchema(), so the
 * published schema cannot drift from the code.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GatewayConfigSchema } from '../src/config/schema.js';

// The package root is one level up from scripts/ and two from the compiled copy the tests import; find it rather than assume.
function packageRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  throw new Error('package.json not found above scripts/write-schema');
}

export const SCHEMA_FILE = join(packageRoot(), 'schema', 'portcullis.schema.json');
export const SCHEMA_ID = 'urn:portcullis:schema:gateway-config:v3';

export function buildGatewayJsonSchema(): Record<string, unknown> {
  // JSON round trip drops TypeBox's symbol-keyed metadata, leaving plain JSON Schema.
  const plain = JSON.parse(JSON.stringify(GatewayConfigSchema)) as Record<string, unknown>;
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: SCHEMA_ID,
    title: 'portcullis gateway configuration',
    ...plain,
  };
}

export function renderGatewayJsonSchema(): string {
  return `${JSON.stringify(buildGatewayJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(SCHEMA_FILE, renderGatewayJsonSchema());
  console.log(`wrote ${SCHEMA_FILE}`);
}
