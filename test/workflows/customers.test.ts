// Customers, the status page and stakeholders (runbook Escalation Level 3,
// Communication) on the time-skipping server, against the fake cluster: an
// outage customers see through the ingress pages L3 at 30 min, walks the status
// page through its public states and notifies customers when the SLA budget is
// nearly spent; an internal-only one holds L3 back, says why, and looks again.
import { describe, expect, it } from 'vitest';
import { timeSkippingSuite } from '../fixtures/time-skipping-suite.js';
import { FakeCluster, type Scenario, type World } from '../fixtures/fake-cluster.js';
import { decide, incidentInput, newService, openIncident, statusOf, waitForStatus, type IncidentHandle } from '../fixtures/incident-driver.js';
import { resolveSignal, type IncidentInput } from '../../workflows/messages.js';
import type { Channel } from '../../workflows/domain.js';

const minute = 60_000;

const suite = timeSkippingSuite();
const { fleet, started } = suite;

async function incident(
  scenario: Scenario,
  overrides: Partial<IncidentInput> = {},
  prepare: (w: World) => void = () => undefined,
): Promise<{ cluster: FakeCluster; handle: IncidentHandle; startedAt: number }> {
  const service = newService(scenario);
  const now = await suite.env.currentTimeMs();
  const cluster = fleet.add(new FakeCluster(service, scenario, now));
  cluster.change(prepare);
  const handle = await openIncident(suite.env.client, incidentInput(service, new Date(now).toISOString(), overrides));
  started.push(handle);
  const startedAt = (await handle.describe()).startTime.getTime();
  return { cluster, handle, startedAt };
}

function sentTo(cluster: FakeCluster, channel: Channel, startedAt: number): { event: string; minute: number; summary: string; body: string }[] {
  return cluster.notifications
    .filter((n) => n.notification.channel === channel)
    .map((n) => ({ event: n.notification.event, minute: (n.at - startedAt) / minute, summary: n.notification.summary, body: n.notification.body }));
}

function pages(cluster: FakeCluster, startedAt: number): { level: number | undefined; minute: number; summary: string }[] {
  return cluster.pages
    .filter((p) => p.notification.event === 'trigger')
    .map((p) => ({ level: p.notification.level, minute: (p.at - startedAt) / minute, summary: p.notification.summary }));
}

describe('customers affected: an outage the ingress shows customers', () => {
  it('pages L3 at 30 min, walks the status page through its public states, notifies customers before the SLA budget is spent, and tells stakeholders', async () => {
    const { cluster, handle, startedAt } = await incident('release-5xx', { durations: { approvalTimeout: '1h' } });
    await waitForStatus(handle, (s) => s.pendingApproval !== undefined, 'the rollback to await approval');
    await suite.env.sleep('46m');
    await decide(handle, 1, 'approve');
    const outcome = await handle.result();
    expect(outcome).toMatchObject({ resolution: 'mitigated', escalationLevel: 3 });

    const sent = pages(cluster, startedAt);
    expect(sent.map((p) => p.level)).toEqual([1, 2, 3]);
    const l3 = sent[2];
    expect(l3?.minute).toBeGreaterThanOrEqual(30);
    expect((l3?.minute ?? NaN) - 30).toBeLessThan(2 / 60);
    expect(l3?.summary).toMatch(/not restored within 30m; customers affected: ingress .* failing \(503/);

    const statusPage = sentTo(cluster, 'status-page', startedAt);
    expect(statusPage.map((n) => n.event)).toEqual(['investigating', 'identified', 'customer-notification', 'monitoring', 'resolved']);
    // SLA budget 60 min, warning 15 min: customers are told at 45 min, while it is still down.
    const notice = statusPage.find((n) => n.event === 'customer-notification');
    expect(notice?.minute).toBeGreaterThanOrEqual(45);
    expect((notice?.minute ?? NaN) - 45).toBeLessThan(2 / 60);
    // Public wording: the service's name, and nothing of the cluster, the cause or the fix.
    const deployment = handle.workflowId.split('/')[3] ?? '';
    const internal = [`${deployment}-r`, 'default/', 'revision', 'kubectl', 'rollout', 'L3', 'v1.6.1', '503', 'ingress'];
    for (const n of statusPage) {
      expect(`${n.summary}\n${n.body}`).toContain(deployment);
      for (const word of internal) expect(`${n.summary}\n${n.body}`).not.toContain(word);
    }

    expect(sentTo(cluster, 'stakeholders', startedAt).map((n) => n.event)).toEqual(['identified', 'mitigated', 'resolved']);
    expect(sentTo(cluster, 'stakeholders', startedAt)[0]?.body).toContain('Customers: affected');
  });
});

describe('customers not affected: an internal-only failure', () => {
  it('holds L3 back at 30 min with why, posts nothing public, and pages L3 when a later look finds customers affected', async () => {
    const { cluster, handle, startedAt } = await incident('dependency-down', {}, (w) => void (w.customerFacing = false));
    await waitForStatus(handle, (s) => s.phase === 'escalated', 'the incident to be handed over');
    await suite.env.sleep('31m');
    const held = await statusOf(handle);
    expect(held.escalationLevel).toBe(2);
    expect(held.customers).toMatchObject({ affected: false, customerFacing: false });
    expect(held.customers?.statusPage).toBeUndefined();
    expect(held.timeline.filter((t) => t.kind === 'escalation' && t.text.startsWith('L3 held back')).map((t) => t.text)).toEqual([
      expect.stringMatching(/^L3 held back: customers not affected; looking again in 5m \(no customer-facing entry: no ingress routes to /),
    ]);
    // L1 (sent after the diagnosis, carrying the hand-over) and L2; L3 held back.
    expect(pages(cluster, startedAt).map((p) => p.level)).toEqual([1, 2]);

    // The outage reaches customers (an ingress now routes to the service): the next look pages L3.
    cluster.change((w) => void (w.customerFacing = true));
    await suite.env.sleep('5m');
    await waitForStatus(handle, (s) => s.escalationLevel === 3, 'L3 after the next look');
    await handle.signal(resolveSignal, { by: 'carol', reason: 'the upstream came back' });
    await handle.result();

    const sent = pages(cluster, startedAt);
    // L1 carries the hand-over (sent after the diagnosis), then L2, and L3 once customers are affected.
    expect(sent.map((p) => p.level)).toEqual([1, 2, 3]);
    expect(sent[2]?.minute).toBeGreaterThanOrEqual(35);
    expect((sent[2]?.minute ?? NaN) - 35).toBeLessThan(2 / 60);
    // Public from the first look that found customers affected, to resolved.
    expect(sentTo(cluster, 'status-page', startedAt).map((n) => n.event)).toEqual(['identified', 'resolved']);
    expect(sentTo(cluster, 'stakeholders', startedAt).map((n) => n.event)).toEqual(['identified', 'resolved']);
  });

  it('never pages L3 nor posts publicly while customers stay unaffected', async () => {
    const { cluster, handle, startedAt } = await incident('dependency-down', {}, (w) => void (w.customerFacing = false));
    await waitForStatus(handle, (s) => s.phase === 'escalated', 'the incident to be handed over');
    await suite.env.sleep('61m');
    await handle.signal(resolveSignal, { by: 'carol' });
    const outcome = await handle.result();

    expect(outcome.escalationLevel).toBe(2);
    expect(pages(cluster, startedAt).map((p) => p.level)).toEqual([1, 2]);
    expect(sentTo(cluster, 'status-page', startedAt)).toEqual([]);
    // Looked at when investigating, at 30 min, then every 5 min; and for the SLA from 45 min.
    expect(cluster.callsOf('checkCustomerImpact').length).toBeGreaterThanOrEqual(1 + 7 + 4);
  });
});
