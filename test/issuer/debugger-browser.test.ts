/**
 * The token debugger in a real browser: headless Chromium (the system's,
 * driven by playwright-core) on the page the demo's issuer serves. A token
 * pasted into the page is decoded there (header, claims, times as dates and
 * "expires in 9 min"), its signature is checked against the issuer's keys
 * (a jose-signed forgery under the issuer's kid is invalid, a stranger's kid
 * unknown, the issuer's own tokens valid), and each endpoint of the demo
 * config gets its table of checks; picking a demo user and the mint form mint
 * through the issuer. The page must load nothing from any other origin and
 * trip no CSP rule. A screenshot goes to test-artifacts/ (gitignored).
 * Without /usr/bin/chromium the suite is skipped with a one-line notice.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { generateKeyPair, SignJWT } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startDemo, type Demo } from '../../src/demo/run-demo.js';
import { fromRoot } from '../support/repo-root.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fromRoot('test-artifacts/');
const PID = 'P2portcullisdemo0000000000000';
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}: the browser test of the token debugger is skipped`;
// The page's clock is fixed here, so relative times read exactly; the issuer's clock is the real one, a second apart at most.
const NOW_S = Math.floor(Date.now() / 1000);

/** How the page's clipboard is reached in page.evaluate (these tests have no DOM types; the functions run in the browser). */
type BrowserGlobal = { navigator: { clipboard: { writeText(text: string): Promise<void>; readText(): Promise<string> } } };

interface CheckRow {
  check: string;
  outcome: string;
  found: string;
  expected: string;
}

describe('token debugger page in Chromium', { skip }, () => {
  let demo: Demo;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let origin: string;
  const requests: string[] = [];
  const consoleErrors: string[] = [];

  before(async () => {
    const { chromium } = await import('playwright-core');
    demo = await startDemo({ issuerPort: 0, backendPort: 0, gatewayPort: 0 });
    assert.ok(demo.issuer.debuggerUrl, 'the demo serves the debugger');
    origin = new URL(demo.issuer.debuggerUrl).origin;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    page = await context.newPage();
    page.on('request', (request) => requests.push(request.url()));
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    await page.clock.setFixedTime(NOW_S * 1000);
    await page.goto(demo.issuer.debuggerUrl);
    await page.waitForSelector('body[data-ready="true"]');
  });

  after(async () => {
    await browser?.close();
    await demo?.close();
  });

  /** Pastes `token` into the text box as a user would (clipboard, select all, paste) and waits for the page to finish. */
  async function paste(token: string): Promise<void> {
    const done = Number(await page.getAttribute('body', 'data-done'));
    await page.evaluate((text) => (globalThis as unknown as BrowserGlobal).navigator.clipboard.writeText(text), token);
    await page.focus('#token');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('ControlOrMeta+V');
    await page.waitForSelector(`body[data-done="${done + 1}"]`);
  }

  async function afterAction(action: () => Promise<unknown>): Promise<void> {
    const done = Number(await page.getAttribute('body', 'data-done'));
    await action();
    await page.waitForSelector(`body[data-done="${done + 1}"]`);
  }

  /** Tokens the issuer mints carry its real time: the page's fixed clock is moved to it first, so "expires in 10 min" reads exactly. */
  const syncPageClock = () => page.clock.setFixedTime(Math.floor(Date.now() / 1000) * 1000);

  const cell = (table: string, name: string) => page.textContent(`#${table} tr[data-name="${name}"] td`);
  const signature = async () => ({ status: await page.getAttribute('#signature', 'data-status'), text: await page.textContent('#signature') });
  const decision = (endpoint: string) => page.textContent(`section[data-endpoint="${endpoint}"] .decision`);
  const rows = (endpoint: string): Promise<CheckRow[]> =>
    page.$$eval(`section[data-endpoint="${endpoint}"] tr[data-check]`, (trs) =>
      trs.map((tr) => {
        const cells = [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '');
        return { check: tr.getAttribute('data-check') ?? '', outcome: cells[1] ?? '', found: cells[3] ?? '', expected: cells[4] ?? '' };
      }),
    );
  const row = async (endpoint: string, prefix: string) =>
    (await rows(endpoint)).find((r) => r.check.startsWith(prefix)) ?? assert.fail(`no ${prefix} row on ${endpoint}`);

  async function issuerFacts(): Promise<{ kid: string; iss: string }> {
    const jwks = (await (await fetch(`${demo.issuer.url}/v2/keys/${PID}`)).json()) as { keys: { kid: string }[] };
    return { kid: jwks.keys[0]!.kid, iss: `${demo.issuer.baseUrl}/v1/apps/${PID}` };
  }

  test('a pasted jose token signed by another key under the issuer\'s kid: decoded in the page, signature invalid, every endpoint explained', async () => {
    const { kid, iss } = await issuerFacts();
    const stranger = await generateKeyPair('RS256');
    const forged = await new SignJWT({ roles: ['admin'], plan: 'pro' })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setSubject('U2mallory')
      .setIssuer(iss)
      .setAudience(PID)
      .setIssuedAt(NOW_S - 60)
      .setExpirationTime(NOW_S + 540)
      .sign(stranger.privateKey);
    await paste(forged);

    assert.equal(await cell('header-table', 'alg'), '"RS256"');
    assert.equal(await cell('header-table', 'kid'), JSON.stringify(kid));
    assert.equal(await cell('claims-table', 'sub'), '"U2mallory"');
    assert.match((await cell('claims-table', 'exp'))!, /^\d+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ · expires in 9 min$/);
    assert.match((await cell('claims-table', 'iat'))!, /· issued 60 s ago$/);
    assert.equal(await page.textContent(`#claims-table tr[data-name="exp"] .when`), `${new Date((NOW_S + 540) * 1000).toISOString().replace('.000Z', 'Z')} · expires in 9 min`);

    const sig = await signature();
    assert.equal(sig.status, 'invalid');
    assert.match(sig.text!, /^invalid \(RS256, kid [0-9a-f]{32}\): the signature does not verify with this issuer's key/);

    assert.match((await decision('GET /reports'))!, /^deny 401 signature_invalid/);
    const reports = await rows('GET /reports');
    assert.deepEqual(reports.find((r) => r.check === 'signature'), { check: 'signature', outcome: 'FAIL', found: '', expected: '' });
    // After the signature fails, the other checks still run on what the token claims.
    assert.deepEqual(await row('GET /reports', 'roles'), { check: 'roles: any of ["admin"] in "roles"', outcome: 'PASS', found: '["admin"]', expected: 'any of ["admin"]' });
    assert.equal((await row('GET /reports', 'unverified claims')).outcome, 'INFO');
    for (const endpoint of ['GET /descope-protected', 'GET /tenants/{tenant}/projects', 'GET /m2m/jobs', 'GET /me']) {
      assert.match((await decision(endpoint))!, /^deny 401 signature_invalid/, endpoint);
    }
  });

  test('a token under a kid the issuer does not publish: unknown key', async () => {
    const stranger = await generateKeyPair('ES256');
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'someone-else' }).setIssuedAt(NOW_S).setExpirationTime(NOW_S + 60).sign(stranger.privateKey);
    await paste(token);
    const sig = await signature();
    assert.equal(sig.status, 'unknown_key');
    assert.match(sig.text!, /^unknown key \(ES256, kid someone-else\): no key this issuer publishes has this kid/);
    assert.match((await decision('GET /reports'))!, /^deny 401 alg_not_allowed/);
  });

  test('picking a demo user mints through the issuer: signature valid, bob passes the seed endpoint and fails the admin role', async () => {
    await syncPageClock();
    await afterAction(() => page.selectOption('#user', 'bob'));
    assert.equal((await signature()).status, 'valid');
    assert.match((await signature()).text!, /^valid \(RS256, kid [0-9a-f]{32}\): signed by this issuer's current key/);
    assert.equal(await cell('claims-table', 'sub'), '"U2bob00000000000000000000000"');
    assert.match((await cell('claims-table', 'exp'))!, /· expires in 10 min$/);
    assert.equal(await decision('GET /descope-protected'), 'allow');
    assert.match((await decision('GET /reports'))!, /^deny 403 insufficient_roles/);
    assert.deepEqual(await row('GET /reports', 'roles'), { check: 'roles: any of ["admin"] in "roles"', outcome: 'FAIL', found: '["viewer"]', expected: 'any of ["admin"]' });
    assert.equal((await row('GET /reports', 'signature')).outcome, 'PASS');
    // bob's tenant fills the route parameter.
    assert.match((await page.textContent('section[data-endpoint="GET /tenants/{tenant}/projects"] h3'))!, /^GET \/tenants\/T2globex\/projects → deny 403 insufficient_roles/);
  });

  test('a pasted token minted by the issuer\'s admin route is valid, and alice is allowed on /reports', async () => {
    const res = await fetch(`${demo.issuer.url}/admin/mint`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user":"alice"}' });
    const { sessionJwt } = (await res.json()) as { sessionJwt: string };
    await paste(sessionJwt);
    assert.equal((await signature()).status, 'valid');
    assert.equal(await decision('GET /reports'), 'allow');
    const rowsOk = await rows('GET /reports');
    assert.ok(rowsOk.length >= 10 && rowsOk.every((r) => r.outcome !== 'FAIL'), JSON.stringify(rowsOk));
  });

  test('the mint form mints with the given roles, tenant roles and TTL, and gives a curl line for the gateway', async () => {
    await syncPageClock();
    await page.selectOption('#mint-user', 'alice');
    await page.fill('#mint-roles', 'viewer');
    await page.fill('#mint-tenants', 'T2acme:editor, viewer');
    await page.fill('#mint-ttl', '5m');
    await afterAction(() => page.click('#mint'));
    const token = await page.inputValue('#token');
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.equal(await cell('claims-table', 'roles'), '[\n "viewer"\n]');
    assert.match((await cell('claims-table', 'tenants'))!, /"T2acme": \{\n {2}"roles": \[\n {3}"editor",\n {3}"viewer"\n {2}\]/);
    assert.equal(await cell('claims-table', 'plan'), '"pro"', 'alice\'s own claims come along');
    assert.match((await cell('claims-table', 'exp'))!, /· expires in 5 min$/);
    assert.equal((await signature()).status, 'valid');

    await page.selectOption('#curl-endpoint', '/reports');
    const shown = (await page.textContent('#curl'))!;
    assert.equal(shown, `curl -i -H 'Authorization: Bearer ${token.slice(0, 12)}…${token.slice(-8)}' '${demo.gateway.url}/reports'`);
    await page.click('#copy-curl');
    await page.waitForSelector('#copy-status:text("copied")');
    const copied = await page.evaluate(() => (globalThis as unknown as BrowserGlobal).navigator.clipboard.readText());
    assert.equal(copied, `curl -i -H 'Authorization: Bearer ${token}' '${demo.gateway.url}/reports'`);
    // The copied line works: viewer is not admin.
    const res = await fetch(`${demo.gateway.url}/reports`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 403);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}debugger.png`, fullPage: true });
  });

  test('the page asked nothing of any other origin, put no token in a URL, and broke no CSP rule', () => {
    assert.ok(requests.length >= 5, requests.join('\n'));
    for (const url of requests) {
      assert.equal(new URL(url).origin, origin, url);
      assert.doesNotMatch(url, /eyJ/, 'no token in a URL');
    }
    assert.deepEqual(consoleErrors, []);
  });
});
