/**
 * Denials are logged by default, through a real gateway: one line per denial
 * at INFO (WARNING for a bad signature) with the endpoint label and the
 * code, KrakenD's detailed ERROR line added with operation_debug, a flood held
 * to the burst and summed up by code, and never a token in any line.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DENIAL_LOG_BURST } from '../../src/authorizer/authorize.js';
import { startBackendServer, type BackendServer } from '../support/backend-server.js';
import { generateSigningKey, mintToken, type TestSigningKey } from '../support/jwks-server.js';
import { call, startTestGateway } from '../gateway/harness.js';
import type { LogLine } from '../support/logger.js';

const ISSUER = 'https://issuer.example';

describe('denial log lines', () => {
  let backend: BackendServer;
  let key: TestSigningKey;
  let impostor: TestSigningKey;
  const closers: (() => Promise<void>)[] = [];

  before(async () => {
    backend = await startBackendServer();
    key = await generateSigningKey('k1');
    // The same kid, another key: its tokens fail the signature check.
    impostor = await generateSigningKey('k1');
  });
  after(async () => {
    for (const close of closers) await close();
    await backend.close();
  });

  const validator = (extra: Record<string, unknown> = {}) => ({ alg: 'RS256', jwk_keys: [key.publicJwk], issuer: ISSUER, ...extra });
  const config = () => ({
    version: 3,
    endpoints: [
      { endpoint: '/x', backend: [{ host: [backend.url], url_pattern: '/x' }], extra_config: { 'auth/validator': validator({ roles: ['admin'] }) } },
      { endpoint: '/debug', backend: [{ host: [backend.url], url_pattern: '/debug' }], extra_config: { 'auth/validator': validator({ operation_debug: true }) } },
    ],
  });

  async function gatewayWith(clock?: { now(): number }) {
    const started = await startTestGateway(config(), { gateway: { accessLog: false, ...(clock ? { clock } : {}) } });
    closers.push(() => started.gateway.close());
    return started;
  }

  const seconds = () => Math.floor(Date.now() / 1000);
  const denialLines = (lines: LogLine[]) => lines.filter((line) => line.msg.includes('[JWTValidator] denied: '));
  const send = (url: string, token?: string) => call(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

  it('logs one line per denial by default, INFO with the code and status, WARNING for a bad signature, and no detail', async () => {
    const { gateway, logger } = await gatewayWith();
    const tokens = {
      expired: await mintToken(key, { iss: ISSUER, exp: seconds() - 3600 }),
      forged: await mintToken(impostor, { iss: ISSUER, exp: seconds() + 600 }),
      noRole: await mintToken(key, { iss: ISSUER, exp: seconds() + 600, roles: ['viewer'] }),
      good: await mintToken(key, { iss: ISSUER, exp: seconds() + 600, roles: ['admin'] }),
    };
    assert.equal((await send(`${gateway.url}/x`)).status, 401);
    assert.equal((await send(`${gateway.url}/x`, tokens.expired)).status, 401);
    assert.equal((await send(`${gateway.url}/x`, tokens.forged)).status, 401);
    assert.equal((await send(`${gateway.url}/x`, tokens.noRole)).status, 403);
    assert.equal((await send(`${gateway.url}/x`, tokens.good)).status, 200);

    assert.deepEqual(
      denialLines(logger.lines).map((line) => ({ level: line.level, msg: line.msg, obj: line.obj })),
      [
        { level: 'info', msg: '[ENDPOINT: /x][JWTValidator] denied: token_missing', obj: { code: 'token_missing', status: 401 } },
        { level: 'info', msg: '[ENDPOINT: /x][JWTValidator] denied: token_expired', obj: { code: 'token_expired', status: 401 } },
        { level: 'warn', msg: '[ENDPOINT: /x][JWTValidator] denied: signature_invalid', obj: { code: 'signature_invalid', status: 401 } },
        { level: 'info', msg: '[ENDPOINT: /x][JWTValidator] denied: insufficient_roles', obj: { code: 'insufficient_roles', status: 403 } },
      ],
    );
    assert.equal(logger.lines.filter((line) => line.level === 'error').length, 0, 'the detailed reason needs operation_debug');
    const text = logger.text();
    for (const token of Object.values(tokens)) {
      for (const segment of token.split('.')) assert.ok(!text.includes(segment), 'a token segment was logged');
    }
  });

  it('adds KrakenD\'s detailed ERROR line with operation_debug, still without the token', async () => {
    const { gateway, logger } = await gatewayWith();
    const expired = await mintToken(key, { iss: ISSUER, exp: seconds() - 3600 });
    const forged = await mintToken(impostor, { iss: ISSUER, exp: seconds() + 600 });
    await send(`${gateway.url}/debug`, expired);
    await send(`${gateway.url}/debug`, forged);
    const lines = logger.lines.filter((line) => line.msg.startsWith('[ENDPOINT: /debug][JWTValidator]'));
    assert.deepEqual(lines.map((line) => line.level), ['info', 'error', 'warn', 'error']);
    assert.match(lines[1]!.msg, /^\[ENDPOINT: \/debug\]\[JWTValidator\] Unable to validate the token: token_expired(: .+)?$/);
    assert.match(lines[3]!.msg, /^\[ENDPOINT: \/debug\]\[JWTValidator\] Unable to validate the token: signature_invalid/);
    const text = logger.text();
    for (const token of [expired, forged]) for (const segment of token.split('.')) assert.ok(!text.includes(segment), 'a token segment was logged');
  });

  it('holds a flood to the burst and sums up what it held back, by code, once a second', async () => {
    let now = Date.now();
    const { gateway, logger } = await gatewayWith({ now: () => now });
    const forged = await mintToken(impostor, { iss: ISSUER, exp: seconds() + 600 });
    const flood = DENIAL_LOG_BURST + 150;
    for (let i = 0; i < flood; i++) {
      const answer = await send(`${gateway.url}/x`, i % 3 === 0 ? forged : undefined);
      assert.equal(answer.status, 401);
    }
    assert.equal(denialLines(logger.lines).length, DENIAL_LOG_BURST);
    now += 1000;
    await send(`${gateway.url}/x`);

    const denials = denialLines(logger.lines);
    assert.equal(denials.length, DENIAL_LOG_BURST + 1, 'a second later lines pass again');
    const summaries = logger.lines.filter((line) => line.msg.includes('denial log lines suppressed'));
    assert.equal(summaries.length, 1);
    assert.equal(summaries[0]!.level, 'warn');
    const { suppressed, total } = summaries[0]!.obj as { suppressed: Record<string, number>; total: number };
    assert.equal(total, flood - DENIAL_LOG_BURST);
    const forgedCount = Math.ceil(flood / 3);
    const forgedLogged = denials.slice(0, DENIAL_LOG_BURST).filter((line) => line.msg.endsWith('signature_invalid')).length;
    assert.deepEqual({ ...suppressed }, { signature_invalid: forgedCount - forgedLogged, token_missing: flood - forgedCount - (DENIAL_LOG_BURST - forgedLogged) });
    assert.ok(logger.lines.indexOf(summaries[0]!) < logger.lines.indexOf(denials.at(-1)!), 'the summary comes before the next line');
  });
});
