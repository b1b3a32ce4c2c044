/**
 * The request-path series must expose exactly what prom-client's own Counter
 * and Histogram would for the same events: prom-client is the oracle here,
 * for the text format, for bucket edges and for --workers aggregation.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregatorRegistry, Counter, Histogram, Registry, type Metric } from 'prom-client';
import { CounterFamily, HistogramFamily } from '../../src/metrics/series.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];
// Below, on and between the bounds, and above the last one.
const OBSERVATIONS = [0, 0.0005, 0.001, 0.002, 0.01, 0.05, 0.1, 0.5, 1, 2, 30];

function pair(): { ours: Registry; theirs: Registry; counter: CounterFamily; histogram: HistogramFamily; oracleCounter: Counter<string>; oracleHistogram: Histogram<string> } {
  const ours = new Registry();
  const theirs = new Registry();
  const counter = new CounterFamily({ name: 'test_requests_total', help: 'Requests.', labelNames: ['endpoint', 'code'] });
  const histogram = new HistogramFamily({ name: 'test_duration_seconds', help: 'Durations.', labelNames: ['endpoint'], buckets: BUCKETS });
  ours.registerMetric(counter as unknown as Metric);
  ours.registerMetric(histogram as unknown as Metric);
  const oracleCounter = new Counter({ name: 'test_requests_total', help: 'Requests.', labelNames: ['endpoint', 'code'], registers: [theirs] });
  const oracleHistogram = new Histogram({ name: 'test_duration_seconds', help: 'Durations.', labelNames: ['endpoint'], buckets: BUCKETS, registers: [theirs] });
  return { ours, theirs, counter, histogram, oracleCounter, oracleHistogram };
}

describe('metric series', () => {
  test('the exposition is the one prom-client writes for the same events', async () => {
    const { ours, theirs, counter, histogram, oracleCounter, oracleHistogram } = pair();
    const allowed = counter.series('/orders/{id}', 'allow');
    const expired = counter.series('/orders/{id}', 'token_expired');
    counter.series('/never', 'allow'); // made but never counted: absent, as an untouched prom-client child is
    for (let i = 0; i < 3; i++) allowed.inc();
    expired.inc();
    oracleCounter.labels('/orders/{id}', 'allow').inc(3);
    oracleCounter.labels('/orders/{id}', 'token_expired').inc();
    const orders = histogram.series('/orders/{id}');
    histogram.series('/idle');
    for (const value of OBSERVATIONS) {
      orders.observe(value);
      oracleHistogram.labels('/orders/{id}').observe(value);
    }
    const text = await ours.metrics();
    assert.equal(text, await theirs.metrics());
    assert.match(text, /test_duration_seconds_bucket\{le="0.001",endpoint="\/orders\/\{id\}"\} 3\n/);
    assert.doesNotMatch(text, /\/never|\/idle/);
  });

  test('the same series object comes back for the same labels, and reset zeroes every series', async () => {
    const { ours, counter, histogram } = pair();
    assert.equal(counter.series('/a', 'allow'), counter.series('/a', 'allow'));
    assert.notEqual(counter.series('/a', 'allow'), counter.series('/a', 'deny'));
    assert.throws(() => counter.series('/a'), /takes 2 label values/);
    counter.series('/a', 'allow').inc();
    histogram.series('/a').observe(0.5);
    ours.resetMetrics();
    assert.equal(counter.series('/a', 'allow').value, 0);
    assert.equal(histogram.series('/a').count, 0);
    assert.doesNotMatch(await ours.metrics(), /endpoint="\/a"/);
  });

  test('a value that is not a finite duration is dropped, not summed', async () => {
    const { histogram } = pair();
    const series = histogram.series('/a');
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, -1]) series.observe(bad);
    series.observe(0.5);
    assert.equal(series.count, 1);
    assert.equal(series.sum, 0.5);
  });

  test('--workers aggregation sums them as it sums prom-client metrics', async () => {
    const workers = [pair(), pair()];
    workers.forEach((worker, i) => {
      for (let n = 0; n <= i; n++) worker.counter.series('/a', 'allow').inc();
      worker.oracleCounter.labels('/a', 'allow').inc(i + 1);
      for (const value of OBSERVATIONS.slice(i)) {
        worker.histogram.series('/a').observe(value);
        worker.oracleHistogram.labels('/a').observe(value);
      }
    });
    const ours = AggregatorRegistry.aggregate(await Promise.all(workers.map((w) => w.ours.getMetricsAsJSON())));
    const theirs = AggregatorRegistry.aggregate(await Promise.all(workers.map((w) => w.theirs.getMetricsAsJSON())));
    assert.equal(await ours.metrics(), await theirs.metrics());
    assert.match(await ours.metrics(), /test_requests_total\{endpoint="\/a",code="allow"\} 3\n/);
  });
});
