// Error rate and p99 from the service's Prometheus text metrics, over the window between samples.
import { describe, expect, it } from 'vitest';
import { errorRate, parsePrometheusText, quantileMs, sinceLast, trafficCounters } from '../../activities/metrics.js';

const scrape = (ok: number, failed: number, buckets: [string, number][]) => `
# HELP http_requests_total Requests by status
# TYPE http_requests_total counter
http_requests_total{method="GET",code="200"} ${ok}
http_requests_total{method="GET",code="503"} ${failed}
# TYPE http_request_duration_seconds histogram
${buckets.map(([le, n]) => `http_request_duration_seconds_bucket{le="${le}"} ${n}`).join('\n')}
http_request_duration_seconds_count ${buckets.at(-1)?.[1] ?? 0}
process_resident_memory_bytes 1.2e+08
`;

describe('Prometheus metrics', () => {
  it('parses names, labels (with escapes) and values, skipping comments', () => {
    const samples = parsePrometheusText('# c\nfoo{a="x\\"y",b="2"} 3.5 1700000000\nbar +Inf\n');
    expect(samples).toEqual([
      { name: 'foo', labels: { a: 'x"y', b: '2' }, value: 3.5 },
      { name: 'bar', labels: {}, value: Infinity },
    ]);
  });

  it('computes the 5xx share and p99 of the whole counters on the first sample', () => {
    const counters = trafficCounters(
      parsePrometheusText(
        scrape(90, 10, [
          ['0.05', 50],
          ['0.1', 90],
          ['0.5', 100],
          ['+Inf', 100],
        ]),
      ),
    );
    expect(counters.requests).toBe(100);
    expect(counters.errors).toBe(10);
    expect(errorRate(counters)).toBeCloseTo(0.1);
    // rank 99 of 100 falls in (100 ms, 500 ms]: 100 + 400 * (99 - 90) / 10
    expect(quantileMs(counters, 0.99)).toBeCloseTo(460);
  });

  it('covers only the requests since the previous sample', () => {
    const first = trafficCounters(
      parsePrometheusText(
        scrape(90, 10, [
          ['0.1', 100],
          ['+Inf', 100],
        ]),
      ),
    );
    const second = trafficCounters(
      parsePrometheusText(
        scrape(190, 10, [
          ['0.1', 200],
          ['+Inf', 200],
        ]),
      ),
    );
    const window = sinceLast(second, first);
    expect(window.requests).toBe(100);
    expect(errorRate(window)).toBe(0);
  });

  it('falls back to the whole counters after a reset (pod restart)', () => {
    const before = trafficCounters(parsePrometheusText(scrape(1000, 0, [['+Inf', 1000]])));
    const after = trafficCounters(parsePrometheusText(scrape(5, 5, [['+Inf', 10]])));
    expect(errorRate(sinceLast(after, before))).toBe(0.5);
  });

  it('has no p99 without a latency histogram', () => {
    expect(quantileMs(trafficCounters(parsePrometheusText('http_requests_total{code="200"} 5')), 0.99)).toBeUndefined();
  });
});
