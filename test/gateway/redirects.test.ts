/**
 * Backend redirects, followed as KrakenD's Go client follows them (method and
 * body rules per status, at most 10), but only within the backend's own
 * origins or the redirect_hosts it names; every hop carries the filtered
 * request, never the client's own headers or query again.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { startBackendServer, type BackendServer, type ReceivedRequest } from '../support/backend-server.js';
import { generateSigningKey, mintToken } from '../support/jwks-server.js';
import { nowSeconds } from '../support/clock.js';
import type { Gateway } from '../../src/gateway/server.js';
import type { MemoryLogger } from '../support/logger.js';
import { call, startTestGateway } from './harness.js';

const STATUSES = [301, 302, 303, 307, 308] as const;
const MAX_RESPONSE = 4096;

const redirect = (status: number, location: string, body = '') => (_req: unknown, res: ServerResponse) =>
  void res.writeHead(status, { location, 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) }).end(body);

describe('gateway: backend redirects', () => {
  let backend: BackendServer;
  let other: BackendServer;
  let gateway: Gateway;
  let logger: MemoryLogger;
  let token: string;

  /** The line is logged before the answer is written, so it is there once the answer arrived. */
  const assertLogged = (message: string) => assert.ok(logger.lines.some((line) => line.msg === message), `not logged: ${message}\n${logger.text()}`);
  /** The requests the backend got for `path`, since the test's start mark. */
  const seen = (server: BackendServer, path: string, since: number): ReceivedRequest[] => server.requests.slice(since).filter((r) => r.path === path);

  before(async () => {
    backend = await startBackendServer();
    other = await startBackendServer();
    const key = await generateSigningKey('redirect-1');
    token = await mintToken(key, { sub: 'alice', exp: nowSeconds() + 600 });

    for (const status of STATUSES) backend.on(`/redirect/${status}`, redirect(status, `/final?from=${status}`));
    backend.on('/side', (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"side":true}'));
    backend.on('/to-other', redirect(302, `${other.url}/steal`));
    backend.on('/loop-a', redirect(302, '/loop-b'));
    backend.on('/loop-b', redirect(302, '/loop-a'));
    // /hop/k redirects to /hop/k+1 up to /hop/11, which answers.
    for (let k = 0; k < 11; k++) backend.on(`/hop/${k}`, redirect(302, `/hop/${k + 1}`));
    backend.on('/no-location', (_req, res) => void res.writeHead(302, { 'content-length': 0 }).end());
    backend.on('/to-ftp', redirect(302, 'ftp://127.0.0.1/final'));
    backend.on('/to-credentials', redirect(302, `http://user:secret@127.0.0.1:${backend.port}/final`));
    backend.on('/to-huge', redirect(302, '/huge'));
    backend.on('/huge', (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ pad: 'x'.repeat(MAX_RESPONSE) })));
    // A redirect whose own body is far over the answer limit: it is not an answer, so it is dropped, not counted.
    backend.on('/fat-redirect', redirect(302, '/final', 'y'.repeat(64 * MAX_RESPONSE)));
    backend.on('/id-start', redirect(302, 'id-final'));
    backend.on('//double/start', redirect(302, 'next'));

    const host = [backend.url];
    const config = {
      version: 3,
      extra_config: { 'portcullis/server': { max_backend_response_size: MAX_RESPONSE, max_buffered_bytes: 16 * MAX_RESPONSE } },
      endpoints: [
        { endpoint: '/r/{status}', input_headers: ['Authorization', 'Cookie', 'X-Team'], backend: [{ host, url_pattern: '/redirect/{status}' }] },
        { endpoint: '/post/{status}', method: 'POST', backend: [{ host, url_pattern: '/redirect/{status}' }] },
        {
          endpoint: '/post-replay/{status}',
          method: 'POST',
          backend: [{ host, url_pattern: '/redirect/{status}', extra_config: { 'backend/http/client': { send_body_on_redirect: true } } }],
        },
        { endpoint: '/post-two/{status}', method: 'POST', backend: [{ host, url_pattern: '/redirect/{status}' }, { host, url_pattern: '/side' }] },
        { endpoint: '/noop/{status}', method: 'POST', output_encoding: 'no-op', backend: [{ host, url_pattern: '/redirect/{status}' }] },
        {
          endpoint: '/noop-replay/{status}',
          method: 'POST',
          output_encoding: 'no-op',
          backend: [{ host, url_pattern: '/redirect/{status}', extra_config: { 'backend/http/client': { send_body_on_redirect: true } } }],
        },
        { endpoint: '/noop-get/{status}', output_encoding: 'no-op', backend: [{ host, url_pattern: '/redirect/{status}' }] },
        { endpoint: '/cross', input_headers: ['Authorization', 'Cookie', 'X-Team'], backend: [{ host, url_pattern: '/to-other' }] },
        { endpoint: '/cross-noop', output_encoding: 'no-op', backend: [{ host, url_pattern: '/to-other' }] },
        {
          endpoint: '/cross-allowed',
          input_headers: ['Authorization', 'Cookie', 'X-Team'],
          backend: [{ host, url_pattern: '/to-other', extra_config: { 'backend/http/client': { redirect_hosts: [other.url] } } }],
        },
        { endpoint: '/loop', backend: [{ host, url_pattern: '/loop-a' }] },
        { endpoint: '/chain/{start}', backend: [{ host, url_pattern: '/hop/{start}' }] },
        { endpoint: '/no-follow', backend: [{ host, url_pattern: '/redirect/302', extra_config: { 'backend/http/client': { no_redirect: true } } }] },
        {
          endpoint: '/no-follow-noop',
          output_encoding: 'no-op',
          backend: [{ host, url_pattern: '/redirect/302', extra_config: { 'backend/http/client': { no_redirect: true } } }],
        },
        { endpoint: '/no-location', backend: [{ host, url_pattern: '/no-location' }] },
        { endpoint: '/no-location-noop', output_encoding: 'no-op', backend: [{ host, url_pattern: '/no-location' }] },
        { endpoint: '/to-ftp', backend: [{ host, url_pattern: '/to-ftp' }] },
        { endpoint: '/to-credentials', backend: [{ host, url_pattern: '/to-credentials' }] },
        { endpoint: '/to-huge', backend: [{ host, url_pattern: '/to-huge' }] },
        { endpoint: '/fat-redirect', backend: [{ host, url_pattern: '/fat-redirect' }] },
        { endpoint: '/double', backend: [{ host, url_pattern: '//double/start' }] },
        {
          endpoint: '/id',
          input_headers: ['X-User'],
          input_query_strings: ['*'],
          extra_config: { 'auth/validator': { alg: 'RS256', jwk_keys: [key.publicJwk], propagate_claims: [['sub', 'X-User']] } },
          backend: [{ host, url_pattern: '/id-start?scope=fixed' }],
        },
      ],
    };
    ({ gateway, logger } = await startTestGateway(config));
  });

  after(async () => {
    await gateway.close();
    await backend.close();
    await other.close();
  });

  for (const status of STATUSES) {
    it(`follows a ${status} for GET, with Go's Referer, and answers with the final backend's data`, async () => {
      const mark = backend.requests.length;
      const answer = await call(`${gateway.url}/r/${status}`, { headers: { authorization: 'Bearer same-origin', 'x-team': 'blue' } });
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['x-krakend-completed'], 'true');
      const body = answer.json<{ method: string; path: string; query: string; headers: Record<string, string> }>();
      assert.equal(body.method, 'GET');
      assert.equal(body.path, '/final');
      assert.equal(body.query, `from=${status}`);
      assert.equal(body.headers.referer, `${backend.url}/redirect/${status}`);
      // Same origin: credentials stay.
      assert.equal(body.headers.authorization, 'Bearer same-origin');
      assert.equal(body.headers['x-team'], 'blue');
      assert.equal(seen(backend, `/redirect/${status}`, mark).length, 1);
      assert.equal(seen(backend, '/final', mark).length, 1);
    });
  }

  for (const status of [301, 302, 303]) {
    it(`turns a POST into a GET without body on ${status}, as Go does`, async () => {
      const mark = backend.requests.length;
      const answer = await call(`${gateway.url}/post/${status}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"order":1}' });
      assert.equal(answer.status, 200);
      const [first] = seen(backend, `/redirect/${status}`, mark);
      assert.equal(first!.method, 'POST');
      assert.equal(first!.body, '{"order":1}');
      const [final] = seen(backend, '/final', mark);
      assert.equal(final!.method, 'GET');
      assert.equal(final!.body, '');
      assert.equal(final!.headers['content-length'], undefined);
      assert.equal(final!.headers['transfer-encoding'], undefined);
    });
  }

  for (const status of [307, 308]) {
    it(`follows a ${status} with the same method and body once send_body_on_redirect buffers it; a streamed body is not sent again, as in Go`, async () => {
      const mark = backend.requests.length;
      const merged = await call(`${gateway.url}/post/${status}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"order":2}' });
      assert.equal(merged.status, 500);
      assert.equal(merged.text, '');
      const relayed = await call(`${gateway.url}/noop/${status}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"order":3}' });
      assert.equal(relayed.status, status);
      assert.equal(relayed.headers.location, `/final?from=${status}`);
      assert.equal(seen(backend, `/redirect/${status}`, mark).length, 2);
      assert.equal(seen(backend, '/final', mark).length, 0);

      for (const endpoint of ['post-replay', 'noop-replay']) {
        const mark = backend.requests.length;
        const answer = await call(`${gateway.url}/${endpoint}/${status}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"order":4}' });
        assert.equal(answer.status, 200, endpoint);
        const [final] = seen(backend, '/final', mark);
        assert.equal(final!.method, 'POST', endpoint);
        assert.equal(final!.body, '{"order":4}', endpoint);
        assert.equal(final!.headers['content-type'], 'application/json', endpoint);
        assert.equal(final!.headers['content-length'], '11', endpoint);
        assert.equal(answer.json<{ body: string }>().body, '{"order":4}', endpoint);
      }
    });

    it(`follows a ${status} with the body when several backends already share a buffered copy`, async () => {
      const mark = backend.requests.length;
      const answer = await call(`${gateway.url}/post-two/${status}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"order":5}' });
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['x-krakend-completed'], 'true');
      const body = answer.json<{ side: boolean; method: string; body: string }>();
      assert.deepEqual([body.side, body.method, body.body], [true, 'POST', '{"order":5}']);
      assert.equal(seen(backend, '/final', mark).length, 1);
    });
  }

  it('follows redirects in no-op endpoints too, streaming the final answer', async () => {
    const answer = await call(`${gateway.url}/noop-get/302`);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.location, undefined);
    assert.equal(answer.json<{ path: string }>().path, '/final');
  });

  it('refuses a redirect to another origin: the other host never sees the request', async () => {
    const mark = other.requests.length;
    const merged = await call(`${gateway.url}/cross`, { headers: { authorization: 'Bearer secret-token' } });
    assert.equal(merged.status, 500);
    assert.equal(merged.text, '');
    assertLogged(`[ENDPOINT: /cross] Error #0: redirect (status 302) to another origin refused: ${other.url} (allow it in backend/http/client.redirect_hosts)`);
    const noop = await call(`${gateway.url}/cross-noop`);
    assert.equal(noop.status, 502);
    assert.deepEqual(noop.json(), { error: 'bad_gateway' });
    assert.equal(other.requests.length, mark);
    assert.ok(!logger.text().includes('secret-token'));
  });

  it('follows a redirect to an origin redirect_hosts names, without Authorization and Cookie (as Go does off the first host)', async () => {
    const mark = other.requests.length;
    const answer = await call(`${gateway.url}/cross-allowed`, { headers: { authorization: 'Bearer secret-token', cookie: 'session=1', 'x-team': 'blue' } });
    assert.equal(answer.status, 200);
    const [stolen] = seen(other, '/steal', mark);
    assert.equal(stolen!.headers.authorization, undefined);
    assert.equal(stolen!.headers.cookie, undefined);
    assert.equal(stolen!.headers['x-team'], 'blue');
    assert.equal(stolen!.headers.referer, `${backend.url}/to-other`);
    assert.equal(stolen!.headers.host, `127.0.0.1:${other.port}`);
  });

  it('stops a loop at the first repeated request', async () => {
    const mark = backend.requests.length;
    const answer = await call(`${gateway.url}/loop`);
    assert.equal(answer.status, 500);
    assert.equal(seen(backend, '/loop-a', mark).length, 1);
    assert.equal(seen(backend, '/loop-b', mark).length, 1);
    assertLogged('[ENDPOINT: /loop] Error #0: redirect loop (after 2 redirects)');
  });

  it('follows 10 redirects and refuses the 11th, as Go does', async () => {
    const mark = backend.requests.length;
    const ten = await call(`${gateway.url}/chain/1`);
    assert.equal(ten.status, 200);
    assert.equal(ten.json<{ path: string }>().path, '/hop/11');
    const eleven = await call(`${gateway.url}/chain/0`);
    assert.equal(eleven.status, 500);
    assertLogged('[ENDPOINT: /chain/{start}] Error #0: stopped after 10 redirects');
    // Both chains reached /hop/10; only the first went on to /hop/11.
    assert.equal(seen(backend, '/hop/10', mark).length, 2);
    assert.equal(seen(backend, '/hop/11', mark).length, 1);
  });

  it('with no_redirect, fails a merging endpoint and relays the 3xx through no-op, where the same backend is followed without it', async () => {
    const mark = backend.requests.length;
    assert.equal((await call(`${gateway.url}/no-follow`)).status, 500);
    const relayed = await call(`${gateway.url}/no-follow-noop`);
    assert.equal(relayed.status, 302);
    assert.equal(relayed.headers.location, '/final?from=302');
    assert.equal(seen(backend, '/final', mark).length, 0);
    assert.equal((await call(`${gateway.url}/noop-get/302`)).status, 200);
    assert.equal(seen(backend, '/final', mark).length, 1);
  });

  it('answers with a redirect that has no Location (as Go does), where one with a Location is followed', async () => {
    assert.equal((await call(`${gateway.url}/no-location`)).status, 500);
    assertLogged('[ENDPOINT: /no-location] Error #0: invalid status code 302');
    assert.equal((await call(`${gateway.url}/no-location-noop`)).status, 302);
    assert.equal((await call(`${gateway.url}/r/302`)).status, 200);
  });

  it('refuses another scheme and credentials in the Location', async () => {
    assert.equal((await call(`${gateway.url}/to-ftp`)).status, 500);
    assertLogged('[ENDPOINT: /to-ftp] Error #0: redirect (status 302) to a non-http location refused');
    assert.equal((await call(`${gateway.url}/to-credentials`)).status, 500);
    assertLogged('[ENDPOINT: /to-credentials] Error #0: redirect (status 302) to a URL with credentials refused');
  });

  it('applies max_backend_response_size to the answer after the redirect, and drops a large redirect body instead of counting it', async () => {
    const huge = await call(`${gateway.url}/to-huge`);
    assert.equal(huge.status, 502);
    assert.deepEqual(huge.json(), { error: 'bad_gateway' });
    const fat = await call(`${gateway.url}/fat-redirect`);
    assert.equal(fat.status, 200);
    assert.equal(fat.json<{ path: string }>().path, '/final');
  });

  it('resolves a relative Location against a path that starts with "//" as a path of the backend, not as another host', async () => {
    const answer = await call(`${gateway.url}/double`);
    assert.equal(answer.status, 200);
    assert.equal(answer.json<{ path: string }>().path, '//double/next');
  });

  it('sends the next hop the filtered request: propagated claims, not the client\'s identity header, and the Location\'s query only', async () => {
    const mark = backend.requests.length;
    const answer = await call(`${gateway.url}/id?scope=admin&page=2`, { headers: { authorization: `Bearer ${token}`, 'x-user': 'mallory', 'x-other': 'secret' } });
    assert.equal(answer.status, 200);
    const [first] = seen(backend, '/id-start', mark);
    assert.equal(first!.query, 'scope=fixed&page=2');
    const [final] = seen(backend, '/id-final', mark);
    assert.equal(final!.query, '');
    assert.equal(final!.headers['x-user'], 'alice');
    assert.equal(final!.headers['x-other'], undefined);
    assert.equal(final!.headers.authorization, undefined);
    assert.equal(final!.headers.referer, `${backend.url}/id-start?scope=fixed&page=2`);
  });
});
