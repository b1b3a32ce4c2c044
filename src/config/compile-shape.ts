/**
 * A backend's response manipulation keys (`target`, `allow`, `deny`,
 * `mapping`, `group`) compiled once into the plan's ResponseShape: dotted
 * paths are split here, never per request. The trees follow lura's
 * `proxy/formatter.go` as it builds them, so the same config selects the same
 * fields. The gateway applies the shape (src/gateway/response-shape.ts).
 */
import type { KeyTree, ResponseShape } from './plan.js';
import type { BackendConfig } from './schema.js';

type MutableTree = Map<string, MutableTree | null>;

/** The backend's ResponseShape, or undefined when it asks for no manipulation. */
export function compileResponseShape(backend: BackendConfig): ResponseShape | undefined {
  const target = backend.target ? backend.target.split('.') : undefined;
  const allow = backend.allow && backend.allow.length > 0 ? allowTree(backend.allow) : undefined;
  const deny = backend.deny && backend.deny.length > 0 ? denyTree(backend.deny) : undefined;
  // lura keeps the part of a new name before its first dot: a mapping renames top-level keys only.
  const mapping = Object.entries(backend.mapping ?? {})
    .map(([from, to]) => Object.freeze([from, to.split('.')[0]!] as const))
    .filter(([from, to]) => from !== to);
  const group = backend.group ? backend.group : undefined;
  if (target === undefined && allow === undefined && deny === undefined && mapping.length === 0 && group === undefined) return undefined;
  return Object.freeze({ target: target && Object.freeze(target), allow, deny, mapping: Object.freeze(mapping), group });
}

/** The manipulation keys the backend sets to something that changes its answer. */
export function manipulationKeys(backend: BackendConfig): string[] {
  const keys: string[] = [];
  if (backend.target) keys.push('target');
  if (backend.allow && backend.allow.length > 0) keys.push('allow');
  if (backend.deny && backend.deny.length > 0) keys.push('deny');
  if (backend.mapping && Object.keys(backend.mapping).length > 0) keys.push('mapping');
  if (backend.group) keys.push('group');
  if (backend.is_collection) keys.push('is_collection');
  return keys;
}

/**
 * lura's allow tree (`buildDictPath`): each path walks the tree, replacing a
 * whole-value leaf it passes through by a subtree, and its last key becomes a
 * whole-value leaf. So a later entry wins where two overlap: `["a", "a.b"]`
 * keeps only `a.b`, `["a.b", "a"]` all of `a`.
 */
function allowTree(paths: readonly string[]): KeyTree {
  const root: MutableTree = new Map();
  for (const path of paths) {
    const keys = path.split('.');
    let node = root;
    for (let i = 0; i < keys.length - 1; i++) {
      let next = node.get(keys[i]!);
      if (next === undefined || next === null) {
        next = new Map();
        node.set(keys[i]!, next);
      }
      node = next;
    }
    node.set(keys[keys.length - 1]!, null);
  }
  return root;
}

/** lura's deny tree (`buildDenyTree`): a shorter path removes its whole value, whatever order the entries come in. */
function denyTree(paths: readonly string[]): KeyTree {
  const root: MutableTree = new Map();
  for (const path of paths) {
    const keys = path.split('.');
    let node = root;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (i === keys.length - 1) {
        node.set(key, null);
        break;
      }
      const next = node.get(key);
      // Already removed whole: a deeper path adds nothing.
      if (next === null) break;
      if (next === undefined) {
        const child: MutableTree = new Map();
        node.set(key, child);
        node = child;
      } else {
        node = next;
      }
    }
  }
  return root;
}
