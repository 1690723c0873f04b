// Whether customers are affected, on the sandbox and on a real control plane:
// the service's ingress probed through the cluster (a release whose pods never
// get ready leaves the ingress nothing to send customers to), an internal
// service (no ingress routes to it), and an SLO burn rate from Prometheus.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { checkCustomerImpact } from '../../activities/customer-impact.js';
import { clusterKinds, clustersForThisFile, eventually, expectNoCanary, service } from './helpers.js';

describe.each(clusterKinds)('on the %s cluster', (kind) => {
  const cluster = clustersForThisFile(kind);

  it("finds customers affected when the service's ingress has no ready backend (release-5xx), with the ingress as evidence", async () => {
    const c = await cluster('release-5xx');
    const impact = await c.run(() => c.activities.checkCustomerImpact(service));
    expect(impact).toMatchObject({ affected: true, customerFacing: true });
    expect(impact.evidence).toEqual([expect.stringMatching(/^ingress agent-native-framework agent-native-framework\.example\.com\/: failing \(5\d\d/)]);
    expectNoCanary(c, impact);
  });

  it('finds customers unaffected when the ingress reaches the service, and an internal service (no ingress routes to it) unaffected', async () => {
    const c = await cluster('healthy');
    const impact = await eventually(
      () => c.run(() => c.activities.checkCustomerImpact(service)),
      (i) => expect(i.affected).toBe(false),
      20_000,
    );
    expect(impact.evidence).toEqual([expect.stringMatching(/^ingress agent-native-framework agent-native-framework\.example\.com\/: ok \(404\)$/)]);
    const internal = await c.run(() => c.activities.checkCustomerImpact({ ...service, deployment: 'billing-worker' }));
    expect(internal).toMatchObject({ affected: false, customerFacing: false });
    expect(internal.evidence[0]).toMatch(/^no customer-facing entry: no ingress routes to billing-worker/);
  });
});

describe('the SLO burn rate', () => {
  const cluster = clustersForThisFile();
  const queries: string[] = [];
  let burn = '2.5';
  const prometheus: Server = createServer((req, res) => {
    queries.push(new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.get('query') ?? '');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1700000000, burn] }] } }));
  });
  afterAll(() => new Promise<void>((resolve) => prometheus.close(() => resolve())));

  it('finds customers affected at or above the threshold, asking the query with the service filled in', async () => {
    await new Promise<void>((resolve) => prometheus.listen(0, '127.0.0.1', resolve));
    const c = await cluster('healthy');
    const deps = {
      ...c.deps,
      customerImpact: {
        probe: 'none' as const,
        prometheusUrl: `http://127.0.0.1:${(prometheus.address() as AddressInfo).port}`,
        sloBurnQuery: 'slo:error_budget_burn:rate1h{namespace="$namespace",service="$service"}',
        sloBurnThreshold: 2,
      },
    };
    const burning = await checkCustomerImpact(deps, service);
    expect(burning).toMatchObject({ affected: true, customerFacing: true, evidence: ['SLO burn rate: failing (2.50 (threshold 2))'] });
    expect(queries).toEqual(['slo:error_budget_burn:rate1h{namespace="default",service="agent-native-framework"}']);
    burn = '0.4';
    expect(await checkCustomerImpact(deps, service)).toMatchObject({ affected: false, evidence: ['SLO burn rate: ok (0.40 (threshold 2))'] });
  });
});
