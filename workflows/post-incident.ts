// The post-incident follow-up, a child of the incident that outlives it (parent
// close policy ABANDON): the runbook's "Post-Incident Actions" as tasks due at
// 24 hours, 1 week and 1 month, with a reminder before each group is due,
// escalation when it is overdue (L2 at the due time, L3 a day later), and
// completion by signal. It first drafts the incident summary from the incident's
// own record. At most 9 timers and one signal per task: the history stays small.
//
// Nobody watches this workflow (its parent has closed), so nothing outside the
// people's own signals may end it: a summary draft the ticket system refuses or
// cannot take is tried again a few times, recorded and paged; a notification
// that cannot be sent is recorded; the tasks, reminders and escalations go on.
import { allHandlersFinished, condition, isCancellation, patched, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { IncidentActivities } from '../activities/types.js';
import type { DiagnosisCategory } from './diagnose.js';
import type { Channel, Notification } from './domain.js';
import { describeIssues } from './input.js';
import { CompleteTaskSignalSchema, completeTaskSignal, tasksQuery } from './messages.js';
import { followUpOptions } from './retry.js';
import type { IncidentRecord, PostIncidentStatus, PostIncidentTask, TaskGroup } from './records.js';
import { incidentSummaryReport, incidentTitle, notificationSummary, tasksDetails } from './render.js';
import { clock, formatDuration, iso } from './units.js';

export interface PostIncidentInput {
  incident: IncidentRecord;
  /** Milliseconds after the start of this workflow. */
  due: { immediate: number; followUp: number; longTerm: number };
  reminderLead: number;
  overdueEscalation: number;
}

/** After a failed try, the summary draft is tried again after each of these (the activity retries within each try). */
export const reportRetryDelays: readonly number[] = [15 * 60_000, 3_600_000, 4 * 3_600_000];

/** The summary draft could not be written (yet). */
export interface ReportFailure {
  /** When the first try failed. */
  since: string;
  /** Tries so far, each with the activity's own retries. */
  tries: number;
  /** The last try's error, as the endpoint answered. */
  error: string;
  /** When the next try is due; absent when none is left. */
  nextTryAt?: string;
}

/** What the tasks query and the result show. */
export interface FollowUpStatus extends PostIncidentStatus {
  /** Set while the summary draft is not written: people write it by hand, or fix the ticket system for the next try. */
  reportFailure?: ReportFailure;
}

// Retries, shared with the incident workflow: workflows/retry.ts.
const acts = proxyActivities<IncidentActivities>(followUpOptions);

/** Runbook, Post-Incident Actions. */
export const runbookTasks: { id: string; group: TaskGroup; title: string }[] = [
  { id: 'write-summary', group: 'immediate', title: 'Write incident summary' },
  { id: 'schedule-postmortem', group: 'immediate', title: 'Schedule postmortem meeting' },
  { id: 'create-action-items', group: 'immediate', title: 'Create action items for immediate fixes' },
  { id: 'blameless-postmortem', group: 'follow-up', title: 'Conduct blameless postmortem' },
  { id: 'lessons-learned', group: 'follow-up', title: 'Document lessons learned' },
  { id: 'update-runbooks', group: 'follow-up', title: 'Update runbooks based on learnings' },
  { id: 'prevention-measures', group: 'follow-up', title: 'Implement immediate prevention measures' },
  { id: 'complete-action-items', group: 'long-term', title: 'Complete all action items' },
  { id: 'improve-monitoring', group: 'long-term', title: 'Review and improve monitoring' },
  { id: 'update-dr-procedures', group: 'long-term', title: 'Update disaster recovery procedures' },
  { id: 'training', group: 'long-term', title: 'Conduct training if needed' },
];

/** A follow-up task: the runbook's, or a prevention item with its owner. */
export interface FollowUpTask {
  id: string;
  group: TaskGroup;
  title: string;
  owner?: string;
}

/** What fits the diagnosis, from the runbook's Prevention section. */
const preventionFor: Partial<Record<DiagnosisCategory, { title: string; owner: string }>> = {
  'oom-killed': { title: 'Set memory requests and limits from observed use; implement a Horizontal Pod Autoscaler', owner: 'service owner' },
  'bad-rollout': { title: 'Canary deployments and automated rollback triggers, with automated testing in staging', owner: 'service owner' },
  'missing-key': { title: 'Configuration validation before deploy: required secrets and keys present', owner: 'service owner' },
  'config-drift': { title: 'Configuration drift detection, and GitOps for configuration management', owner: 'service owner' },
  'dependency-unreachable': { title: 'Health check for external dependencies, and what the service does while one is down', owner: 'service owner' },
  'scaled-to-zero': { title: 'Guard the minimum replica count (HPA minReplicas, alert on 0 desired replicas)', owner: 'service owner' },
  unschedulable: { title: 'Cluster capacity headroom for the service (node pool, requests, quotas)', owner: 'platform team' },
  'selector-mismatch': { title: 'Validate service selectors against pod labels before deploy', owner: 'service owner' },
};

/**
 * The runbook's Prevention items for this incident, each with an owner and the
 * group's due date: alert tuning and resource monitoring alerts, the runbook
 * update, a chaos test of this failure, a capacity review, and what fits the
 * diagnosis. The on-call engineer who acknowledged is named where the role is theirs.
 */
export function preventionTasks(incident: IncidentRecord): FollowUpTask[] {
  const onCall = incident.acknowledged ? `${incident.acknowledged.by} (on-call engineer)` : 'on-call engineer';
  const category = incident.diagnosis?.category;
  const failure = category && category !== 'unknown' && category !== 'investigation-failed' ? category : 'service down';
  const fits = category ? preventionFor[category] : undefined;
  return [
    {
      id: 'prevention-alerts',
      group: 'follow-up',
      title: `Tune the alerts that fired (${incident.alert.name}) and add resource monitoring alerts`,
      owner: onCall,
    },
    {
      id: 'prevention-runbook',
      group: 'follow-up',
      title: `Update the Service Down runbook: how ${failure} showed and what fixed it`,
      owner: 'incident commander',
    },
    ...(fits ? [{ id: 'prevention-diagnosis', group: 'follow-up' as const, ...fits }] : []),
    {
      id: 'prevention-chaos-test',
      group: 'long-term',
      title: `Chaos test: inject ${failure} in staging and measure the recovery time`,
      owner: 'service owner',
    },
    {
      id: 'prevention-capacity-review',
      group: 'long-term',
      title: 'Capacity review: resource requests and limits, replicas, node headroom',
      owner: 'team lead',
    },
  ];
}

/**
 * The follow-up's tasks: the runbook's, and its prevention items. Follow-ups
 * started before prevention items existed keep the list they started with. A
 * later release builds on this (its follow-ups may have started on this one).
 */
export function followUpTasks(input: PostIncidentInput): FollowUpTask[] {
  return patched('steps-prevention-tasks') ? [...runbookTasks, ...preventionTasks(input.incident)] : runbookTasks;
}

export async function postIncidentWorkflow(input: PostIncidentInput): Promise<FollowUpStatus> {
  return followUp(input, followUpTasks(input));
}

/**
 * The follow-up over a list of tasks. Follow-ups move to each new build
 * (AUTO_UPGRADE): a release that adds a task passes the longer list only behind
 * patched(), so the follow-ups already running keep the list they started with.
 */
export async function followUp(input: PostIncidentInput, tasks: readonly FollowUpTask[]): Promise<FollowUpStatus> {
  const start = Date.now();
  const incident = input.incident;
  const title = incidentTitle(incident.alert.name, incident.service, incident.incidentNumber);
  const dueAt: Record<TaskGroup, number> = {
    immediate: start + input.due.immediate,
    'follow-up': start + input.due.followUp,
    'long-term': start + input.due.longTerm,
  };
  const status: FollowUpStatus = {
    incidentId: incident.incidentId,
    tasks: tasks.map((t) => ({ ...t, dueAt: iso(dueAt[t.group]) })),
    sent: [],
    ignored: [],
  };
  const details = (): string => {
    const lines = tasksDetails(title, status.tasks, status.reportLocation).split('\n');
    // Under the title, where the draft's location would be.
    if (status.reportFailure) lines.splice(2, 0, reportFailureLine(status.reportFailure));
    return lines.join('\n');
  };
  const refresh = (): void => setCurrentDetails(details());
  const open = (group: TaskGroup): PostIncidentTask[] => status.tasks.filter((t) => t.group === group && !t.done);
  const allDone = (): boolean => status.tasks.every((t) => t.done);

  setHandler(tasksQuery, () => status);
  setHandler(completeTaskSignal, (raw) => {
    const parsed = CompleteTaskSignalSchema.safeParse(raw);
    const task = parsed.success ? status.tasks.find((t) => t.id === parsed.data.taskId) : undefined;
    const reason = !parsed.success
      ? `bad completeTask payload: ${describeIssues(parsed.error, '(payload)')}`
      : !task
        ? `unknown task "${parsed.data.taskId}" (tasks: ${status.tasks.map((t) => t.id).join(', ')})`
        : task.done
          ? `task "${task.id}" was already completed by ${task.done.by}`
          : undefined;
    if (reason || !parsed.success || !task) {
      // Recorded and ignored; bounded so a noisy client cannot grow the state.
      status.ignored = [...status.ignored, { at: iso(Date.now()), reason: reason ?? 'invalid' }].slice(-20);
      return;
    }
    task.done = { by: parsed.data.by, at: iso(Date.now()), ...(parsed.data.note ? { note: parsed.data.note } : {}) };
    refresh();
  });
  refresh();

  // Each message's id, the same on every retry of it: the receiving side (and the outbox) deliver it once.
  let messagesSent = 0;
  /** Sends through the notify activity; a message that cannot be sent is recorded, never fatal. False: not sent. */
  const notify = async (
    channel: Channel,
    event: string,
    group: TaskGroup | undefined,
    summary: string,
    body: string,
    level?: number,
    page: { severity: Notification['severity']; dedupKey: string } = { severity: 'info', dedupKey: `${incident.incidentId}/post-incident` },
  ): Promise<boolean> => {
    const n: Notification = {
      channel,
      event,
      incidentId: incident.incidentId,
      dedupKey: page.dedupKey,
      id: `${workflowInfo().workflowId}/message-${++messagesSent}`,
      severity: page.severity,
      ...(level ? { level } : {}),
      summary,
      body,
    };
    try {
      await acts.notify.executeWithOptions({ summary: notificationSummary(n) }, [n]);
      if (group) status.sent.push({ at: iso(Date.now()), event, group, ...(level ? { level } : {}) });
      return true;
    } catch (err) {
      status.ignored = [...status.ignored, { at: iso(Date.now()), reason: `could not send ${channel} ${event}: ${errorMessage(err)}` }].slice(-20);
      return false;
    }
  };

  // Runbook, Immediate: "Write incident summary". The draft comes from the incident's own record.
  const summaryTask = status.tasks.find((t) => t.id === 'write-summary');
  const summaryDraft = { severity: 'warning', dedupKey: `${workflowInfo().workflowId}/summary-draft` } as const;
  /** One try (the activity retries within it): undefined when the draft is written, else the error. */
  const writeSummary = async (): Promise<Error | undefined> => {
    try {
      const report = await acts.writeReport.executeWithOptions({ summary: `write incident summary draft for ${incident.incidentId}` }, [
        { incidentId: incident.incidentId, title: `Incident summary: ${title}`, markdown: incidentSummaryReport(incident) },
      ]);
      status.reportLocation = report.location;
      if (summaryTask) summaryTask.draft = report.location;
      delete status.reportFailure;
      refresh();
      return undefined;
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  };
  const recordReportFailure = (err: unknown, nextTryAt: number | undefined): ReportFailure => {
    const failure: ReportFailure = {
      since: status.reportFailure?.since ?? iso(Date.now()),
      tries: (status.reportFailure?.tries ?? 0) + 1,
      error: errorMessage(err),
      ...(nextTryAt === undefined ? {} : { nextTryAt: iso(nextTryAt) }),
    };
    status.reportFailure = failure;
    refresh();
    return failure;
  };
  const pageReportFailure = (failure: ReportFailure): Promise<boolean> =>
    notify(
      'pager',
      'trigger',
      undefined,
      `[L1] ${title}: incident summary draft not written: ${failure.error}`.slice(0, 300),
      [
        reportFailureLine(failure),
        '',
        `The follow-up ${workflowInfo().workflowId} goes on: its tasks, reminders and escalations are not affected.`,
        `Fix the ticket system or the worker's TICKET_WEBHOOK_URL${failure.nextTryAt ? ' before the next try' : ''}, or write the summary by hand from the incident's record (${incident.incidentId}) and complete the task \`write-summary\`.`,
      ].join('\n'),
      1,
      summaryDraft,
    );

  const firstTry = await writeSummary();
  let retries: Promise<void> = Promise.resolve();
  if (firstTry !== undefined) {
    // Follow-ups from before this was handled failed here, and must replay the same way.
    if (isCancellation(firstTry) || !patched('follow-up-survives-report-failure')) throw firstTry;
    const [firstDelay] = reportRetryDelays;
    await pageReportFailure(recordReportFailure(firstTry, firstDelay === undefined ? undefined : Date.now() + firstDelay));
    retries = retryReport();
  }
  await notify('chat', 'post-incident-tasks', undefined, `${title}: post-incident tasks`, details());

  /** Bounded: one try after each delay, while the summary task is open; the first success resolves the page. */
  async function retryReport(): Promise<void> {
    for (const [i, delay] of reportRetryDelays.entries()) {
      const at = Date.now() + delay;
      const stopped = await condition(() => summaryTask?.done !== undefined || allDone(), delay, {
        summary: `write the incident summary draft again at ${iso(at).slice(0, 10)} ${clock(at)} (try ${i + 2} of ${reportRetryDelays.length + 1})`,
      });
      if (stopped) {
        // Written by hand: nothing left to try.
        if (status.reportFailure) delete status.reportFailure.nextTryAt;
        refresh();
        return;
      }
      const err = await writeSummary();
      if (err === undefined) {
        await notify(
          'pager',
          'resolve',
          undefined,
          `${title}: incident summary draft written`,
          `Written to ${status.reportLocation ?? '?'}`,
          undefined,
          summaryDraft,
        );
        return;
      }
      if (isCancellation(err)) throw err;
      const next = reportRetryDelays[i + 1];
      const failure = recordReportFailure(err, next === undefined ? undefined : Date.now() + next);
      if (next === undefined) await pageReportFailure(failure);
    }
  }

  // At most 3 timers per group: a reminder, then L2 when overdue, then L3.
  const schedule = (['immediate', 'follow-up', 'long-term'] as const)
    .flatMap((group) => [
      { group, at: dueAt[group] - input.reminderLead, kind: 'reminder' as const },
      { group, at: dueAt[group], kind: 'overdue' as const, level: 2 },
      { group, at: dueAt[group] + input.overdueEscalation, kind: 'overdue' as const, level: 3 },
    ])
    .sort((a, b) => a.at - b.at);
  for (const step of schedule) {
    if (open(step.group).length === 0) continue;
    const what =
      step.kind === 'reminder'
        ? `remind: ${step.group} tasks due in ${formatDuration(input.reminderLead)}`
        : `escalate overdue ${step.group} tasks to L${step.level}`;
    const completed = await condition(() => open(step.group).length === 0, Math.max(1, step.at - Date.now()), {
      summary: `${what} at ${iso(step.at).slice(0, 10)} ${clock(step.at)}`,
    });
    if (completed) continue;
    const list = open(step.group)
      .map((t) => `- [ ] ${t.title} (\`${t.id}\`)${t.owner ? `, owner: ${t.owner}` : ''}, due ${t.dueAt}`)
      .join('\n');
    if (step.kind === 'reminder') {
      await notify('chat', 'task-reminder', step.group, `${title}: ${open(step.group).length} ${step.group} task(s) due ${iso(dueAt[step.group])}`, list);
    } else {
      const summary = `[L${step.level}] ${title}: ${open(step.group).length} ${step.group} task(s) overdue`;
      const delivered = await notify('ticket', 'task-overdue', step.group, summary, list, step.level);
      // A ticket system that refuses or is down must not swallow the escalation: page it instead.
      if (!delivered && patched('follow-up-pages-when-ticket-fails')) {
        await notify('pager', 'trigger', step.group, summary, list, step.level, {
          severity: 'warning',
          dedupKey: `${workflowInfo().workflowId}/${step.group}-overdue`,
        });
      }
    }
  }

  await condition(allDone);
  await retries;
  await notify('chat', 'post-incident-complete', undefined, `${title}: all post-incident tasks done`, details());
  await condition(allHandlersFinished);
  return status;
}

function reportFailureLine(f: ReportFailure): string {
  const tries = `${f.tries} ${f.tries === 1 ? 'try' : 'tries'}`;
  const next = f.nextTryAt ? `next try at ${f.nextTryAt}` : 'no more tries: write it by hand and complete `write-summary`';
  return `Summary draft not written after ${tries}: ${f.error} (${next})`;
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    // ActivityFailure wraps the activity's own error: its message is the useful one.
    const cause = (err as Error & { cause?: unknown }).cause;
    return (cause instanceof Error ? cause.message : err.message).slice(0, 300);
  }
  return String(err).slice(0, 300);
}
