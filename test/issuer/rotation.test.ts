import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { resolveIssuerConfig } from '../../src/issuer/config.js';
import type { IssuerAlg } from '../../src/issuer/options.js';
import { DEFAULT_ISSUER_CONFIG } from '../../src/issuer/default-config.js';
import { createIssuer } from '../../src/issuer/issuer.js';
import { createKeyStore } from '../../src/issuer/key-store.js';
import { startIssuerServer, type IssuerServer } from '../../src/issuer/server.js';

const PID = 'P2portcullisdemo0000000000000';
const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-issuer-'));
  dirs.push(dir);
  return join(dir, 'data');
}

async function start(options: { dataDir?: string; keep?: number; alg?: IssuerAlg; port?: number }): Promise<IssuerServer> {
  const settings = resolveIssuerConfig({ ...(DEFAULT_ISSUER_CONFIG as object), keep_rotated_keys: options.keep ?? 12 }, { alg: options.alg });
  const keyStore = await createKeyStore({ dataDir: options.dataDir, alg: settings.alg, keepRotatedKeys: settings.keepRotatedKeys });
  return startIssuerServer(createIssuer(settings, keyStore), { port: options.port ?? 0 });
}

async function mint(server: IssuerServer): Promise<string> {
  const res = await fetch(`${server.url}/admin/mint`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"roles":["admin"]}' });
  assert.equal(res.status, 200);
  return ((await res.json()) as { sessionJwt: string }).sessionJwt;
}

async function rotate(server: IssuerServer): Promise<void> {
  const res = await fetch(`${server.url}/admin/rotate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(res.status, 200);
}

/** A fresh key set each time, so jose's cache never hides what the issuer publishes now. */
async function verify(server: IssuerServer, token: string): Promise<void> {
  await jwtVerify(token, createRemoteJWKSet(new URL(`${server.url}/v2/keys/${PID}`)), { issuer: `${server.url}/v1/apps/${PID}`, audience: PID });
}

describe('rotation', () => {
  test('old tokens stay valid until their key is dropped after keep_rotated_keys rotations', async () => {
    const server = await start({ keep: 2 });
    try {
      const old = await mint(server);
      await rotate(server);
      const newer = await mint(server);
      assert.notEqual(decodeProtectedHeader(old).kid, decodeProtectedHeader(newer).kid);
      await verify(server, old);
      await verify(server, newer);
      await rotate(server);
      await verify(server, old); // retired twice, still published (keep 2)
      await rotate(server);
      await assert.rejects(verify(server, old), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
      await verify(server, newer);
      const jwks = (await (await fetch(`${server.url}/v2/keys/${PID}`)).json()) as { keys: unknown[] };
      assert.equal(jwks.keys.length, 3);
    } finally {
      await server.close();
    }
  });

  test('keep_rotated_keys 0 drops the previous key at once', async () => {
    const server = await start({ keep: 0 });
    try {
      const old = await mint(server);
      await rotate(server);
      await assert.rejects(verify(server, old), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
    } finally {
      await server.close();
    }
  });

  test('concurrent rotations all land: no key is lost', async () => {
    const server = await start({ keep: 12 });
    try {
      await Promise.all([rotate(server), rotate(server), rotate(server)]);
      const jwks = (await (await fetch(`${server.url}/v2/keys/${PID}`)).json()) as { keys: { kid: string }[] };
      assert.equal(new Set(jwks.keys.map((k) => k.kid)).size, 4);
    } finally {
      await server.close();
    }
  });
});

describe('data dir', () => {
  test('keys survive a restart: tokens issued before it still verify', async () => {
    const dataDir = tempDir();
    const first = await start({ dataDir });
    const token = await mint(first);
    await first.close();
    // Same port: the iss names the issuer's base URL.
    const second = await start({ dataDir, port: first.port });
    try {
      await verify(second, token);
      assert.equal(decodeProtectedHeader(await mint(second)).kid, decodeProtectedHeader(token).kid);
    } finally {
      await second.close();
    }
  });

  test('layout: dir 0700, one 0600 PEM per published key, keys.json with public members only', async () => {
    const dataDir = tempDir();
    const server = await start({ dataDir, keep: 1 });
    try {
      await rotate(server);
      await rotate(server); // the first key is dropped: its PEM must go too
    } finally {
      await server.close();
    }
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    const file = JSON.parse(readFileSync(join(dataDir, 'keys.json'), 'utf8')) as { version: number; keys: { kid: string; public_jwk: Record<string, unknown> }[] };
    assert.equal(file.version, 1);
    assert.equal(file.keys.length, 2);
    const pems = readdirSync(dataDir).filter((name) => name.endsWith('.pem')).sort();
    assert.deepEqual(pems, file.keys.map((k) => `${k.kid}.pem`).sort());
    for (const pem of pems) assert.equal(statSync(join(dataDir, pem)).mode & 0o777, 0o600, pem);
    for (const key of file.keys) {
      for (const privateMember of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(key.public_jwk[privateMember], undefined);
    }
  });

  test('a changed --alg rotates to a key of the new alg and keeps the old one published', async () => {
    const dataDir = tempDir();
    const first = await start({ dataDir, alg: 'RS256' });
    const token = await mint(first);
    await first.close();
    const second = await start({ dataDir, alg: 'ES256', port: first.port });
    try {
      await verify(second, token);
      assert.equal(decodeProtectedHeader(await mint(second)).alg, 'ES256');
    } finally {
      await second.close();
    }
  });

  test('a corrupt keys.json stops startup with a clear message instead of replacing the keys', async () => {
    const dataDir = tempDir();
    await (await start({ dataDir })).close();
    writeFileSync(join(dataDir, 'keys.json'), '{ broken');
    await assert.rejects(createKeyStore({ dataDir, alg: 'RS256', keepRotatedKeys: 12 }), /keys\.json is not valid JSON/);
  });

  test('a kid that could name a file outside the dir is refused', async () => {
    const dataDir = tempDir();
    await (await start({ dataDir })).close();
    const file = JSON.parse(readFileSync(join(dataDir, 'keys.json'), 'utf8')) as { keys: { kid: string }[] };
    file.keys[0]!.kid = '../../etc/passwd';
    writeFileSync(join(dataDir, 'keys.json'), JSON.stringify(file));
    await assert.rejects(createKeyStore({ dataDir, alg: 'RS256', keepRotatedKeys: 12 }), /unexpected shape/);
  });
});
