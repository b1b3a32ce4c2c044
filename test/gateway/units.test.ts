/** The gateway's pure steps: health time format, query filtering, url filling, header safety, body decoding. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { goTimeString, healthBody } from '../../src/gateway/health.js';
import { claimSegment, compilePathBuilder, UnroutableClaimError, encodeComponent, filterQuery, patternQueryKeys, withQuery } from '../../src/gateway/backend-url.js';
import { headerSafe } from '../../src/lib/headers.js';
import { decodeBackendBody, MergeState } from '../../src/gateway/merge.js';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { ACCESS_MESSAGE, createAccessLog, millisText, type AccessEntry } from '../../src/gateway/access-log.js';
import { createPinoLogger, LOG_FORMATS } from '../../src/lib/pino-logger.js';

describe('health', () => {
  it("formats time as Go's time.Now().String() in UTC", () => {
    const epochNs = BigInt(Date.UTC(2025, 4, 1, 10, 0, 0)) * 1_000_000n + 123_456_789n;
    assert.equal(goTimeString(epochNs, 12_345_678_901n), '2025-05-01 10:00:00.123456789 +0000 UTC m=+12.345678901');
  });

  it('trims trailing zeros of the fraction, and the dot when it is whole', () => {
    const base = BigInt(Date.UTC(2025, 0, 2, 3, 4, 5)) * 1_000_000n;
    assert.equal(goTimeString(base + 120_000_000n, 5n), '2025-01-02 03:04:05.12 +0000 UTC m=+0.000000005');
    assert.equal(goTimeString(base, 1_000_000_000n), '2025-01-02 03:04:05 +0000 UTC m=+1.000000000');
  });

  it('has KrakenD\'s key order', () => {
    assert.match(healthBody(), /^\{"agents":\{\},"now":"[^"]+","status":"ok"\}$/);
  });
});

describe('query filtering', () => {
  it('keeps allowed keys case-sensitively and byte for byte', () => {
    assert.equal(filterQuery('a=1&B=2&b=3&a=4', new Set(['a', 'b'])), 'a=1&b=3&a=4');
    assert.equal(filterQuery('q=%20x+y&other', new Set(['q'])), 'q=%20x+y');
  });

  it('matches the decoded key and ignores malformed escapes', () => {
    assert.equal(filterQuery('fil%74er=1&%zz=2', new Set(['filter', '%zz'])), 'fil%74er=1');
  });

  it('forwards all with *, none with an empty list', () => {
    assert.equal(filterQuery('x=1&y=2', '*'), 'x=1&y=2');
    assert.equal(filterQuery('x=1', new Set()), '');
    assert.equal(filterQuery('', new Set(['x'])), '');
    assert.equal(filterQuery('&&x=1&', new Set(['x'])), 'x=1');
  });

  it('reads ";" as a pair separator, so an allowlist cannot be bypassed with it', () => {
    assert.equal(filterQuery('a=1;admin=1', new Set(['a'])), 'a=1');
    assert.equal(filterQuery('admin=1;a=1&b=2', new Set(['a', 'b'])), 'a=1&b=2');
    assert.equal(filterQuery(';;a=1;', new Set(['a'])), 'a=1');
  });

  it('drops the keys a url_pattern sets itself, also with "*", whatever their spelling', () => {
    const reserved = patternQueryKeys('/orders?user={JWT.sub}&view=own')!;
    assert.deepEqual([...reserved], ['user', 'view']);
    assert.equal(filterQuery('user=eve&x=1;user=x&us%65r=y&User=z', '*', reserved), 'x=1&User=z');
    assert.equal(filterQuery('user=eve&x=1', new Set(['user', 'x']), reserved), 'x=1');
    assert.equal(patternQueryKeys('/orders'), undefined);
    assert.equal(patternQueryKeys('/orders?'), undefined);
  });

  it('appends to a pattern that has its own query', () => {
    assert.equal(withQuery('/a?x=1', 'y=2'), '/a?x=1&y=2');
    assert.equal(withQuery('/a', 'y=2'), '/a?y=2');
    assert.equal(withQuery('/a', ''), '/a');
  });
});

describe('url_pattern filling', () => {
  it('formats claims: strings as is, integers as integer text, other finite numbers in shortest form', () => {
    assert.equal(claimSegment('c', 'abc'), 'abc');
    assert.equal(claimSegment('c', 1651529725), '1651529725');
    assert.equal(claimSegment('c', 1e21), '1000000000000000000000');
    assert.equal(claimSegment('c', -42.42), '-42.42');
    assert.equal(claimSegment('c', 'T2acme'), 'T2acme');
  });

  it('refuses claims that are not one harmless segment: missing, empty, non-scalar, dot segments, separators, controls', () => {
    const refused: unknown[] = [undefined, '', null, true, ['a', 'b'], { x: 1 }, NaN, '.', '..', '../admin', 'a/b', 'a\\b', 'a\u0000b', 'a\nb', 'a\u007fb', 'a\u0085b'];
    for (const value of refused) {
      assert.throws(() => claimSegment('tenant', value), UnroutableClaimError, `accepted ${JSON.stringify(value)}`);
    }
    // Dots inside a value are not dot segments.
    assert.equal(claimSegment('c', '...'), '...');
    assert.equal(claimSegment('c', 'a..b'), 'a..b');
  });

  it('percent-encodes every value, and never throws on lone surrogates', () => {
    const build = compilePathBuilder([
      { kind: 'literal', text: '/u/' },
      { kind: 'claim', name: 'sub' },
      { kind: 'literal', text: '/p/' },
      { kind: 'param', name: 'id' },
    ]);
    assert.equal(build({ id: 'a?c' }, { sub: 'x y' }), '/u/x%20y/p/a%3Fc');
    assert.throws(() => build({}, undefined), UnroutableClaimError);
    assert.equal(encodeComponent('a\ud800b'), 'a%EF%BF%BDb');
    assert.equal(encodeComponent('😀'), '%F0%9F%98%80');
  });

  it('returns a fixed path without placeholders', () => {
    const build = compilePathBuilder([{ kind: 'literal', text: '/static' }]);
    assert.equal(build({}, undefined), '/static');
  });
});

describe('header safety', () => {
  it('sends Unicode as UTF-8 bytes and strips framing characters', () => {
    assert.equal(headerSafe('plain'), 'plain');
    assert.equal(headerSafe('é'), Buffer.from('é', 'utf8').toString('latin1'));
    assert.equal(headerSafe('€'), Buffer.from('€', 'utf8').toString('latin1'));
    assert.equal(headerSafe('a\r\nx-injected: 1'), 'ax-injected: 1');
    assert.equal(headerSafe('tab\tok'), 'tab\tok');
  });
});

describe('backend bodies', () => {
  it('decodes objects, wraps arrays and strings, fails scalars and garbage', () => {
    assert.deepEqual(decodeBackendBody('{"a":1}', 'json'), { data: { a: 1 }, literals: false });
    assert.deepEqual(decodeBackendBody('[1,2]', 'json'), { data: { collection: [1, 2] }, literals: false });
    assert.deepEqual(decodeBackendBody('not json', 'string'), { data: { content: 'not json' }, literals: false });
    assert.equal(decodeBackendBody('42', 'json'), 'invalid');
    assert.equal(decodeBackendBody('null', 'json'), 'invalid');
    assert.equal(decodeBackendBody('', 'json'), 'invalid');
    assert.equal(decodeBackendBody('{"a":', 'json'), 'invalid');
  });

  it('with is_collection, wants an array (null as Go decodes it) and fails an object', () => {
    assert.deepEqual(decodeBackendBody('[{"id":1}]', 'json', true), { data: { collection: [{ id: 1 }] }, literals: false });
    assert.deepEqual(decodeBackendBody('null', 'json', true), { data: { collection: null }, literals: false });
    assert.equal(decodeBackendBody('{"collection":[1]}', 'json', true), 'invalid');
    assert.equal(decodeBackendBody('7', 'json', true), 'invalid');
    assert.deepEqual(decodeBackendBody('[x', 'string', true), { data: { content: '[x' }, literals: false });
  });

  it('fails an answer nested deeper than the limit as too deep, not as invalid', () => {
    assert.equal(decodeBackendBody(`{"a":${'['.repeat(1000)}${']'.repeat(1000)}}`, 'json'), 'too_deep');
    assert.equal(typeof decodeBackendBody(`{"a":${'['.repeat(999)}${']'.repeat(999)}}`, 'json'), 'object');
  });

  it('merges later answers over earlier ones and tracks completeness', () => {
    const state = new MergeState(3);
    state.add({ a: 1, x: 'first' });
    state.fail(undefined);
    assert.equal(state.done, false);
    state.add({ x: 'second' });
    assert.equal(state.done, true);
    assert.equal(state.complete, false);
    assert.deepEqual({ ...state.data }, { a: 1, x: 'second' });
  });
});

describe('access log', () => {
  function capture() {
    const lines: string[] = [];
    const destination = { write: (text: string) => void lines.push(...text.split('\n').filter(Boolean).map((line) => `${line}\n`)) };
    return { lines, destination };
  }

  // Every field, both optional ones absent and present, and text that JSON must escape (quotes, backslashes,
  // control characters, non-ASCII, longer than pino's 100-character fast path).
  const entries: AccessEntry[] = [
    { requestId: 'r1', method: 'GET', path: '/a"b\\c', endpoint: undefined, status: 200, code: undefined, durationMs: 1.234, client: '127.0.0.1', bytes: 0, aborted: false },
    { requestId: 'id"\\x', method: 'POST', path: '/x', endpoint: '/x/{id}', status: 502, code: undefined, durationMs: 10, client: '::1', bytes: 12345, aborted: true },
    { requestId: randomUUID(), method: 'DELETE', path: '/t\u0001\u001f\u00e9\u00ff', endpoint: '/t/{x}', status: 401, code: 'token_expired', durationMs: 0.05, client: '10.0.0.1', bytes: 7, aborted: false },
    { requestId: 'r4', method: 'PUT', path: `/${'long"'.repeat(30)}`, endpoint: undefined, status: 403, code: 'insufficient_roles', durationMs: 1.2, client: '', bytes: 0, aborted: true },
    { requestId: 'r5', method: 'GET', path: '/', endpoint: '/', status: 200, code: undefined, durationMs: 123456.789, client: '192.168.1.1', bytes: 1, aborted: false },
    { requestId: 'r6', method: 'GET', path: '/odd', endpoint: '/odd', status: 200, code: undefined, durationMs: 1 / 3, client: 'x', bytes: 0, aborted: false },
  ];

  /** What the gateway's slow path (server.ts accessLogFor) hands pino: the field order is the contract. */
  function viaPino(logger: ReturnType<typeof createPinoLogger>, entry: AccessEntry): void {
    logger.info(
      {
        requestId: entry.requestId,
        method: entry.method,
        path: entry.path,
        endpoint: entry.endpoint,
        status: entry.status,
        ...(entry.code !== undefined ? { code: entry.code } : {}),
        durationMs: entry.durationMs,
        client: entry.client,
        bytes: entry.bytes,
        ...(entry.aborted ? { aborted: true } : {}),
      },
      ACCESS_MESSAGE,
    );
  }

  for (const format of LOG_FORMATS) {
    it(`writes byte for byte the line pino would, batched (format ${format})`, () => {
      const clock = { now: () => Date.UTC(2025, 4, 1, 10, 0, 0, 123) };
      const fast = capture();
      const slow = capture();
      const access = createAccessLog(createPinoLogger({ destination: fast.destination, format, clock }))!;
      const logger = createPinoLogger({ destination: slow.destination, format, clock });
      for (const entry of entries) {
        access(entry);
        viaPino(logger, entry);
      }
      assert.equal(fast.lines.length, 0, 'lines wait to be written together');
      access.flush();
      assert.equal(fast.lines.length, entries.length);
      for (let i = 0; i < entries.length; i++) assert.equal(fast.lines[i], slow.lines[i]);
      const first = JSON.parse(fast.lines[0]!) as Record<string, unknown>;
      assert.equal(first.level, format === 'pino' ? 30 : 'INFO');
      assert.equal(first.time, format === 'pino' ? clock.now() : '2025-05-01T10:00:00.123Z');
      assert.equal(first.pid, process.pid);
      assert.equal('endpoint' in first || 'code' in first || 'aborted' in first, false);
      assert.deepEqual(Object.keys(JSON.parse(fast.lines[2]!) as object), ['level', 'time', 'pid', 'requestId', 'method', 'path', 'endpoint', 'status', 'code', 'durationMs', 'client', 'bytes', 'msg']);
    });
  }

  it('writes the time of the request, not of the flush', () => {
    let now = Date.UTC(2025, 0, 1);
    const { lines, destination } = capture();
    const access = createAccessLog(createPinoLogger({ destination, format: 'pino', clock: { now: () => now } }))!;
    access(entries[0]!);
    now += 5000;
    access(entries[1]!);
    access.flush();
    assert.deepEqual(lines.map((line) => (JSON.parse(line) as { time: number }).time), [Date.UTC(2025, 0, 1), Date.UTC(2025, 0, 1) + 5000]);
  });

  it('formats durations exactly as String() does', () => {
    fc.assert(
      fc.property(fc.nat(10 ** 12), (micros) => {
        const ms = Math.round((micros / 1000) * 1000) / 1000;
        assert.equal(millisText(ms), String(ms));
      }),
      { numRuns: 2000 },
    );
    for (const ms of [0, 1.2, 1.23, 1.005, 0.001, 1 / 3, -1, NaN, Infinity]) assert.equal(millisText(ms), Number.isFinite(ms) ? String(ms) : 'null');
  });

  it('writes a batch on its own once the flush timer fires', (t) => {
    // The timer is node's setTimeout (nothing else to inject): mocked, the test fires it by hand.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { lines, destination } = capture();
    const access = createAccessLog(createPinoLogger({ destination }))!;
    access({ ...entries[0]!, path: '/a' });
    access({ ...entries[0]!, path: '/b' });
    assert.equal(lines.length, 0);
    // The flush delay is tens of milliseconds; a second is past it whatever its exact value.
    t.mock.timers.tick(1000);
    assert.deepEqual(lines.map((line) => (JSON.parse(line) as { path: string }).path), ['/a', '/b']);
  });

  it('is off when INFO is off, and flushes on demand', () => {
    assert.equal(createAccessLog(createPinoLogger({ level: 'warn', destination: capture().destination })), undefined);
    const { lines, destination } = capture();
    const access = createAccessLog(createPinoLogger({ destination }))!;
    access({ requestId: 'r', method: 'GET', path: '/', endpoint: undefined, status: 200, code: undefined, durationMs: 0, client: '', bytes: 0, aborted: false });
    access.flush();
    assert.equal(lines.length, 1);
  });
});

