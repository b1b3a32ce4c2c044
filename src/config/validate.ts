/**
 * Runs a config validator (ajv's code for a TypeBox schema, precompiled into
 * src/config/generated/ by scripts/write-validators.ts) and turns its errors
 * into config issues that name a JSON path
 * (`$.endpoints[0].extra_config["auth/validator"].alg`). Unknown keys are
 * reported separately so a loader can warn or fail on them.
 */
import type { ErrorObject } from 'ajv';
import { DURATION_PATTERN } from '../lib/duration.js';
import { unknownKeyMessage } from './suggest.js';

export interface ConfigIssue {
  /** JSON path of the offending value, `$` for the root. */
  path: string;
  message: string;
}

export interface SchemaCheck {
  errors: ConfigIssue[];
  unknownKeys: ConfigIssue[];
}

export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];
  /** What the same load would have warned about: a file with errors still gets its unknown keys reported. */
  readonly warnings: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[], warnings: readonly ConfigIssue[] = []) {
    super(issues.map((issue) => `${issue.path}: ${issue.message}`).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
    this.warnings = warnings;
  }
}

/**
 * An ajv validate function compiled with the options of scripts/write-validators.ts (`allErrors`, `verbose`:
 * describeErrors reads every failure and its `parentSchema`).
 */
export interface ConfigValidator {
  (value: unknown): boolean;
  errors?: ErrorObject[] | null;
}

export function checkSchema(validate: ConfigValidator, value: unknown, basePath = '$'): SchemaCheck {
  if (validate(value)) return { errors: [], unknownKeys: [] };
  return describeErrors(validate.errors ?? [], basePath);
}

function describeErrors(raw: ErrorObject[], basePath: string): SchemaCheck {
  const unknownKeys: ConfigIssue[] = [];
  const errors: ConfigIssue[] = [];
  // A failed union reports every branch; report the union once instead.
  const unionPaths = raw.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath);
  const seen = new Set<string>();
  for (const error of raw) {
    if (error.keyword === 'additionalProperties') {
      const key = (error.params as { additionalProperty: string }).additionalProperty;
      const known = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      unknownKeys.push({ path: jsonPath(basePath, `${error.instancePath}/${escapePointer(key)}`), message: unknownKeyMessage(key, known) });
      continue;
    }
    if (error.keyword !== 'anyOf' && unionPaths.some((p) => isWithin(error.instancePath, p))) continue;
    // Nested unions fail together; the outermost one (shortest schema path) describes the value best.
    if (error.keyword === 'anyOf' && raw.some((other) => other.keyword === 'anyOf' && other.instancePath === error.instancePath && other.schemaPath.length < error.schemaPath.length)) continue;
    const path = jsonPath(basePath, error.instancePath);
    const message = error.keyword === 'anyOf' ? unionMessage(error) : plainMessage(error);
    const id = `${path}\u0000${message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    errors.push({ path, message });
  }
  return { errors, unknownKeys };
}

function isWithin(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

interface SchemaShape {
  anyOf?: SchemaShape[];
  const?: unknown;
  type?: string;
  items?: SchemaShape;
}

/** Describes what a union accepts: its literal values, or its kinds of value ("a string or a list"). */
function unionMessage(error: ErrorObject): string {
  const constants: string[] = [];
  const kinds: string[] = [];
  const visit = (schema: SchemaShape, inList: boolean): void => {
    if (schema.anyOf) return schema.anyOf.forEach((branch) => visit(branch, inList));
    if ('const' in schema) {
      if (!inList) constants.push(JSON.stringify(schema.const));
      else if (!kinds.includes('a list of them')) kinds.push('a list of them');
      return;
    }
    if (schema.type === 'array') {
      if (schema.items?.anyOf && schema.items.anyOf.every((b) => 'const' in b) && constants.length > 0) kinds.push('a list of them');
      else kinds.push(`a list${schema.items?.type ? ` of ${schema.items.type}s` : ''}`);
      return;
    }
    kinds.push(schema.type ? `a ${schema.type}` : 'a valid value');
  };
  visit((error.parentSchema ?? {}) as SchemaShape, false);
  if (constants.length > 0) {
    return `must be one of ${constants.join(', ')}${kinds.length > 0 ? `, or ${[...new Set(kinds)].join(' or ')}` : ''}`;
  }
  return `must be ${[...new Set(kinds)].join(' or ')}`;
}

const PATTERN_WORDING: Record<string, string> = {
  [DURATION_PATTERN]: 'must be a duration such as "500ms", "5s", "15m" or "1h"',
  '^/': 'must start with "/"',
  '^https?://': 'must start with "http://" or "https://"',
};

function plainMessage(error: ErrorObject): string {
  if (error.keyword === 'required') return `missing required key "${(error.params as { missingProperty: string }).missingProperty}"`;
  if (error.keyword === 'pattern') {
    const pattern = (error.params as { pattern: string }).pattern;
    return PATTERN_WORDING[pattern] ?? `must match the pattern ${pattern}`;
  }
  return error.message ?? 'is invalid';
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** `/endpoints/0/extra_config/auth~1validator` → `$.endpoints[0].extra_config["auth/validator"]`. */
export function jsonPath(basePath: string, pointer: string): string {
  if (pointer === '') return basePath;
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, segment) => {
      if (/^\d+$/.test(segment)) return `${path}[${segment}]`;
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) return `${path}.${segment}`;
      return `${path}[${JSON.stringify(segment)}]`;
    }, basePath);
}
