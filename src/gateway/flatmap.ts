/**
 * KrakenD's `flatmap_filter` (lura `proxy/formatter.go` over the krakend
 * `flatmap/tree` package): the answer becomes a tree whose edges are object
 * keys and array indexes, the operations edit the tree, and the tree becomes
 * JSON again. Working on the tree rather than on the JSON is what gives the
 * operations KrakenD's exact behaviour, quirks included:
 *
 * - indexes are labels given once: after `del a.0`, `a.1` still names the
 *   second original item, and the array closes the gap when it is written;
 * - a container emptied by `del` (or by moving its last child away) is
 *   written as null, while one that was empty in the answer stays [] or {};
 * - `move` with paths of equal length renames the last key only; a shorter
 *   destination lifts the value up the tree (wildcards take the indexes the
 *   source matched), a longer one nests it below the source's parent;
 * - `append` concatenates the array at the first path onto the array at the
 *   second and deletes the first; anything else is left alone.
 *
 * Go's random map order only reaches an answer where two keys collide after a
 * rename; here the later key wins, as in a JSON object. Recursion follows the
 * answer's depth, which the decoder bounds (json-literals.ts).
 */
import type { FlatmapOp } from '../config/plan.js';

type JsonObject = Record<string, unknown>;

// Kept here rather than imported from response-shape.ts, which imports this file.
function isJsonObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const WILDCARD = '*';

interface Edge {
  label: string;
  node: TreeNode;
}

class TreeNode {
  /** The value of a leaf; undefined for a container whose children were all removed (written as null). */
  value: unknown = undefined;
  isCollection = false;
  edges: Edge[] = [];
}

/** Runs the operations on `data` and returns the result (an empty object when the root is no longer one). */
export function applyFlatmap(ops: readonly FlatmapOp[], data: JsonObject): JsonObject {
  const root = new TreeNode();
  flatten(root, data);
  for (const op of ops) {
    if (op.type === 'del') for (const path of op.args) remove(root, path, 0);
    else if (op.type === 'move') move(root, op.args[0], op.args[1]);
    else append(root, op.args[0], op.args[1]);
  }
  const out = expand(root);
  return isJsonObject(out) ? out : (Object.create(null) as JsonObject);
}

/**
 * Loads `value` into `node`. A node that already has children (append loads
 * a list onto one) merges by label, as the Go tree does; the labels are
 * looked up in a map built once, so a large answer costs linear time, not
 * quadratic.
 */
function flatten(node: TreeNode, value: unknown): void {
  let entries: [string, unknown][] | undefined;
  if (Array.isArray(value)) {
    node.isCollection = true;
    if (value.length === 0) node.value = value;
    entries = value.map((item, i) => [String(i), item]);
  } else if (isJsonObject(value)) {
    node.isCollection = false;
    const keys = Object.keys(value);
    if (keys.length === 0) node.value = value;
    entries = keys.map((key) => [key, value[key]]);
  } else {
    node.isCollection = false;
    node.value = value;
    return;
  }
  let existing: Map<string, Edge> | undefined;
  if (node.edges.length > 0) {
    existing = new Map();
    for (const edge of node.edges) if (!existing.has(edge.label)) existing.set(edge.label, edge);
  }
  for (const [label, item] of entries) {
    const edge = existing?.get(label);
    if (edge !== undefined) {
      flatten(edge.node, item);
      continue;
    }
    const child = new TreeNode();
    node.edges.push({ label, node: child });
    flatten(child, item);
  }
}

/** Loads `value` at `path` below `node`, making the missing levels. */
function add(node: TreeNode, path: readonly string[], from: number, value: unknown): void {
  if (from === path.length) return flatten(node, value);
  const edge = node.edges.find((e) => e.label === path[from]);
  if (edge !== undefined) return add(edge.node, path, from + 1, value);
  const child = new TreeNode();
  node.edges.push({ label: path[from]!, node: child });
  add(child, path, from + 1, value);
}

function expand(node: TreeNode): unknown {
  if (node.edges.length === 0) return node.value === undefined ? null : node.value;
  if (node.isCollection) return node.edges.map((edge) => expand(edge.node));
  const out = Object.create(null) as JsonObject;
  for (const edge of node.edges) {
    const value = expand(edge.node);
    if (edge.label === '__proto__') Object.defineProperty(out, edge.label, { value, writable: true, enumerable: true, configurable: true });
    else out[edge.label] = value;
  }
  return out;
}

/** The value at `path`; a wildcard gives the list of what each child holds below it; undefined where nothing is. */
function get(node: TreeNode, path: readonly string[], from: number): unknown {
  if (from === path.length) return expand(node);
  if (node.edges.length === 0) return undefined;
  if (path[from] === WILDCARD) return node.edges.map((edge) => get(edge.node, path, from + 1) ?? null);
  const edge = node.edges.find((e) => e.label === path[from]);
  return edge === undefined ? undefined : get(edge.node, path, from + 1);
}

function remove(node: TreeNode, path: readonly string[], from: number): void {
  if (from === path.length || node.edges.length === 0) return;
  const key = path[from]!;
  const last = from === path.length - 1;
  if (key === WILDCARD) {
    if (last) node.edges = [];
    else for (const edge of node.edges) remove(edge.node, path, from + 1);
    return;
  }
  const index = node.edges.findIndex((e) => e.label === key);
  if (index === -1) return;
  if (last) node.edges.splice(index, 1);
  else remove(node.edges[index]!.node, path, from + 1);
}

interface Located {
  node: TreeNode;
  /** The labels from the root to `node`, wildcards resolved. */
  path: string[];
}

function move(root: TreeNode, src: readonly string[], dst: readonly string[]): void {
  let parents: Located[] = [{ node: root, path: [] }];
  for (let i = 0; i < src.length - 1; i++) {
    const step = src[i]!;
    const next: Located[] = [];
    for (const parent of parents) {
      for (const edge of parent.node.edges) {
        if (step !== WILDCARD && edge.label !== step) continue;
        next.push({ node: edge.node, path: [...parent.path, edge.label] });
        if (step !== WILDCARD) break;
      }
    }
    parents = next;
  }
  const label = src[src.length - 1]!;
  if (src.length === dst.length) {
    for (const parent of parents) {
      const edge = parent.node.edges.find((e) => e.label === label);
      if (edge !== undefined) edge.label = dst[dst.length - 1]!;
    }
    return;
  }
  const moving: { parent: Located; edge: Edge }[] = [];
  for (const parent of parents) {
    const index = parent.node.edges.findIndex((e) => e.label === label);
    if (index === -1) continue;
    moving.push({ parent, edge: parent.node.edges[index]! });
    parent.node.edges.splice(index, 1);
  }
  const newLabel = dst[dst.length - 1]!;
  if (src.length > dst.length) {
    // Lifted: walk the destination from the root as far as it exists (a wildcard takes the label the source matched there).
    for (const { parent, edge } of moving) {
      let node = root;
      for (let i = 0; i < dst.length - 1; i++) {
        const step = dst[i] === WILDCARD ? parent.path[i] : dst[i];
        const found = node.edges.find((e) => e.label === step);
        if (found === undefined) break;
        node = found.node;
      }
      edge.label = newLabel;
      node.edges.push(edge);
    }
    return;
  }
  // Nested: the destination's extra levels are found or made below the source's parent.
  for (const { parent, edge } of moving) {
    let node = parent.node;
    for (let i = src.length - 1; i < dst.length - 1; i++) {
      let found = node.edges.find((e) => e.label === dst[i]);
      if (found === undefined) {
        found = { label: dst[i]!, node: new TreeNode() };
        node.edges.push(found);
      }
      node = found.node;
    }
    edge.label = newLabel;
    node.edges.push(edge);
  }
}

function append(root: TreeNode, src: readonly string[], dst: readonly string[]): void {
  const appended = get(root, src, 0);
  const onto = get(root, dst, 0);
  if (!Array.isArray(appended) || !Array.isArray(onto)) return;
  add(root, dst, 0, [...onto, ...appended]);
  remove(root, src, 0);
}
