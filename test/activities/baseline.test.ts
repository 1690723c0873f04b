// The monitor's baseline: the service's p99 latency and active agents before the
// incident, from Prometheus' query API (a stand-in on loopback answers here).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsBaseline } from '../../activities/baseline.js';
import { ActivitiesConfigSchema, type ActivityDeps } from '../../activities/injected-deps.js';
import { activitiesConfig } from '../../worker/activities.js';
import { loadConfig } from '../../worker/config.js';
import { captureLogger, noCluster, service, testProbes } from './helpers.js';

let answer: (query: string) => { status: number; body: unknown } = () => ({ status: 200, body: {} });
const asked: URLSearchParams[] = [];
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const params = new URL(req.url ?? '/', 'http://localhost').searchParams;
    asked.push(params);
    const { status, body } = answer(params.get('query') ?? '');
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function deps(prometheusUrl: string | undefined): ActivityDeps {
  return {
    kube: noCluster,
    fetch: globalThis.fetch,
    notifier: { outboxDir: '/nonexistent', reportsDir: '/nonexistent' },
    clock: () => new Date(),
    logger: captureLogger().logger,
    guardrails: { allowedNamespaces: ['default'], maxReplicas: 6, memoryCeiling: '4Gi' },
    requiredEnv: [],
    envPattern: '(ANTHROPIC|LOG|AGENT)',
    dependencies: [],
    podDependencies: [],
    customerImpact: { probe: 'none', sloBurnThreshold: 1 },
    probes: testProbes,
    rolloutPollMs: 100,
    baseline: ActivitiesConfigSchema.shape.baseline.parse(prometheusUrl ? { prometheusUrl } : {}),
  };
}

const vector = (value: string) => ({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1, value] }] } });
const before = '2030-01-01T12:00:00.000Z';

describe('metricsBaseline', () => {
  it("asks Prometheus for the service's p99 and active agents over the 30 minutes before the alert", async () => {
    asked.length = 0;
    answer = (query) => ({ status: 200, body: vector(query.startsWith('histogram_quantile') ? '0.45' : '9.5') });
    const baseline = await metricsBaseline(deps(url), service, { before });

    expect(baseline).toEqual({ p99LatencyMs: 450, activeAgents: 9.5, from: `Prometheus, 30m before ${before}` });
    expect(asked.map((p) => p.get('time'))).toEqual([String(Date.parse(before) / 1000) + '.000', String(Date.parse(before) / 1000) + '.000']);
    expect(asked.map((p) => p.get('query'))).toEqual([
      'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{namespace="default",deployment="agent-native-framework"}[30m])))',
      'sum(avg_over_time(agent_active_agents{namespace="default",deployment="agent-native-framework"}[30m]))',
    ]);
  });

  it.each([
    { case: 'no Prometheus configured', url: undefined, reply: undefined, from: /^no Prometheus configured/ },
    { case: 'no data before the alert (NaN, no series)', url: 'up', reply: { status: 200, body: vector('NaN') }, from: /: no data$/ },
    { case: 'Prometheus failing', url: 'up', reply: { status: 503, body: {} }, from: /^Prometheus unreadable: Prometheus answered 503/ },
  ])('says why there is no baseline: $case', async ({ url: configured, reply, from }) => {
    if (reply) answer = () => reply;
    const baseline = await metricsBaseline(deps(configured ? url : undefined), service, { before });
    expect(baseline.p99LatencyMs).toBeUndefined();
    expect(baseline.activeAgents).toBeUndefined();
    expect(baseline.from).toMatch(from);
  });
});

describe('the worker configuration of the baseline', () => {
  const baseline = (env: NodeJS.ProcessEnv) => ActivitiesConfigSchema.parse(activitiesConfig(loadConfig(env))).baseline;
  it('reads PROMETHEUS_URL and BASELINE_WINDOW; without them, no Prometheus and 30 minutes', () => {
    expect(baseline({ PROMETHEUS_URL: 'http://127.0.0.1:9090', BASELINE_WINDOW: '2h' })).toMatchObject({
      prometheusUrl: 'http://127.0.0.1:9090',
      window: '2h',
    });
    expect(baseline({})).toMatchObject({ window: '30m' });
    expect(baseline({}).prometheusUrl).toBeUndefined();
  });
});
