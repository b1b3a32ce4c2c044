/**
 * The revocation and rate-limit metrics, read from a real gateway's
 * exposition: refusals counted by endpoint and answer, the revocation set's
 * size and state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type Gateway } from '../../src/gateway/server.js';
import { createPrometheusMetrics } from '../../src/metrics/prometheus.js';
import { boundPlanSources } from '../../src/metrics/sources.js';
import { startBackendServer } from '../support/backend-server.js';
import { nowSeconds } from '../support/clock.js';
import { generateSigningKey, jwksOf, mintToken, startJwksServer } from '../support/jwks-server.js';
import { planFrom } from '../support/plan.js';

test('rate-limit refusals and the revocation store show in the exposition', async () => {
  const jwks = await startJwksServer();
  const key = await generateSigningKey('m-1');
  jwks.setKeys(jwksOf(key));
  const backend = await startBackendServer();
  const ref: { gateway?: Gateway } = {};
  const metrics = createPrometheusMetrics(boundPlanSources(() => ref.gateway?.bound(), () => 0), { processMetrics: false });
  const plan = planFrom(
    {
      version: 3,
      extra_config: { 'auth/revoker': { token_keys: ['sub'], TTL: 600 } },
      endpoints: [
        {
          endpoint: '/orders',
          extra_config: {
            'auth/validator': { alg: 'RS256', jwk_url: jwks.url('/jwks') },
            'qos/ratelimit/router': { client_max_rate: 1, every: '1m', strategy: 'jwt', key: 'sub' },
          },
          backend: [{ host: [backend.url], url_pattern: '/orders' }],
        },
      ],
    },
    { strict: true },
  );
  const gateway = await startGateway(plan, { host: '127.0.0.1', port: 0, accessLog: false, metrics });
  ref.gateway = gateway;
  try {
    await gateway.ready();
    const token = await mintToken(key, { sub: 'alice', iat: nowSeconds() - 5, exp: nowSeconds() + 600 });
    const call = () => fetch(`${gateway.url}/orders`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
    assert.deepEqual([await call(), await call(), await call()], [200, 429, 429]);
    await gateway.bound().revocation!.revoke({ kind: 'sub', value: 'bob', before: nowSeconds(), expiresAt: nowSeconds() + 600 });
    const text = await metrics.exposition();
    assert.match(text, /^portcullis_rate_limited_total\{endpoint="\/orders",code="rate_limited"\} 2$/m);
    assert.match(text, /^portcullis_revocation_entries 1$/m);
    assert.match(text, /^portcullis_revocation_synced 1$/m);
    assert.match(text, /^portcullis_revocation_stale_seconds 0$/m);
    assert.match(text, /^portcullis_http_requests_total\{endpoint="\/orders",method="GET",status_class="4xx"\} 2$/m);
  } finally {
    await gateway.close();
    await backend.close();
    await jwks.close();
  }
});
