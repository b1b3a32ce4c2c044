/**
 * What a client learns about failed backends: `return_error_details` puts the
 * backend's status, body and content type under `error_<name>` (lura's
 * shape; krakend-ce spec detail_error), and `router.return_error_msg` makes
 * an answer without data say why in its body, without naming the backend's
 * address.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { startBackendServer, unusedPort, type BackendServer } from '../support/backend-server.js';
import type { Gateway } from '../../src/gateway/server.js';
import { call, startTestGateway } from './harness.js';

const send = (status: number, body: string, type?: string) => (_req: unknown, res: ServerResponse) =>
  void res.writeHead(status, { ...(type ? { 'content-type': type } : {}), 'content-length': Buffer.byteLength(body) }).end(body);

describe('gateway: backend errors in the answer', () => {
  let backend: BackendServer;
  let other: BackendServer;
  let details: Gateway;
  let messages: Gateway;
  let down: string;
  const held: ServerResponse[] = [];

  before(async () => {
    backend = await startBackendServer();
    other = await startBackendServer();
    down = `http://127.0.0.1:${await unusedPort()}`;
    backend.on('/foo', send(200, '{"foo":42}', 'application/json'));
    backend.on('/missing', send(404, '404 page not found\n', 'text/plain; charset=utf-8'));
    backend.on('/user-missing', send(404, '{"error":"no such user"}', 'application/json'));
    backend.on('/unavailable', send(503, 'try later', 'text/plain'));
    backend.on('/empty-error', send(500, ''));
    backend.on('/garbage', send(200, '{"oops', 'application/json'));
    backend.on('/to-other', (_req, res) => void res.writeHead(302, { location: `${other.url}/x`, 'content-length': 0 }).end());
    backend.on('/hold', (_req, res) => void held.push(res));
    const host = [backend.url];
    const detailsOf = (name: string, extra: Record<string, unknown> = {}) => ({ 'backend/http': { return_error_details: name, ...extra } });

    ({ gateway: details } = await startTestGateway({
      version: 3,
      endpoints: [
        {
          endpoint: '/detail_error',
          backend: [
            { host, url_pattern: '/foo', extra_config: detailsOf('backend_a') },
            { host, url_pattern: '/missing', extra_config: detailsOf('backend_b') },
          ],
        },
        { endpoint: '/single', backend: [{ host, url_pattern: '/user-missing', extra_config: detailsOf('users') }] },
        { endpoint: '/bare', backend: [{ host, url_pattern: '/empty-error', extra_config: detailsOf('bare') }] },
        { endpoint: '/over-code', backend: [{ host, url_pattern: '/user-missing', extra_config: detailsOf('users', { return_error_code: true }) }] },
        { endpoint: '/details-down', backend: [{ host: [down], url_pattern: '/x', extra_config: detailsOf('down') }] },
        { endpoint: '/quiet', backend: [{ host, url_pattern: '/missing' }] },
        { endpoint: '/quiet-code', backend: [{ host, url_pattern: '/user-missing', extra_config: { 'backend/http': { return_error_code: true } } }] },
      ],
    }));

    ({ gateway: messages } = await startTestGateway({
      version: 3,
      extra_config: { router: { return_error_msg: true } },
      endpoints: [
        { endpoint: '/status', backend: [{ host, url_pattern: '/missing' }] },
        { endpoint: '/code', backend: [{ host, url_pattern: '/user-missing', extra_config: { 'backend/http': { return_error_code: true } } }] },
        { endpoint: '/two', backend: [{ host, url_pattern: '/missing' }, { host, url_pattern: '/unavailable' }] },
        { endpoint: '/down', backend: [{ host: [down], url_pattern: '/secret-path' }] },
        { endpoint: '/garbage', backend: [{ host, url_pattern: '/garbage' }] },
        { endpoint: '/redirect', backend: [{ host, url_pattern: '/to-other' }] },
        { endpoint: '/partial', backend: [{ host, url_pattern: '/foo' }, { host, url_pattern: '/missing' }] },
        { endpoint: '/slow', timeout: '200ms', backend: [{ host, url_pattern: '/hold' }] },
      ],
    }));
  });

  after(async () => {
    for (const res of held) res.destroy();
    await details.close();
    await messages.close();
    await backend.close();
    await other.close();
  });

  describe('return_error_details', () => {
    it('adds the failed backend under error_<name> next to the others\' data: 200, incomplete (krakend-ce detail_error)', async () => {
      const answer = await call(`${details.url}/detail_error`);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['x-krakend-completed'], 'false');
      assert.equal(answer.headers['content-type'], 'application/json; charset=utf-8');
      assert.deepEqual(answer.json(), {
        foo: 42,
        error_backend_b: { http_status_code: 404, http_body: '404 page not found\n', http_body_encoding: 'text/plain; charset=utf-8' },
      });
    });

    it('answers 200 with the details alone when the only backend failed, and keeps the field order of lura', async () => {
      const answer = await call(`${details.url}/single`);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['x-krakend-completed'], 'false');
      assert.equal(answer.text, '{"error_users":{"http_status_code":404,"http_body":"{\\"error\\":\\"no such user\\"}","http_body_encoding":"application/json"}}');
    });

    it('leaves out an empty body and an absent content type (Go\'s omitempty)', async () => {
      const answer = await call(`${details.url}/bare`);
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.json(), { error_bare: { http_status_code: 500 } });
    });

    it('wins over return_error_code on the same backend, as in lura', async () => {
      const answer = await call(`${details.url}/over-code`);
      assert.equal(answer.status, 200);
      assert.deepEqual(Object.keys(answer.json()), ['error_users']);
    });

    it('covers failed statuses only: an unreachable backend fails as usual', async () => {
      const answer = await call(`${details.url}/details-down`);
      assert.equal(answer.status, 500);
      assert.equal(answer.text, '');
      assert.equal((await call(`${details.url}/bare`)).status, 200);
    });

    it('is off by default: the failure stays an empty 500, or the bare status with return_error_code', async () => {
      const quiet = await call(`${details.url}/quiet`);
      assert.equal(quiet.status, 500);
      assert.equal(quiet.text, '');
      const code = await call(`${details.url}/quiet-code`);
      assert.equal(code.status, 404);
      assert.equal(code.text, '');
      // Contrast: the same kind of failure, detailed.
      assert.equal((await call(`${details.url}/single`)).json<Record<string, { http_status_code: number }>>().error_users!.http_status_code, 404);
    });
  });

  describe('router.return_error_msg', () => {
    it('says why in a plain-text body when no backend answered', async () => {
      const answer = await call(`${messages.url}/status`);
      assert.equal(answer.status, 500);
      assert.equal(answer.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(answer.headers['x-krakend-completed'], 'false');
      assert.equal(answer.text, 'invalid status code 404');
    });

    it('with return_error_code, passes the backend\'s status and body (its content type is lost, as in KrakenD)', async () => {
      const answer = await call(`${messages.url}/code`);
      assert.equal(answer.status, 404);
      assert.equal(answer.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(answer.text, '{"error":"no such user"}');
    });

    it('joins the reasons of several failed backends, one per line', async () => {
      const answer = await call(`${messages.url}/two`);
      assert.equal(answer.status, 500);
      assert.deepEqual(answer.text.split('\n').sort(), ['invalid status code 404', 'invalid status code 503']);
    });

    it('never names the backend\'s address or path', async () => {
      const unreachable = await call(`${messages.url}/down`);
      assert.equal(unreachable.status, 500);
      assert.equal(unreachable.text, 'backend call failed');
      const redirected = await call(`${messages.url}/redirect`);
      assert.equal(redirected.text, 'redirect (status 302) to another origin refused');
      assert.ok(!`${unreachable.text}${redirected.text}`.includes('127.0.0.1'));
    });

    it('says when the body could not be read, and when the endpoint timed out', async () => {
      assert.equal((await call(`${messages.url}/garbage`)).text, 'invalid response body');
      const slow = await call(`${messages.url}/slow`);
      assert.equal(slow.status, 500);
      assert.equal(slow.text, 'endpoint timeout reached');
    });

    it('changes nothing when some backend answered: its data, incomplete, where the failure alone is explained', async () => {
      const answer = await call(`${messages.url}/partial`);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['x-krakend-completed'], 'false');
      assert.deepEqual(answer.json(), { foo: 42 });
      assert.equal((await call(`${messages.url}/status`)).text, 'invalid status code 404');
    });
  });
});
