// Scenario latency-regression in the app model: the pods the rollback starts
// serve at their usual speed, then their agent runs slow down; the metrics
// Prometheus and the monitor scrape say so, as the real service's would.
import { describe, expect, it } from 'vitest';
import { httpAnswer, slowAfterMs, type AppRun } from '../../sandbox/app.js';
import type { ServiceState } from '../../sandbox/world.js';
import { parsePrometheusText, quantileMs, sinceLast, trafficCounters } from '../../activities/metrics.js';

const t0 = Date.parse('2030-01-01T00:00:00Z');

function run(slowSince: number | undefined): AppRun {
  const service = { outages: [], ...(slowSince === undefined ? {} : { slowSince }) } as unknown as ServiceState;
  return {
    podName: 'agent-native-framework-1',
    image: 'agent-native-framework:v1.4.2',
    env: new Map(),
    service,
    startedAt: t0,
    memoryLimit: undefined,
    outcome: { kind: 'ok' },
  };
}

const counters = (r: AppRun, at: number) => trafficCounters(parsePrometheusText(httpAnswer(r, 8000, '/metrics', at, 0).body));

describe('latency-regression in the app model', () => {
  it('serves at p99 of about 4.2 s, then, once the pod has been up a while, at well over 10 s', () => {
    const slowing = run(t0 - 1);
    const early = counters(slowing, t0 + slowAfterMs - 1_000);
    expect(quantileMs(early, 0.99)).toBeGreaterThan(4_000);
    expect(quantileMs(early, 0.99)).toBeLessThan(5_000);
    // Between two monitor samples after the slow-down: every request of the window is slow.
    const window = sinceLast(counters(slowing, t0 + slowAfterMs + 10_000), counters(slowing, t0 + slowAfterMs + 5_000));
    expect(quantileMs(window, 0.99)).toBeGreaterThan(20_000);
  });

  it('leaves pods started before the break, and services not in the scenario, at their usual speed', () => {
    for (const r of [run(t0 + 1), run(undefined)]) {
      const window = sinceLast(counters(r, t0 + slowAfterMs + 10_000), counters(r, t0 + slowAfterMs + 5_000));
      expect(quantileMs(window, 0.99)).toBeLessThanOrEqual(5_000);
    }
  });
});

describe('p99 of a healthy pod over short windows', () => {
  it('stays within the buckets of its usual runs, never over 5 s (the monitor samples every few seconds)', () => {
    const r = run(undefined);
    for (let at = t0 + 1_000; at < t0 + 600_000; at += 2_500) {
      const p99 = quantileMs(sinceLast(counters(r, at + 5_000), counters(r, at)), 0.99);
      expect(p99).toBeLessThanOrEqual(5_000);
    }
  });
});
