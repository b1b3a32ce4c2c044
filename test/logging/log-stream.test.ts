/**
 * The bounded log stream and the process logger over it, against a reader the
 * test stops and restarts: writes never wait, what passes the bound is
 * dropped whole and counted by line, the count reaches the metrics getter,
 * one notice line says what was lost once the reader is back, and a flush
 * waits for what is pending (bounded when the reader stays stalled).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogStream } from '../../src/lib/log-stream.js';
import { createPinoLogger, droppedLogLines, flushLogger } from '../../src/lib/pino-logger.js';

/** A reader that takes what it is given only while it runs; stopped, its writes stay pending, as with a full pipe. */
function stoppableReader() {
  const received: string[] = [];
  let running = true;
  let held: (() => void)[] = [];
  const target = new Writable({
    highWaterMark: 64,
    decodeStrings: false,
    write(chunk: string, _encoding, callback) {
      const take = (): void => {
        received.push(chunk);
        callback();
      };
      if (running) take();
      else held.push(take);
    },
  });
  return {
    target,
    received,
    text: () => received.join(''),
    stop: () => void (running = false),
    resume: () => {
      running = true;
      const pending = held;
      held = [];
      for (const take of pending) take();
    },
  };
}

const line = (n: number): string => `{"n":${n},"pad":"${'x'.repeat(80)}"}\n`;

describe('log stream', () => {
  it('passes everything through while the reader keeps up', async () => {
    const reader = stoppableReader();
    const stream = createLogStream({ target: reader.target, maxBufferBytes: 500 });
    for (let i = 0; i < 100; i++) assert.equal(stream.write(line(i)), true);
    assert.equal(await stream.drained(Infinity), true);
    assert.equal(stream.droppedLines, 0);
    assert.equal(reader.text(), Array.from({ length: 100 }, (_, i) => line(i)).join(''));
  });

  it('drops whole writes past the bound while the reader is stopped, counts their lines, and says so once it is back', async () => {
    const reader = stoppableReader();
    const notices: number[] = [];
    const stream = createLogStream({ target: reader.target, maxBufferBytes: 1000, onRecovered: (n) => notices.push(n) });
    reader.stop();
    const written: string[] = [];
    for (let i = 0; i < 50; i++) {
      const text = line(i);
      const pendingBefore = stream.pendingBytes;
      stream.write(text);
      if (stream.pendingBytes > pendingBefore) written.push(text);
    }
    // A batch of three lines dropped whole counts three.
    stream.write(line(100) + line(101) + line(102));
    assert.ok(stream.pendingBytes <= 1000, `pending ${stream.pendingBytes}`);
    assert.ok(written.length >= 1 && written.length < 50);
    assert.equal(stream.droppedLines, 50 - written.length + 3);
    assert.equal(await stream.drained(0), false, 'nothing can drain while the reader is stopped');
    assert.deepEqual(notices, []);

    reader.resume();
    assert.equal(await stream.drained(Infinity), true);
    assert.deepEqual(notices, [50 - written.length + 3]);
    assert.equal(reader.text(), written.join(''), 'what was kept arrives whole and in order');
    stream.write(line(200));
    await stream.drained(Infinity);
    assert.ok(reader.text().endsWith(line(200)));
    assert.deepEqual(notices, [50 - written.length + 3], 'one notice per gap');
  });

  it('counts and drops everything once the reader is gone (EPIPE), without throwing', async () => {
    const target = new Writable({
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const stream = createLogStream({ target });
    stream.write(line(1));
    await new Promise((resolve) => setImmediate(resolve));
    assert.doesNotThrow(() => stream.write(line(2) + line(3)));
    assert.equal(stream.droppedLines, 2);
    assert.equal(await stream.drained(Infinity), false);
  });
});

describe('process logger over the bounded stream', () => {
  it('reports dropped lines for the metrics and writes one notice when the reader is back', async () => {
    const reader = stoppableReader();
    const logger = createPinoLogger({ output: reader.target, maxBufferBytes: 2000 });
    reader.stop();
    for (let i = 0; i < 100; i++) logger.info({ i }, '[SERVICE: Gateway] something');
    const dropped = droppedLogLines(logger);
    assert.ok(dropped > 0 && dropped < 100, `dropped ${dropped}`);
    reader.resume();
    await flushLogger(logger);
    const lines = reader.text().trimEnd().split('\n').map((text) => JSON.parse(text) as { level: string; msg: string; droppedLines?: number; i?: number });
    assert.equal(lines.filter((entry) => entry.i !== undefined).length, 100 - dropped);
    const notices = lines.filter((entry) => entry.droppedLines !== undefined);
    assert.equal(notices.length, 1);
    assert.equal(notices[0]!.droppedLines, dropped);
    assert.equal(notices[0]!.level, 'WARNING');
    assert.match(notices[0]!.msg, /^\[SERVICE: Logger\] log lines dropped/);
    assert.equal(droppedLogLines(logger), dropped, 'the count only grows');
  });

  it('flushLogger waits for pending lines, and gives up after its timeout when the reader stays stopped', async () => {
    const reader = stoppableReader();
    const logger = createPinoLogger({ output: reader.target });
    reader.stop();
    logger.info('[SERVICE: Gateway] stopped');
    await flushLogger(logger, { timeoutMs: 1 });
    assert.equal(reader.received.length, 0);
    const flushed = flushLogger(logger);
    reader.resume();
    await flushed;
    assert.match(reader.text(), /"msg":"\[SERVICE: Gateway\] stopped"/);
  });

  it('is 0 for a logger writing to a given destination', () => {
    assert.equal(droppedLogLines(createPinoLogger({ destination: { write: () => undefined } })), 0);
  });
});
