/**
 * How the issuer writes private keys and its snapshot into the data dir, and
 * the checks that dir must pass first. A file is replaced, never written
 * through: a symlink planted at the final name or at a temp name cannot steer
 * the bytes (a private key, access-key secrets) anywhere else.
 */
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, open, realpath, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { silentLogger, type Logger } from '../lib/logger.js';

const FILE_MODE = 0o600;
const TEMP_ATTEMPTS = 5;

export interface SafeWriteOptions {
  /** Temp-name suffixes, for tests that plant a symlink at a known temp name. Default: 96 random bits. */
  tempSuffix?: () => string;
}

/**
 * Writes `data` to `dir/name` with mode 0600: an exclusive create of a temp
 * file with an unpredictable name in the same dir (O_CREAT|O_EXCL never opens
 * an existing path, symlink or not), fsync, then rename over `name`, which
 * replaces whatever is there (a symlink included) without following it.
 */
export async function writeFileSafely(dir: string, name: string, data: string, options: SafeWriteOptions = {}): Promise<void> {
  const suffix = options.tempSuffix ?? (() => randomBytes(12).toString('hex'));
  const target = join(dir, name);
  for (let attempt = 1; ; attempt++) {
    const temp = join(dir, `.${basename(name)}.${suffix()}.tmp`);
    let handle: FileHandle;
    try {
      handle = await open(temp, 'wx', FILE_MODE);
    } catch (error) {
      // Someone holds this name: never write through it, try another one.
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && attempt < TEMP_ATTEMPTS) continue;
      throw error;
    }
    try {
      try {
        // The create mode passes through the umask, which only removes bits; chmod makes it exactly 0600.
        await handle.chmod(FILE_MODE);
        await handle.writeFile(data, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, target);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    return;
  }
}

/** A data dir that must not be used; the message names the dir and the fix. */
export class DataDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirError';
  }
}

/**
 * Creates the data dir (0700) if missing, then refuses one that another user
 * could tamper with: writable by everyone, or owned by another uid. A symlinked
 * dir is followed and its target checked; the link itself must be ours too, so
 * a link someone else planted is refused even when it points at a good dir.
 * Other access by the group or by everyone (reading) only warns: the key files inside stay 0600.
 */
export async function prepareDataDir(dir: string, logger: Logger = silentLogger): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode: 0o700 });
  if (created !== undefined) await chmod(dir, 0o700);
  await checkDataDir(dir, logger);
}

/** The checks of `prepareDataDir` on a dir that exists; a missing dir passes (nothing to read in it). */
export async function checkDataDir(dir: string, logger: Logger = silentLogger): Promise<void> {
  // Windows has no POSIX modes or uids; its ACLs are out of reach here.
  if (process.platform === 'win32' || process.getuid === undefined) return;
  const uid = process.getuid();
  let link;
  try {
    link = await lstat(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const other = 'or choose another --data-dir';
  if (link.isSymbolicLink() && link.uid !== uid) {
    throw new DataDirError(
      `issuer data dir ${dir} is a symlink owned by uid ${link.uid}, not by this user (uid ${uid}), so another user chose where the signing keys go. ` +
        `Fix: remove the link and create the dir yourself, ${other}`,
    );
  }
  const info = link.isSymbolicLink() ? await stat(dir) : link;
  const what = link.isSymbolicLink() ? `issuer data dir ${dir} (a symlink to ${await realpath(dir)})` : `issuer data dir ${dir}`;
  if (!info.isDirectory()) throw new DataDirError(`${what} is not a directory. Fix: remove it, ${other}`);
  if (info.uid !== uid) {
    throw new DataDirError(
      `${what} is owned by uid ${info.uid}, not by this user (uid ${uid}); its owner could replace the signing keys. ` +
        `Fix: chown ${uid} ${dir} and chmod 700 ${dir}, ${other}`,
    );
  }
  if ((info.mode & 0o002) !== 0) {
    throw new DataDirError(
      `${what} is writable by every user (mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}); anyone could plant or replace its files. ` +
        `Fix: chmod 700 ${dir}, ${other}`,
    );
  }
  if ((info.mode & 0o077) !== 0) logger.warn({ dir }, 'issuer: data dir is accessible to other users; private keys inside are 0600');
}
