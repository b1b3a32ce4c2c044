import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { loadIssuerSettings } from '../../src/issuer/config.js';
import { openOfflineIssuer, saveSnapshot, SNAPSHOT_FILE } from '../../src/issuer/data-dir.js';
import { createIssuer } from '../../src/issuer/issuer.js';
import { createKeyStore, KEYS_FILE } from '../../src/issuer/key-store.js';
import { writeFileSafely } from '../../src/issuer/safe-write.js';
import { startIssuerServer } from '../../src/issuer/server.js';

const PID = 'P2portcullisdemo0000000000000';
const VICTIM_TEXT = 'victim: must never change\n';
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

const roots: string[] = [];
after(() => roots.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tempRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-datadir-'));
  roots.push(dir);
  return dir;
}

/** A file outside the data dir that a planted symlink points at. */
function victim(root: string): string {
  const path = join(root, 'victim.txt');
  writeFileSync(path, VICTIM_TEXT, { mode: 0o644 });
  return path;
}

const mode = (path: string): number => statSync(path).mode & 0o777;
const keyStoreAt = (dataDir: string) => createKeyStore({ dataDir, alg: 'ES256', keepRotatedKeys: 2 });
const snapshotAt = (dataDir: string) => saveSnapshot(dataDir, { config: {}, overrides: {}, base_url: 'http://127.0.0.1:4000' });

describe('issuer data dir: who may write in it', () => {
  test('a world-writable data dir is refused: the error names the dir and the fix, and nothing is written in it', async () => {
    const dataDir = join(tempRoot(), 'data');
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o777);
    const refusal = (error: Error): boolean => {
      assert.equal(error.name, 'DataDirError');
      assert.match(error.message, new RegExp(`^issuer data dir ${dataDir} is writable by every user \\(mode 0777\\)`));
      assert.match(error.message, new RegExp(`chmod 700 ${dataDir}, or choose another --data-dir`));
      return true;
    };
    await assert.rejects(keyStoreAt(dataDir), refusal);
    await assert.rejects(snapshotAt(dataDir), refusal);
    // `portcullis token` / `issuer rotate` offline read the snapshot there first.
    await assert.rejects(openOfflineIssuer({ dataDir, baseUrl: 'http://127.0.0.1:4000' }), refusal);
    assert.deepEqual(readdirSync(dataDir), []);
  });

  test('a data dir owned by another user is refused (uid 65534)', { skip: isRoot ? false : 'needs root to chown the dir to another user' }, async () => {
    const root = tempRoot();
    const dataDir = join(root, 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    chownSync(dataDir, NOBODY, NOBODY);
    await assert.rejects(keyStoreAt(dataDir), (error: Error) => {
      assert.match(error.message, new RegExp(`^issuer data dir ${dataDir} is owned by uid ${NOBODY}, not by this user \\(uid 0\\)`));
      assert.match(error.message, new RegExp(`chown 0 ${dataDir} and chmod 700 ${dataDir}, or choose another --data-dir`));
      return true;
    });
    await assert.rejects(snapshotAt(dataDir), /is owned by uid 65534/);
    assert.deepEqual(readdirSync(dataDir), []);

    // A symlink someone else planted is refused even when it points at a dir of ours.
    const ours = join(root, 'ours');
    mkdirSync(ours, { mode: 0o700 });
    const link = join(root, 'planted-link');
    symlinkSync(ours, link);
    lchownSync(link, NOBODY, NOBODY);
    await assert.rejects(keyStoreAt(link), { name: 'DataDirError', message: new RegExp(`^issuer data dir ${link} is a symlink owned by uid ${NOBODY}`) });
    assert.deepEqual(readdirSync(ours), []);
  });

  test('a symlinked data dir is judged by its target: refused when the target is world-writable, used when it is ours and private', async () => {
    const root = tempRoot();
    const open = join(root, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const toOpen = join(root, 'to-open');
    symlinkSync(open, toOpen);
    await assert.rejects(keyStoreAt(toOpen), (error: Error) => {
      assert.match(error.message, new RegExp(`^issuer data dir ${toOpen} \\(a symlink to ${open}\\) is writable by every user`));
      return true;
    });
    assert.deepEqual(readdirSync(open), []);

    const good = join(root, 'good');
    mkdirSync(good, { mode: 0o700 });
    const toGood = join(root, 'to-good');
    symlinkSync(good, toGood);
    const store = await keyStoreAt(toGood);
    assert.deepEqual(readdirSync(good).sort(), [`${store.current().kid}.pem`, KEYS_FILE].sort());
  });

  test('symlinks planted at the temp and final names are not followed; keys and snapshot end up 0600 in a 0700 dir and serve', async () => {
    const root = tempRoot();
    const target = victim(root);
    const dataDir = join(root, 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    // The names the writers used to pick: predictable from the pid.
    const planted = [`${KEYS_FILE}.${process.pid}.tmp`, `${SNAPSHOT_FILE}.${process.pid}.tmp`, SNAPSHOT_FILE];
    for (const name of planted) symlinkSync(target, join(dataDir, name));

    const store = await keyStoreAt(dataDir);
    const first = store.current().kid;
    await store.rotate();
    await snapshotAt(dataDir);
    assert.equal(readFileSync(target, 'utf8'), VICTIM_TEXT);
    assert.equal(mode(target), 0o644);

    assert.equal(mode(dataDir), 0o700);
    for (const name of [KEYS_FILE, SNAPSHOT_FILE, `${first}.pem`, `${store.current().kid}.pem`]) {
      const info = lstatSync(join(dataDir, name));
      assert.ok(info.isFile(), `${name} is a regular file, not a symlink`);
      assert.equal(info.mode & 0o777, 0o600, name);
    }
    assert.equal(JSON.parse(readFileSync(join(dataDir, SNAPSHOT_FILE), 'utf8')).version, 1);
    // No temp file is left behind.
    assert.deepEqual(readdirSync(dataDir).filter((name) => name.endsWith('.tmp')).sort(), planted.slice(0, 2).sort());

    // A normal start on that dir works: the reloaded key signs tokens that verify against the served JWKS.
    const server = await startIssuerServer(createIssuer(loadIssuerSettings(undefined), await keyStoreAt(dataDir)), { port: 0 });
    try {
      const res = await fetch(`${server.url}/admin/mint`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal(res.status, 200);
      const { sessionJwt } = (await res.json()) as { sessionJwt: string };
      const { protectedHeader } = await jwtVerify(sessionJwt, createRemoteJWKSet(new URL(`${server.url}/v2/keys/${PID}`)));
      assert.equal(protectedHeader.kid, store.current().kid);
    } finally {
      await server.close();
    }
  });
});

describe('writeFileSafely', () => {
  test('a temp name someone took (a symlink) is skipped, never written through; a symlink at the final name is replaced, not followed', async () => {
    const root = tempRoot();
    const target = victim(root);
    const dir = join(root, 'data');
    mkdirSync(dir, { mode: 0o700 });
    symlinkSync(target, join(dir, '.secret.json.taken.tmp'));
    symlinkSync(target, join(dir, 'secret.json'));
    const suffixes = ['taken', 'free'];
    await writeFileSafely(dir, 'secret.json', '{"s":1}\n', { tempSuffix: () => suffixes.shift()! });
    assert.equal(readFileSync(target, 'utf8'), VICTIM_TEXT);
    const info = lstatSync(join(dir, 'secret.json'));
    assert.ok(info.isFile());
    assert.equal(info.mode & 0o777, 0o600);
    assert.equal(readFileSync(join(dir, 'secret.json'), 'utf8'), '{"s":1}\n');
    assert.deepEqual(readdirSync(dir).sort(), ['.secret.json.taken.tmp', 'secret.json']);
  });

  test('when every temp name it tries is taken it fails with EEXIST and writes nothing anywhere', async () => {
    const root = tempRoot();
    const target = victim(root);
    const dir = join(root, 'data');
    mkdirSync(dir, { mode: 0o700 });
    symlinkSync(target, join(dir, '.secret.json.same.tmp'));
    await assert.rejects(writeFileSafely(dir, 'secret.json', 'x', { tempSuffix: () => 'same' }), { code: 'EEXIST' });
    assert.equal(readFileSync(target, 'utf8'), VICTIM_TEXT);
    assert.deepEqual(readdirSync(dir), ['.secret.json.same.tmp']);
  });
});
