// Storms on the time-skipping server: services that fail with one common cause are
// folded into one major incident that pages once per level and posts one status
// stream, while each service still verifies its own recovery; a single service
// pages as before; different causes get different parents; the L1 hold.
import { describe, expect, it } from 'vitest';
import { quietlyTerminate, timeSkippingSuite } from '../fixtures/time-skipping-suite.js';
import { FakeCluster, type FakeFleet, type Scenario } from '../fixtures/fake-cluster.js';
import { incidentInput, newService, openIncident, statusOf, waitForStatus, type IncidentHandle } from '../fixtures/incident-driver.js';
import { alertsSignal, majorIncidentId, majorStatusQuery, type IncidentInput, type MajorStatus } from '../../workflows/messages.js';
import type { Notification } from '../../workflows/domain.js';
import type { majorIncidentWorkflow } from '../../workflows/major-incident.js';
import { resolve } from 'node:path';
import { Worker } from '@temporalio/worker';
import { eventually, repoRoot, workflowBundle } from '../helpers/temporal.js';

const minute = 60_000;
const suite = timeSkippingSuite();
const { fleet, started } = suite;

/** `n` services in `scenario`, each in its own fake cluster, their incidents opened at once. */
async function storm(
  scenario: Scenario,
  n: number,
  overrides: Partial<IncidentInput> = {},
  cluster = 'test',
): Promise<{ clusters: FakeCluster[]; handles: IncidentHandle[]; startedAt: number }> {
  const now = await suite.env.currentTimeMs();
  const clusters = Array.from({ length: n }, () => fleet.add(new FakeCluster({ ...newService(scenario), cluster }, scenario, now)));
  const handles = await Promise.all(clusters.map((c) => openIncident(suite.env.client, incidentInput(c.service, new Date(now).toISOString(), overrides))));
  started.push(...handles);
  return { clusters, handles, startedAt: now };
}

/** Every pager trigger the storm sent (its services' and its parents'), with its level. */
function triggers(clusters: FakeCluster[], f: FakeFleet, majorId?: string): Notification[] {
  return [
    ...clusters.flatMap((c) => c.pages.map((p) => p.notification)),
    ...f.majorNotifications.filter((n) => majorId === undefined || n.notification.incidentId === majorId).map((n) => n.notification),
  ].filter((n) => n.channel === 'pager' && n.event === 'trigger');
}

function majorHandle(id: string) {
  return suite.env.client.workflow.getHandle<typeof majorIncidentWorkflow>(id);
}

function majorStatus(id: string): Promise<MajorStatus> {
  return majorHandle(id).query(majorStatusQuery);
}

describe('a storm with one common cause', () => {
  it('50 services with one dependency down: one major incident, one page per level, each service verifies its own recovery, the parent resolves after the last', async () => {
    const { clusters, handles, startedAt } = await storm('dependency-down', 50, { durations: { monitor: '5m' } });
    const majorId = majorIncidentId('test', 'dependency:anthropic-api');

    // Every incident is diagnosed and joined; one leads, 49 are folded.
    const joined = await eventually(
      async () => {
        const s = await majorStatus(majorId).catch(() => undefined);
        return s && s.children.length === 50 ? s : undefined;
      },
      'all 50 services to join the major incident',
      60_000,
    );
    expect(joined.major).toBe(true);
    expect(joined.diagnosis?.category).toBe('dependency-unreachable');
    expect(joined.children.filter((c) => c.role === 'lead')).toHaveLength(1);
    // The parent's Temporal UI: its progress in the current details, its children in the memo.
    const metadata = await majorHandle(majorId).query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    expect(metadata.currentDetails).toContain('## MAJOR incident: dependency anthropic-api unreachable');
    expect(metadata.currentDetails).toContain('**Services:** 50 (0 resolved)');
    expect(metadata.currentDetails).toContain(`| ${handles[0]?.workflowId ?? ''} |`);
    const memo = await eventually(async () => {
      const m = (await majorHandle(majorId).describe()).memo as { children?: string[] } | undefined;
      return m?.children?.length === 50 ? m : undefined;
    }, 'the children in the memo');
    expect(new Set(memo.children)).toEqual(new Set(handles.map((h) => h.workflowId)));

    // 40 minutes of outage: L2 at 15 and L3 at 30 from the parent; then the dependency comes back.
    await suite.env.sleep(40 * minute);
    for (const c of clusters) c.change((w) => (w.dependencyUp = true));
    await Promise.all(
      handles.map((h, i) => h.signal(alertsSignal, { firing: [], resolved: [{ fingerprint: `fp-${clusters[i]?.service.deployment ?? ''}` }], received: 1 })),
    );
    const outcome = await majorHandle(majorId).result();
    expect(outcome).toMatchObject({ majorId, major: true, children: 50, escalationLevel: 3 });

    // Exactly one page per level for the whole storm: L1 from the lead, L2 and L3 from the parent.
    const pages = triggers(clusters, fleet, majorId);
    expect(pages.map((p) => p.level).sort()).toEqual([1, 2, 3]);
    const parentPages = fleet.majorNotifications.filter((n) => n.notification.incidentId === majorId && n.notification.event === 'trigger');
    expect(parentPages.map((p) => Math.round((p.at - startedAt) / minute))).toEqual([15, 30]);
    // One status stream: the parent's, every 15 minutes; no service posts its own.
    const statusUpdates = clusters.flatMap((c) => c.notifications.filter((n) => n.notification.event === 'status-update'));
    expect(statusUpdates).toHaveLength(0);
    // Nor its own restored or resolved in chat: the parent's stream and its resolve say it once.
    const chatty = clusters.flatMap((c) =>
      c.notifications.filter((n) => n.notification.channel === 'chat' && ['restored', 'resolved'].includes(n.notification.event)),
    );
    expect(chatty).toHaveLength(0);
    const parentUpdates = fleet.majorNotifications.filter((n) => n.notification.incidentId === majorId && n.notification.event === 'status-update');
    expect(parentUpdates.slice(0, 3).map((n) => Math.round((n.at - startedAt) / minute))).toEqual([15, 30, 45]);

    // Each service verified its own recovery and resolved; the parent resolved after the last one.
    const statuses = await Promise.all(handles.map(statusOf));
    for (const [i, c] of clusters.entries()) {
      expect(c.callsOf('verifyRecovery').length).toBeGreaterThan(0);
      expect(statuses[i]?.phase).toBe('resolved');
    }
    const lastResolved = Math.max(...statuses.map((s) => Date.parse(s.resolvedAt ?? '')));
    expect(Date.parse(outcome.resolvedAt)).toBeGreaterThanOrEqual(lastResolved);
    // A folded service says on its timeline that the parent pages for it.
    const folded = statuses.find((s) => s.major?.role === 'folded' && s.escalationLevel === 0);
    expect(folded?.timeline.some((e) => e.text.includes(`folded into major incident ${majorId}`))).toBe(true);

    // Determinism: the parent's history, a lead's and a folded child's replay with the same code.
    const bundle = await workflowBundle(resolve(repoRoot, 'workflows/index.ts'));
    const lead = statuses.find((st) => st.major?.role === 'folded' && st.escalationLevel >= 1);
    for (const id of [majorId, lead?.incidentId ?? '', folded?.incidentId ?? '']) {
      const history = await suite.env.client.workflow.getHandle(id).fetchHistory();
      // Bounded by the storm's size: a join, a few phase reports and an answer per service (511 events measured for 50).
      if (id === majorId) expect(history.events?.length).toBeLessThan(15 * 50);
      await Worker.runReplayHistory({ workflowBundle: bundle }, history, id);
    }
  }, 240_000);
});

describe('a long storm', () => {
  it('continues the parent as new when its history is long, carrying its services, level and status cadence: still one page per level', async () => {
    const { clusters, handles, startedAt } = await storm(
      'dependency-down',
      30,
      { durations: { monitor: '5m' }, limits: { continueAsNewAfterEvents: 200 } },
      'big',
    );
    const majorId = majorIncidentId('big', 'dependency:anthropic-api');
    await eventually(async () => ((await majorStatus(majorId).catch(() => undefined))?.children.length === 30 ? true : undefined), 'all 30 to join', 60_000);
    await suite.env.sleep(40 * minute);
    for (const c of clusters) c.change((w) => (w.dependencyUp = true));
    await Promise.all(
      handles.map((h, i) => h.signal(alertsSignal, { firing: [], resolved: [{ fingerprint: `fp-${clusters[i]?.service.deployment ?? ''}` }], received: 1 })),
    );
    const outcome = await majorHandle(majorId).result();
    expect(outcome).toMatchObject({ major: true, children: 30, escalationLevel: 3 });
    expect(outcome.runs).toBeGreaterThan(1);
    expect(
      triggers(clusters, fleet, majorId)
        .map((p) => p.level)
        .sort(),
    ).toEqual([1, 2, 3]);
    const updates = fleet.majorNotifications.filter((n) => n.notification.incidentId === majorId && n.notification.event === 'status-update');
    expect(updates.slice(0, 2).map((n) => Math.round((n.at - startedAt) / minute))).toEqual([15, 30]);
    const ids = fleet.majorNotifications.filter((n) => n.notification.incidentId === majorId).map((n) => n.notification.id);
    expect(new Set(ids).size).toBe(ids.length);
  }, 240_000);
});

describe('a child that ends without resolving', () => {
  // Before the parent checked on its children, a child terminated by hand never reported
  // resolved and the parent stayed open (and paged L2 and L3 for it) for ever.
  it('a child terminated by hand is let go within five minutes, and the parent resolves after the others', async () => {
    const { clusters, handles } = await storm('dependency-down', 3, { durations: { monitor: '5m' } }, 'ends');
    const majorId = majorIncidentId('ends', 'dependency:anthropic-api');
    await eventually(async () => ((await majorStatus(majorId).catch(() => undefined))?.children.length === 3 ? true : undefined), 'all 3 services to join');
    const [gone, ...rest] = handles;
    if (!gone) throw new Error('no incident');
    await quietlyTerminate(gone);

    // The others recover and resolve; the parent must not wait for the one that was terminated.
    for (const c of clusters.slice(1)) c.change((w) => (w.dependencyUp = true));
    await Promise.all(
      rest.map((h, i) => h.signal(alertsSignal, { firing: [], resolved: [{ fingerprint: `fp-${clusters[i + 1]?.service.deployment ?? ''}` }], received: 1 })),
    );
    await suite.env.sleep(30 * minute);
    expect((await majorHandle(majorId).describe()).status.name).toBe('COMPLETED');
    expect(await majorHandle(majorId).result()).toMatchObject({ majorId, major: true, children: 3 });
    const parent = await majorStatus(majorId);
    expect(parent.children.find((c) => c.incidentId === gone.workflowId)?.ended).toBe('TERMINATED');
    expect(
      parent.children
        .filter((c) => c.phase === 'resolved')
        .map((c) => c.incidentId)
        .sort(),
    ).toEqual(rest.map((h) => h.workflowId).sort());
    expect(parent.timeline.some((e) => e.text.includes('ended without resolving (TERMINATED)'))).toBe(true);
  }, 120_000);
});

describe('what is not a storm', () => {
  it('a single service with a common cause pages as today: L1 after its diagnosis, then L2 and L3 itself, and no major incident', async () => {
    const { clusters, handles, startedAt } = await storm('node-pool-full', 1, {}, 'solo');
    const [cluster] = clusters;
    const [handle] = handles;
    if (!cluster || !handle) throw new Error('no incident');
    await waitForStatus(handle, (s) => s.escalationLevel >= 1, 'the L1 page');
    await suite.env.sleep(31 * minute);
    await waitForStatus(handle, (s) => s.escalationLevel === 3, 'L3');
    const levels = cluster.pages
      .filter((p) => p.notification.event === 'trigger')
      .map((p) => ({ level: p.notification.level, minute: Math.round((p.at - startedAt) / minute) }));
    expect(levels).toEqual([
      { level: 1, minute: 0 },
      { level: 2, minute: 15 },
      { level: 3, minute: 30 },
    ]);
    const s = await statusOf(handle);
    expect(s.major?.role).toBe('lead');
    const parent = await majorStatus(s.major?.id ?? '');
    expect(parent.major).toBe(false);
    expect(fleet.majorNotifications.filter((n) => n.notification.incidentId === s.major?.id)).toHaveLength(0);
  }, 120_000);

  it('different causes get different parents: each lead pages its own L1', async () => {
    const a = await storm('dependency-down', 2, {}, 'east');
    const b = await storm('team-rollout', 2, {}, 'east');
    const ids = await eventually(
      async () => {
        const all = await Promise.all([...a.handles, ...b.handles].map(statusOf));
        return all.every((s) => s.major) ? all.map((s) => s.major?.id) : undefined;
      },
      'every incident to join its parent',
      30_000,
    );
    expect(new Set(ids.slice(0, 2)).size).toBe(1);
    expect(new Set(ids.slice(2)).size).toBe(1);
    expect(ids[0]).not.toBe(ids[2]);
    expect(ids[0]).toBe(majorIncidentId('east', 'dependency:anthropic-api'));
    await eventually(
      async () => (triggers([...a.clusters, ...b.clusters], fleet).filter((p) => p.level === 1).length === 2 ? true : undefined),
      'one L1 per parent',
    );
    expect((await majorStatus(ids[2] ?? '')).cause.key).toBe('release:agents-v1.6.0');
  }, 120_000);
});

describe('the L1 hold', () => {
  it('an investigation that never answers still pages at the hold', async () => {
    const now = await suite.env.currentTimeMs();
    const cluster = fleet.add(new FakeCluster(newService('hangs'), 'dependency-down', now));
    cluster.stalls.add('inspectWorkload');
    // While an activity runs, the test server does not skip time: a short hold keeps the test short.
    const handle = await openIncident(suite.env.client, incidentInput(cluster.service, new Date(now).toISOString(), { durations: { pageHold: '3s' } }));
    started.push(handle);
    try {
      await waitForStatus(handle, (s) => s.escalationLevel >= 1, 'the L1 page at the hold', 30_000);
      const [page] = await eventually(async () => {
        const triggered = cluster.pages.filter((p) => p.notification.event === 'trigger');
        return triggered.length > 0 ? triggered : undefined;
      }, 'the page to be delivered');
      expect(page?.notification.level).toBe(1);
      expect(Math.round(((page?.at ?? 0) - now) / 1000)).toBe(3);
      expect(page?.notification.summary).toContain('no diagnosis within 3s');
      expect(cluster.callsOf('inspectWorkload')).toHaveLength(0);
    } finally {
      cluster.stalls.delete('inspectWorkload');
    }
  }, 60_000);

  it('a parent that cannot be reached: the service pages on its own', async () => {
    fleet.majorUnreachable = true;
    try {
      const { clusters, handles } = await storm('dependency-down', 1, {}, 'cut-off');
      const [handle] = handles;
      if (!handle) throw new Error('no incident');
      const s = await waitForStatus(handle, (st) => st.escalationLevel >= 1, 'the L1 page');
      expect(s.major).toBeUndefined();
      // The status says it decided to page; the delivery is an activity of its own, done a moment later.
      const triggered = await eventually(async () => {
        const pages = clusters[0]?.pages.filter((p) => p.notification.event === 'trigger') ?? [];
        return pages.length > 0 ? pages : undefined;
      }, 'the page to be delivered');
      expect(triggered).toHaveLength(1);
      expect(s.timeline.some((e) => e.text.includes('cannot be reached'))).toBe(true);
    } finally {
      fleet.majorUnreachable = false;
    }
  }, 60_000);
});
