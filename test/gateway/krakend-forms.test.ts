/**
 * KrakenD config forms portcullis used to refuse, served end to end as lura
 * serves them: safejson answers of any JSON shape, schemeless and inherited
 * hosts, rootless paths, a json backend under a no-op endpoint, and an empty
 * audience list.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { startBackendServer, type BackendServer } from '../support/backend-server.js';
import { generateSigningKey, mintToken } from '../support/jwks-server.js';
import { nowSeconds } from '../support/clock.js';
import type { Gateway } from '../../src/gateway/server.js';
import { call, startTestGateway } from './harness.js';

const json = (text: string, status = 200) => (_req: unknown, res: ServerResponse) =>
  void res.writeHead(status, { 'content-type': 'application/json', 'x-backend': 'yes' }).end(text);

describe('gateway: KrakenD forms', () => {
  let backend: BackendServer;
  let gateway: Gateway;
  let token: string;

  before(async () => {
    backend = await startBackendServer();
    backend.on('/object', json('{"a":1}'));
    backend.on('/array', json('[{"id":1},{"id":2}]'));
    backend.on('/number', json('42'));
    backend.on('/string', json('"hello"'));
    backend.on('/null', json('null'));
    backend.on('/broken', json('{"a":'));
    backend.on('/created', json('[1,2]', 201));
    const key = await generateSigningKey('forms-1');
    token = await mintToken(key, { sub: 'alice', aud: 'some-other-api', exp: nowSeconds() + 600 });
    const schemeless = `127.0.0.1:${backend.port}`;
    ({ gateway } = await startTestGateway({
      version: 3,
      host: [schemeless],
      endpoints: [
        ...['object', 'array', 'number', 'string', 'null', 'broken'].map((name) => ({
          endpoint: `/safe/${name}`,
          backend: [{ host: [schemeless], url_pattern: `/${name}`, encoding: 'safejson' }],
        })),
        { endpoint: '/json/number', backend: [{ url_pattern: '/number', encoding: 'json' }] },
        { endpoint: 'rootless/{id}', backend: [{ host: [], url_pattern: 'items/{id}' }] },
        { endpoint: '/raw', output_encoding: 'no-op', backend: [{ url_pattern: '/created', encoding: 'json' }] },
        {
          endpoint: '/any-audience',
          extra_config: { 'auth/validator': { alg: 'RS256', jwk_keys: [key.publicJwk], audience: [] } },
          backend: [{ url_pattern: '/object' }],
        },
      ],
    }));
  });

  after(async () => {
    await gateway.close();
    await backend.close();
  });

  it('safejson takes any JSON value: objects as they are, arrays as "collection", scalars and null as "result" (lura)', async () => {
    const expected: Record<string, unknown> = {
      object: { a: 1 },
      array: { collection: [{ id: 1 }, { id: 2 }] },
      number: { result: 42 },
      string: { result: 'hello' },
      null: { result: null },
    };
    for (const [name, body] of Object.entries(expected)) {
      const answer = await call(`${gateway.url}/safe/${name}`);
      assert.equal(answer.status, 200, name);
      assert.equal(answer.headers['x-krakend-completed'], 'true', name);
      assert.deepEqual(answer.json(), body, name);
    }
    // Invalid JSON still fails; json keeps refusing a scalar.
    assert.equal((await call(`${gateway.url}/safe/broken`)).status, 500);
    assert.equal((await call(`${gateway.url}/json/number`)).status, 500);
  });

  it('calls a schemeless host over http, roots rootless paths and takes the root hosts for "host": []', async () => {
    const mark = backend.requests.length;
    const answer = await call(`${gateway.url}/rootless/7`);
    assert.equal(answer.status, 200);
    assert.equal(answer.json<{ path: string }>().path, '/items/7');
    assert.equal(backend.requests.slice(mark).length, 1);
  });

  it('proxies a json backend under a no-op endpoint unchanged, as lura forces no-op', async () => {
    const answer = await call(`${gateway.url}/raw`);
    assert.equal(answer.status, 201);
    assert.equal(answer.headers['x-backend'], 'yes');
    assert.equal(answer.text, '[1,2]');
  });

  it('checks no audience with "audience": [], as KrakenD', async () => {
    const answer = await call(`${gateway.url}/any-audience`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.json(), { a: 1 });
    assert.equal((await call(`${gateway.url}/any-audience`)).status, 401);
  });
});
