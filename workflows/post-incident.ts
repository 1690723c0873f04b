// The post-incident follow-up, a child of the incident that outlives it (parent
// close policy ABANDON): the runbook's "Post-Incident Actions" as tasks due at
// 24 hours, 1 week and 1 month, with a reminder before each group is due,
// escalation when it is overdue (L2 at the due time, L3 a day later), and
// completion by signal. It first drafts the incident summary from the incident's
// own record. At most 9 timers and one signal per task: the history stays small.
import { allHandlersFinished, condition, proxyActivities, setCurrentDetails, setHandler } from '@temporalio/workflow';
import type { IncidentActivities } from '../activities/types.js';
import { nonRetryableFailureTypes } from '../activities/types.js';
import type { Channel, Notification } from './domain.js';
import { CompleteTaskSignalSchema, completeTaskSignal, tasksQuery } from './messages.js';
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

// Activities heartbeat every second: a dead worker's attempt is retried after 5 s, not after the minute.
const acts = proxyActivities<IncidentActivities>({
  startToCloseTimeout: '60s',
  heartbeatTimeout: '5s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 10, nonRetryableErrorTypes: nonRetryableFailureTypes },
});

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

export async function postIncidentWorkflow(input: PostIncidentInput): Promise<PostIncidentStatus> {
  const start = Date.now();
  const incident = input.incident;
  const title = incidentTitle(incident.alert.name, incident.service, incident.incidentNumber);
  const dueAt: Record<TaskGroup, number> = {
    immediate: start + input.due.immediate,
    'follow-up': start + input.due.followUp,
    'long-term': start + input.due.longTerm,
  };
  const status: PostIncidentStatus = {
    incidentId: incident.incidentId,
    tasks: runbookTasks.map((t) => ({ ...t, dueAt: iso(dueAt[t.group]) })),
    sent: [],
    ignored: [],
  };
  const refresh = (): void => setCurrentDetails(tasksDetails(title, status.tasks, status.reportLocation));
  const open = (group: TaskGroup): PostIncidentTask[] => status.tasks.filter((t) => t.group === group && !t.done);

  setHandler(tasksQuery, () => status);
  setHandler(completeTaskSignal, (raw) => {
    const parsed = CompleteTaskSignalSchema.safeParse(raw);
    const task = parsed.success ? status.tasks.find((t) => t.id === parsed.data.taskId) : undefined;
    const reason = !parsed.success
      ? `bad completeTask payload: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ')}`
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

  const notify = async (channel: Channel, event: string, group: TaskGroup | undefined, summary: string, body: string, level?: number): Promise<void> => {
    const n: Notification = {
      channel,
      event,
      incidentId: incident.incidentId,
      dedupKey: `${incident.incidentId}/post-incident`,
      severity: 'info',
      ...(level ? { level } : {}),
      summary,
      body,
    };
    try {
      await acts.notify.executeWithOptions({ summary: notificationSummary(n) }, [n]);
      if (group) status.sent.push({ at: iso(Date.now()), event, group, ...(level ? { level } : {}) });
    } catch {
      status.ignored = [...status.ignored, { at: iso(Date.now()), reason: `could not send ${channel} ${event}` }].slice(-20);
    }
  };

  // Runbook, Immediate: "Write incident summary". The draft comes from the incident's own record.
  const report = await acts.writeReport.executeWithOptions({ summary: `write incident summary draft for ${incident.incidentId}` }, [
    { incidentId: incident.incidentId, title: `Incident summary: ${title}`, markdown: incidentSummaryReport(incident) },
  ]);
  status.reportLocation = report.location;
  const summaryTask = status.tasks.find((t) => t.id === 'write-summary');
  if (summaryTask) summaryTask.draft = report.location;
  refresh();
  await notify('chat', 'post-incident-tasks', undefined, `${title}: post-incident tasks`, tasksDetails(title, status.tasks, status.reportLocation));

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
    const what = step.kind === 'reminder' ? `remind: ${step.group} tasks due in ${formatDuration(input.reminderLead)}` : `escalate overdue ${step.group} tasks to L${step.level}`;
    const completed = await condition(() => open(step.group).length === 0, Math.max(1, step.at - Date.now()), { summary: `${what} at ${iso(step.at).slice(0, 10)} ${clock(step.at)}` });
    if (completed) continue;
    const list = open(step.group).map((t) => `- [ ] ${t.title} (\`${t.id}\`), due ${t.dueAt}`).join('\n');
    if (step.kind === 'reminder') {
      await notify('chat', 'task-reminder', step.group, `${title}: ${open(step.group).length} ${step.group} task(s) due ${iso(dueAt[step.group])}`, list);
    } else {
      await notify('ticket', 'task-overdue', step.group, `[L${step.level}] ${title}: ${open(step.group).length} ${step.group} task(s) overdue`, list, step.level);
    }
  }

  await condition(() => status.tasks.every((t) => t.done));
  await notify('chat', 'post-incident-complete', undefined, `${title}: all post-incident tasks done`, tasksDetails(title, status.tasks, status.reportLocation));
  await condition(allHandlersFinished);
  return status;
}
