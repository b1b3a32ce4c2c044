/**
 * Compact JWS parsing with every limit checked before the work it protects:
 * size before decoding, dot count before splitting, the alphabet by a strict
 * decoder (never a lenient one), depth and duplicates before JSON.parse. JWE,
 * JSON serialisation, detached and unencoded payloads are all rejected here.
 */
import { isUtf8 } from 'node:buffer';
import { AuthError } from './errors.js';
import { decodeBase64urlText, decodeStrictBase64url, isStrictBase64url, NOT_BASE64URL, NOT_UTF8 } from './base64url.js';
import { parseJsonStrict } from './json-guard.js';

export interface ParseLimits {
  /** Maximum token length in characters. */
  maxTokenLength: number;
  /** Maximum decoded header size in bytes. */
  maxHeaderBytes: number;
  maxHeaderDepth: number;
  maxPayloadDepth: number;
  maxKidLength: number;
}

export const DEFAULT_PARSE_LIMITS: Readonly<ParseLimits> = Object.freeze({
  maxTokenLength: 16 * 1024,
  maxHeaderBytes: 8 * 1024,
  maxHeaderDepth: 4,
  maxPayloadDepth: 32,
  maxKidLength: 256,
});

export interface JwsHeader {
  readonly alg: string;
  readonly kid?: string;
  readonly typ?: string;
  readonly x5t?: string;
  readonly 'x5t#S256'?: string;
  readonly [name: string]: unknown;
}

export type Claims = Record<string, unknown>;

export interface JwsParts {
  readonly header: JwsHeader;
  /** Index of the first dot; the payload segment lies between the two dots. */
  readonly firstDot: number;
  /** Length of the signing input: the token up to its second dot (see signingInput in verify.ts). */
  readonly signingInputLength: number;
  readonly signature: Buffer;
}

export interface ParsedJws extends JwsParts {
  readonly payload: Claims;
}

// Tokens from one issuer share a handful of headers, so a parsed header is
// reused by its exact encoded text. Only headers that passed every check are
// kept, frozen; the map is cleared when full, so forged headers cannot grow it.
const HEADER_CACHE_LIMIT = 1024;
const headerCache = new Map<string, JwsHeader>();

// The header found last is tried first, by comparing the token's text in
// place: no slice and no hashing of the segment for the usual repeat.
let lastHeaderSegment = '';
let lastHeader: JwsHeader | undefined;

function cachedHeaderOf(token: string, firstDot: number): JwsHeader | undefined {
  if (firstDot === lastHeaderSegment.length && token.startsWith(lastHeaderSegment)) return lastHeader;
  const segment = token.slice(0, firstDot);
  const header = headerCache.get(segment);
  if (header !== undefined) {
    lastHeaderSegment = segment;
    lastHeader = header;
  }
  return header;
}

// Header members that change how the payload or key must be read. portcullis
// implements none of these, so a token that needs them cannot be verified.
const REFUSED_HEADER_MEMBERS = ['crit', 'b64', 'enc', 'zip'] as const;

/** Parses a compact JWS whole: structure, header, signature and claims. Verifies nothing. */
export function parseCompactJws(token: string, limits: ParseLimits = DEFAULT_PARSE_LIMITS): ParsedJws {
  const parts = parseJwsParts(token, limits);
  return { ...parts, payload: decodePayload(token, parts, limits) };
}

/**
 * Everything but the payload: the structure, the header and the signature.
 * The verifier checks the signature before it decodes the payload, so an
 * unsigned token never makes us parse a large JSON document.
 */
export function parseJwsParts(token: string, limits: ParseLimits = DEFAULT_PARSE_LIMITS): JwsParts {
  if (typeof token !== 'string') throw new AuthError('token_malformed', 'the token is not a string');
  if (token.length > limits.maxTokenLength) throw new AuthError('token_too_large');
  const firstDot = token.indexOf('.');
  const secondDot = firstDot < 0 ? -1 : token.indexOf('.', firstDot + 1);
  if (secondDot < 0) throw new AuthError('token_malformed', 'a compact JWS has three parts');
  if (token.indexOf('.', secondDot + 1) >= 0) {
    throw new AuthError('token_malformed', 'more than three parts (JWE or garbage)');
  }
  if (firstDot === 0) throw new AuthError('token_malformed', 'empty header');
  if (secondDot === firstDot + 1) throw new AuthError('token_malformed', 'empty payload (detached content)');
  if (secondDot === token.length - 1) throw new AuthError('token_malformed', 'empty signature');
  // A header segment found in the cache is text that already passed every check, so only a new
  // header segment is decoded. All three parts are checked before any JSON is read.
  const cacheable = hasDefaultHeaderLimits(limits);
  const cachedHeader = cacheable ? cachedHeaderOf(token, firstDot) : undefined;
  const headerBytes = cachedHeader === undefined ? decodeStrictBase64url(token, 0, firstDot) : undefined;
  const signature =
    (cachedHeader !== undefined || headerBytes !== undefined) && isStrictBase64url(token, firstDot + 1, secondDot)
      ? decodeStrictBase64url(token, secondDot + 1, token.length)
      : undefined;
  if (signature === undefined) throw new AuthError('token_malformed', 'a part is not canonical base64url');
  const header = cachedHeader ?? parseHeader(token.slice(0, firstDot), headerBytes!, limits, cacheable);
  return { header, firstDot, signingInputLength: secondDot, signature };
}

/** The claims; with `frozen`, deeply frozen (in the same walk that checks for duplicate members). */
export function decodePayload(token: string, parts: JwsParts, limits: ParseLimits = DEFAULT_PARSE_LIMITS, frozen = false): Claims {
  const text = decodeBase64urlText(token, parts.firstDot + 1, parts.signingInputLength);
  if (text === NOT_BASE64URL) throw new AuthError('token_malformed', 'a part is not canonical base64url');
  if (text === NOT_UTF8) throw new AuthError('token_malformed', 'payload is not UTF-8');
  return parseJsonObject(text, limits.maxPayloadDepth, 'payload', frozen);
}

/** A header segment the cache does not hold, with its decoded bytes. */
function parseHeader(segment: string, headerBytes: Buffer, limits: ParseLimits, cacheable: boolean): JwsHeader {
  if (headerBytes.length > limits.maxHeaderBytes) throw new AuthError('token_malformed', 'header too large');
  const header = decodeJsonObject(headerBytes, limits.maxHeaderDepth, 'header') as JwsHeader;
  checkHeader(header, limits);
  // A cached header passed checks under the default header limits; other limits re-check.
  if (cacheable) {
    if (headerCache.size >= HEADER_CACHE_LIMIT) headerCache.clear();
    headerCache.set(segment, deepFreeze(header));
  }
  return header;
}

function hasDefaultHeaderLimits(limits: ParseLimits): boolean {
  return (
    limits.maxHeaderBytes === DEFAULT_PARSE_LIMITS.maxHeaderBytes &&
    limits.maxHeaderDepth === DEFAULT_PARSE_LIMITS.maxHeaderDepth &&
    limits.maxKidLength === DEFAULT_PARSE_LIMITS.maxKidLength
  );
}

/** Freezes a parsed JSON value and everything in it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) freezeTree(value);
  return value;
}

// Runs on every cold token. Members are tested before the call, so primitives never reach
// Object.isFrozen; an object is frozen before its members are visited, so a cycle ends the walk.
// JSON arrays hold only their elements, so they are walked by index, without an Object.values copy.
function freezeTree(value: object): void {
  Object.freeze(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const member: unknown = value[i];
      if (typeof member === 'object' && member !== null && !Object.isFrozen(member)) freezeTree(member);
    }
    return;
  }
  const members = Object.values(value);
  for (let i = 0; i < members.length; i++) {
    const member: unknown = members[i];
    if (typeof member === 'object' && member !== null && !Object.isFrozen(member)) freezeTree(member);
  }
}

function decodeJsonObject(bytes: Buffer, maxDepth: number, part: 'header' | 'payload'): Claims {
  if (!isUtf8(bytes)) throw new AuthError('token_malformed', `${part} is not UTF-8`);
  return parseJsonObject(bytes.toString('utf8'), maxDepth, part);
}

function parseJsonObject(text: string, maxDepth: number, part: 'header' | 'payload', frozen = false): Claims {
  const result = parseJsonStrict(text, maxDepth, frozen);
  if (!result.ok) {
    if (result.hazard === 'duplicate_member') throw new AuthError('token_malformed', `${part} has duplicate members`);
    if (result.hazard === 'too_deep') throw new AuthError('token_malformed', `${part} is nested too deeply`);
    throw new AuthError('token_malformed', `${part} is not JSON`);
  }
  const value = result.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AuthError('token_malformed', `${part} is not a JSON object`);
  }
  return value as Claims;
}

function checkHeader(header: JwsHeader, limits: ParseLimits): void {
  if (typeof header.alg !== 'string' || header.alg.length === 0) {
    throw new AuthError('token_malformed', 'header has no alg');
  }
  for (const member of REFUSED_HEADER_MEMBERS) {
    if (Object.hasOwn(header, member)) throw new AuthError('token_malformed', `header member "${member}" is not supported`);
  }
  if (Object.hasOwn(header, 'kid')) {
    const kid = header.kid;
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > limits.maxKidLength) {
      throw new AuthError('token_malformed', 'kid must be a non-empty string within the length limit');
    }
  }
  if (Object.hasOwn(header, 'typ') && typeof header.typ !== 'string') {
    throw new AuthError('token_malformed', 'header member "typ" must be a string');
  }
  // Thumbprints are base64url SHA-1 (27 characters) and SHA-256 (43); anything else is not a thumbprint.
  for (const [member, length] of [['x5t', 27], ['x5t#S256', 43]] as const) {
    if (!Object.hasOwn(header, member)) continue;
    const value = header[member];
    if (typeof value !== 'string' || value.length !== length || !isStrictBase64url(value)) {
      throw new AuthError('token_malformed', `header member "${member}" is not a thumbprint`);
    }
  }
  // jku, x5u, jwk and x5c are deliberately never read: keys come only from configuration.
}
