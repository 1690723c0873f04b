// Markdown for humans, from the incident's own record: the Temporal UI's static
// and current details, pages, status updates, approval requests and the incident
// summary report. Pure functions of plain data, so the UI, the pager and the
// report always say the same thing.
import type { LogExcerpt, Notification, ServiceEvent, ServiceRef } from './domain.js';
import type { IncidentConfig } from './input.js';
import type { ActionRecord, IncidentRecord, IncidentStatus, PendingApproval, PostIncidentTask } from './records.js';
import { clock, formatDuration } from './units.js';

export function incidentTitle(alertName: string, service: ServiceRef, incidentNumber?: number): string {
  return `${incidentNumber ? `INC-${incidentNumber} ` : ''}${alertName}: ${service.namespace}/${service.deployment} (${service.cluster})`;
}

/**
 * Temporal servers newer than our 1.29 refuse a static summary whose payload passes
 * 400 bytes (limit.userMetadataSummarySize, counted on the JSON form with its
 * metadata), and a title of the longest names Kubernetes allows (a 63-character
 * cluster and namespace, a 253-character deployment) passes it: the summary keeps
 * to this many bytes, with room for the metadata, and for the sealing of an encrypted
 * history (codec/encryption-codec.ts, maxSealingOverheadBytes: 240 + 131 < 400).
 */
export const staticSummaryBudget = 240;

/** The UI's static summary: one line, set once at start, cut to fit Temporal's limit. */
export function staticSummary(config: IncidentConfig): string {
  return clampJsonBytes(`[${config.alert.severity}] ${incidentTitle(config.alert.name, config.service, config.incidentNumber)}`, staticSummaryBudget);
}

/** Bytes of one character in JSON text: escapes for quotes, backslashes, control characters and lone surrogates; UTF-8 otherwise. */
function jsonBytes(ch: string): number {
  const cp = ch.codePointAt(0) ?? 0;
  if (ch === '"' || ch === '\\') return 2;
  if (cp < 0x20 || (cp >= 0xd800 && cp <= 0xdfff)) return 6;
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/** `text` whose JSON form (without quotes) takes at most `budget` bytes, cut on a character boundary and ending in '…' when cut. */
export function clampJsonBytes(text: string, budget: number): string {
  const chars = [...text];
  if (chars.reduce((n, ch) => n + jsonBytes(ch), 0) <= budget) return text;
  let used = jsonBytes('…');
  let kept = '';
  for (const ch of chars) {
    used += jsonBytes(ch);
    if (used > budget) break;
    kept += ch;
  }
  return `${kept}…`;
}

/** The UI's static details: the alert and the policy this incident runs under. */
export function staticDetails(config: IncidentConfig): string {
  const labels = Object.entries(config.alert.labels)
    .map(([k, v]) => `\`${k}=${v}\``)
    .join(' ');
  const d = config.durations;
  return [
    `## ${incidentTitle(config.alert.name, config.service, config.incidentNumber)}`,
    config.alert.summary,
    '',
    `- **Alert:** ${config.alert.name} (${config.alert.severity}) since ${config.alert.startsAt}, fingerprint \`${config.alert.fingerprint}\``,
    ...(labels ? [`- **Labels:** ${labels}`] : []),
    `- **Runbook:** Service Down (investigate, mitigate with approval, verify, monitor ${formatDuration(d.monitor)})`,
    `- **Approval:** the worker's policy, loaded at start: on the timeline, and with each action awaiting approval`,
    `- **Guardrails:** max ${config.guardrails.maxReplicas} replicas, memory ceiling ${config.guardrails.memoryCeiling}`,
    `- **Escalation:** L1 at once, L2 at ${formatDuration(d.escalationL2)}, L3 at ${formatDuration(d.escalationL3)} unless restored; status every ${formatDuration(d.statusInterval)}`,
  ].join('\n');
}

/** setCurrentDetails: what is happening now and what the workflow waits for. */
export function currentDetails(s: IncidentStatus): string {
  const lines = [
    `## ${phaseLabel(s.phase)} — ${s.service.namespace}/${s.service.deployment}`,
    `**Escalation:** L${s.escalationLevel}${s.acknowledged ? ` · acknowledged by ${s.acknowledged.by}` : ' · not acknowledged'}${s.restoredAt ? ` · restored at ${s.restoredAt}` : ''}`,
  ];
  if (s.diagnosis) lines.push(`**Diagnosis:** \`${s.diagnosis.category}\` — ${s.diagnosis.cause}`);
  if (s.pendingApproval) lines.push('', ...approvalLines(s.pendingApproval));
  if (s.monitor) lines.push(`**Monitor:** ${s.monitor.samples}/${s.monitor.of} samples${s.monitor.lastSample ? ` · last: ${s.monitor.lastSample}` : ''}`);
  if (s.timers.length) lines.push(`**Next timers:** ${s.timers.map((t) => `${t.label} at ${clock(Date.parse(t.at))}`).join(' · ')}`);
  const actions = s.actions.slice(-5).map(actionLine);
  if (actions.length) lines.push('', '**Actions:**', ...actions);
  // Markdown needs a blank line between blocks, or the UI runs them into one paragraph.
  return lines.filter((line) => line !== '').join('\n\n');
}

export function phaseLabel(phase: IncidentStatus['phase']): string {
  return phase.replace(/-/g, ' ').replace(/^./, (c) => c.toUpperCase());
}

function approvalLines(p: PendingApproval): string[] {
  return [
    `**Awaiting approval — action #${p.action}:** \`${p.command}\``,
    `- why: ${p.why}`,
    ...(p.humanFix ? [`- **first, a human must:** ${p.humanFix}`] : []),
    `- dry-run: ${p.preview.changes.join('; ') || '(no change reported)'}`,
    `- expires at ${p.expiresAt} (then escalates; never applied without a decision)`,
    `- approve: \`incident approve <id> --action ${p.action}\` (approvers: ${p.approvers.join(', ') || 'anyone'})`,
    ...(p.signedDecisions
      ? ["- decisions count only through the receiver's decisions API (`incident approve` with INCIDENT_API_URL and your INCIDENT_API_TOKEN)"]
      : []),
    ...((p.approvalsRequired ?? 1) > 1
      ? [`- needs ${p.approvalsRequired} distinct approvers (approved so far: ${p.approvedBy?.join(', ') || 'nobody'}); one rejection stops it`]
      : []),
    ...(p.requestedBy ? [`- asked for by ${p.requestedBy}, who may not approve it`] : []),
  ];
}

export function actionLine(a: ActionRecord): string {
  const by = a.decision ? ` (${a.decision.approved ? 'approved' : 'rejected'} by ${a.decision.by})` : '';
  return `- #${a.n} \`${a.command}\` — **${a.outcome}**${by}${a.detail ? `: ${a.detail}` : ''}`;
}

export function pageBody(s: IncidentStatus, reason: string, evidence: string[] = []): string {
  return [
    `**${reason}**`,
    `Phase: ${phaseLabel(s.phase)} · open since ${s.openedAt} · L${s.escalationLevel}`,
    ...(s.diagnosis ? [`Diagnosis: ${s.diagnosis.category} — ${s.diagnosis.cause}`] : []),
    ...(evidence.length ? ['Evidence:', ...evidence.map((e) => `- ${e}`)] : []),
    ...(s.pendingApproval ? ['', ...approvalLines(s.pendingApproval)] : []),
  ].join('\n');
}

export function statusUpdateBody(s: IncidentStatus, now: number): string {
  return [
    `**Status update — ${phaseLabel(s.phase)}** (open ${formatDuration(now - Date.parse(s.openedAt))}, L${s.escalationLevel})`,
    ...(s.diagnosis ? [`Diagnosis: ${s.diagnosis.category} — ${s.diagnosis.cause}`] : ['Diagnosis: investigating']),
    ...(s.pendingApproval ? [`Waiting for approval of #${s.pendingApproval.action}: \`${s.pendingApproval.command}\``] : []),
    ...(s.restoredAt ? [`Service restored at ${s.restoredAt}; monitoring.`] : []),
    ...s.actions.slice(-3).map(actionLine),
  ].join('\n');
}

export function approvalRequestBody(p: PendingApproval): string {
  return approvalLines(p).join('\n');
}

/** A one-line summary of a notification, for the activity's summary in the UI. */
export function notificationSummary(n: Notification): string {
  return `${n.channel} ${n.event}${n.level ? ` L${n.level}` : ''}: ${n.summary}`.slice(0, 200);
}

/** The incident summary (runbook, Post-Incident: "Write incident summary"), drafted from the record. */
export function incidentSummaryReport(r: IncidentRecord): string {
  const opened = Date.parse(r.openedAt);
  const since = (iso?: string): string => (iso ? formatDuration(Date.parse(iso) - opened) : '—');
  const applied = r.actions.filter((a) => a.appliedAt);
  return [
    `# Incident summary: ${incidentTitle(r.alert.name, r.service, r.incidentNumber)}`,
    '',
    `_Draft written by the incident workflow from its own record; review before the postmortem._`,
    '',
    '## Overview',
    `- **Service:** ${r.service.namespace}/${r.service.deployment} on ${r.service.cluster}`,
    `- **Alert:** ${r.alert.name} (${r.severity}): ${r.alert.summary || '—'}`,
    `- **Resolution:** ${r.resolution}${r.resolvedBy ? ` by ${r.resolvedBy}` : ''}`,
    `- **Highest escalation:** L${r.escalationLevel}`,
    '',
    '## Durations',
    '| milestone | at | since open |',
    '|---|---|---|',
    `| opened | ${r.openedAt} | 0s |`,
    `| acknowledged | ${r.acknowledged ? `${r.acknowledged.at} (${r.acknowledged.by})` : '—'} | ${since(r.acknowledged?.at)} |`,
    `| restored | ${r.restoredAt ?? '—'} | ${since(r.restoredAt)} |`,
    `| resolved | ${r.resolvedAt} | ${since(r.resolvedAt)} |`,
    '',
    '## Diagnosis',
    ...(r.diagnosis
      ? [`**${r.diagnosis.category}** (${r.diagnosis.symptom}): ${r.diagnosis.cause}`, '', ...r.diagnosis.evidence.map((e) => `- ${e}`)]
      : ['No diagnosis was reached.']),
    '',
    '## Findings (last investigation)',
    ...(r.findingsSummary.length ? r.findingsSummary.map((f) => `- ${f}`) : ['- none recorded']),
    '',
    ...rcaLogLines(r.service, r.rcaLogs),
    ...rcaEventLines(r.service, r.rcaEvents),
    '## Actions',
    ...(r.actions.length ? r.actions.map(actionLine) : ['- no mitigation was attempted']),
    ...(applied.length
      ? ['', `${applied.length} change(s) applied, each once (idempotency keys: ${applied.map((a) => `\`${a.idempotencyKey}\``).join(', ')}).`]
      : []),
    '',
    '## Timeline',
    ...r.timeline.map((t) => `- ${t.at} **${t.kind}** ${t.text}`),
    ...(r.timelineOmitted ? [`- (${r.timelineOmitted} intermediate entries omitted)`] : []),
  ].join('\n');
}

/**
 * Root cause analysis, "Analyze logs for errors": the investigation's
 * `grep -B5 -A5 "ERROR\|FATAL"` blocks, as fenced text (redacted when collected).
 */
function rcaLogLines(service: ServiceRef, excerpts: LogExcerpt[] | undefined): string[] {
  const command = `kubectl -n ${service.namespace} logs -l app=${service.deployment} --since=1h | grep -B5 -A5 "ERROR\\|FATAL"`;
  const head = ['## Root cause analysis: error logs', `\`${command}\``, ''];
  if (!excerpts?.length) return [...head, 'No ERROR or FATAL line in the logs the investigations read.', ''];
  return [
    ...head,
    ...excerpts.flatMap((e) => [
      `**${e.pod}**${e.previous ? ' (previous container)' : ''}${e.omitted ? `, ${e.omitted} earlier line(s) of this block left out` : ''}:`,
      '```text',
      // A fence inside a log line would end the block early.
      ...e.lines.map((line) => line.replace(/```/g, "'''")),
      '```',
      '',
    ]),
  ];
}

/** Root cause analysis, "Check system events": the service's latest events as the investigation read them. */
function rcaEventLines(service: ServiceRef, events: ServiceEvent[] | undefined): string[] {
  const head = [
    '### System events',
    `\`kubectl -n ${service.namespace} get events --sort-by=.metadata.creationTimestamp | tail -20\` (the service's objects)`,
    '',
  ];
  if (!events?.length) return [...head, 'No event about the service in what the investigations read.', ''];
  return [...head, ...events.map((e) => `- ${e.time} ${e.type} **${e.reason}** ${e.object}${e.count > 1 ? ` (x${e.count})` : ''}: ${e.message}`), ''];
}

export function tasksDetails(title: string, tasks: PostIncidentTask[], reportLocation?: string): string {
  const done = tasks.filter((t) => t.done).length;
  return [
    `## Post-incident follow-up — ${done}/${tasks.length} done`,
    title,
    ...(reportLocation ? [`Summary draft: ${reportLocation}`] : []),
    '',
    ...tasks.map(
      (t) => `- [${t.done ? 'x' : ' '}] ${t.title}${t.owner ? ` — owner: ${t.owner}` : ''} — due ${t.dueAt}${t.done ? ` (done by ${t.done.by})` : ''}`,
    ),
  ].join('\n');
}
