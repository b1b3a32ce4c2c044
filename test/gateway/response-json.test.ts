/**
 * JSON fidelity of merged answers through a running gateway and real
 * backends (krakend-compat review C15): number literals reach the client as
 * the backend wrote them, merged or not; an answer nested too deep fails its
 * backend cleanly (502 alone, partial data beside a good one) and the gateway
 * keeps serving.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { startBackendServer, type BackendServer } from '../support/backend-server.js';
import type { Gateway } from '../../src/gateway/server.js';
import type { MemoryLogger } from '../support/logger.js';
import { call, startTestGateway } from './harness.js';

const NUMBERS = '{"id":12345678901234567890,"price":1.10,"hundred":1e2,"neg":-0,"tiny":1E-7,"list":[1.50,2,-9007199254740993],"s":"1.10"}';
const DEEP = `{"deep":${'['.repeat(5000)}${']'.repeat(5000)}}`;

describe('gateway: JSON fidelity', () => {
  let backend: BackendServer;
  let gateway: Gateway;
  let logger: MemoryLogger;

  before(async () => {
    backend = await startBackendServer();
    const raw = (text: string) => (_req: unknown, res: ServerResponse) => void res.writeHead(200, { 'content-type': 'application/json' }).end(text);
    backend.on('/numbers', raw(NUMBERS));
    backend.on('/more', raw('{"more":0.000100,"big":[123456789012345678901234567890]}'));
    backend.on('/list', raw('[{"id":18446744073709551615},{"id":1.0}]'));
    backend.on('/deep', raw(DEEP));
    backend.on('/fine', raw('{"fine":true}'));
    const ep = (endpoint: string, paths: string[], extra: object = {}) => ({ endpoint, backend: paths.map((url_pattern) => ({ host: [backend.url], url_pattern })), ...extra });
    ({ gateway, logger } = await startTestGateway({
      version: 3,
      timeout: '3s',
      endpoints: [
        ep('/numbers', ['/numbers']),
        ep('/merged', ['/numbers', '/more']),
        ep('/list', ['/list']),
        ep('/deep', ['/deep']),
        ep('/deep-and-fine', ['/deep', '/fine']),
      ],
    }));
  });

  after(async () => {
    await gateway?.close();
    await backend?.close();
  });

  it('answers every number as the backend wrote it', async () => {
    const answer = await call(`${gateway.url}/numbers`);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['x-krakend-completed'], 'true');
    assert.equal(answer.text, NUMBERS);
  });

  it('keeps the literals of every backend when merging', async () => {
    const answer = await call(`${gateway.url}/merged`);
    assert.equal(answer.status, 200);
    // The merge order follows arrival; each member keeps its text.
    for (const member of ['"id":12345678901234567890', '"price":1.10', '"hundred":1e2', '"neg":-0', '"tiny":1E-7', '"list":[1.50,2,-9007199254740993]', '"s":"1.10"', '"more":0.000100', '"big":[123456789012345678901234567890]']) {
      assert.ok(answer.text.includes(member), `${member} in ${answer.text}`);
    }
    assert.deepEqual(Object.keys(answer.json()).sort(), ['big', 'hundred', 'id', 'list', 'more', 'neg', 'price', 's', 'tiny']);
  });

  it('keeps them inside a collection', async () => {
    const answer = await call(`${gateway.url}/list`);
    assert.equal(answer.text, '{"collection":[{"id":18446744073709551615},{"id":1.0}]}');
  });

  it('fails an answer nested deeper than 1000 levels as a bad gateway, and keeps serving', async () => {
    const alone = await call(`${gateway.url}/deep`);
    assert.equal(alone.status, 502);
    assert.equal(alone.headers['x-krakend-completed'], 'false');
    assert.deepEqual(alone.json(), { error: 'bad_gateway' });
    assert.ok(logger.lines.some((line) => line.level === 'error' && line.msg === '[ENDPOINT: /deep] Error #0: response body nested deeper than 1000 levels'));

    const partial = await call(`${gateway.url}/deep-and-fine`);
    assert.equal(partial.status, 200);
    assert.equal(partial.headers['x-krakend-completed'], 'false');
    assert.deepEqual(partial.json(), { fine: true });

    assert.equal((await call(`${gateway.url}/numbers`)).text, NUMBERS);
  });
});
