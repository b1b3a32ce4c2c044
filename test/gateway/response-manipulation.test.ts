/**
 * Backend response manipulation through a running gateway and real backends
 * (krakend-compat review C10, C11): `deny` hides what it lists (the password
 * used to reach the client), `allow` keeps only what it lists, `target`,
 * `mapping`, `group`, `is_collection` and `flatmap_filter` shape each answer
 * before the merge (and an endpoint's flatmap_filter the merged answer), and
 * number literals survive all of it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { startBackendServer, type BackendServer } from '../support/backend-server.js';
import type { Gateway } from '../../src/gateway/server.js';
import { ConfigError } from '../../src/config/validate.js';
import { call, startTestGateway } from './harness.js';

const USER = '{"id":12345678901234567890,"name":"Ada","password":"hunter2","token":{"value":"t0k","scope":"all"},"address":{"city":"London","street":"St James"}}';

describe('gateway: response manipulation', () => {
  let backend: BackendServer;
  let gateway: Gateway;

  before(async () => {
    backend = await startBackendServer();
    const raw = (text: string) => (_req: unknown, res: ServerResponse) => void res.writeHead(200, { 'content-type': 'application/json' }).end(text);
    backend.on('/user', raw(USER));
    backend.on('/wrapped', raw('{"status":"ok","data":{"id":2,"total":1.50,"internal":"x"}}'));
    backend.on('/list', raw('[{"id":1},{"id":2}]'));
    backend.on('/object', raw('{"id":1}'));
    backend.on('/people', raw('{"people":[{"id":18446744073709551615,"password":"a"},{"id":2,"password":"b"}]}'));
    backend.on('/staff', raw('{"staff":[{"id":3,"password":"c"}]}'));
    const host = [backend.url];
    ({ gateway } = await startTestGateway({
      version: 3,
      timeout: '3s',
      endpoints: [
        { endpoint: '/deny', backend: [{ host, url_pattern: '/user', deny: ['password', 'token.value'] }] },
        { endpoint: '/allow', backend: [{ host, url_pattern: '/user', allow: ['id', 'address.city'] }] },
        {
          endpoint: '/composed',
          backend: [
            { host, url_pattern: '/user', allow: ['id', 'name'], mapping: { id: 'user_id' } },
            { host, url_pattern: '/wrapped', target: 'data', deny: ['internal'], group: 'order' },
            { host, url_pattern: '/list', is_collection: true, mapping: { collection: 'items' } },
          ],
        },
        { endpoint: '/collection-object', backend: [{ host, url_pattern: '/object', is_collection: true }] },
        {
          endpoint: '/flatmap',
          extra_config: { proxy: { flatmap_filter: [{ type: 'append', args: ['staff', 'people'] }] } },
          backend: [
            { host, url_pattern: '/people', extra_config: { proxy: { flatmap_filter: [{ type: 'del', args: ['people.*.password'] }] } } },
            { host, url_pattern: '/staff', extra_config: { proxy: { flatmap_filter: [{ type: 'del', args: ['staff.*.password'] }] } } },
          ],
        },
      ],
    }));
  });

  after(async () => {
    await gateway?.close();
    await backend?.close();
  });

  it('never hands the client a field deny lists, top-level or nested', async () => {
    const answer = await call(`${gateway.url}/deny`);
    assert.equal(answer.status, 200);
    assert.equal(answer.text, '{"id":12345678901234567890,"name":"Ada","token":{"scope":"all"},"address":{"city":"London","street":"St James"}}');
    assert.ok(!answer.text.includes('hunter2') && !answer.text.includes('t0k'));
  });

  it('hands the client only the fields allow lists', async () => {
    const answer = await call(`${gateway.url}/allow`);
    assert.equal(answer.status, 200);
    assert.equal(answer.text, '{"id":12345678901234567890,"address":{"city":"London"}}');
  });

  it('shapes each backend before merging: target, deny, mapping, group, is_collection', async () => {
    const answer = await call(`${gateway.url}/composed`);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['x-krakend-completed'], 'true');
    const members = ['"user_id":12345678901234567890', '"name":"Ada"', '"order":{"id":2,"total":1.50}', '"items":[{"id":1},{"id":2}]'];
    for (const member of members) assert.ok(answer.text.includes(member), `${member} in ${answer.text}`);
    assert.deepEqual(Object.keys(answer.json()).sort(), ['items', 'name', 'order', 'user_id']);
  });

  it('runs flatmap_filter inside arrays per backend, then on the merged answer', async () => {
    const answer = await call(`${gateway.url}/flatmap`);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['x-krakend-completed'], 'true');
    // The endpoint appends staff to people whatever order the backends answered in.
    assert.equal(answer.text, '{"people":[{"id":18446744073709551615},{"id":2},{"id":3}]}');
  });

  it('fails an is_collection backend that answers an object, as KrakenD does', async () => {
    const answer = await call(`${gateway.url}/collection-object`);
    assert.equal(answer.status, 500);
    assert.equal(answer.headers['x-krakend-completed'], 'false');
  });

  it('refuses to start a no-op endpoint whose backend has deny', async () => {
    const config = {
      version: 3,
      endpoints: [{ endpoint: '/noop', output_encoding: 'no-op', backend: [{ host: [backend.url], url_pattern: '/user', encoding: 'no-op', deny: ['password'] }] }],
    };
    await assert.rejects(startTestGateway(config), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.issues.map((issue) => issue.path), ['$.endpoints[0].backend[0].deny']);
      return true;
    });
  });
});
