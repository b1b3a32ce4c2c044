/**
 * What API Gateway expects back from a Lambda authorizer
 * (cloud-authorizers.md §2.3, §2.4): an IAM policy for REST and payload 1.0,
 * and for payload 2.0 either the simple `{isAuthorized, context}` form or the
 * IAM one. Context values are flat strings everywhere, the one shape every
 * variant accepts and the one the AWS JWT authorizer gives integrations.
 */
import type { Claims } from '../../jwt/parse.js';

export type AuthorizerContext = Record<string, string>;

export interface IamPolicyResult {
  principalId: string;
  policyDocument: {
    Version: '2012-10-17';
    Statement: [{ Action: 'execute-api:Invoke'; Effect: 'Allow' | 'Deny'; Resource: string }];
  };
  context: AuthorizerContext;
}

export interface SimpleResult {
  isAuthorized: boolean;
  context: AuthorizerContext;
}

export type LambdaAuthorizerResult = IamPolicyResult | SimpleResult;

/** Used when a token has no string `sub`: IAM answers need a non-empty principal. */
export const ANONYMOUS_PRINCIPAL = 'anonymous';

export function iamPolicy(principalId: string, effect: 'Allow' | 'Deny', resource: string, context: AuthorizerContext): IamPolicyResult {
  return {
    principalId,
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }] },
    context,
  };
}

export function principalOf(claims: Claims): string {
  return typeof claims.sub === 'string' && claims.sub.length > 0 ? claims.sub : ANONYMOUS_PRINCIPAL;
}

/**
 * Claims as flat strings: numbers and booleans in decimal text, arrays
 * comma-joined (`"admin,support"`), objects as JSON; null is left out.
 * `pick` limits the context to the named claims.
 */
export function flatContext(claims: Claims, pick: readonly string[] | undefined): AuthorizerContext {
  const context: AuthorizerContext = {};
  const names = pick ?? Object.keys(claims);
  for (const name of names) {
    const text = flatValue((claims as Record<string, unknown>)[name]);
    if (text !== undefined) context[name] = text;
  }
  return context;
}

function flatValue(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map((item) => (typeof item === 'string' ? item : JSON.stringify(item))).join(',');
  return JSON.stringify(value);
}

/**
 * `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{verb}/{resource…}`
 * → `…:{apiId}/{stage}/*`, so one cached answer covers every route of the
 * stage. Undefined when the ARN does not have that shape.
 */
export function stageWildcard(arn: string): string | undefined {
  const slash = arn.indexOf('/');
  if (slash === -1 || !arn.startsWith('arn:')) return undefined;
  const stageEnd = arn.indexOf('/', slash + 1);
  if (stageEnd === -1) return undefined;
  return `${arn.slice(0, stageEnd)}/*`;
}

/**
 * Whether the ARN names one call: after `{apiId}/{stage}/` there is no IAM
 * wildcard (`*`, `?`) and no route template (`{tenant}`), so an Allow on it,
 * cached, matches no other path. API Gateway puts the concrete request path
 * there; this is the check that it did, for answers whose safety rests on it.
 */
export function namesOneCall(arn: string): boolean {
  const slash = arn.indexOf('/');
  if (slash === -1 || !arn.startsWith('arn:')) return false;
  const stageEnd = arn.indexOf('/', slash + 1);
  if (stageEnd === -1) return false;
  return !/[*?{}]/.test(arn.slice(stageEnd + 1));
}
