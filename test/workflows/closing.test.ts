// People's input while a run closes. A run that reached the history cap drains its
// notifications before it continues as new, and a resolved incident drains them
// before it completes; a slow webhook can keep either open for minutes. Whatever a
// person or the alert source sends meanwhile is kept and acted on: by the next
// run, or in the resolved incident's own record. Nothing is sent twice or lost.
import { describe, expect, it } from 'vitest';
import { eventually } from '../helpers/temporal.js';
import { timeSkippingSuite } from '../fixtures/time-skipping-suite.js';
import { type FakeCluster, type Scenario } from '../fixtures/fake-cluster.js';
import { alertFor, openScenario, statusOf, waitForStatus, type IncidentHandle } from '../fixtures/incident-driver.js';
import {
  acknowledgeSignal,
  addNoteSignal,
  alertResolvedSignal,
  alertsSignal,
  escalateSignal,
  resolveSignal,
  type IncidentInput,
} from '../../workflows/messages.js';

const suite = timeSkippingSuite();
const { fleet, started } = suite;

async function incident(
  scenario: Scenario,
  overrides: Partial<IncidentInput> = {},
): Promise<{ cluster: FakeCluster; handle: IncidentHandle; input: IncidentInput }> {
  const opened = await openScenario(suite.env, fleet, scenario, overrides);
  started.push(opened.handle);
  return opened;
}

/**
 * An escalated incident whose run reaches the history cap while a page is in flight
 * on a slow pager: the run is closing to continue as new when this returns.
 */
async function closingToContinue(scenario: Scenario): Promise<{ cluster: FakeCluster; handle: IncidentHandle; input: IncidentInput; release: () => void }> {
  const { cluster, handle, input } = await incident(scenario, { limits: { continueAsNewAfterEvents: 200 } });
  await waitForStatus(handle, (s) => s.phase === 'escalated', 'the incident to be handed over');
  const slow = cluster.hold((n) => n.channel === 'pager' && n.event === 'acknowledge');
  await handle.signal(acknowledgeSignal, { by: 'bob' });
  await eventually(async () => (slow.caught.length > 0 ? true : undefined), 'the acknowledgement to be in flight');
  // Alertmanager re-sending the group: each delivery a signal, until the run is past its cap.
  for (let i = 0; i < 150; i++) await handle.signal(alertsSignal, { firing: [input.alert], received: 1 });
  // Past the cap, with nothing left to wait for but the page: the run is closing.
  const closing = await waitForStatus(handle, (s) => s.alert.deliveries > 150, 'the flood to land');
  expect(closing).toMatchObject({ run: 1, closing: 'continue' });
  return { cluster, handle, input, release: slow.release };
}

describe('input while a run closes to continue as new', () => {
  it('given a run draining a slow page at the history cap, when the alert resolves and the service is back, then the next run verifies and resolves the incident as recovered', async () => {
    const { cluster, handle, input, release } = await closingToContinue('dependency-down');
    cluster.change((w) => void (w.dependencyUp = true));
    await handle.signal(alertResolvedSignal, { fingerprint: input.alert.fingerprint });
    release();
    const outcome = await handle.result();

    expect(outcome).toMatchObject({ resolution: 'recovered' });
    expect(cluster.callsOf('verifyRecovery')).toHaveLength(1);
    const status = await statusOf(handle);
    expect(status.run).toBeGreaterThan(1);
    expect(cluster.pages.filter((p) => p.notification.event === 'acknowledge')).toHaveLength(1);
  });

  it('given a run draining a slow page at the history cap, when a person escalates and resolves, then the page goes out once and the next run resolves by that person', async () => {
    const { cluster, handle, release } = await closingToContinue('unschedulable');
    await handle.signal(escalateSignal, { by: 'bob', reason: 'needs the platform team', level: 3 });
    await handle.signal(addNoteSignal, { by: 'bob', text: 'asked for two more nodes' });
    await handle.signal(resolveSignal, { by: 'carol', reason: 'nodes added' });
    release();
    const outcome = await handle.result();

    expect(outcome).toMatchObject({ resolution: 'manual', escalationLevel: 3 });
    const status = await statusOf(handle);
    expect(status.timeline.map((t) => t.text)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^resolved?.* by carol/) as unknown, 'bob: asked for two more nodes']),
    );
    expect(status.timeline.filter((t) => t.kind === 'ignored')).toEqual([]);
    const l3 = cluster.pages.filter((p) => p.notification.event === 'trigger' && p.notification.level === 3);
    expect(l3).toHaveLength(1);
    // Every message once: no id delivered twice across the two runs.
    const ids = cluster.notifications.map((n) => n.notification.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('given a run draining a slow page at the history cap, when the alert fires again, then the next run investigates again', async () => {
    const { cluster, handle, input, release } = await closingToContinue('unschedulable');
    const investigationsBefore = cluster.callsOf('inspectWorkload').length;
    await handle.signal(alertsSignal, { firing: [alertFor(input.service, new Date(await suite.env.currentTimeMs()).toISOString())], received: 1 });
    release();
    const status = await waitForStatus(handle, (s) => s.run > 1 && s.investigations > 1 && s.phase === 'escalated', 'the next run to investigate again');

    expect(status.investigations).toBe(2);
    expect(cluster.callsOf('inspectWorkload').length).toBe(investigationsBefore + 1);
  });
});

describe('input while a resolved incident closes', () => {
  it('given a resolved incident draining a slow chat message, when people acknowledge, note and escalate, then the notes reach its record and nobody is paged after the resolve', async () => {
    const { cluster, handle } = await incident('unschedulable');
    await waitForStatus(handle, (s) => s.phase === 'escalated', 'the incident to be handed over');
    const slow = cluster.hold((n) => n.channel === 'chat' && n.event === 'resolved');
    await handle.signal(resolveSignal, { by: 'carol', reason: 'nodes added' });
    const closing = await waitForStatus(handle, (s) => s.phase === 'resolved', 'the incident to close to resolve');
    expect(closing.closing).toBe('resolve');
    await handle.signal(acknowledgeSignal, { by: 'bob' });
    await handle.signal(addNoteSignal, { by: 'bob', text: 'confirmed from the dashboard' });
    await handle.signal(escalateSignal, { by: 'bob', reason: 'too late', level: 3 });
    slow.release();
    const outcome = await handle.result();

    expect(outcome).toMatchObject({ resolution: 'manual' });
    const resolvedAt = cluster.pages.find((p) => p.notification.event === 'resolve')?.at ?? 0;
    expect(resolvedAt).toBeGreaterThan(0);
    expect(cluster.pages.filter((p) => p.at >= resolvedAt && p.notification.event !== 'resolve')).toEqual([]);
    const status = await statusOf(handle);
    const texts = status.timeline.map((t) => t.text);
    expect(texts).toEqual(
      expect.arrayContaining(['bob: confirmed from the dashboard', expect.stringMatching(/escalate from bob: the incident is resolved/) as unknown]),
    );
    const ids = cluster.notifications.map((n) => n.notification.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
