// The post-incident follow-up on the Java time-skipping server, started on its own
// (as the incident starts it, with the incident's record), against the fake
// cluster's notification endpoints: the ticket system that refuses or is down
// while the summary draft is written, and notifications that fail. Whatever
// fails, the follow-up keeps its tasks, reminders and escalations, and says so.
import { describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { uniqueId } from '../helpers/temporal.js';
import { timeSkippingSuite } from '../fixtures/time-skipping-suite.js';
import { FakeCluster, webhookDown, webhookRefused } from '../fixtures/fake-cluster.js';
import { alertFor, newService } from '../fixtures/incident-driver.js';
import type { Notification } from '../../workflows/domain.js';
import { TASK_QUEUE, completeTaskSignal, incidentWorkflowId, postIncidentWorkflowId, tasksQuery, type IncidentRecord } from '../../workflows/messages.js';
import { postIncidentWorkflow, runbookTasks, type FollowUpStatus, type PostIncidentInput } from '../../workflows/post-incident.js';

const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;

const suite = timeSkippingSuite();
const { fleet } = suite;

/** The record of a resolved incident, as the incident passes it to its follow-up. */
function resolvedIncident(cluster: FakeCluster, openedAt: number): IncidentRecord {
  const service = cluster.service;
  return {
    incidentId: incidentWorkflowId(service),
    incidentNumber: 424242,
    service,
    severity: 'critical',
    alert: { ...alertFor(service, new Date(openedAt).toISOString()), summary: 'down', labels: {} },
    openedAt: new Date(openedAt).toISOString(),
    resolvedAt: new Date(openedAt + 40 * minute).toISOString(),
    resolution: 'manual',
    resolvedBy: 'alice',
    escalationLevel: 1,
    findingsSummary: [],
    actions: [],
    timeline: [{ at: new Date(openedAt).toISOString(), kind: 'opened', text: 'ServiceDown' }],
    timelineOmitted: 0,
  };
}

/** A follow-up with the runbook's due times, for a fresh service whose endpoints `setup` may break. */
async function followUp(
  setup: (cluster: FakeCluster) => void = () => undefined,
  record: (incident: IncidentRecord) => IncidentRecord = (incident) => incident,
): Promise<{ cluster: FakeCluster; handle: WorkflowHandle<typeof postIncidentWorkflow>; startedAt: number }> {
  const now = await suite.env.currentTimeMs();
  const cluster = fleet.add(new FakeCluster(newService('follow-up'), 'healthy', now));
  setup(cluster);
  const input: PostIncidentInput = {
    incident: record(resolvedIncident(cluster, now - hour)),
    due: { immediate: day, followUp: 7 * day, longTerm: 30 * day },
    reminderLead: 4 * hour,
    overdueEscalation: day,
  };
  const handle = await suite.env.client.workflow.start(postIncidentWorkflow, {
    workflowId: postIncidentWorkflowId(input.incident.incidentId, uniqueId('run')),
    taskQueue: TASK_QUEUE,
    args: [input],
  });
  const startedAt = (await handle.describe()).startTime.getTime();
  return { cluster, handle, startedAt };
}

async function tasksOf(handle: WorkflowHandle<typeof postIncidentWorkflow>): Promise<FollowUpStatus> {
  return handle.query(tasksQuery);
}

async function completeAll(handle: WorkflowHandle<typeof postIncidentWorkflow>): Promise<FollowUpStatus> {
  for (const task of (await tasksOf(handle)).tasks) await handle.signal(completeTaskSignal, { taskId: task.id, by: 'alice' });
  return handle.result();
}

/** Notifications that went out, as [hours after the follow-up started, channel, event, level]. */
function sent(cluster: FakeCluster, startedAt: number, events?: string[]): [number, Notification['channel'], string, number | undefined][] {
  return cluster.notifications
    .filter((n) => !events || events.includes(n.notification.event))
    .map((n) => [Math.round(((n.at - startedAt) / hour) * 100) / 100, n.notification.channel, n.notification.event, n.notification.level]);
}

const onTicket = (args: unknown[]): boolean => (args[0] as Notification).channel === 'ticket';

describe('the summary draft fails', () => {
  it('given a ticket system that refuses it (4xx), the follow-up records the failure, pages, tries a bounded number of times, and its reminders and escalations go on', async () => {
    const { cluster, handle, startedAt } = await followUp((c) =>
      c.fail('writeReport', webhookRefused('ticket')).fail('notify', webhookRefused('ticket'), { where: onTicket }),
    );
    await suite.env.sleep('10m');
    expect((await handle.describe()).status.name).toBe('RUNNING');

    const early = await tasksOf(handle);
    expect(early.reportFailure).toMatchObject({ tries: 1, error: expect.stringMatching(/^ticket: the endpoint refused the message with 404/) as unknown });
    expect(early.reportLocation).toBeUndefined();
    const page = cluster.pages.find((p) => p.notification.event === 'trigger');
    expect(page?.notification).toMatchObject({
      severity: 'warning',
      summary: expect.stringMatching(/incident summary draft not written: ticket: the endpoint refused/) as unknown,
    });
    expect(page?.notification.body).toContain('write-summary');
    // The UI's current details and the chat message with the task list say so too.
    const tasksMessage = cluster.notifications.find((n) => n.notification.event === 'post-incident-tasks');
    expect(tasksMessage?.notification.body).toMatch(/Summary draft not written after 1 try: ticket: the endpoint refused/);

    await suite.env.sleep(`${26 * hour}ms`);
    const late = await tasksOf(handle);
    // Tried again at +15 min, +1 h 15 min and +5 h 15 min, then no more: one attempt each (a 4xx is not retried).
    expect(cluster.callsOf('writeReport').map((c) => Math.round(((c.at - startedAt) / hour) * 100) / 100)).toEqual([0, 0.25, 1.25, 5.25]);
    expect(late.reportFailure).toMatchObject({ tries: 4 });
    expect(late.reportFailure?.nextTryAt).toBeUndefined();
    // Paged when it first failed, and again when no try was left.
    const draftPages = cluster.pages.filter((p) => p.notification.summary.includes('incident summary draft not written'));
    expect(draftPages.map((p) => Math.round(((p.at - startedAt) / hour) * 100) / 100)).toEqual([0, 5.25]);
    expect(draftPages[1]?.notification.body).toMatch(/after 4 tries: .*no more tries: write it by hand/);
    // The reminder went to chat; the overdue escalation, refused by the ticket system, went to the pager instead.
    expect(sent(cluster, startedAt, ['task-reminder', 'task-overdue'])).toEqual([[20, 'chat', 'task-reminder', undefined]]);
    expect(cluster.pages.filter((p) => p.notification.summary.startsWith('[L2]')).map((p) => Math.round(((p.at - startedAt) / hour) * 100) / 100)).toEqual([
      24,
    ]);
    expect(late.ignored.map((i) => i.reason)).toEqual([expect.stringMatching(/^could not send ticket task-overdue: ticket: the endpoint refused/)]);

    const result = await completeAll(handle);
    expect(result.tasks.every((t) => t.done)).toBe(true);
    expect(result.reportFailure).toMatchObject({ tries: 4 });
  });

  it('given a ticket system down for longer than the activity retries, the follow-up pages, tries again later, and when it is back writes the draft and resolves the page', async () => {
    // Ten failed attempts: the activity's whole retry policy (about 4 minutes of backoff).
    const { cluster, handle, startedAt } = await followUp((c) => c.fail('writeReport', webhookDown('ticket'), { calls: 10 }));
    await suite.env.sleep('10m');
    const failed = await tasksOf(handle);
    expect(failed.reportFailure).toMatchObject({ tries: 1, error: expect.stringMatching(/^ticket: the endpoint answered 503/) as unknown });
    expect(Date.parse(failed.reportFailure?.nextTryAt ?? '') - startedAt).toBeGreaterThanOrEqual(15 * minute);

    await suite.env.sleep('30m');
    const written = await tasksOf(handle);
    expect(cluster.callsOf('writeReport')).toHaveLength(11);
    expect(written.reportFailure).toBeUndefined();
    expect(written.reportLocation).toBe(`memory://reports/${written.incidentId}.md`);
    expect(written.tasks.find((t) => t.id === 'write-summary')?.draft).toBe(written.reportLocation);
    expect(cluster.reports).toHaveLength(1);
    // The page about the draft is resolved under the key it was triggered with.
    const [trigger, resolve] = cluster.pages;
    expect([trigger?.notification.event, resolve?.notification.event]).toEqual(['trigger', 'resolve']);
    expect(resolve?.notification.dedupKey).toBe(trigger?.notification.dedupKey);
    expect(trigger?.notification.dedupKey).toBe(`${handle.workflowId}/summary-draft`);

    const result = await completeAll(handle);
    expect(result.reportFailure).toBeUndefined();
  });

  it('given notifications that every endpoint refuses, the follow-up still drafts the summary, keeps its schedule and completes', async () => {
    const { cluster, handle } = await followUp((c) => c.fail('notify', webhookRefused('chat')));
    await suite.env.sleep(`${25 * hour}ms`);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    const status = await tasksOf(handle);
    expect(status.reportLocation).toBeDefined();
    expect(cluster.notifications).toEqual([]);
    // The task list, the reminder, the L2 escalation and its fall-back page: each recorded as not sent.
    expect(status.ignored.map((i) => i.reason.replace(/: .*/, ''))).toEqual([
      'could not send chat post-incident-tasks',
      'could not send chat task-reminder',
      'could not send ticket task-overdue',
      'could not send pager trigger',
    ]);
    const result = await completeAll(handle);
    expect(result.tasks.every((t) => t.done)).toBe(true);
  });
});

describe('prevention items (runbook, Prevention)', () => {
  it('are tasks with an owner and a due date: alert tuning, runbook update, what fits the diagnosis, chaos test, capacity review', async () => {
    const { handle, startedAt } = await followUp(undefined, (incident) => ({
      ...incident,
      acknowledged: { by: 'bob', at: incident.openedAt },
      diagnosis: { category: 'oom-killed', symptom: 'crash-loop', cause: 'memory limit too low', evidence: [] },
    }));
    const { tasks } = await tasksOf(handle);
    // Each item is due with its group: a week after the follow-up starts, or a month.
    const start = Date.parse(tasks.find((t) => t.group === 'immediate')?.dueAt ?? '') - day;
    expect(Math.abs(start - startedAt)).toBeLessThan(minute);
    const due = (days: number) => new Date(start + days * day).toISOString();
    expect(tasks.slice(0, runbookTasks.length).map((t) => t.id)).toEqual(runbookTasks.map((t) => t.id));
    expect(tasks.slice(runbookTasks.length)).toEqual([
      {
        id: 'prevention-alerts',
        group: 'follow-up',
        title: 'Tune the alerts that fired (ServiceDown) and add resource monitoring alerts',
        owner: 'bob (on-call engineer)',
        dueAt: due(7),
      },
      {
        id: 'prevention-runbook',
        group: 'follow-up',
        title: 'Update the Service Down runbook: how oom-killed showed and what fixed it',
        owner: 'incident commander',
        dueAt: due(7),
      },
      {
        id: 'prevention-diagnosis',
        group: 'follow-up',
        title: 'Set memory requests and limits from observed use; implement a Horizontal Pod Autoscaler',
        owner: 'service owner',
        dueAt: due(7),
      },
      {
        id: 'prevention-chaos-test',
        group: 'long-term',
        title: 'Chaos test: inject oom-killed in staging and measure the recovery time',
        owner: 'service owner',
        dueAt: due(30),
      },
      {
        id: 'prevention-capacity-review',
        group: 'long-term',
        title: 'Capacity review: resource requests and limits, replicas, node headroom',
        owner: 'team lead',
        dueAt: due(30),
      },
    ]);
    // Open prevention items keep their group open: the follow-up is not done until they are.
    for (const task of runbookTasks) await handle.signal(completeTaskSignal, { taskId: task.id, by: 'alice' });
    expect((await tasksOf(handle)).tasks.filter((t) => !t.done).map((t) => t.id)).toEqual(tasks.slice(runbookTasks.length).map((t) => t.id));
    const result = await completeAll(handle);
    expect(result.tasks.every((t) => t.done)).toBe(true);
  });
});
