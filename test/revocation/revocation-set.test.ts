/**
 * The in-memory revocation set the check reads on every request: what each
 * kind of entry revokes (jti; sub, claim and tenant with revoke-before-T and
 * a missing iat counted as before), merging, reloads and purging, and the
 * entry validation every store relies on.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRevocationSet } from '../../src/revocation/revocation-set.js';
import { entryKey, mergeEntries, parseRevocationEntry, RevocationEntryError, type RevocationEntry } from '../../src/revocation/entry.js';
import { createMemoryRevocationStore } from '../../src/revocation/memory-store.js';

const T = 1_800_000_000;
const LATER = T + 86_400;
const entry = (input: Record<string, unknown>): RevocationEntry => parseRevocationEntry({ expiresAt: LATER, ...input });

describe('RevocationSet', () => {
  it('an empty set revokes nothing', () => {
    const set = createRevocationSet();
    assert.equal(set.isRevoked({ sub: 'U1', jti: 'j1', iat: T }), false);
    assert.equal(set.size, 0);
  });

  it('jti revokes exactly that token, whatever its iat (before is ignored for jti)', () => {
    const set = createRevocationSet([entry({ kind: 'jti', value: 'j1', before: 1 })]);
    assert.equal(set.entries()[0]!.before, undefined, 'before is dropped for jti');
    assert.equal(set.isRevoked({ jti: 'j1', iat: T + 999 }), true);
    assert.equal(set.isRevoked({ jti: 'j1' }), true);
    assert.equal(set.isRevoked({ jti: 'j2', iat: T }), false);
    assert.equal(set.isRevoked({ sub: 'j1' }), false, 'a jti entry does not match other claims');
  });

  it('sub with before: tokens issued before T are revoked, tokens issued at or after T are not, no iat counts as before', () => {
    const set = createRevocationSet([entry({ kind: 'sub', value: 'U1', before: T })]);
    assert.equal(set.isRevoked({ sub: 'U1', iat: T - 1 }), true);
    assert.equal(set.isRevoked({ sub: 'U1', iat: T }), false, 'a token issued at T (after the logout) stays valid');
    assert.equal(set.isRevoked({ sub: 'U1', iat: T + 60 }), false);
    assert.equal(set.isRevoked({ sub: 'U1' }), true, 'no iat: fail closed');
    assert.equal(set.isRevoked({ sub: 'U2', iat: T - 1 }), false);
  });

  it('sub without before revokes every token of the subject', () => {
    const set = createRevocationSet([entry({ kind: 'sub', value: 'U1' })]);
    assert.equal(set.isRevoked({ sub: 'U1', iat: T + 10_000 }), true);
  });

  it('tenant matches dct, or a key of the tenants object, with before', () => {
    const set = createRevocationSet([entry({ kind: 'tenant', value: 'T-acme', before: T })]);
    assert.equal(set.isRevoked({ dct: 'T-acme', iat: T - 1 }), true);
    assert.equal(set.isRevoked({ tenants: { 'T-other': {}, 'T-acme': { roles: [] } }, iat: T - 1 }), true);
    assert.equal(set.isRevoked({ tenants: { 'T-acme': {} }, iat: T }), false, 'issued after the cut-off');
    assert.equal(set.isRevoked({ dct: 'T-other', tenants: { 'T-other': {} }, iat: T - 1 }), false);
    assert.equal(set.isRevoked({ tenants: ['T-acme'], iat: T - 1 }), false, 'tenants must be an object');
    assert.equal(set.isRevoked({ sub: 'T-acme', iat: T - 1 }), false);
  });

  it('claim entries read the named claim (dot paths nest), strings and numbers alike', () => {
    const set = createRevocationSet([
      entry({ kind: 'claim', claim: 'sid', value: 'S1', before: T }),
      entry({ kind: 'claim', claim: 'org.id', value: '42' }),
      entry({ kind: 'claim', claim: 'https://example.com/session', value: 'S9' }),
    ]);
    assert.equal(set.isRevoked({ sid: 'S1', iat: T - 1 }), true);
    assert.equal(set.isRevoked({ sid: 'S1', iat: T + 1 }), false);
    assert.equal(set.isRevoked({ sid: 'S2', iat: T - 1 }), false);
    assert.equal(set.isRevoked({ org: { id: 42 } }), true, 'a number matches its decimal text');
    assert.equal(set.isRevoked({ org: { id: '42' } }), true);
    assert.equal(set.isRevoked({ 'org.id': '42' }), false, 'a dot path nests');
    assert.equal(set.isRevoked({ org: { id: ['42'] } }), false, 'arrays never match');
    assert.equal(set.isRevoked({ 'https://example.com/session': 'S9' }), true, 'URL-style claims stay flat');
    assert.equal(set.isRevoked({ sub: 'S1', iat: T - 1 }), false);
  });

  it('claim names and values reaching Object.prototype never match', () => {
    const set = createRevocationSet([entry({ kind: 'claim', claim: 'constructor', value: 'x' }), entry({ kind: 'sub', value: 'toString' })]);
    assert.equal(set.isRevoked({}), false);
    assert.equal(set.isRevoked({ sub: 'valueOf' }), false);
    assert.equal(set.isRevoked({ sub: 'toString' }), true);
    assert.equal(set.isRevoked(JSON.parse('{"__proto__": {"constructor": "x"}}') as Record<string, unknown>), false);
  });

  it('entries for the same property merge: the later before, absent before wins, the later expiry', () => {
    const set = createRevocationSet();
    set.apply(entry({ kind: 'sub', value: 'U1', before: T, expiresAt: T + 100 }));
    set.apply(entry({ kind: 'sub', value: 'U1', before: T - 50, expiresAt: T + 50 }));
    assert.deepEqual(set.entries(), [{ kind: 'sub', value: 'U1', before: T, expiresAt: T + 100 }]);
    assert.equal(set.isRevoked({ sub: 'U1', iat: T - 10 }), true, 'an older cut-off does not narrow the revocation');
    set.apply(entry({ kind: 'sub', value: 'U1', expiresAt: T + 10 }));
    assert.deepEqual(set.entries(), [{ kind: 'sub', value: 'U1', expiresAt: T + 100 }]);
    assert.equal(set.size, 1);
    assert.deepEqual(mergeEntries(entry({ kind: 'jti', value: 'a', expiresAt: 5 }), entry({ kind: 'jti', value: 'a', expiresAt: 9 })), { kind: 'jti', value: 'a', expiresAt: 9 });
  });

  it('purgeExpired drops entries at or past expiresAt and nothing else', () => {
    const set = createRevocationSet([entry({ kind: 'jti', value: 'old', expiresAt: T }), entry({ kind: 'claim', claim: 'sid', value: 'S', expiresAt: T + 1 })]);
    assert.equal(set.purgeExpired(T - 1), 0);
    assert.equal(set.purgeExpired(T), 1);
    assert.equal(set.isRevoked({ jti: 'old' }), false);
    assert.equal(set.isRevoked({ sid: 'S' }), true);
    assert.equal(set.purgeExpired(T + 1), 1);
    assert.equal(set.isRevoked({ sid: 'S' }), false);
    assert.equal(set.size, 0);
  });

  it('replaceAll swaps the content', () => {
    const set = createRevocationSet([entry({ kind: 'jti', value: 'a' })]);
    set.replaceAll([entry({ kind: 'jti', value: 'b' })]);
    assert.equal(set.isRevoked({ jti: 'a' }), false);
    assert.equal(set.isRevoked({ jti: 'b' }), true);
  });

  it('entry keys cannot collide through a colon in the claim name', () => {
    const a = entryKey({ kind: 'claim', claim: 'a:b', value: 'c' });
    const b = entryKey({ kind: 'claim', claim: 'a', value: 'b:c' });
    assert.notEqual(a, b);
    const set = createRevocationSet([entry({ kind: 'claim', claim: 'a:b', value: 'c' }), entry({ kind: 'claim', claim: 'a', value: 'b:c' })]);
    assert.equal(set.size, 2);
  });
});

describe('parseRevocationEntry', () => {
  const refuse = (input: unknown, pattern: RegExp) => assert.throws(() => parseRevocationEntry(input), (error: unknown) => error instanceof RevocationEntryError && pattern.test(error.message));

  it('refuses entries that would make the check guess', () => {
    refuse(null, /object/);
    refuse([], /object/);
    refuse({ kind: 'email', value: 'x', expiresAt: LATER }, /kind must be one of/);
    refuse({ kind: 'sub', value: '', expiresAt: LATER }, /value/);
    refuse({ kind: 'sub', value: 7, expiresAt: LATER }, /value/);
    refuse({ kind: 'sub', value: 'x'.repeat(1025), expiresAt: LATER }, /value/);
    refuse({ kind: 'sub', value: 'x' }, /expiresAt/);
    refuse({ kind: 'sub', value: 'x', expiresAt: Number.NaN }, /expiresAt/);
    refuse({ kind: 'sub', value: 'x', expiresAt: LATER, before: 'yesterday' }, /before/);
    refuse({ kind: 'claim', value: 'x', expiresAt: LATER }, /claim must name/);
    refuse({ kind: 'sub', claim: 'sid', value: 'x', expiresAt: LATER }, /only for kind "claim"/);
  });

  it('never repeats the value in its errors', () => {
    assert.throws(
      () => parseRevocationEntry({ kind: 'nope', value: 'secret-session-id', expiresAt: LATER }),
      (error: unknown) => error instanceof Error && !error.message.includes('secret-session-id'),
    );
  });

  it('keeps only the known members', () => {
    assert.deepEqual(parseRevocationEntry({ kind: 'sub', value: 'U1', before: T, expiresAt: LATER, extra: 1 }), { kind: 'sub', value: 'U1', before: T, expiresAt: LATER });
  });
});

describe('createMemoryRevocationStore', () => {
  it('revokes at once, ignores entries already expired, purges with its clock, and is always synced', async () => {
    let nowMs = T * 1000;
    const store = createMemoryRevocationStore({ clock: { now: () => nowMs }, purgeIntervalMs: 0 });
    await store.ready();
    await store.revoke({ kind: 'sub', value: 'U1', before: T, expiresAt: T + 60 });
    await store.revoke({ kind: 'jti', value: 'gone', expiresAt: T - 1 });
    assert.equal(store.set.isRevoked({ sub: 'U1', iat: T - 5 }), true);
    assert.equal(store.set.isRevoked({ jti: 'gone' }), false);
    assert.deepEqual(await store.list(), [{ kind: 'sub', value: 'U1', before: T, expiresAt: T + 60 }]);
    assert.deepEqual({ ...store.status(), lastSyncAt: undefined }, { store: 'memory', state: 'synced', size: 1, lastSyncAt: undefined });
    assert.equal(store.isFresh(nowMs + 10 ** 9, 1), true);
    await assert.rejects(store.revoke({ kind: 'sub', value: '', expiresAt: T + 60 }), RevocationEntryError);
    nowMs = (T + 60) * 1000;
    assert.equal(store.set.purgeExpired(nowMs / 1000), 1);
    await store.close();
  });
});
