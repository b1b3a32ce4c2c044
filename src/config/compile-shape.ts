/**
 * A backend's response manipulation keys (`target`, `allow`, `deny`,
 * `mapping`, `group`, `extra_config.proxy.flatmap_filter`) compiled once
 * into the plan's ResponseShape, and an endpoint's own flatmap_filter: dotted
 * paths are split here, never per request. The trees follow lura's
 * `proxy/formatter.go` as it builds them, so the same config selects the same
 * fields. The gateway applies the shape (src/gateway/response-shape.ts).
 */
import type { FlatmapOp, KeyTree, ResponseShape } from './plan.js';
import type { BackendConfig, EndpointConfig } from './schema.js';
import type { ConfigIssue } from './validate.js';

type MutableTree = Map<string, MutableTree | null>;
type FlatmapConfig = NonNullable<NonNullable<NonNullable<BackendConfig['extra_config']>['proxy']>['flatmap_filter']>;

/** Where compile issues go: `at` turns a JSON pointer into the config's JSON path. */
export interface ShapeContext {
  readonly at: (pointer: string) => string;
  readonly issues: ConfigIssue[];
}

/** The backend's ResponseShape, or undefined when it asks for no manipulation. `pointer` is the backend's JSON pointer. */
export function compileResponseShape(backend: BackendConfig, pointer = '', ctx?: ShapeContext): ResponseShape | undefined {
  const target = backend.target ? backend.target.split('.') : undefined;
  const allow = backend.allow && backend.allow.length > 0 ? allowTree(backend.allow) : undefined;
  const deny = backend.deny && backend.deny.length > 0 ? denyTree(backend.deny) : undefined;
  // lura keeps the part of a new name before its first dot: a mapping renames top-level keys only.
  const mapping = Object.entries(backend.mapping ?? {})
    .map(([from, to]) => Object.freeze([from, to.split('.')[0]!] as const))
    .filter(([from, to]) => from !== to);
  const group = backend.group ? backend.group : undefined;
  const flatmapPointer = `${pointer}/extra_config/proxy/flatmap_filter`;
  const flatmap = compileFlatmap(backend.extra_config?.proxy?.flatmap_filter, flatmapPointer, ctx);
  if (flatmap !== undefined && ctx !== undefined) {
    // lura runs either flatmap or these three: KrakenD would silently skip a deny next to a flatmap_filter.
    const skipped = { allow, deny, mapping: mapping.length > 0 ? mapping : undefined };
    for (const [key, value] of Object.entries(skipped)) {
      if (value === undefined) continue;
      ctx.issues.push({
        path: ctx.at(`${pointer}/${key}`),
        message: `is ignored by KrakenD when extra_config.proxy.flatmap_filter is set; remove it, or write it as a flatmap operation (del, move)`,
      });
    }
  }
  if (target === undefined && allow === undefined && deny === undefined && mapping.length === 0 && group === undefined && flatmap === undefined) return undefined;
  return Object.freeze({ target: target && Object.freeze(target), allow, deny, mapping: Object.freeze(mapping), group, flatmap });
}

/** The endpoint's own flatmap_filter, run on the merged answer; undefined for none. */
export function compileEndpointFlatmap(endpoint: EndpointConfig, pointer: string, ctx: ShapeContext): readonly FlatmapOp[] | undefined {
  return compileFlatmap(endpoint.extra_config?.proxy?.flatmap_filter, `${pointer}/extra_config/proxy/flatmap_filter`, ctx);
}

/**
 * Splits each argument once and checks each operation's arity, which KrakenD
 * does not (a `move` with one argument panics there on every request). An
 * empty list is no flatmap, as in lura.
 */
function compileFlatmap(ops: FlatmapConfig | undefined, pointer: string, ctx: ShapeContext | undefined): readonly FlatmapOp[] | undefined {
  if (ops === undefined || ops.length === 0) return undefined;
  const compiled: FlatmapOp[] = [];
  ops.forEach((op, k) => {
    const args = op.args.map((arg) => Object.freeze(arg.split('.')));
    if (op.type === 'del') {
      compiled.push(Object.freeze({ type: 'del', args: Object.freeze(args) }));
    } else if (args.length !== 2) {
      ctx?.issues.push({ path: ctx.at(`${pointer}/${k}/args`), message: `"${op.type}" takes two arguments, [from, to] (found ${args.length})` });
    } else {
      compiled.push(Object.freeze({ type: op.type, args: Object.freeze([args[0]!, args[1]!] as const) }));
    }
  });
  return Object.freeze(compiled);
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
  if (backend.extra_config?.proxy?.flatmap_filter && backend.extra_config.proxy.flatmap_filter.length > 0) keys.push('extra_config/proxy/flatmap_filter');
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
