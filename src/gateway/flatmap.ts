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
  /**
   * Children in answer order. In an object node labels are unique (see
   * relabel); a list is written by position, so its labels may repeat after a
   * rename. Changed only through the helpers below.
   */
  edges: Edge[] = [];
  /** label → first edge with it, built on the first lookup in a large node and dropped when edges go or change name. */
  byLabel: Map<string, Edge> | undefined = undefined;
}

/** Below this many children a scan is cheaper than building a map. */
const INDEXED_FROM = 16;

/**
 * The first child edge named `label`. Large nodes (a list of thousands of
 * items) are looked up through a map, so an operation that visits every item
 * costs linear time, not quadratic.
 */
function findEdge(node: TreeNode, label: string): Edge | undefined {
  const edges = node.edges;
  if (edges.length < INDEXED_FROM) return edges.find((e) => e.label === label);
  if (node.byLabel === undefined) {
    const byLabel = new Map<string, Edge>();
    for (const edge of edges) if (!byLabel.has(edge.label)) byLabel.set(edge.label, edge);
    node.byLabel = byLabel;
  }
  return node.byLabel.get(label);
}

function pushEdge(node: TreeNode, edge: Edge): void {
  if (!node.isCollection) {
    // The new edge comes last, so it is the later key and wins a collision, as in a JSON object.
    const same = findEdge(node, edge.label);
    if (same !== undefined) removeEdge(node, same);
  }
  node.edges.push(edge);
  if (node.byLabel !== undefined && !node.byLabel.has(edge.label)) node.byLabel.set(edge.label, edge);
}

function removeEdge(node: TreeNode, edge: Edge): void {
  const index = node.edges.indexOf(edge);
  if (index === -1) return;
  node.edges.splice(index, 1);
  node.byLabel = undefined;
}

/**
 * Renames an edge in place. In an object a sibling already holding the new
 * name collides: the later of the two in answer order is kept, as writing the
 * object would keep it, so no second key survives to be missed by a later `del`.
 */
function relabel(node: TreeNode, edge: Edge, label: string): void {
  if (edge.label === label) return;
  const same = node.isCollection ? undefined : findEdge(node, label);
  if (same !== undefined) {
    if (node.edges.indexOf(same) > node.edges.indexOf(edge)) {
      removeEdge(node, edge);
      return;
    }
    removeEdge(node, same);
  }
  edge.label = label;
  node.byLabel = undefined;
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
  const merging = node.edges.length > 0;
  for (const [label, item] of entries) {
    const edge = merging ? findEdge(node, label) : undefined;
    if (edge !== undefined) {
      flatten(edge.node, item);
      continue;
    }
    const child = new TreeNode();
    pushEdge(node, { label, node: child });
    flatten(child, item);
  }
}

/** Loads `value` at `path` below `node`, making the missing levels. */
function add(node: TreeNode, path: readonly string[], from: number, value: unknown): void {
  if (from === path.length) return flatten(node, value);
  const edge = findEdge(node, path[from]!);
  if (edge !== undefined) return add(edge.node, path, from + 1, value);
  const child = new TreeNode();
  pushEdge(node, { label: path[from]!, node: child });
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
  const edge = findEdge(node, path[from]!);
  return edge === undefined ? undefined : get(edge.node, path, from + 1);
}

function remove(node: TreeNode, path: readonly string[], from: number): void {
  if (from === path.length || node.edges.length === 0) return;
  const key = path[from]!;
  const last = from === path.length - 1;
  if (key === WILDCARD) {
    if (last) {
      node.edges = [];
      node.byLabel = undefined;
    } else for (const edge of node.edges) remove(edge.node, path, from + 1);
    return;
  }
  if (last) {
    // Every edge the path names goes (a list's labels may repeat after a rename): `del` never leaves one behind.
    for (let edge = findEdge(node, key); edge !== undefined; edge = findEdge(node, key)) removeEdge(node, edge);
    return;
  }
  const edge = findEdge(node, key);
  if (edge !== undefined) remove(edge.node, path, from + 1);
}

interface Located {
  /** The nodes from the root down to the source's parent: `nodes[i]` sits at depth i, `nodes[0]` is the root. */
  nodes: TreeNode[];
  /** The labels from the root to the source's parent, wildcards resolved. */
  path: string[];
}

function move(root: TreeNode, src: readonly string[], dst: readonly string[]): void {
  let parents: Located[] = [{ nodes: [root], path: [] }];
  for (let i = 0; i < src.length - 1; i++) {
    const step = src[i]!;
    const next: Located[] = [];
    for (const parent of parents) {
      const node = parent.nodes[parent.nodes.length - 1]!;
      if (step === WILDCARD) {
        for (const edge of node.edges) next.push({ nodes: [...parent.nodes, edge.node], path: [...parent.path, edge.label] });
      } else {
        const edge = findEdge(node, step);
        if (edge !== undefined) next.push({ nodes: [...parent.nodes, edge.node], path: [...parent.path, edge.label] });
      }
    }
    parents = next;
  }
  const label = src[src.length - 1]!;
  const newLabel = dst[dst.length - 1]!;
  if (src.length === dst.length) {
    for (const parent of parents) {
      const node = parent.nodes[parent.nodes.length - 1]!;
      const edge = findEdge(node, label);
      if (edge !== undefined) relabel(node, edge, newLabel);
    }
    return;
  }
  const moving: { parent: Located; edge: Edge }[] = [];
  for (const parent of parents) {
    const node = parent.nodes[parent.nodes.length - 1]!;
    const edge = findEdge(node, label);
    if (edge === undefined) continue;
    moving.push({ parent, edge });
    removeEdge(node, edge);
  }
  if (src.length > dst.length) {
    // Lifted: walk the destination from the root as far as it exists (a wildcard takes the label the source matched
    // there). While the walk follows the source's own route, its nodes are known: no search in a long list.
    for (const { parent, edge } of moving) {
      let node = root;
      let onSourceRoute = true;
      for (let i = 0; i < dst.length - 1; i++) {
        const step = dst[i] === WILDCARD ? parent.path[i]! : dst[i]!;
        onSourceRoute &&= step === parent.path[i];
        const next = onSourceRoute ? parent.nodes[i + 1] : findEdge(node, step)?.node;
        if (next === undefined) break;
        node = next;
      }
      edge.label = newLabel;
      pushEdge(node, edge);
    }
    return;
  }
  // Nested: the destination's extra levels are found or made below the source's parent.
  for (const { parent, edge } of moving) {
    let node = parent.nodes[parent.nodes.length - 1]!;
    for (let i = src.length - 1; i < dst.length - 1; i++) {
      let found = findEdge(node, dst[i]!);
      if (found === undefined) {
        found = { label: dst[i]!, node: new TreeNode() };
        pushEdge(node, found);
      }
      node = found.node;
    }
    edge.label = newLabel;
    pushEdge(node, edge);
  }
}

function append(root: TreeNode, src: readonly string[], dst: readonly string[]): void {
  const appended = get(root, src, 0);
  const onto = get(root, dst, 0);
  if (!Array.isArray(appended) || !Array.isArray(onto)) return;
  add(root, dst, 0, [...onto, ...appended]);
  remove(root, src, 0);
}
