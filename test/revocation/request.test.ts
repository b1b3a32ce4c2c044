/**
 * A revocation as an operator asks for it, turned into the stored entry
 * (request.ts): which kinds `token_keys` allows, the default `before`, and
 * the expiry. The default matters most: "log out alice now" must kill the
 * token she was given earlier in the same second, although `iat` only has
 * whole seconds and the set revokes `iat < before`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RevocationEntryError } from '../../src/revocation/entry.js';
import { createRevocationSet } from '../../src/revocation/revocation-set.js';
import { revocationEntryFor } from '../../src/revocation/request.js';

const T = 1_800_000_000;
const rules = { tokenKeys: ['jti', 'sub', 'sid'], ttlSeconds: 3600 };

describe('revocationEntryFor', () => {
  it('without --before, revokes every token issued so far, those of the current second included', () => {
    // Alice logged in at T + 0.2 (iat T) and is logged out at T + 0.7.
    const entry = revocationEntryFor({ kind: 'sub', value: 'alice' }, rules, T + 0.7);
    const set = createRevocationSet([entry]);
    assert.equal(set.isRevoked({ sub: 'alice', iat: T }), true, 'issued earlier in the same second');
    assert.equal(set.isRevoked({ sub: 'alice', iat: T - 100 }), true);
    assert.equal(set.isRevoked({ sub: 'alice', iat: T + 1 }), false, 'the next second logs in again');
    assert.equal(set.isRevoked({ sub: 'bob', iat: T }), false);
    const claim = createRevocationSet([revocationEntryFor({ kind: 'claim', claim: 'sid', value: 's1' }, rules, T)]);
    assert.equal(claim.isRevoked({ sid: 's1', iat: T }), true, 'at the exact second too');
  });

  it('an explicit before is kept as given: issued before T only', () => {
    const set = createRevocationSet([revocationEntryFor({ kind: 'sub', value: 'bob', before: T }, rules, T + 50)]);
    assert.equal(set.isRevoked({ sub: 'bob', iat: T - 1 }), true);
    assert.equal(set.isRevoked({ sub: 'bob', iat: T }), false);
  });

  it('expires TTL after the later of now and before; jti ignores before', () => {
    assert.equal(revocationEntryFor({ kind: 'sub', value: 'a', before: T + 600 }, rules, T).expiresAt, T + 600 + 3600);
    assert.equal(revocationEntryFor({ kind: 'sub', value: 'a', before: T - 600 }, rules, T).expiresAt, T + 3600);
    const jti = revocationEntryFor({ kind: 'jti', value: 'j1' }, rules, T + 0.5);
    assert.equal(jti.before, undefined);
    assert.equal(jti.expiresAt, T + 3600);
  });

  it('refuses a kind token_keys does not name', () => {
    assert.throws(() => revocationEntryFor({ kind: 'tenant', value: 'T1' }, rules, T), RevocationEntryError);
    assert.throws(() => revocationEntryFor({ kind: 'claim', claim: 'org', value: 'o1' }, rules, T), /does not allow revoking by claim "org"/);
  });
});
