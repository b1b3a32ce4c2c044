/**
 * Attacks on the token's structure, its claims and the request around it
 * (security.md §1 items 9-15, 18, 20-22), one named test per class, through the
 * core and end to end through the gateway. Every forged token here carries a
 * genuine signature, so it is refused for the property under test.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CompactEncrypt } from 'jose';
import { claims, genuine, ISSUER, AUDIENCE, startAttackRig, type AttackRig } from './fixtures.js';
import { forge, send, signBytes, unsigned } from './support.js';

let t: AttackRig;
before(async () => {
  t = await startAttackRig();
});
after(async () => {
  await t?.close();
});

const rsa = (header: string | Record<string, unknown>, payload: string | Record<string, unknown>) => forge(header, payload, 'RS256', t.material.rsa.privateKey);
const H = { alg: 'RS256', kid: 'rsa-1' };

const parts = (token: string) => token.split('.') as [string, string, string];

describe('attack classes: token structure and claims', () => {
  it('an unknown or malformed crit, and b64:false, are refused even when the signature is genuine', async () => {
    const headers: Record<string, Record<string, unknown>> = {
      'crit naming an unknown extension': { ...H, crit: ['http://example.com/must-understand'], 'http://example.com/must-understand': true },
      'crit naming a standard parameter': { ...H, crit: ['exp'] },
      'crit empty': { ...H, crit: [] },
      'crit not an array': { ...H, crit: 'b64' },
      'b64:false with crit (RFC 7797)': { ...H, b64: false, crit: ['b64'] },
      'b64:false without crit': { ...H, b64: false },
      'b64:true': { ...H, b64: true },
    };
    for (const [name, header] of Object.entries(headers)) {
      await t.rig.expectDenied('/rs', { token: rsa(header, claims()) }, 'token_malformed', name);
    }
    // RFC 7797: the payload is signed unencoded; base64url of it in the token is what a JWT reader would see.
    const payload = JSON.stringify(claims({ sub: 'admin' }));
    const header = Buffer.from(JSON.stringify({ ...H, b64: false, crit: ['b64'] })).toString('base64url');
    // RFC 7797 §3: the signing input is ASCII(header) || '.' || the payload bytes as they are.
    const unencodedSignature = signBytes('RS256', t.material.rsa.privateKey, `${header}.${payload}`).toString('base64url');
    await t.rig.expectDenied('/rs', { token: `${header}.${Buffer.from(payload).toString('base64url')}.${unencodedSignature}` }, 'token_malformed', 'RFC 7797 token with a genuine unencoded signature');
  });

  it('5-part JWE tokens, and JWS headers that claim encryption (enc, zip), are refused', async () => {
    const { rsa: key } = t.material;
    const encrypted = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(claims())))
      .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: 'rsa-1' })
      .encrypt(key.publicKey);
    assert.equal(encrypted.split('.').length, 5);
    await t.rig.expectDenied('/rs', { token: encrypted }, 'token_malformed', 'JWE of a claims set');
    // CVE-2026-29000 shape: a JWE wrapping an unsigned "PlainJWT", encrypted to the server's public key.
    const plain = unsigned({ alg: 'none' }, claims({ sub: 'admin' }), '');
    const wrapped = await new CompactEncrypt(new TextEncoder().encode(plain))
      .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', cty: 'JWT' })
      .encrypt(key.publicKey);
    await t.rig.expectDenied('/rs', { token: wrapped }, 'token_malformed', 'JWE wrapping a PlainJWT');
    const [h, p, s] = parts(genuine(t.material, 'RS256'));
    await t.rig.expectDenied('/rs', { token: `${h}.${p}.${s}.${s}` }, 'token_malformed', '4 parts');
    await t.rig.expectDenied('/rs', { token: `${h}.${p}.${s}.${s}.${s}` }, 'token_malformed', '5 parts of a JWS');
    await t.rig.expectDenied('/rs', { token: rsa({ ...H, enc: 'A256GCM' }, claims()) }, 'token_malformed', 'enc in a JWS header');
    await t.rig.expectDenied('/rs', { token: rsa({ ...H, zip: 'DEF' }, claims()) }, 'token_malformed', 'zip in a JWS header');
    await t.rig.expectDenied('/rs', { token: rsa({ alg: 'RSA-OAEP-256', kid: 'rsa-1' }, claims()) }, 'alg_not_allowed', 'a key-management alg');
    await t.rig.expectDenied('/rs', { token: rsa({ alg: 'dir', kid: 'rsa-1' }, claims()) }, 'alg_not_allowed', 'alg dir');
  });

  it('duplicate member names in the header or the payload, also spelled with escapes or nested', async () => {
    const exp = claims().exp as number;
    const body = `"iss":"${ISSUER}","aud":"${AUDIENCE}","exp":${exp}`;
    const headerTexts = [
      '{"alg":"RS256","kid":"rsa-1","alg":"none"}',
      '{"alg":"none","alg":"RS256","kid":"rsa-1"}',
      '{"alg":"RS256","kid":"ec-1","kid":"rsa-1"}',
      '{"alg":"RS256","kid":"rsa-1","\\u0061lg":"RS256"}',
    ];
    for (const header of headerTexts) await t.rig.expectDenied('/rs', { token: rsa(header, `{"sub":"alice",${body}}`) }, 'token_malformed', header);
    const payloadTexts = [
      `{"sub":"alice","sub":"admin",${body}}`,
      `{"sub":"alice",${body},"exp":1}`,
      `{"sub":"alice","s\\u0075b":"admin",${body}}`,
      `{"sub":"alice",${body},"aud":"https://other.example.com"}`,
      `{"sub":"alice",${body},"roles":["reader"],"roles":["admin"]}`,
      `{"sub":"alice",${body},"tenants":{"t1":{"roles":["reader"],"roles":["admin"]}}}`,
      `{"sub":"alice",${body},"list":[{"a":1,"a":2}]}`,
    ];
    for (const payload of payloadTexts) {
      await t.rig.expectDenied('/identity', { token: rsa(H, payload) }, 'token_malformed', payload.slice(0, 60));
    }
    // Control: the same texts without the duplicate are accepted.
    await t.rig.expectAllowed('/identity', { token: rsa('{"alg":"RS256","kid":"rsa-1"}', `{"sub":"alice",${body}}`) });
  });

  it('claim type confusion: wrong types are malformed, never "absent"; non-string roles never match', async () => {
    const registered: Record<string, unknown>[] = [
      { exp: '9999999999' }, { exp: true }, { exp: null }, { exp: {} }, { exp: [4_000_000_000] }, { exp: 1e99 }, { exp: -1 }, { exp: 2 ** 53 },
      { nbf: '0' }, { nbf: null }, { nbf: -5 }, { iat: 'now' }, { iat: [] },
      { aud: 1 }, { aud: { a: AUDIENCE } }, { aud: [AUDIENCE, 1] }, { aud: null }, { aud: [[AUDIENCE]] },
      { iss: 1 }, { iss: [ISSUER] }, { iss: null }, { sub: { id: 'alice' } }, { sub: ['alice'] }, { jti: 7 },
    ];
    for (const extra of registered) {
      for (const path of ['/rs', '/identity']) {
        await t.rig.expectDenied(path, { token: genuine(t.material, 'RS256', claims(extra)) }, 'token_malformed', `${JSON.stringify(extra)} on ${path}`);
      }
    }
    const roles: unknown[] = [[{ admin: true }], [['admin']], [1], { admin: true }, true, 1, null, 'Admin', ['admin '], ['ADMIN'], [], ''];
    for (const value of roles) {
      await t.rig.expectDenied('/roles', { token: genuine(t.material, 'RS256', claims({ roles: value })) }, 'insufficient_roles', `roles ${JSON.stringify(value)}`);
    }
    // Controls: an array holding the role (among non-strings), and the documented space-separated string form.
    await t.rig.expectAllowed('/roles', { token: genuine(t.material, 'RS256', claims({ roles: [1, { a: 1 }, 'admin'] })) });
    await t.rig.expectAllowed('/roles', { token: genuine(t.material, 'RS256', claims({ roles: 'reader admin' })) });
    // Identity values are compared byte for byte, with no URL normalisation.
    for (const [name, extra] of Object.entries({
      'issuer with a trailing slash': { iss: `${ISSUER}/` },
      'issuer in upper case': { iss: ISSUER.toUpperCase() },
      'audience over http': { aud: AUDIENCE.replace('https', 'http') },
      'audience with a trailing slash': { aud: `${AUDIENCE}/` },
      'subject with a trailing NUL': { sub: 'alice\u0000' },
    })) {
      const code = 'iss' in extra ? 'issuer_mismatch' : 'aud' in extra ? 'audience_mismatch' : 'subject_mismatch';
      await t.rig.expectDenied('/identity', { token: genuine(t.material, 'RS256', claims(extra)) }, code, name);
    }
    await t.rig.expectAllowed('/identity', { token: genuine(t.material, 'RS256', claims()) });
  });

  it('huge tokens, many dots and deep JSON are refused before the expensive step', async () => {
    // Over the endpoint's max_token_size (2048) but well under node's header limit.
    const big = genuine(t.material, 'RS256', claims({ pad: 'x'.repeat(3000) }));
    await t.rig.expectDenied('/small', { token: big }, 'token_too_large', 'over max_token_size');
    await t.rig.expectAllowed('/rs', { token: big }, 'the same token where the default 16 KiB limit applies');
    await t.rig.expectDenied('/small', { headers: { cookie: `access_token=${big}` } }, 'token_too_large', 'cookie over max_token_size');
    await t.rig.expectDenied('/small', { query: `access_token=${big}` }, 'token_too_large', 'query over max_token_size');

    // Over node's own header limit: node answers 431 before any of our code runs; the core says token_too_large.
    const huge = genuine(t.material, 'RS256', claims({ pad: 'x'.repeat(20_000) }));
    const decision = await t.rig.core('/rs').authorize({ headers: { authorization: `Bearer ${huge}` } });
    assert.equal(decision.allowed === false && decision.code, 'token_too_large');
    const before = t.rig.backend.requests.length;
    const answer = await send(t.rig.gateway.url, '/rs', { token: huge });
    assert.equal(answer.status, 431);
    assert.equal(t.rig.backend.requests.length, before);

    const [h, p, s] = parts(genuine(t.material, 'RS256'));
    await t.rig.expectDenied('/rs', { token: 'a.'.repeat(5000) + 'a' }, 'token_malformed', '5000 dots');
    await t.rig.expectDenied('/rs', { token: `${h}.${p}.${s}${'.'.repeat(3000)}` }, 'token_malformed', 'trailing dots');
    await t.rig.expectDenied('/rs', { token: rsa({ ...H, x5c: ['A'.repeat(9000)] }, claims()) }, 'token_malformed', 'a 9 KiB header');

    const nest = (depth: number): unknown => (depth === 0 ? 1 : [nest(depth - 1)]);
    await t.rig.expectDenied('/rs', { token: rsa({ ...H, x: nest(4) }, claims()) }, 'token_malformed', 'header depth 5');
    await t.rig.expectAllowed('/rs', { token: rsa({ ...H, x: nest(3) }, claims()) }, 'header depth 4 (the limit)');
    await t.rig.expectDenied('/rs', { token: rsa(H, claims({ deep: nest(32) })) }, 'token_malformed', 'payload depth 33');
    await t.rig.expectAllowed('/rs', { token: rsa(H, claims({ deep: nest(31) })) }, 'payload depth 32 (the limit)');
    const deepText = `{"exp":${claims().exp as number},"deep":${'['.repeat(2500)}${']'.repeat(2500)}}`;
    await t.rig.expectDenied('/rs', { token: rsa(H, deepText) }, 'token_malformed', 'payload depth 2500 (within the size limit)');
    await t.rig.expectDenied('/rs', { token: rsa(H, `{"a":${'{"a":'.repeat(1500)}1${'}'.repeat(1500)}}`) }, 'token_malformed', 'nested objects 1500 deep');
  });

  it('non-canonical base64url (padding, +, /, whitespace, spare bits) is refused', async () => {
    const token = genuine(t.material, 'RS256');
    const [h, p, s] = parts(token);
    const standard = (segment: string) => Buffer.from(segment, 'base64url').toString('base64');
    const variants: Record<string, string> = {
      'padded header': `${h}==.${p}.${s}`,
      'standard alphabet signature': `${h}.${p}.${standard(s)}`,
      'a space inside': `${h}.${p.slice(0, 10)} ${p.slice(10)}.${s}`,
      'percent-encoded dot': `${h}%2E${p}.${s}`,
      'a tab': `${h}.\t${p}.${s}`,
    };
    for (const [name, variant] of Object.entries(variants)) await t.rig.expectDenied('/rs', { token: variant }, 'token_malformed', name);
    // A header segment whose final character carries non-zero spare bits decodes to the same bytes in node.
    const last = h.at(-1)!;
    if (h.length % 4 === 2 || h.length % 4 === 3) {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const sibling = alphabet[alphabet.indexOf(last) + 1]!;
      await t.rig.expectDenied('/rs', { token: `${h.slice(0, -1)}${sibling}.${p}.${s}` }, 'token_malformed', 'spare bits set');
    }
  });
});

describe('attack classes: the request around the token', () => {
  it('client headers that collide with propagated claims never reach the backend', async () => {
    const token = genuine(t.material, 'RS256', claims({ roles: ['reader'] }));
    const payloadSegment = parts(token)[1];
    const spoof = {
      'X-User': 'admin',
      'x-USER': 'root',
      'X-Roles': ['admin', 'root'],
      'X-Tenant': 'evil-corp',
      'X-Jwt-Payload': Buffer.from(JSON.stringify({ sub: 'admin' })).toString('base64url'),
      'X-Trace': 'kept',
      // Hop-by-hop trick: naming the propagated headers in Connection must not make the gateway drop them.
      Connection: 'X-User, X-Roles, X-Jwt-Payload',
    };
    for (const path of ['/rs', '/listed-headers']) {
      const received = await t.rig.expectAllowed(path, { token, headers: spoof }, `spoofed headers on ${path}`);
      assert.equal(received.headers['x-user'], 'alice', path);
      assert.equal(received.headers['x-roles'], 'reader', path);
      // A missing claim still overwrites: the header is present and empty (KrakenD). Where the
      // endpoint does not list it, neither the client's value nor the claim is forwarded.
      assert.equal(received.headers['x-tenant'], path === '/rs' ? '' : undefined, path);
      assert.equal(received.headers['x-jwt-payload'], payloadSegment, path);
      assert.equal(received.headers['x-trace'], 'kept', path);
    }
    // A claim holding CR/LF cannot add a header line.
    const injected = genuine(t.material, 'RS256', claims({ sub: 'alice\r\nX-Admin: true', roles: ['a\nX-Injected: 1'] }));
    const received = await t.rig.expectAllowed('/rs', { token: injected });
    assert.equal(received.headers['x-admin'], undefined);
    assert.equal(received.headers['x-injected'], undefined);
    assert.equal(received.headers['x-user'], 'aliceX-Admin: true');
  });

  it('spoofed headers spelled with underscores (X_User) are not forwarded next to the propagated claim', async () => {
    // Backends behind CGI/WSGI/PHP read X-User and X_User as the same variable (HTTP_X_USER).
    const token = genuine(t.material, 'RS256');
    const received = await t.rig.expectAllowed('/rs', { token, headers: { X_User: 'admin', 'X_Jwt_Payload': 'forged', x_roles: 'admin' } });
    assert.equal(received.headers['x-user'], 'alice');
    for (const name of ['x_user', 'x_jwt_payload', 'x_roles']) assert.equal(received.headers[name], undefined, `${name} was forwarded`);
  });

  it('identity headers never come from the client, on public endpoints too and in every spelling', async () => {
    // Every header some endpoint propagates a claim into is stripped everywhere: a public route must not hand a
    // backend (which trusts X-User because the gateway sets it) a client-made identity.
    const spoofs = { 'X-User': 'admin', X_User: 'admin', 'x-roles': 'admin', x_jwt_payload: 'forged', 'X-Other': 'kept' };
    for (const path of ['/public', '/public-listed']) {
      const before = t.rig.backend.requests.length;
      const answer = await send(t.rig.gateway.url, path, { headers: spoofs });
      assert.equal(answer.status, 200, path);
      assert.equal(t.rig.backend.requests.length, before + 1);
      const seen = t.rig.backend.requests.at(-1)!.headers;
      for (const name of ['x-user', 'x_user', 'x-roles', 'x_jwt_payload']) assert.equal(seen[name], undefined, `${path}: ${name} was forwarded`);
      assert.equal(seen['x-other'], 'kept', path);
    }
  });

  it('the checked tenant header is the only spelling of it a backend sees', async () => {
    const token = genuine(t.material, 'RS256', claims({ tenants: { T2acme: { roles: ['admin'] } } }));
    const received = await t.rig.expectAllowed('/tenant-header', {
      token,
      headers: { 'X-Tenant-Id': 'T2acme', X_Tenant_Id: 'T2globex', 'x_tenant-id': 'T2globex' },
    });
    assert.equal(received.headers['x-tenant-id'], 'T2acme');
    assert.equal(received.headers['x_tenant_id'], undefined);
    assert.equal(received.headers['x_tenant-id'], undefined);
    await t.rig.expectDenied('/tenant-header', { token, headers: { X_Tenant_Id: 'T2acme' } }, 'tenant_not_allowed');
  });

  it('claims used in url_pattern cannot walk the backend path (dot segments, slashes, encodings)', async () => {
    // Each of these, sent even percent-encoded, becomes another path on a backend that decodes "%2F" and
    // resolves dot segments (nginx), or an empty segment that slash-merging backends drop.
    const refused = ['..', '.', '../admin', 'a/../../admin', '..\\admin', 'a/b', '', 'a\u0000b', 'a\r\nX: 1'];
    for (const sub of refused) {
      const token = genuine(t.material, 'RS256', claims({ sub }));
      const before = t.rig.backend.requests.length;
      const answer = await send(t.rig.gateway.url, '/claim-path/7', { token });
      assert.equal(answer.status, 403, `sub ${JSON.stringify(sub)}: ${answer.status}`);
      assert.equal(JSON.parse(answer.text).code, 'unroutable_claim', `sub ${JSON.stringify(sub)}`);
      assert.match(String(answer.headers['www-authenticate']), /error="insufficient_scope"/);
      assert.equal(t.rig.backend.requests.length, before, `sub ${JSON.stringify(sub)}: refused but forwarded`);
    }
    // Text that is only odd, not a path, is one encoded segment.
    for (const sub of ['%2e%2e', '.%2e', '..;', '?admin=1', '#frag', '...', 'a..b']) {
      const token = genuine(t.material, 'RS256', claims({ sub }));
      const answer = await send(t.rig.gateway.url, '/claim-path/7', { token });
      assert.equal(answer.status, 200, `sub ${JSON.stringify(sub)}: ${answer.status}`);
      const path = t.rig.backend.requests.at(-1)!.path;
      assert.equal(path, `/users/${encodeURIComponent(sub)}/items/7`);
      assert.equal(decodeURIComponent(path.split('/')[2]!), sub);
    }
    // A missing claim is refused, never written as an empty segment (/users//items/7 reads as /users/items/7
    // behind nginx). Non-string and non-number values are covered in test/gateway/units.test.ts: `sub` itself
    // must be a string, or the token is malformed.
    const withoutSub = genuine(t.material, 'RS256', claims({ sub: undefined }));
    const before = t.rig.backend.requests.length;
    const answer = await send(t.rig.gateway.url, '/claim-path/7', { token: withoutSub });
    assert.equal(answer.status, 403);
    assert.equal(JSON.parse(answer.text).code, 'unroutable_claim');
    assert.equal(t.rig.backend.requests.length, before);
  });

  it('route parameters cannot walk the backend path either: 404, backend never called', async () => {
    const token = genuine(t.material, 'RS256');
    for (const id of ['..', '.', '%2e%2e', '%2E', '..%2Fadmin', '%2e%2e%2fadmin', 'x%2F..%2F..%2Fadmin', '..%5Cadmin', 'a%00b', 'a%0d%0ab']) {
      const before = t.rig.backend.requests.length;
      const answer = await send(t.rig.gateway.url, `/claim-path/${id}`, { token });
      assert.equal(answer.status, 404, `${id}: ${answer.status}`);
      assert.equal(t.rig.backend.requests.length, before, `${id} reached the backend`);
    }
  });

  it('claims named __proto__ or constructor never reach a prototype', async () => {
    const exp = claims().exp as number;
    for (const payload of [
      `{"sub":"alice","exp":${exp},"__proto__":{"roles":["admin"]}}`,
      `{"sub":"alice","exp":${exp},"constructor":{"prototype":{"roles":["admin"]}}}`,
      `{"sub":"alice","exp":${exp},"roles":{"__proto__":["admin"]}}`,
    ]) {
      await t.rig.expectDenied('/roles', { token: rsa(H, payload) }, 'insufficient_roles', payload);
      await t.rig.expectAllowed('/rs', { token: rsa(H, payload) }, payload);
    }
    assert.equal(({} as Record<string, unknown>).roles, undefined, 'Object.prototype was polluted');
  });

  it('several tokens in one request: one location by precedence, never rescued by another', async () => {
    const good = genuine(t.material, 'RS256');
    const bad = rsa({ alg: 'none' }, claims({ sub: 'admin' }));
    // Header first: a bad header token is refused even with a good cookie or query token.
    await t.rig.expectDenied('/locations', { token: bad, headers: { cookie: `session=${good}` }, query: `access_token=${good}` }, 'alg_not_allowed');
    await t.rig.expectDenied('/locations', { token: 'garbage', headers: { cookie: `session=${good}` } }, 'token_malformed');
    // Then the cookie, then the query.
    await t.rig.expectDenied('/locations', { headers: { cookie: `session=${bad}` }, query: `access_token=${good}` }, 'alg_not_allowed');
    await t.rig.expectAllowed('/locations', { headers: { cookie: `session=${good}` }, query: `access_token=${bad}` });
    await t.rig.expectAllowed('/locations', { token: good, headers: { cookie: `session=${bad}` } });
    await t.rig.expectDenied('/locations', { query: `access_token=${bad}` }, 'alg_not_allowed');
    await t.rig.expectDenied('/locations', { query: `other=${good}` }, 'token_missing');
    // A repeated Authorization line: node keeps only the first, and that one is what is verified and forwarded.
    const before = t.rig.backend.requests.length;
    const first = await send(t.rig.gateway.url, '/rs', { headers: { Authorization: [`Bearer ${bad}`, `Bearer ${good}`] } });
    assert.equal(first.status, 401);
    assert.equal(t.rig.backend.requests.length, before);
    const second = await send(t.rig.gateway.url, '/rs', { headers: { Authorization: [`Bearer ${good}`, `Bearer ${bad}`] } });
    assert.equal(second.status, 200);
    assert.equal(t.rig.backend.requests.at(-1)!.headers.authorization, `Bearer ${good}`, 'the backend saw another token than the one verified');
    // The core, given both values, refuses the ambiguity outright.
    const decision = await t.rig.core('/rs').authorize({ headers: { authorization: [`Bearer ${good}`, `Bearer ${good}`] } });
    assert.equal(decision.allowed === false && decision.code, 'token_malformed');
  });

  it('no token, key or secret appears in a log line or a denial body (operation_debug logs every rejection reason)', async () => {
    const secretish = [t.material.hmac.secret.toString('base64url'), t.material.rsa.publicJwk.n!.slice(0, 40)];
    const tokens = [genuine(t.material, 'RS256', claims({ exp: 1 })), rsa({ ...H, kid: 'nope' }, claims()), rsa({ alg: 'none' }, claims())];
    for (const token of tokens) {
      const answer = await send(t.rig.gateway.url, '/rs', { token });
      assert.equal(answer.status, 401);
      assert.ok(!answer.text.includes(token));
    }
    const logs = t.rig.logger.text();
    assert.ok(logs.length > 0, 'operation_debug logged nothing; the check below would be vacuous');
    for (const token of tokens) {
      for (const segment of parts(token)) assert.ok(segment.length < 8 || !logs.includes(segment), 'a token segment was logged');
    }
    for (const secret of secretish) assert.ok(!logs.includes(secret), 'key material was logged');
  });
});
