/**
 * `portcullis run` (the built CLI) as a real child process whose stdout reader stops, as a
 * stuck log shipper does: the pipe (64 KiB) and the log buffer fill up, and
 * requests and `/__health` must keep completing. Once the reader is back,
 * every line it gets is whole JSON, the lines it did not get are exactly the
 * ones the notice line says were dropped, and the gateway still logs and
 * stops cleanly, its last line flushed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { request } from 'undici';
import { DEFAULT_MAX_BUFFER_BYTES } from '../../src/lib/log-stream.js';
import { unusedPort } from '../support/backend-server.js';
import { assertDistBuilt, DIST_MAIN } from '../support/cli.js';

const ACCESS = '[SERVICE: Gateway] request';
// Long paths make long access lines, so a few hundred requests fill the pipe and the buffer.
const PATH_LENGTH = 4000;
// A request that stalls behind a blocked stdout fails the test instead of hanging it.
const REQUEST_DEADLINE_MS = 30_000;

interface LogEntry {
  msg: string;
  path?: string;
  droppedLines?: number;
}

async function get(url: string): Promise<number> {
  const response = await request(url, { headersTimeout: REQUEST_DEADLINE_MS, bodyTimeout: REQUEST_DEADLINE_MS });
  await response.body.dump();
  return response.statusCode;
}

async function until<T>(what: string | (() => string), probe: () => T | undefined, deadlineMs = 30_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('a stalled log reader', () => {
  let dir: string;
  let child: ChildProcessByStdio<null, Readable, Readable> | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-stall-'));
  });
  after(() => {
    if (child !== undefined && child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('does not stop requests or health checks, drops and counts lines, and recovers', async () => {
    const config = join(dir, 'gateway.json');
    writeFileSync(config, JSON.stringify({ version: 3, endpoints: [{ endpoint: '/unused', backend: [{ host: ['http://127.0.0.1:9'], url_pattern: '/' }] }] }));
    const port = await unusedPort();
    const base = `http://127.0.0.1:${port}`;
    assertDistBuilt();
    const spawned = spawn(process.execPath, [DIST_MAIN, 'run', '-c', config, '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = spawned;
    const exited = new Promise<number | null>((resolve) => spawned.on('exit', (code) => resolve(code)));
    let stderr = '';
    spawned.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let out = '';
    const collect = (chunk: Buffer): void => void (out += chunk.toString());
    spawned.stdout.on('data', collect);
    await until(`the listening line (stderr: ${stderr})`, () => (out.includes('Listening on port') ? true : undefined));

    // The reader stops: no 'data' listener, the stream paused, never resumed until the end of the flood.
    spawned.stdout.off('data', collect);
    spawned.stdout.pause();
    const longPath = `/${'p'.repeat(PATH_LENGTH)}`;
    const floodBytes = 3 * DEFAULT_MAX_BUFFER_BYTES;
    let sent = 0;
    for (let written = 0; written < floodBytes; written += PATH_LENGTH) {
      assert.equal(await get(`${base}${longPath}`), 404);
      sent++;
      if (sent % 100 === 0) {
        assert.equal(await get(`${base}/__health`), 200, 'the health check answers while the log reader is stopped');
        sent++;
      }
    }
    assert.equal(await get(`${base}/__health`), 200);
    sent++;

    // The reader is back.
    spawned.stdout.on('data', collect);
    spawned.stdout.resume();
    const entries = (): LogEntry[] =>
      out
        .split('\n')
        .slice(0, -1)
        .map((line) => JSON.parse(line) as LogEntry);
    await until('the dropped-lines notice', () => (entries().some((entry) => entry.droppedLines !== undefined) ? true : undefined));
    assert.equal(await get(`${base}/after-the-stall`), 404);
    await until('the access line of a request after the stall', () => (entries().some((entry) => entry.path === '/after-the-stall') ? true : undefined));

    const tally = () => {
      const all = entries();
      const dropped = all.reduce((sum, entry) => sum + (entry.droppedLines ?? 0), 0);
      const logged = all.filter((entry) => entry.msg === ACCESS && entry.path !== '/after-the-stall').length;
      return { dropped, logged };
    };
    // A batch written just as the reader came back may have been dropped too; its notice follows once that write drained.
    await until(() => `every access line written or counted (${JSON.stringify(tally())} of ${sent})`, () => {
      const { dropped, logged } = tally();
      return logged + dropped === sent ? true : undefined;
    });
    const { dropped, logged } = tally();
    assert.ok(dropped > 0, 'the flood outgrew the pipe and the buffer, so lines were dropped');
    assert.ok(logged > 0, 'lines before the bound were kept');

    process.kill(spawned.pid!, 'SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.match(out.trimEnd().split('\n').at(-1)!, /"msg":"\[SERVICE: Gateway\] stopped"/);
  });
});
