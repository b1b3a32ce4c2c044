/**
 * Matches a request path to an endpoint plan, per method (as gin: one tree per
 * method, so HEAD is not GET and a path known under another method is a 405).
 * Routes are compiled once: exact paths sit in a Map, parameter routes in a
 * segment trie where a literal segment wins over a `{param}` one.
 *
 * Segments are percent-decoded before matching, so `/%61dmin` is `/admin`
 * and cannot slip past an `/admin` route into a looser `/{page}` one. A `%2F`
 * stays inside its segment. Malformed escapes, empty parameter values and the
 * dot segments `.` and `..` as parameter values match nothing: a backend that
 * normalises its path would otherwise resolve them upwards.
 */
import { isSafeParamValue } from '../lib/path-segment.js';

/** What the router needs of a route: an endpoint plan, or anything carrying its method, path and parameter names. */
export interface Route {
  readonly method: string;
  /** `/users/{id}`: a parameter is a whole segment. */
  readonly path: string;
  /** Parameter names in path order. */
  readonly params: readonly string[];
}

export type RouteMatch<T extends Route = Route> =
  | { kind: 'found'; endpoint: T; params: Record<string, string> }
  | { kind: 'not_found' }
  | { kind: 'method_not_allowed'; allow: readonly string[] };

export interface Router<T extends Route = Route> {
  /** `path` is the request path without its query string. */
  match(method: string, path: string): RouteMatch<T>;
}

interface TrieNode<T> {
  readonly literal: Map<string, TrieNode<T>>;
  param: TrieNode<T> | undefined;
  endpoint: T | undefined;
}

interface MethodRoutes<T> {
  /** Keyed by the decoded path. */
  readonly exact: Map<string, T>;
  readonly trie: TrieNode<T>;
  hasParams: boolean;
}

const NOT_FOUND = Object.freeze({ kind: 'not_found' as const });
const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;

export function createRouter<T extends Route>(endpoints: readonly T[]): Router<T> {
  const byMethod = new Map<string, MethodRoutes<T>>();
  for (const endpoint of endpoints) add(routesFor(byMethod, endpoint.method), endpoint);
  const methods = [...byMethod.keys()].sort();
  const notAllowed = new Map<string, RouteMatch<T>>();

  function lookup(routes: MethodRoutes<T>, exactPath: string | undefined, segments: readonly string[]): RouteMatch<T> | undefined {
    const exact = exactPath === undefined ? undefined : routes.exact.get(exactPath);
    if (exact) return { kind: 'found', endpoint: exact, params: NO_PARAMS };
    if (!routes.hasParams) return undefined;
    const values: string[] = [];
    const endpoint = walk(routes.trie, segments, 0, values);
    if (!endpoint) return undefined;
    const params: Record<string, string> = {};
    for (let i = 0; i < endpoint.params.length; i++) params[endpoint.params[i]!] = values[i]!;
    return { kind: 'found', endpoint, params };
  }

  return {
    match(method, rawPath) {
      const q = rawPath.indexOf('?');
      const path = q === -1 ? rawPath : rawPath.slice(0, q);
      const routes = byMethod.get(method);
      // The common case, an exact route with nothing to decode, needs no split and no allocation.
      if (routes !== undefined && path.indexOf('%') === -1) {
        const exact = routes.exact.get(path);
        if (exact) return { kind: 'found', endpoint: exact, params: NO_PARAMS };
      }
      const decoded = decodePath(path);
      if (decoded === undefined) return NOT_FOUND;
      const { exactPath, segments } = decoded;
      const found = routes ? lookup(routes, exactPath, segments) : undefined;
      if (found) return found;
      // Only a miss pays for looking at the other methods.
      const allow = methods.filter((other) => other !== method && lookup(byMethod.get(other)!, exactPath, segments) !== undefined);
      if (allow.length === 0) return NOT_FOUND;
      const key = allow.join(',');
      let answer = notAllowed.get(key);
      if (!answer) {
        answer = Object.freeze({ kind: 'method_not_allowed' as const, allow: Object.freeze(allow) });
        notAllowed.set(key, answer);
      }
      return answer;
    },
  };
}

function routesFor<T>(byMethod: Map<string, MethodRoutes<T>>, method: string): MethodRoutes<T> {
  let routes = byMethod.get(method);
  if (!routes) {
    routes = { exact: new Map(), trie: createNode(), hasParams: false };
    byMethod.set(method, routes);
  }
  return routes;
}

function add<T extends Route>(routes: MethodRoutes<T>, endpoint: T): void {
  if (endpoint.params.length === 0) {
    // The first definition wins; compileGateway refuses duplicates anyway.
    if (!routes.exact.has(endpoint.path)) routes.exact.set(endpoint.path, endpoint);
    return;
  }
  routes.hasParams = true;
  let node = routes.trie;
  for (const segment of endpoint.path.slice(1).split('/')) {
    if (segment.startsWith('{') && segment.endsWith('}')) {
      node.param ??= createNode();
      node = node.param;
    } else {
      let next = node.literal.get(segment);
      if (!next) {
        next = createNode();
        node.literal.set(segment, next);
      }
      node = next;
    }
  }
  node.endpoint ??= endpoint;
}

function createNode<T>(): TrieNode<T> {
  return { literal: new Map(), param: undefined, endpoint: undefined };
}

/** Depth-first, literal before parameter, backtracking so `/a/b/x` still finds `/a/{p}/x` next to `/a/b/y`. */
function walk<T>(node: TrieNode<T>, segments: readonly string[], index: number, values: string[]): T | undefined {
  if (index === segments.length) return node.endpoint;
  const segment = segments[index]!;
  const literal = node.literal.get(segment);
  if (literal) {
    const found = walk(literal, segments, index + 1, values);
    if (found) return found;
  }
  if (node.param && isSafeParamValue(segment)) {
    values.push(segment);
    const found = walk(node.param, segments, index + 1, values);
    if (found) return found;
    values.pop();
  }
  return undefined;
}

/**
 * Decodes each segment. `exactPath` is the decoded path for the exact-route
 * map, or undefined when a decoded segment holds a "/" (from %2F): a single
 * segment must not pose as two for an exact route.
 */
function decodePath(rawPath: string): { exactPath: string | undefined; segments: string[] } | undefined {
  const q = rawPath.indexOf('?');
  const path = q === -1 ? rawPath : rawPath.slice(0, q);
  if (path.charCodeAt(0) !== 47 /* / */) return undefined;
  const raw = path.slice(1).split('/');
  if (!path.includes('%')) return { exactPath: path, segments: raw };
  const segments: string[] = new Array(raw.length);
  let slashInside = false;
  for (let i = 0; i < raw.length; i++) {
    const segment = raw[i]!;
    if (!segment.includes('%')) {
      segments[i] = segment;
      continue;
    }
    let value: string;
    try {
      value = decodeURIComponent(segment);
    } catch {
      return undefined;
    }
    if (value.includes('/')) slashInside = true;
    segments[i] = value;
  }
  return { exactPath: slashInside ? undefined : `/${segments.join('/')}`, segments };
}
