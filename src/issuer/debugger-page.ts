/**
 * The token debugger page, one static document with its style and script
 * inline: no framework, no build step, nothing loaded from anywhere (no fonts,
 * no analytics), so a pasted token never leaves this machine. The Content
 * Security Policy allows exactly this script and this style, by hash, and
 * requests to this origin only.
 *
 * The script decodes the token itself (header, claims, times as dates and
 * "expires in 9 min") and asks this issuer's API (debugger.ts) for the
 * signature status and the `explain` tables. It writes text with textContent
 * only, never HTML, so claims cannot inject markup. `body[data-done]` counts
 * finished inspections, which the browser test waits on.
 */
import { createHash } from 'node:crypto';

const STYLE = `
:root { color-scheme: light dark; --fg: #1d1d1f; --bg: #fff; --muted: #666; --line: #d0d0d7; --pass: #137333; --fail: #b3261e; --info: #555; --code: #f4f4f7; }
@media (prefers-color-scheme: dark) { :root { --fg: #e8e8ea; --bg: #17171a; --muted: #a0a0a8; --line: #3a3a42; --pass: #6dd58c; --fail: #ff8a80; --info: #b0b0b8; --code: #23232a; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header, main { max-width: 1100px; margin: 0 auto; padding: 0 16px; }
header { padding-top: 16px; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 20px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 14px; margin: 14px 0 6px; }
.note { color: var(--muted); margin: 0; }
textarea, input, select, button { font: inherit; color: inherit; background: var(--bg); border: 1px solid var(--line); border-radius: 4px; padding: 4px 6px; }
textarea { width: 100%; font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
button { cursor: pointer; }
.row { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin: 8px 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; border-bottom: 1px solid var(--line); padding: 4px 8px; }
th { font-weight: 600; }
td.value, td.mono, code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12px; word-break: break-word; }
.when { display: block; color: var(--muted); font-family: system-ui, sans-serif; font-size: 12px; }
tr[data-outcome="pass"] td.outcome, .allow { color: var(--pass); font-weight: 600; }
tr[data-outcome="fail"] td.outcome, .deny { color: var(--fail); font-weight: 600; }
tr[data-outcome="info"] td.outcome { color: var(--info); }
#signature[data-status="valid"] { color: var(--pass); font-weight: 600; }
#signature[data-status="invalid"], #signature[data-status="unknown_key"], #signature[data-status="malformed"] { color: var(--fail); font-weight: 600; }
.error { color: var(--fail); }
.endpoint { margin-bottom: 18px; }
.curl { display: block; background: var(--code); padding: 6px 8px; border-radius: 4px; word-break: break-all; }
`;

const SCRIPT = `
(function () {
  'use strict';
  var byId = function (id) { return document.getElementById(id); };
  var context = null;
  var lastEndpoints = [];
  var sequence = 0;
  var done = 0;

  function api(name, body) {
    return fetch('/debugger/api/' + name, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body || {}),
      credentials: 'same-origin',
      cache: 'no-store',
      referrerPolicy: 'no-referrer'
    }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (json) {
        if (!res.ok) throw new Error((json && json.errorMessage) || ('HTTP ' + res.status));
        return json;
      });
    });
  }

  function node(tag, text, attrs) {
    var element = document.createElement(tag);
    if (text !== undefined && text !== null) element.textContent = String(text);
    if (attrs) Object.keys(attrs).forEach(function (name) { element.setAttribute(name, attrs[name]); });
    return element;
  }

  function clear(element) { while (element.firstChild) element.removeChild(element.firstChild); }

  function decodeSegment(segment) {
    if (!/^[A-Za-z0-9_-]*$/.test(segment)) throw new Error('not base64url');
    var base64 = segment.replace(/-/g, '+').replace(/_/g, '/');
    while (base64.length % 4) base64 += '=';
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  }

  function decode(token) {
    var parts = token.split('.');
    if (parts.length === 5) throw new Error('this is an encrypted token (JWE, five parts): it cannot be read without the key');
    if (parts.length !== 3) throw new Error('a JWT has three parts separated by dots; this has ' + parts.length);
    var header, claims;
    try { header = JSON.parse(decodeSegment(parts[0])); } catch (e) { throw new Error('the header is not base64url-encoded JSON'); }
    try { claims = JSON.parse(decodeSegment(parts[1])); } catch (e) { throw new Error('the payload is not base64url-encoded JSON'); }
    if (!header || typeof header !== 'object' || Array.isArray(header)) throw new Error('the header is not a JSON object');
    if (!claims || typeof claims !== 'object' || Array.isArray(claims)) throw new Error('the payload is not a JSON object');
    return { header: header, claims: claims };
  }

  function span(seconds) {
    var s = Math.abs(seconds);
    if (s < 90) return Math.round(s) + ' s';
    if (s < 90 * 60) return Math.round(s / 60) + ' min';
    if (s < 48 * 3600) return Math.round(s / 3600) + ' h';
    return Math.round(s / 86400) + ' days';
  }

  function relativeTime(name, value, now) {
    var delta = value - now;
    var future = delta > 0;
    if (name === 'exp') return future ? 'expires in ' + span(delta) : 'expired ' + span(delta) + ' ago';
    if (name === 'nbf') return future ? 'not valid for another ' + span(delta) : 'valid since ' + span(delta) + ' ago';
    // A second or two ahead is this machine's clocks disagreeing, not a token from the future.
    if (name === 'iat') return delta > 5 ? 'issued in the future (' + span(delta) + ' ahead)' : delta > 0 ? 'issued just now' : 'issued ' + span(delta) + ' ago';
    return future ? 'in ' + span(delta) : span(delta) + ' ago';
  }

  var TIME_CLAIMS = { exp: 1, nbf: 1, iat: 1, auth_time: 1, updated_at: 1 };

  function valueCell(name, value, now) {
    var cell = node('td', JSON.stringify(value, null, Array.isArray(value) || (value && typeof value === 'object') ? 1 : 0), { class: 'value' });
    if (TIME_CLAIMS[name] && typeof value === 'number' && isFinite(value)) {
      var date = new Date(value * 1000);
      var when = isNaN(date.getTime()) ? 'not a date' : date.toISOString().replace('.000Z', 'Z') + ' · ' + relativeTime(name, value, now);
      cell.appendChild(node('span', when, { class: 'when' }));
    }
    return cell;
  }

  function fillObjectTable(tbody, object) {
    clear(tbody);
    var now = Date.now() / 1000;
    Object.keys(object).forEach(function (name) {
      var row = node('tr', null, { 'data-name': name });
      row.appendChild(node('th', name));
      row.appendChild(valueCell(name, object[name], now));
      tbody.appendChild(row);
    });
  }

  function resetOutputs() {
    clear(byId('header-table').tBodies[0]);
    clear(byId('claims-table').tBodies[0]);
    byId('decode-error').textContent = '';
    var signature = byId('signature');
    signature.textContent = '';
    signature.setAttribute('data-status', '');
    clear(byId('endpoints'));
  }

  function finish(id) {
    if (id !== sequence) return;
    done += 1;
    document.body.setAttribute('data-done', String(done));
  }

  function inspect() {
    var id = ++sequence;
    var token = byId('token').value.trim();
    resetOutputs();
    updateCurl();
    if (!token) { finish(id); return; }
    var decoded;
    try {
      decoded = decode(token);
    } catch (error) {
      byId('decode-error').textContent = error.message;
    }
    if (decoded) {
      fillObjectTable(byId('header-table').tBodies[0], decoded.header);
      fillObjectTable(byId('claims-table').tBodies[0], decoded.claims);
    }
    byId('signature').textContent = 'checking…';
    api('inspect', { token: token }).then(function (result) {
      if (id !== sequence) return;
      renderSignature(result.signature);
      renderEndpoints(result);
    }, function (error) {
      if (id !== sequence) return;
      byId('signature').textContent = 'the issuer could not check it: ' + error.message;
    }).then(function () { finish(id); });
  }

  function renderSignature(report) {
    var names = { valid: 'valid', invalid: 'invalid', unknown_key: 'unknown key', malformed: 'malformed' };
    var element = byId('signature');
    element.setAttribute('data-status', report.status);
    var about = [];
    if (report.alg) about.push(report.alg);
    if (report.kid) about.push('kid ' + report.kid);
    element.textContent = names[report.status] + (about.length ? ' (' + about.join(', ') + ')' : '') + ': ' + report.detail;
  }

  function decisionText(decision) {
    if (decision.allowed) return 'allow';
    return 'deny' + (decision.status ? ' ' + decision.status : '') + ' ' + (decision.code || '') + (decision.detail ? ' (' + decision.detail + ')' : '');
  }

  function renderEndpoints(result) {
    var box = byId('endpoints');
    clear(box);
    if (result.gatewayError) box.appendChild(node('p', 'explain failed: ' + result.gatewayError, { class: 'error' }));
    if (!result.endpoints) return;
    lastEndpoints = result.endpoints;
    updateCurlEndpoints();
    result.endpoints.forEach(function (endpoint) {
      var section = node('section', null, { class: 'endpoint', 'data-endpoint': endpoint.method + ' ' + endpoint.endpoint });
      var title = node('h3', endpoint.method + ' ' + endpoint.path + ' → ');
      title.appendChild(node('span', endpoint.public ? 'allow (no auth/validator)' : decisionText(endpoint.decision), { class: endpoint.decision.allowed ? 'allow decision' : 'deny decision' }));
      section.appendChild(title);
      if (endpoint.lines.length) {
        var table = node('table', null, { class: 'checks' });
        var head = node('thead');
        var headRow = node('tr');
        ['check', 'result', 'detail', 'found', 'expected'].forEach(function (name) { headRow.appendChild(node('th', name)); });
        head.appendChild(headRow);
        table.appendChild(head);
        var body = node('tbody');
        endpoint.lines.forEach(function (line) {
          var row = node('tr', null, { 'data-outcome': line.outcome, 'data-check': line.check });
          row.appendChild(node('td', line.check));
          row.appendChild(node('td', line.outcome.toUpperCase(), { class: 'outcome' }));
          row.appendChild(node('td', line.detail));
          row.appendChild(node('td', line.found === undefined ? '' : line.found, { class: 'mono' }));
          row.appendChild(node('td', line.expected === undefined ? '' : line.expected, { class: 'mono' }));
          body.appendChild(row);
        });
        table.appendChild(body);
        section.appendChild(table);
      }
      box.appendChild(section);
    });
  }

  function shellQuote(text) { return "'" + text.replace(/'/g, "'\\\\''") + "'"; }

  function curlFor(token, full) {
    var select = byId('curl-endpoint');
    var base = (context && context.gateway && context.gateway.url) || 'http://127.0.0.1:8080';
    var path = select.value || '/';
    var shown = full ? token : (token.length > 24 ? token.slice(0, 12) + '…' + token.slice(-8) : token);
    return 'curl -i -H ' + shellQuote('Authorization: Bearer ' + shown) + ' ' + shellQuote(base + path);
  }

  function updateCurl() {
    var token = byId('token').value.trim();
    byId('curl').textContent = token ? curlFor(token, false) : '(paste or mint a token first)';
    byId('copy-status').textContent = '';
  }

  function updateCurlEndpoints() {
    var select = byId('curl-endpoint');
    var previous = select.selectedIndex;
    var list = lastEndpoints.length ? lastEndpoints.map(function (e) { return { method: e.method, path: e.path }; })
      : ((context && context.gateway && context.gateway.endpoints) || []).map(function (e) { return { method: e.method, path: e.endpoint }; });
    clear(select);
    list.forEach(function (e) { if (e.method === 'GET') select.appendChild(node('option', e.method + ' ' + e.path, { value: e.path })); });
    if (previous >= 0 && previous < select.options.length) select.selectedIndex = previous;
    updateCurl();
  }

  function copyCurl() {
    var token = byId('token').value.trim();
    if (!token) return;
    var status = byId('copy-status');
    navigator.clipboard.writeText(curlFor(token, true)).then(function () { status.textContent = 'copied'; }, function () { status.textContent = 'copy refused by the browser'; });
  }

  function list(text) { return text.split(',').map(function (s) { return s.trim(); }).filter(function (s) { return s.length > 0; }); }

  function mintBody() {
    var body = {};
    var user = byId('mint-user').value;
    if (user) body.user = user;
    var roles = byId('mint-roles').value.trim();
    if (roles) body.roles = list(roles);
    var tenants = byId('mint-tenants').value.trim();
    if (tenants) {
      body.tenants = {};
      tenants.split(';').forEach(function (spec) {
        spec = spec.trim();
        if (!spec) return;
        var colon = spec.indexOf(':');
        var id = (colon === -1 ? spec : spec.slice(0, colon)).trim();
        if (!id) throw new Error('tenant roles: write T2acme:editor,viewer; T2globex:viewer');
        body.tenants[id] = colon === -1 ? [] : list(spec.slice(colon + 1));
      });
    }
    var ttl = byId('mint-ttl').value.trim();
    if (ttl) body.ttl = ttl;
    return body;
  }

  function mint(body) {
    var status = byId('mint-status');
    status.textContent = 'minting…';
    status.className = '';
    return api('mint', body).then(function (minted) {
      byId('token').value = minted.sessionJwt;
      status.textContent = (minted.warnings || []).join(' ');
      inspect();
    }, function (error) {
      status.textContent = error.message;
      status.className = 'error';
    });
  }

  function fillContext(result) {
    context = result;
    byId('issuer-info').textContent = 'issuer ' + result.issuer + ' · keys ' + result.keys.map(function (k) { return k.kid.slice(0, 8) + '… ' + k.alg + (k.current ? ' (current)' : ''); }).join(', ');
    var gatewayInfo = byId('gateway-info');
    gatewayInfo.textContent = result.gateway
      ? 'Each endpoint of ' + result.gateway.config + ', as the gateway at ' + result.gateway.url + ' would decide. Route parameters named like "tenant" get the token\\'s dct.'
      : 'No gateway config: start the issuer with --gateway-config FILE to see, for each endpoint, every check and the decision.';
    ['user', 'mint-user'].forEach(function (id) {
      var select = byId(id);
      result.users.forEach(function (user) {
        var roles = user.roles.length ? user.roles.join(', ') : 'no roles';
        select.appendChild(node('option', user.name + ' (' + roles + ')', { value: user.name }));
      });
    });
    updateCurlEndpoints();
  }

  byId('inspect').addEventListener('click', inspect);
  byId('token').addEventListener('input', function () {
    var id = ++sequence;
    setTimeout(function () { if (id === sequence) inspect(); }, 400);
  });
  byId('user').addEventListener('change', function () {
    var name = byId('user').value;
    if (name) mint({ user: name });
  });
  byId('mint').addEventListener('click', function () {
    var body;
    try { body = mintBody(); } catch (error) { byId('mint-status').textContent = error.message; byId('mint-status').className = 'error'; return; }
    mint(body);
  });
  byId('curl-endpoint').addEventListener('change', updateCurl);
  byId('copy-curl').addEventListener('click', copyCurl);
  api('context').then(fillContext, function (error) { byId('issuer-info').textContent = 'cannot reach the issuer: ' + error.message; })
    .then(function () { document.body.setAttribute('data-ready', 'true'); });
})();
`;

const BODY = `
<header>
  <h1>portcullis token debugger</h1>
  <p class="note">Development only. Tokens stay on this machine: they go only to this issuer, in request bodies, and are never logged or put in a URL.</p>
  <p class="note" id="issuer-info"></p>
</header>
<main>
  <section>
    <h2><label for="token">Token</label></h2>
    <textarea id="token" rows="5" spellcheck="false" autocomplete="off" autocapitalize="off" placeholder="Paste a JWT (eyJ…)"></textarea>
    <div class="row">
      <button id="inspect" type="button">Inspect</button>
      <label for="user">or pick a demo user</label>
      <select id="user"><option value="">—</option></select>
    </div>
    <p id="decode-error" class="error"></p>
  </section>
  <section>
    <h2>Header</h2>
    <table id="header-table"><tbody></tbody></table>
    <h2>Claims</h2>
    <table id="claims-table"><tbody></tbody></table>
  </section>
  <section>
    <h2>Signature</h2>
    <p id="signature" data-status=""></p>
  </section>
  <section>
    <h2>Endpoints</h2>
    <p class="note" id="gateway-info"></p>
    <div id="endpoints"></div>
  </section>
  <section>
    <h2>Mint a token</h2>
    <div class="row">
      <label for="mint-user">user</label>
      <select id="mint-user"><option value="">none (default subject)</option></select>
      <label for="mint-roles">roles</label>
      <input id="mint-roles" placeholder="admin,viewer" size="14">
      <label for="mint-tenants">tenant roles</label>
      <input id="mint-tenants" placeholder="T2acme:editor,viewer; T2globex:viewer" size="32">
      <label for="mint-ttl">TTL</label>
      <input id="mint-ttl" placeholder="10m" size="6">
      <button id="mint" type="button">Mint</button>
    </div>
    <p id="mint-status"></p>
    <h3><label for="curl-endpoint">curl</label></h3>
    <div class="row">
      <select id="curl-endpoint"></select>
      <button id="copy-curl" type="button">Copy curl line</button>
      <span id="copy-status"></span>
    </div>
    <code id="curl" class="curl"></code>
  </section>
</main>
`;

const hash = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** The document; its one script and one style are what the CSP hashes allow. */
export const DEBUGGER_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>portcullis token debugger</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body data-done="0">${BODY}<script>${SCRIPT}</script>
</body>
</html>
`;

/**
 * `default-src 'none'`: nothing is allowed but what is listed. The script and the style by hash (no
 * 'unsafe-inline'), fetches to this origin only, the empty data: icon (so the browser asks for no
 * /favicon.ico), no forms, no base URL, never framed.
 */
export const DEBUGGER_CSP = [
  "default-src 'none'",
  `script-src ${hash(SCRIPT)}`,
  `style-src ${hash(STYLE)}`,
  "connect-src 'self'",
  "img-src data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const DEBUGGER_PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': DEBUGGER_CSP,
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
});
