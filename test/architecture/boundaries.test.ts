/**
 * The layering of src/ (see docs/architecture.md): each folder imports only
 * from the folders below it, and no two files import each other, even through
 * others or for types only. Cycles make the picture unreadable and the next
 * feature harder to place, so this test fails on any of them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fromRoot } from '../support/repo-root.js';

const SRC = fromRoot('src');

/** What each folder may import, bottom to top. A folder may always import itself. */
export const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  lib: [],
  jwt: ['lib'],
  keys: ['lib', 'jwt'],
  authorizer: ['lib', 'jwt', 'keys'],
  config: ['lib', 'jwt', 'keys', 'authorizer'],
  runtime: ['lib', 'jwt', 'keys', 'authorizer', 'config', 'redis', 'revocation', 'ratelimit'],
  routing: ['lib'],
  http: ['lib', 'jwt', 'authorizer'],
  // Shared state for a fleet: the Redis connection, then revocation and rate limits on top of it.
  redis: ['lib'],
  revocation: ['lib', 'jwt', 'authorizer', 'redis'],
  ratelimit: ['lib', 'jwt', 'authorizer', 'redis'],
  // The revocation admin listener, started by the CLI beside a gateway or forward-auth.
  admin: ['lib', 'config', 'http', 'revocation'],
  metrics: ['lib', 'jwt', 'keys', 'authorizer', 'config', 'runtime', 'http', 'revocation', 'ratelimit'],
  gateway: ['lib', 'jwt', 'keys', 'authorizer', 'config', 'runtime', 'routing', 'http', 'metrics', 'revocation', 'ratelimit'],
  'adapters/forward-auth': ['lib', 'jwt', 'keys', 'authorizer', 'config', 'runtime', 'routing', 'http', 'metrics', 'revocation', 'ratelimit'],
  'adapters/lambda': ['lib', 'jwt', 'keys', 'authorizer', 'config', 'runtime', 'revocation'],
  'adapters/middleware': ['lib', 'jwt', 'keys', 'authorizer', 'config', 'runtime', 'http', 'revocation'],
  // The development issuer is an app of its own beside the product.
  issuer: ['lib', 'jwt', 'config', 'http'],
  demo: ['lib', 'jwt', 'config', 'runtime', 'http', 'metrics', 'revocation', 'gateway', 'issuer'],
  cli: ['lib', 'jwt', 'keys', 'authorizer', 'config', 'runtime', 'routing', 'http', 'metrics', 'redis', 'revocation', 'ratelimit', 'admin', 'gateway', 'adapters/forward-auth', 'adapters/lambda', 'adapters/middleware', 'issuer', 'demo'],
  // src/index.ts, the library's public surface.
  '(root)': ['lib', 'jwt', 'keys', 'authorizer', 'config', 'runtime', 'routing', 'http', 'metrics', 'redis', 'revocation', 'ratelimit', 'adapters/forward-auth', 'adapters/lambda', 'adapters/middleware'],
};

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;

export type Graph = ReadonlyMap<string, readonly string[]>;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

/** File → the files it imports, as paths relative to src/ (`gateway/server.ts`). */
export function importGraph(root: string): Graph {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(root)) {
    const targets: string[] = [];
    for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      targets.push(relative(root, normalize(join(dirname(file), match[1]!.replace(/\.js$/, '.ts')))));
    }
    graph.set(relative(root, file), targets);
  }
  return graph;
}

export function folderOf(file: string): string {
  const parts = file.split('/');
  if (parts.length === 1) return '(root)';
  return parts[0] === 'adapters' && parts.length > 2 ? `adapters/${parts[1]}` : parts[0]!;
}

/** Imports that cross into a folder not on the importer's list (or from a folder the list does not know). */
export function forbiddenEdges(graph: Graph, allowed: Readonly<Record<string, readonly string[]>>): string[] {
  const found: string[] = [];
  for (const [file, targets] of graph) {
    const from = folderOf(file);
    for (const target of targets) {
      const to = folderOf(target);
      if (to === from) continue;
      if (!(from in allowed)) found.push(`${file}: folder "${from}" is not in the layering`);
      else if (!allowed[from]!.includes(to)) found.push(`${file} → ${target} (${from} may not import ${to})`);
    }
  }
  return found;
}

/** Strongly connected groups of more than one file (Tarjan). */
export function importCycles(graph: Graph): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const group: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        group.push(member);
      } while (member !== node);
      if (group.length > 1) cycles.push(group.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

describe('the layering of src/', () => {
  const graph = importGraph(SRC);

  test('finds the sources and their imports', () => {
    assert.ok(graph.size > 50, `only ${graph.size} files found under src/`);
    assert.ok(graph.get('gateway/server.ts')?.includes('runtime/bind-plan.ts'));
  });

  test('every folder imports only from the folders below it', () => {
    assert.deepEqual(forbiddenEdges(graph, ALLOWED), []);
  });

  test('no import cycles between files', () => {
    assert.deepEqual(importCycles(graph), []);
  });

  test('the checks themselves catch an upward import and a cycle', () => {
    const bad: Graph = new Map([
      ['jwt/a.ts', ['authorizer/b.ts']],
      ['authorizer/b.ts', ['jwt/a.ts']],
      ['lib/c.ts', []],
    ]);
    assert.deepEqual(forbiddenEdges(bad, ALLOWED), ['jwt/a.ts → authorizer/b.ts (jwt may not import authorizer)']);
    assert.deepEqual(importCycles(bad), [['authorizer/b.ts', 'jwt/a.ts']]);
  });
});
