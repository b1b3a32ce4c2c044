/**
 * KrakenD's backend response manipulation (lura `proxy/formatter.go`), applied
 * to one decoded answer before it is merged, in lura's order: `target`
 * extracts a nested object, `allow` keeps and `deny` removes dotted paths,
 * `mapping` renames top-level keys, `group` nests the result under a key.
 * Dotted paths only enter objects: an array or a scalar on the way is not
 * searched. A `flatmap_filter` (flatmap.ts, which does enter arrays) takes
 * the place of allow, deny and mapping, as in lura.
 *
 * Pure functions over a compiled ResponseShape (config/compile-shape.ts). The
 * answer they get was decoded for this request alone, so they may change it
 * in place. Only own keys are ever read (`constructor` is not a field of
 * `{}`), and keys are written so that `__proto__` stays plain data.
 */
import type { KeyTree, ResponseShape } from '../config/plan.js';
import { applyFlatmap } from './flatmap.js';

export type JsonObject = Record<string, unknown>;

export function shapeResponse(shape: ResponseShape, data: JsonObject): JsonObject {
  let out = data;
  if (shape.target !== undefined) out = extractTarget(out, shape.target);
  if (shape.flatmap !== undefined) {
    out = applyFlatmap(shape.flatmap, out);
  } else {
    if (shape.allow !== undefined) out = keepAllowed(shape.allow, out) ?? emptyObject();
    if (shape.deny !== undefined) removeDenied(shape.deny, out);
    if (shape.mapping.length > 0) rename(out, shape.mapping);
  }
  if (shape.group !== undefined) {
    const grouped = emptyObject();
    setOwn(grouped, shape.group, out);
    out = grouped;
  }
  return out;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The object at `path`; an empty object when a step is missing or not an object (lura's extractTarget). */
function extractTarget(data: JsonObject, path: readonly string[]): JsonObject {
  let node = data;
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    const next = Object.hasOwn(node, key) ? node[key] : undefined;
    if (!isJsonObject(next)) return emptyObject();
    node = next;
  }
  return node;
}

/**
 * The allowed part of `data`, or undefined when nothing is left. As in lura's
 * AllowlistPrune, a path that continues into an object keeps that object only
 * when something inside it is kept; one that meets an array or a scalar drops it.
 */
function keepAllowed(tree: KeyTree, data: JsonObject): JsonObject | undefined {
  let out: JsonObject | undefined;
  for (const key of Object.keys(data)) {
    const sub = tree.get(key);
    if (sub === undefined) continue;
    let value = data[key];
    if (sub !== null) {
      if (!isJsonObject(value)) continue;
      value = keepAllowed(sub, value);
      if (value === undefined) continue;
    }
    out ??= emptyObject();
    setOwn(out, key, value);
  }
  return out;
}

/** Removes every denied path that is there; an object emptied by it stays, empty (lura's recDelete). */
function removeDenied(tree: KeyTree, data: JsonObject): void {
  for (const [key, sub] of tree) {
    if (!Object.hasOwn(data, key)) continue;
    if (sub === null) {
      delete data[key];
      continue;
    }
    const value = data[key];
    if (isJsonObject(value)) removeDenied(sub, value);
  }
}

/**
 * Renames top-level keys, all at once: each new key takes the value its old
 * key had before any rename (so {"a": "b", "b": "a"} swaps). lura applies them
 * one by one in Go's random map order; where that order matters its answer is
 * not even stable, and this is the one answer that loses no value.
 */
function rename(data: JsonObject, mapping: ResponseShape['mapping']): void {
  let moved: unknown[] | undefined;
  for (let i = 0; i < mapping.length; i++) {
    const [from, to] = mapping[i]!;
    if (!Object.hasOwn(data, from)) continue;
    (moved ??= []).push(to, data[from]);
  }
  if (moved === undefined) return;
  for (let i = 0; i < mapping.length; i++) delete data[mapping[i]![0]];
  for (let i = 0; i < moved.length; i += 2) setOwn(data, moved[i] as string, moved[i + 1]);
}

function emptyObject(): JsonObject {
  return Object.create(null) as JsonObject;
}

/** An own data property even for `__proto__`, which plain assignment would take as the prototype. */
function setOwn(target: JsonObject, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else target[key] = value;
}
