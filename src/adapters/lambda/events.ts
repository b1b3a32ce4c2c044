/**
 * The API Gateway authorizer events portcullis accepts, told apart by shape
 * (cloud-authorizers.md §2): REST `TOKEN`, REST `REQUEST` (and HTTP API
 * payload 1.0, which has the same fields), and HTTP API payload 2.0. Each
 * becomes the core's AuthorizeRequest plus the ARN the policy is about.
 * The types are structural subsets of `@types/aws-lambda`, so callers need no
 * type package.
 */
import type { AuthorizeRequest } from '../../authorizer/decision.js';

type StringMap = Readonly<Record<string, string | undefined>> | null | undefined;
type MultiMap = Readonly<Record<string, readonly string[] | undefined>> | null | undefined;

export interface TokenAuthorizerEvent {
  readonly type: 'TOKEN';
  readonly authorizationToken: string;
  readonly methodArn: string;
}

export interface RequestAuthorizerEvent {
  readonly type: 'REQUEST';
  readonly methodArn: string;
  readonly version?: string;
  readonly headers?: StringMap;
  readonly multiValueHeaders?: MultiMap;
  readonly queryStringParameters?: StringMap;
  readonly multiValueQueryStringParameters?: MultiMap;
  readonly pathParameters?: StringMap;
}

export interface RequestAuthorizerEventV2 {
  readonly version: '2.0' | string;
  readonly type: 'REQUEST';
  readonly routeArn: string;
  readonly rawQueryString?: string;
  readonly cookies?: readonly string[] | null;
  readonly headers?: StringMap;
  readonly pathParameters?: StringMap;
}

export type LambdaAuthorizerEvent = TokenAuthorizerEvent | RequestAuthorizerEvent | RequestAuthorizerEventV2;

export type EventKind = 'token' | 'request' | 'v2';

export interface NormalizedEvent {
  readonly kind: EventKind;
  /** The method ARN (REST, payload 1.0) or route ARN (payload 2.0) the answer is about. */
  readonly arn: string;
  readonly request: AuthorizeRequest;
}

/**
 * `tokenHeader` is the lower-case header the validator reads: a TOKEN event's
 * `authorizationToken` is the value of that header. Undefined for anything
 * that is not one of the three shapes.
 */
export function normalizeEvent(event: unknown, tokenHeader: string): NormalizedEvent | undefined {
  if (!isRecord(event)) return undefined;
  if (event.type === 'TOKEN') {
    if (typeof event.methodArn !== 'string') return undefined;
    const token = typeof event.authorizationToken === 'string' ? event.authorizationToken : undefined;
    return { kind: 'token', arn: event.methodArn, request: { headers: token === undefined ? {} : { [tokenHeader]: token } } };
  }
  if (event.type !== 'REQUEST') return undefined;
  if (event.version === '2.0') {
    if (typeof event.routeArn !== 'string') return undefined;
    const headers = lowerCaseHeaders(stringMap(event.headers), undefined);
    // Payload 2.0 moves cookies out of the headers into their own array.
    const cookies = Array.isArray(event.cookies) ? event.cookies.filter((c): c is string => typeof c === 'string') : [];
    if (cookies.length > 0 && headers.cookie === undefined) headers.cookie = cookies.join('; ');
    return {
      kind: 'v2',
      arn: event.routeArn,
      request: { headers, query: typeof event.rawQueryString === 'string' ? event.rawQueryString : '', params: stringMap(event.pathParameters) },
    };
  }
  if (typeof event.methodArn !== 'string') return undefined;
  const multiQuery = multiMap(event.multiValueQueryStringParameters);
  return {
    kind: 'request',
    arn: event.methodArn,
    request: {
      headers: lowerCaseHeaders(stringMap(event.headers), multiMap(event.multiValueHeaders)),
      query: multiQuery ?? stringMap(event.queryStringParameters),
      params: stringMap(event.pathParameters),
    },
  };
}

/**
 * REST events keep the client's header case. Names are lower-cased for the
 * core; a header that arrives with several values (or twice under different
 * cases) stays a list, which the core treats as ambiguous, never as a choice.
 */
function lowerCaseHeaders(single: Record<string, string>, multi: Record<string, string[]> | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  const add = (name: string, values: readonly string[]): void => {
    const key = name.toLowerCase();
    const previous = out[key];
    const merged = previous === undefined ? [...values] : [...(typeof previous === 'string' ? [previous] : previous), ...values];
    out[key] = merged.length === 1 ? merged[0]! : merged;
  };
  if (multi !== undefined) {
    for (const [name, values] of Object.entries(multi)) if (values.length > 0) add(name, values);
  }
  // multiValueHeaders already holds every value of a header that is in both.
  const inMulti = new Set(multi === undefined ? [] : Object.keys(multi).map((name) => name.toLowerCase()));
  for (const [name, value] of Object.entries(single)) {
    if (!inMulti.has(name.toLowerCase())) add(name, [value]);
  }
  return out;
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  if (!isRecord(value)) return out;
  for (const [key, entry] of Object.entries(value)) if (typeof entry === 'string') out[key] = entry;
  return out;
}

function multiMap(value: unknown): Record<string, string[]> | undefined {
  if (!isRecord(value)) return undefined;
  const out: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  let any = false;
  for (const [key, entry] of Object.entries(value)) {
    if (!Array.isArray(entry)) continue;
    const strings = entry.filter((item): item is string => typeof item === 'string');
    if (strings.length === 0) continue;
    out[key] = strings;
    any = true;
  }
  return any ? out : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
