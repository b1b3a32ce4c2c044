/** Keeps docs/errors.md and the failure-code table in step (code, status, challenge, message). */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FAILURE_CODES, shapeDenial, type FailureCode } from '../../src/jwt/errors.js';
import { fromRoot } from '../support/repo-root.js';

it('docs/errors.md lists every failure code with its status, challenge and message, and nothing else', () => {
  const doc = readFileSync(fromRoot('docs/errors.md'), 'utf8');
  const rows = [...doc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \| (.+?) \| (.+?) \|$/gm)];
  const documented = rows.map((row) => row[1]);
  assert.deepEqual([...documented].sort(), Object.keys(FAILURE_CODES).sort());
  for (const [, code, status, challenge, message] of rows) {
    const entry = FAILURE_CODES[code as FailureCode];
    const shape = shapeDenial(code as FailureCode, { errorBody: true });
    assert.equal(Number(status), entry.status, code);
    assert.equal(challenge, shape.wwwAuthenticate === undefined ? '(none)' : `\`${shape.wwwAuthenticate}\``, code);
    assert.equal(message, entry.message, code);
  }
});

it('docs/errors.md lists every answer of our own (rate limits, draining, routing) with its status', async () => {
  const { BODIES } = await import('../../src/http/response.js');
  const doc = readFileSync(fromRoot('docs/errors.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Answers that are not token failures'));
  const rows = new Map([...section.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \| [^|]+\|$/gm)].map((row) => [row[1], Number(row[2])]));
  const codes = Object.values(BODIES)
    .map((body) => (JSON.parse(body) as { error?: string }).error)
    .filter((code): code is string => code !== undefined);
  assert.deepEqual([...rows.keys()].sort(), [...new Set(codes)].sort());
});
