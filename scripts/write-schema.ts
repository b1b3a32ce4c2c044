/**
 * Writes schema/portcullis.schema.json from GatewayConfigSchema, the one
 * definition the loader validates with. Run: node --import tsx scripts/write-schema.ts
 * A test compares the committed file with renderGatewayJsonSchema(), so the
 * published schema cannot drift from the code.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GatewayConfigSchema } from '../src/config/schema.js';

export const SCHEMA_FILE = fileURLToPath(new URL('../schema/portcullis.schema.json', import.meta.url));
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
