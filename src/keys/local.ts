/** Key sets that never change: a JWKS file read once at start, or keys written inline in the config. */
import { readFileSync } from 'node:fs';
import type { Jwk } from '../jwt/keys.js';
import { buildKeyIndex, jwksMembers } from './key-index.js';
import type { KeyIndex, KeySet, KeySetStatus } from './key-set.js';
import type { Logger } from '../lib/logger.js';
import { silentLogger } from '../lib/logger.js';

export class KeySourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeySourceError';
  }
}

export function createStaticKeySet(source: string, jwks: readonly Jwk[], logger: Logger = silentLogger): KeySet {
  const { index, skipped } = buildKeyIndex(jwks);
  for (const reason of skipped) logger.warn({ keySet: source }, `[KeySet] skipped ${reason}`);
  const loadedAt = Date.now();
  const status: KeySetStatus = Object.freeze({
    source,
    loaded: true,
    keyCount: index.keys.length,
    lastSuccessAt: loadedAt,
    lastErrorAt: undefined,
    lastError: undefined,
    fetchCount: 0,
    coolingDown: false,
  });
  return {
    source,
    current: (): KeyIndex => index,
    refreshForMiss: async (): Promise<KeyIndex> => index,
    ready: async (): Promise<void> => {},
    status: () => status,
    close: () => {},
  };
}

/** Reads a JWKS (object, or bare array) from a file. Errors name the file, never its contents. */
export function createFileKeySet(path: string, logger?: Logger): KeySet {
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
    return createStaticKeySet(`file:${path}`, jwksMembers(document, true), logger);
  } catch (error) {
    throw new KeySourceError(`JWKS file ${path}: ${(error as Error).message}`);
  }
}

export function createInlineKeySet(jwks: readonly Jwk[], logger?: Logger): KeySet {
  try {
    return createStaticKeySet('inline', jwks, logger);
  } catch (error) {
    throw new KeySourceError(`inline keys: ${(error as Error).message}`);
  }
}
