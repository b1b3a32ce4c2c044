/** Key sets that never change: a JWKS file read once at start, or keys written inline in the config. */
import { readFileSync } from 'node:fs';
import type { Jwk } from '../jwt/keys.js';
import { silentLogger, type Logger } from '../lib/logger.js';
import { issuerKeyRecords } from './issuer-key-index.js';
import { buildKeyIndex, jwksMembers } from './key-index.js';
import type { KeyIndex, KeySet, KeySetStatus } from './key-set.js';

export interface StaticKeySetOptions {
  /** Receives the warning about key names shared by different keys. */
  logger?: Logger;
}

export class KeySourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeySourceError';
  }
}

export function createStaticKeySet(label: string, jwks: readonly Jwk[], options: StaticKeySetOptions = {}): KeySet {
  const { index, skipped, ambiguous } = buildKeyIndex(jwks);
  // Keys written by the operator are configuration: a weak or broken one stops startup instead of being skipped.
  if (skipped.length > 0) throw new KeySourceError(`unusable key: ${skipped.join('; ')}`);
  if (ambiguous.length > 0) (options.logger ?? silentLogger).warn({ keySet: label }, `[KeySet] ambiguous key names: ${ambiguous.join('; ')}`);
  const loadedAt = Date.now();
  const status: KeySetStatus = Object.freeze({
    label,
    loaded: true,
    keyCount: index.keys.length,
    lastSuccessAt: loadedAt,
    lastErrorAt: undefined,
    lastError: undefined,
    fetchCount: 0,
    successCount: 1,
    failureCount: 0,
    stale: false,
    coolingDown: false,
  });
  return {
    label,
    current: (): KeyIndex => index,
    refreshForMiss: async (): Promise<KeyIndex> => index,
    ready: async (): Promise<void> => {},
    status: () => status,
    close: () => {},
  };
}

/**
 * Reads a JWKS (object, or bare array) from a file, or the public keys of the
 * local issuer's key index (its data dir's keys.json). Errors name the file,
 * never its contents.
 */
export function createFileKeySet(path: string, options: StaticKeySetOptions = {}): KeySet {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new KeySourceError(`cannot read JWKS file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'read error'}`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new KeySourceError(`JWKS file ${path} is not JSON`);
  }
  try {
    const members = issuerKeyRecords(document)?.map((record) => record.publicJwk) ?? jwksMembers(document, true);
    return createStaticKeySet(`file:${path}`, members, options);
  } catch (error) {
    throw new KeySourceError(`JWKS file ${path}: ${(error as Error).message}`);
  }
}

export function createInlineKeySet(jwks: readonly Jwk[], options: StaticKeySetOptions = {}): KeySet {
  try {
    return createStaticKeySet('inline', jwks, options);
  } catch (error) {
    throw new KeySourceError(`inline keys: ${(error as Error).message}`);
  }
}
