/**
 * The body of `POST /admin/mint` → a MintRequest. Strict: a wrong type is a
 * 400 naming the field, never a silently ignored option.
 */
import { parseDurationMs } from '../lib/duration.js';
import { isIssuerForm } from './config.js';
import type { MintRequest } from './claims.js';
import { IssuerRequestError, isPlainObject } from './issuer.js';

const FIELDS = new Set(['sub', 'user', 'roles', 'permissions', 'tenants', 'claims', 'ttl', 'aud', 'jti', 'dct', 'amr', 'iss_form']);
const MAX_TTL_SECONDS = 366 * 24 * 3600;

export function parseMintRequest(body: unknown): MintRequest {
  if (body === undefined) return {};
  if (!isPlainObject(body)) throw bad('the body must be a JSON object');
  for (const key of Object.keys(body)) if (!FIELDS.has(key)) throw bad(`unknown field "${key.slice(0, 64)}"`);
  const request: MintRequest = {};
  if (body.sub !== undefined) request.sub = nonEmptyString(body.sub, 'sub');
  if (body.user !== undefined) request.user = nonEmptyString(body.user, 'user');
  if (request.sub !== undefined && request.user !== undefined) throw bad('give user or sub, not both');
  if (body.roles !== undefined) request.roles = stringList(body.roles, 'roles');
  if (body.permissions !== undefined) request.permissions = stringList(body.permissions, 'permissions');
  if (body.amr !== undefined) request.amr = stringList(body.amr, 'amr');
  if (body.dct !== undefined) request.dct = nonEmptyString(body.dct, 'dct');
  if (body.tenants !== undefined) request.tenants = tenants(body.tenants);
  if (body.claims !== undefined) {
    if (!isPlainObject(body.claims)) throw bad('claims must be an object');
    request.claims = { ...body.claims };
  }
  if (body.ttl !== undefined) request.ttlSeconds = parseTtlSeconds(body.ttl);
  if (body.aud !== undefined) request.aud = typeof body.aud === 'string' ? nonEmptyString(body.aud, 'aud') : stringList(body.aud, 'aud');
  if (body.jti !== undefined) {
    if (typeof body.jti !== 'boolean') throw bad('jti must be a boolean');
    request.jti = body.jti;
  }
  if (body.iss_form !== undefined) {
    if (!isIssuerForm(body.iss_form)) throw bad('iss_form must be "project", "url" or "apps"');
    request.issuerForm = body.iss_form;
  }
  return request;
}

/**
 * A token lifetime: seconds as a number, or a duration string ("10m", "1h30m").
 * A leading "-" gives an already expired token.
 */
export function parseTtlSeconds(value: unknown): number {
  let seconds: number | undefined;
  if (typeof value === 'number' && Number.isInteger(value)) seconds = value;
  else if (typeof value === 'string') {
    const negative = value.startsWith('-');
    const text = negative ? value.slice(1) : value;
    const ms = /^\d+$/.test(text) ? Number(text) * 1000 : parseDurationMs(text);
    if (ms !== undefined) seconds = Math.round(ms / 1000) * (negative ? -1 : 1);
  }
  if (seconds === undefined || Math.abs(seconds) > MAX_TTL_SECONDS) {
    throw bad('ttl must be a duration such as "10m", "1h" or "-5m" (expired), or integer seconds, within a year');
  }
  return seconds;
}

function tenants(value: unknown): Record<string, string[]> {
  // Both {"T1": ["admin"]} and Descope's list form [{"id": "T1", "roles": ["admin"]}] are accepted.
  if (Array.isArray(value)) {
    const result: Record<string, string[]> = {};
    value.forEach((entry, i) => {
      if (!isPlainObject(entry)) throw bad(`tenants[${i}] must be {"id", "roles"}`);
      result[nonEmptyString(entry.id, `tenants[${i}].id`)] = entry.roles === undefined ? [] : stringList(entry.roles, `tenants[${i}].roles`);
    });
    return result;
  }
  if (!isPlainObject(value)) throw bad('tenants must be an object of tenant id → roles');
  return Object.fromEntries(Object.entries(value).map(([id, roles]) => [id, stringList(roles, `tenants.${id.slice(0, 64)}`)]));
}

function nonEmptyString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw bad(`${field} must be a non-empty string`);
  return value;
}

function stringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item.length > 0)) {
    throw bad(`${field} must be a list of non-empty strings`);
  }
  return [...(value as string[])];
}

function bad(message: string): IssuerRequestError {
  return new IssuerRequestError(400, 'bad_request', message);
}
