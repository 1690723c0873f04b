// The remediation governor on the Java time-skipping server, with incidents over the
// fake fleet: the budget per window across many concurrent incidents, no two leases
// on services that share a failing dependency, the cooldown after an automatic fix,
// a lease whose holder is gone expiring, a freeze refusing, and continue-as-new
// keeping the governor's state (governor.dev-server.test.ts). Each test has a cluster of its own (one governor each).
import { describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { quietlyTerminate, timeSkippingSuite } from '../fixtures/time-skipping-suite.js';
import { FakeCluster, type Scenario, type ServicePolicy } from '../fixtures/fake-cluster.js';
import { decide, incidentInput, openIncident, statusOf, waitForStatus } from '../fixtures/incident-driver.js';
import { uniqueId } from '../helpers/temporal.js';
import { Governors } from '../../client/governor.js';
import type { MitigationKind, ServiceRef } from '../../workflows/domain.js';
import { decideUpdate, governorStatusQuery, governorWorkflowId, hotfixUpdate } from '../../workflows/messages.js';

const minute = 60_000;
const window = 10 * minute;
const leaseTtl = 20 * minute;
const policy = { maxChangesPerCluster: 2, maxChangesPerNamespace: 2, window, cooldown: 2 * 60 * minute, leaseTtl, maxWait: 3 * 60 * minute };

const suite = timeSkippingSuite({ governor: policy });
const { fleet, started } = suite;
/** The worker's approval policy of these services: scale without a human. */
const autoScale: { autoApprove: MitigationKind[] } = { autoApprove: ['scale'] };

/** A fresh service in `cluster`, broken as `scenario`, and an incident opened for it by an alert. */
async function incidentOn(cluster: string, scenario: Scenario, policy: ServicePolicy = {}) {
  const service: ServiceRef = { cluster, namespace: 'default', deployment: uniqueId(scenario) };
  const now = await suite.env.currentTimeMs();
  const fake = fleet.add(new FakeCluster(service, scenario, now).withPolicy(policy));
  const input = incidentInput(service, new Date(now).toISOString());
  const handle = await openIncident(suite.env.client, input);
  started.push(handle);
  return { cluster: fake, handle, input };
}

/** A cluster of the test's own; its governor is stopped after the test like the incidents. */
function newCluster(): string {
  const cluster = uniqueId('cluster');
  started.push(suite.env.client.workflow.getHandle(governorWorkflowId(cluster)));
  return cluster;
}

const timelineHas = (timeline: { text: string }[], pattern: RegExp): boolean => timeline.some((e) => pattern.test(e.text));

describe('the remediation governor', () => {
  it('given five concurrent incidents and a budget of 2 per window, at most 2 changes land in any window and every incident still resolves', async () => {
    const cluster = newCluster();
    const incidents = await Promise.all(Array.from({ length: 5 }, () => incidentOn(cluster, 'scaled-to-zero', autoScale)));
    // One skip of workflow time for all of them (a result() per incident would unlock time skipping five times over).
    await suite.env.sleep(2 * 60 * minute);
    const outcomes = [];
    for (const i of incidents) outcomes.push(await i.handle.result());

    expect(outcomes.map((o) => o.resolution)).toEqual(Array(5).fill('mitigated'));
    const applies = incidents.flatMap((i) => i.cluster.mutations.map((m) => m.at)).sort((a, b) => a - b);
    expect(applies).toHaveLength(5);
    // A window, less the moment between a grant and its apply, never holds more than the budget.
    for (const t of applies) expect(applies.filter((a) => a >= t && a < t + window - 10_000).length).toBeLessThanOrEqual(2);
    expect((applies.at(-1) ?? 0) - (applies[0] ?? 0)).toBeGreaterThanOrEqual(2 * window - 10_000);
    const statuses = await Promise.all(incidents.map((i) => statusOf(i.handle)));
    const waited = statuses.filter((s) => timelineHas(s.timeline, /#1 waits for a change lease: (cluster|namespace default) budget used: 2\/2 changes in 10m/));
    expect(waited.length).toBeGreaterThanOrEqual(3);
  }, 180_000);

  it('given two services whose shared dependency is down, their changes never hold a lease at the same time', async () => {
    const cluster = newCluster();
    const [a, b] = await Promise.all([incidentOn(cluster, 'dependency-down'), incidentOn(cluster, 'dependency-down')]);
    if (!a || !b) throw new Error('two incidents');
    for (const i of [a, b]) {
      await waitForStatus(i.handle, (s) => s.phase === 'escalated', 'the dependency outage to be handed over');
      await i.handle.executeUpdate(hotfixUpdate, { args: [{ by: 'alice', image: 'agent-native-framework:hotfix-v1.0.1' }] });
    }
    for (const i of [a, b]) await waitForStatus(i.handle, (s) => s.pendingApproval?.kind === 'set-image', 'the hotfix to await approval');
    // Bob approves: alice supplied the images, and who asks for a change may not approve it.
    await Promise.all([a, b].map((i) => i.handle.executeUpdate(decideUpdate, { args: [{ by: 'bob', decision: 'approve' }] })));
    const done = (i: typeof a) =>
      waitForStatus(i.handle, (s) => s.actions.some((x) => x.action.kind === 'set-image' && x.outcome === 'not-recovered'), 'the hotfix to be verified');
    const [sa, sb] = await Promise.all([done(a), done(b)]);

    const held = (i: typeof a) => ({ from: i.cluster.callsOf('applyMutation')[0]?.seq ?? 0, to: i.cluster.callsOf('releaseChangeLease')[0]?.seq ?? 0 });
    const [ha, hb] = [held(a), held(b)];
    expect(ha.from > 0 && ha.to > ha.from && hb.from > 0 && hb.to > hb.from).toBe(true);
    expect(ha.to < hb.from || hb.to < ha.from).toBe(true);
    const second = ha.from < hb.from ? sb : sa;
    const first = ha.from < hb.from ? a : b;
    expect(timelineHas(second.timeline, new RegExp(`waits for a change lease: dependency:anthropic-api is being changed by ${first.handle.workflowId}`))).toBe(
      true,
    );
  });

  it('given a service fixed automatically, when it fails again inside the cooldown, a person is asked with the history instead of a second automatic fix', async () => {
    const cluster = newCluster();
    const first = await incidentOn(cluster, 'scaled-to-zero', autoScale);
    expect((await first.handle.result()).resolution).toBe('mitigated');

    first.cluster.change((w) => void (w.replicas = 0));
    const now = await suite.env.currentTimeMs();
    const again = await openIncident(suite.env.client, incidentInput(first.input.service, new Date(now).toISOString()));
    started.push(again);
    const waiting = await waitForStatus(again, (s) => s.pendingApproval !== undefined, 'the second fix to wait for a person');

    expect(first.cluster.mutations).toHaveLength(1);
    expect(waiting.pendingApproval?.why).toMatch(
      /cooldown: .* was fixed automatically \d+m(\s?\d+s)? ago \(kubectl -n default scale .*, recovered, by incident\//,
    );
    expect(timelineHas(waiting.timeline, /#1 is not applied automatically: cooldown/)).toBe(true);
    await decide(again, 1, 'approve');
    expect((await again.result()).resolution).toBe('mitigated');
    expect(first.cluster.mutations.map((m) => m.approvedBy)).toEqual(['policy:auto', 'alice']);
  });

  it('given a lease whose holder is terminated before releasing it, the lease expires after its TTL and the next incident proceeds', async () => {
    const cluster = newCluster();
    const first = await incidentOn(cluster, 'scaled-to-zero', autoScale);
    // The holder cannot release its lease (its release never reaches the governor), then it is terminated.
    first.cluster.fail('releaseChangeLease', () => ApplicationFailure.nonRetryable('the worker went away', 'BadRequest'), { calls: 1 });
    await waitForStatus(first.handle, (s) => s.phase === 'monitoring', 'the first fix to be applied');
    // Terminated between two steps (a workflow terminated under an activity stops the test server's time skipping).
    await quietlyTerminate(first.handle);
    const grantedAt = first.cluster.mutations[0]?.at ?? 0;

    first.cluster.change((w) => void (w.replicas = 0));
    const now = await suite.env.currentTimeMs();
    const next = await openIncident(suite.env.client, incidentInput(first.input.service, new Date(now).toISOString()));
    started.push(next);
    const waiting = await waitForStatus(next, (s) => timelineHas(s.timeline, /waits for a change lease/), 'the next incident to wait for the lease');
    expect(timelineHas(waiting.timeline, new RegExp(`workload:default/${first.input.service.deployment} is being changed by ${first.handle.workflowId}`))).toBe(
      true,
    );

    expect((await next.result()).resolution).toBe('mitigated');
    expect(first.cluster.mutations).toHaveLength(2);
    // The lease was granted a moment before that first apply: its TTL ends at most that moment earlier.
    expect((first.cluster.mutations[1]?.at ?? 0) - grantedAt).toBeGreaterThanOrEqual(leaseTtl - 5_000);
    const governor = await suite.env.client.workflow.getHandle(governorWorkflowId(cluster)).query(governorStatusQuery);
    expect(governor.stats.expired).toBe(1);
  });

  it('given a freeze of the cluster from the CLI, an automatic fix is refused with the freeze on the timeline, and unfreeze lifts it', async () => {
    const cluster = newCluster();
    const governors = new Governors(suite.env.client);
    const frozen = await governors.freeze(cluster, { by: 'alice', for: '2h', reason: 'database migration' });
    expect(frozen.freezes).toEqual([expect.objectContaining({ by: 'alice', reason: 'database migration' })]);

    const { cluster: fake, handle } = await incidentOn(cluster, 'scaled-to-zero', autoScale);
    const s = await waitForStatus(handle, (x) => x.phase === 'escalated', 'the refused fix to be handed over');
    expect(fake.mutations).toEqual([]);
    expect(s.actions[0]?.outcome).toBe('cancelled');
    expect(timelineHas(s.timeline, /#1 cancelled: not applied: change freeze by alice until .*: database migration/)).toBe(true);

    const after = await governors.unfreeze(cluster, { by: 'alice' });
    expect(after.freezes).toEqual([]);
    expect(after.stats.refused).toEqual({ freeze: 1 });
  });
});
