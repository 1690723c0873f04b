// A storm that needs changes: one bad release across 50 services, each fixed by an
// automatic rollback. The major incident pages once per level for the whole storm,
// and the cluster's governor lets at most K rollbacks land in any window while every
// service still gets its one rollback and resolves (time-skipping server, fake fleet).
import { describe, expect, it } from 'vitest';
import { timeSkippingSuite } from '../fixtures/time-skipping-suite.js';
import { stormCommonCause, stormFleet } from '../fixtures/fake-cluster.js';
import { incidentInput, openIncident } from '../fixtures/incident-driver.js';
import { uniqueId } from '../helpers/temporal.js';
import { governorWorkflowId, majorIncidentId, majorStatusQuery } from '../../workflows/messages.js';
import type { majorIncidentWorkflow } from '../../workflows/major-incident.js';

const minute = 60_000;
const window = 10 * minute;
const budget = 5;
const services = 50;
const suite = timeSkippingSuite({
  governor: { maxChangesPerCluster: budget, maxChangesPerNamespace: budget, window, leaseTtl: 20 * minute, maxWait: 4 * 60 * minute },
});

describe('a 50-service storm that needs changes', () => {
  it('one major incident, one page per escalation level, at most K rollbacks in any window, each service rolled back once and resolved', async () => {
    const cluster = uniqueId('fleet');
    const now = await suite.env.currentTimeMs();
    const { clusters } = stormFleet(services, 'team-rollout', { fleet: suite.fleet, now, cluster });
    // The worker's policy: the rollback without a human.
    for (const c of clusters) c.withPolicy({ autoApprove: ['rollout-undo'] });
    const handles = await Promise.all(
      clusters.map((c) => openIncident(suite.env.client, incidentInput(c.service, new Date(now).toISOString(), { durations: { monitor: '5m' } }))),
    );
    const majorId = majorIncidentId(cluster, `release:${stormCommonCause('team-rollout').name}`);
    suite.started.push(...handles, suite.env.client.workflow.getHandle(governorWorkflowId(cluster)), suite.env.client.workflow.getHandle(majorId));

    // 50 rollbacks at 5 per 10 minutes take 100 minutes of workflow time; one skip for all (see governor.test.ts).
    await suite.env.sleep(3 * 60 * minute);
    const outcomes = [];
    for (const h of handles) outcomes.push(await h.result());
    expect(outcomes.map((o) => o.resolution)).toEqual(Array(services).fill('mitigated'));

    // Each service got exactly its one rollback.
    for (const c of clusters) expect(c.mutations.map((m) => m.action.kind)).toEqual(['rollout-undo']);
    // No window holds more than the budget (less the moment between a grant and its apply).
    const applies = clusters.flatMap((c) => c.mutations.map((m) => m.at)).sort((a, b) => a - b);
    for (const t of applies) expect(applies.filter((a) => a >= t && a < t + window - 10_000).length).toBeLessThanOrEqual(budget);

    // One parent for the storm; one page per level across the services and the parent.
    const parent = await suite.env.client.workflow.getHandle<typeof majorIncidentWorkflow>(majorId).query(majorStatusQuery);
    expect(parent.major).toBe(true);
    expect(parent.children).toHaveLength(services);
    const triggers = [
      ...clusters.flatMap((c) => c.pages.map((p) => p.notification)),
      ...suite.fleet.majorNotifications.filter((n) => n.notification.incidentId === majorId).map((n) => n.notification),
    ].filter((n) => n.channel === 'pager' && n.event === 'trigger');
    expect(triggers.map((n) => n.level).sort()).toEqual([1, 2, 3]);
  }, 600_000);
});
