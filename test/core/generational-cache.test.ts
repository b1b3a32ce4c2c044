import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GenerationalCache } from '../../src/lib/generational-cache.js';

describe('GenerationalCache', () => {
  test('never holds more than maxEntries, for even and odd bounds', () => {
    for (const maxEntries of [1, 2, 3, 4, 5, 7, 10, 101]) {
      const cache = new GenerationalCache<number, number>(maxEntries);
      for (let i = 0; i < maxEntries * 5; i++) {
        cache.set(i, i);
        // Reads promote entries, which must not grow the cache either.
        cache.get(i - 1);
        cache.get(Math.floor(i / 2));
        assert.ok(cache.size <= maxEntries, `maxEntries ${maxEntries}: size ${cache.size} after ${i + 1} inserts`);
      }
      assert.ok(cache.size >= Math.floor(maxEntries / 2), `maxEntries ${maxEntries}: keeps at least half`);
    }
  });

  test('the most recent entry is always present', () => {
    for (const maxEntries of [1, 2, 3, 8]) {
      const cache = new GenerationalCache<string, number>(maxEntries);
      for (let i = 0; i < 50; i++) {
        cache.set(`k${i}`, i);
        assert.equal(cache.get(`k${i}`), i);
      }
    }
  });

  test('a hit in the old generation is promoted and survives the next rotation', () => {
    const cache = new GenerationalCache<string, string>(4);
    cache.set('a', 'A');
    cache.set('b', 'B');
    cache.set('c', 'C'); // a, b rotate to the old generation
    assert.equal(cache.get('a'), 'A'); // promoted
    cache.set('d', 'D');
    cache.set('e', 'E'); // old generation (b) dropped
    assert.equal(cache.get('a'), 'A');
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.get('e'), 'E');
  });

  test('without hits, the oldest entries go first', () => {
    const cache = new GenerationalCache<number, number>(10);
    for (let i = 0; i < 100; i++) cache.set(i, i);
    assert.equal(cache.size, 10);
    // The young half is read without promotion; the rest was dropped in insertion order.
    for (let i = 95; i < 100; i++) assert.equal(cache.get(i), i);
    for (let i = 0; i < 90; i++) assert.equal(cache.get(i), undefined);
  });

  test('set replaces values wherever the entry lives; delete and clear', () => {
    const cache = new GenerationalCache<string, number>(4);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    cache.set('a', 10); // a was in the old generation
    cache.set('c', 30); // c is young
    assert.equal(cache.get('a'), 10);
    assert.equal(cache.get('c'), 30);
    assert.equal(cache.size, 3);
    cache.delete('a');
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.size, 2);
    cache.clear();
    assert.equal(cache.size, 0);
    assert.equal(cache.get('c'), undefined);
  });

  test('a bound of zero or less still works as a tiny cache', () => {
    const cache = new GenerationalCache<string, number>(0);
    cache.set('a', 1);
    assert.equal(cache.get('a'), 1);
    assert.ok(cache.size <= 1);
  });

  test('with a weight bound, the total weight never exceeds it, whatever the mix of sizes', () => {
    const weights = [1, 7, 50, 333, 999, 1000];
    for (const maxWeight of [1000, 4096, 100_000]) {
      const cache = new GenerationalCache<number, number>(1_000_000, { maxWeight, weigh: (value) => value });
      for (let i = 0; i < 5000; i++) {
        cache.set(i, weights[i % weights.length]!);
        cache.get(i - 3);
        assert.ok(cache.weight <= maxWeight, `maxWeight ${maxWeight}: weight ${cache.weight} after ${i + 1} inserts`);
      }
      // The most recent entry stays, and weight is accounted exactly.
      assert.equal(cache.get(4999), weights[4999 % weights.length]);
      let sum = 0;
      for (let i = 0; i < 5000; i++) sum += cache.get(i) ?? 0;
      assert.equal(sum, cache.weight);
    }
  });

  test('a value heavier than the whole bound is not kept, and deletes give their weight back', () => {
    const cache = new GenerationalCache<string, number>(10, { maxWeight: 100, weigh: (value) => value });
    cache.set('huge', 101);
    assert.equal(cache.get('huge'), undefined);
    cache.set('a', 40);
    cache.set('b', 40);
    assert.equal(cache.weight, 80);
    cache.delete('a');
    assert.equal(cache.weight, 40);
    cache.set('b', 10);
    assert.equal(cache.weight, 10);
    cache.clear();
    assert.equal(cache.weight, 0);
  });
});

describe('the verified-token cache is bounded by bytes as well as entries', () => {
  test('large tokens: the default 100,000 entries would hold gigabytes; the byte bound keeps it near its budget', async () => {
    const { createVerifiedTokenCache, entryBytes } = await import('../../src/authorizer/cache.js');
    const budget = 1024 * 1024;
    const cache = createVerifiedTokenCache(100_000, budget);
    const keySet = { current: () => ({}) } as never;
    const big = 'x'.repeat(16_000);
    for (let i = 0; i < 500; i++) {
      const token = `${big}.${i.toString().padStart(24, '0')}`;
      cache.set(token, { token, keySet, key: { retired: false }, memo: undefined } as never);
      assert.ok(cache.bytes <= budget, `${cache.bytes} bytes after ${i + 1} tokens`);
    }
    assert.ok(cache.size <= Math.floor(budget / entryBytes(big)), `${cache.size} entries of ~${entryBytes(big)} bytes`);
    assert.ok(cache.size >= Math.floor(budget / entryBytes(big) / 2) - 1, `${cache.size} entries: keeps about half the budget or more`);
  });
});

