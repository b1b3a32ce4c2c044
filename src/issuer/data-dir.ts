/**
 * What a running issuer leaves in its data dir besides the keys: the config it
 * ran with and its base URL (`issuer.json`, mode 0600, as it may hold access
 * keys). `portcullis token` and `portcullis issuer rotate` use it when no
 * issuer is listening, so offline tokens match what the server would mint.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../config/validate.js';
import type { Logger } from '../lib/logger.js';
import { DEFAULT_ISSUER_CONFIG } from './default-config.js';

export { DEFAULT_DATA_DIR } from './default-config.js';
import { readIssuerConfigFile, resolveIssuerConfig, type SettingsOverrides } from './config.js';
import { createIssuer, type Issuer } from './issuer.js';
import { createKeyStore } from './key-store.js';
import { checkDataDir, prepareDataDir, writeFileSafely } from './safe-write.js';

export const SNAPSHOT_FILE = 'issuer.json';

export interface IssuerSnapshot {
  version: 1;
  config: unknown;
  overrides: SettingsOverrides;
  base_url: string;
}

export async function saveSnapshot(dir: string, snapshot: Omit<IssuerSnapshot, 'version'>): Promise<void> {
  await prepareDataDir(dir);
  await writeFileSafely(dir, SNAPSHOT_FILE, `${JSON.stringify({ version: 1, ...snapshot }, null, 2)}\n`);
}

export async function loadSnapshot(dir: string): Promise<IssuerSnapshot | undefined> {
  // A snapshot another user could have planted would choose the config (and access keys) offline tokens use.
  await checkDataDir(dir);
  let text: string;
  try {
    text = await readFile(join(dir, SNAPSHOT_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const value = JSON.parse(text) as Partial<IssuerSnapshot>;
    if (value.version === 1 && typeof value.base_url === 'string' && typeof value.overrides === 'object' && value.overrides !== null) {
      return value as IssuerSnapshot;
    }
  } catch {
    // reported below
  }
  throw new ConfigError([{ path: join(dir, SNAPSHOT_FILE), message: 'unreadable issuer snapshot; delete it or pass --config' }]);
}

export interface OfflineIssuer {
  issuer: Issuer;
  baseUrl: string;
}

/**
 * The issuer as the server would run it, straight from the data dir: the
 * config comes from `configPath`, else the snapshot, else the built-in default.
 */
export async function openOfflineIssuer(options: {
  dataDir: string;
  configPath?: string | undefined;
  overrides?: SettingsOverrides;
  /** Base URL when the snapshot has none (the --issuer URL). */
  baseUrl: string;
  logger?: Logger;
}): Promise<OfflineIssuer> {
  const snapshot = options.configPath === undefined ? await loadSnapshot(options.dataDir) : undefined;
  const raw = options.configPath !== undefined ? readIssuerConfigFile(options.configPath) : (snapshot?.config ?? DEFAULT_ISSUER_CONFIG);
  const overrides = { ...snapshot?.overrides, ...definedOnly(options.overrides ?? {}) };
  const settings = resolveIssuerConfig(raw, overrides);
  const keyStore = await createKeyStore({
    dataDir: options.dataDir,
    alg: settings.alg,
    keepRotatedKeys: settings.keepRotatedKeys,
    rotateOnAlgChange: false,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  return { issuer: createIssuer(settings, keyStore), baseUrl: settings.publicBaseUrl ?? snapshot?.base_url ?? options.baseUrl };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
