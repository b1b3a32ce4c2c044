/**
 * The issuer's signing keys: one current key plus the retired keys still
 * published after rotations. With a data dir the keys survive restarts, so
 * tokens issued before a restart stay verifiable: `keys.json` holds public
 * metadata, `<kid>.pem` each private key (mode 0600, dir 0700).
 */
import { generateKeyPair, createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { chmod, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../lib/logger.js';
import type { IssuerAlg } from './options.js';
import { prepareDataDir, writeFileSafely } from './safe-write.js';

const generate = promisify(generateKeyPair);

export interface PublicJwk {
  readonly kty: string;
  readonly kid: string;
  readonly alg: IssuerAlg;
  readonly use: 'sig';
  readonly [member: string]: unknown;
}

export interface SigningKey {
  readonly kid: string;
  readonly alg: IssuerAlg;
  readonly privateKey: KeyObject;
  readonly publicJwk: PublicJwk;
  readonly createdAt: string;
}

export interface KeyStore {
  /** The key new tokens are signed with. */
  current(): SigningKey;
  /** Every published key: the current one first, then retired ones, newest first. */
  published(): readonly SigningKey[];
  /** Makes a new current key; the previous one stays published for `keepRotatedKeys` rotations. */
  rotate(alg?: IssuerAlg): Promise<SigningKey>;
  readonly dataDir: string | undefined;
}

export interface KeyStoreOptions {
  /** Where keys persist; undefined keeps them in memory only. */
  dataDir?: string | undefined;
  alg: IssuerAlg;
  keepRotatedKeys: number;
  /** Rotate at start when the current key has another alg (default true); offline tools pass false. */
  rotateOnAlgChange?: boolean;
  logger?: Logger;
}

interface KeyRecord {
  kid: string;
  alg: IssuerAlg;
  created_at: string;
  public_jwk: PublicJwk;
}

interface KeysFile {
  version: 1;
  /** Index 0 is the current key. */
  keys: KeyRecord[];
}

export const KEYS_FILE = 'keys.json';
// kids are generated here; checking them on load keeps a tampered keys.json from naming files outside the dir.
const KID_PATTERN = /^[0-9a-f]{32}$/;

export async function createKeyStore(options: KeyStoreOptions): Promise<KeyStore> {
  const logger = options.logger ?? silentLogger;
  const dir = options.dataDir;
  let keys: SigningKey[] = dir ? await loadKeys(dir, logger) : [];
  let queue: Promise<unknown> = Promise.resolve();

  async function rotateNow(alg: IssuerAlg): Promise<SigningKey> {
    const key = await generateSigningKey(alg);
    const next = [key, ...keys].slice(0, options.keepRotatedKeys + 1);
    if (dir) await persist(dir, key, next, keys.filter((k) => !next.includes(k)));
    keys = next;
    logger.info({ kid: key.kid, alg, published: next.length }, 'issuer: new signing key');
    return key;
  }

  // Rotations run one at a time so two concurrent ones cannot lose a key.
  const rotate = (alg: IssuerAlg = options.alg): Promise<SigningKey> => {
    const run = queue.then(() => rotateNow(alg));
    queue = run.catch(() => undefined);
    return run;
  };

  // A changed --alg rotates rather than discards, so tokens of the old key stay valid.
  if (keys.length === 0 || (keys[0]!.alg !== options.alg && options.rotateOnAlgChange !== false)) await rotate(options.alg);

  return {
    current: () => keys[0]!,
    published: () => keys,
    rotate,
    dataDir: dir,
  };
}

export async function generateSigningKey(alg: IssuerAlg): Promise<SigningKey> {
  const { privateKey } =
    alg === 'RS256'
      ? await generate('rsa', { modulusLength: 2048 })
      : alg === 'EdDSA'
        ? await generate('ed25519')
        : await generate('ec', { namedCurve: alg === 'ES256' ? 'P-256' : 'P-384' });
  return makeKey(randomBytes(16).toString('hex'), alg, privateKey, new Date().toISOString());
}

function makeKey(kid: string, alg: IssuerAlg, privateKey: KeyObject, createdAt: string): SigningKey {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const publicJwk = Object.freeze({ ...jwk, kty: jwk.kty!, kid, alg, use: 'sig' as const });
  return Object.freeze({ kid, alg, privateKey, publicJwk, createdAt });
}

async function loadKeys(dir: string, logger: Logger): Promise<SigningKey[]> {
  await prepareDataDir(dir, logger);
  let text: string;
  try {
    text = await readFile(join(dir, KEYS_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const file = parseKeysFile(text, join(dir, KEYS_FILE));
  const keys: SigningKey[] = [];
  for (const record of file.keys) {
    const pemPath = join(dir, `${record.kid}.pem`);
    await tightenMode(pemPath, 0o600, logger);
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(await readFile(pemPath, 'utf8'));
    } catch (error) {
      throw new Error(`issuer data dir ${dir}: cannot read the private key of kid ${record.kid}: ${(error as NodeJS.ErrnoException).code ?? 'invalid PEM'}`, { cause: error });
    }
    const key = makeKey(record.kid, record.alg, privateKey, record.created_at);
    if (!sameKey(key.publicJwk, record.public_jwk)) {
      throw new Error(`issuer data dir ${dir}: ${record.kid}.pem does not match the public key in ${KEYS_FILE}`);
    }
    keys.push(key);
  }
  return keys;
}

function parseKeysFile(text: string, path: string): KeysFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${path} is not valid JSON; fix it or delete the data dir (tokens it signed will stop verifying)`);
  }
  const file = value as Partial<KeysFile>;
  const valid =
    file.version === 1 &&
    Array.isArray(file.keys) &&
    file.keys.every(
      (k) =>
        typeof k === 'object' && k !== null && typeof k.kid === 'string' && KID_PATTERN.test(k.kid) &&
        ['RS256', 'ES256', 'ES384', 'EdDSA'].includes(k.alg) && typeof k.created_at === 'string' &&
        typeof k.public_jwk === 'object' && k.public_jwk !== null,
    );
  if (!valid) throw new Error(`${path} has an unexpected shape; fix it or delete the data dir`);
  return file as KeysFile;
}

function sameKey(a: PublicJwk, b: PublicJwk): boolean {
  const members = ['kty', 'n', 'e', 'crv', 'x', 'y'] as const;
  return members.every((m) => a[m] === b[m]);
}

async function persist(dir: string, added: SigningKey, keys: readonly SigningKey[], dropped: readonly SigningKey[]): Promise<void> {
  await prepareDataDir(dir);
  const pem = added.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  await writeFileSafely(dir, `${added.kid}.pem`, pem);
  // The PEM is in place before keys.json names it, and keys.json is replaced atomically,
  // so a crash at any point leaves a loadable store.
  const file: KeysFile = {
    version: 1,
    keys: keys.map((k) => ({ kid: k.kid, alg: k.alg, created_at: k.createdAt, public_jwk: k.publicJwk })),
  };
  await writeFileSafely(dir, KEYS_FILE, `${JSON.stringify(file, null, 2)}\n`);
  for (const key of dropped) await rm(join(dir, `${key.kid}.pem`), { force: true });
}

async function tightenMode(path: string, mode: number, logger: Logger): Promise<void> {
  try {
    const info = await stat(path);
    if ((info.mode & 0o777 & ~mode) !== 0) {
      await chmod(path, mode);
      logger.warn({ path }, 'issuer: private key file was readable by others; mode set to 0600');
    }
  } catch {
    // A missing file is reported by the read that follows.
  }
}
