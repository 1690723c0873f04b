// Terminal views of incidents: the same words the Temporal UI shows (the
// workflow's own markdown renderers), made plain for a terminal.
import type { IncidentRow } from '../incidents.js';
import { currentDetails } from '../../workflows/render.js';
import type { IncidentStatus, PostIncidentStatus, TimelineEntry } from '../../workflows/records.js';
import { majorDetails } from '../../workflows/major-render.js';
import type { MajorStatus } from '../../workflows/messages.js';

/** Markdown emphasis and code marks off; headings as plain lines. */
export function plain(markdown: string): string {
  return markdown
    .replace(/\*\*/g, '')
    .replace(/`/g, '')
    .replace(/^#+\s*/gm, '');
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** `major-<cluster>-<hash>` as people say it: MAJOR-<cluster>-<hash>. */
export function majorRef(workflowId: string): string {
  return `MAJOR-${workflowId.replace(/^major-/, '')}`;
}

/** Incidents; a major incident's children follow it, indented, and each names its parent (list order: groupByMajor). */
export function incidentTable(rows: IncidentRow[]): string {
  if (rows.length === 0) return 'no incidents';
  return table(
    ['INCIDENT', 'SERVICE', 'PHASE', 'DIAGNOSIS', 'APPROVAL', 'STATUS', 'STARTED', 'MAJOR'],
    rows.map((r) => {
      const major = r.kind === 'major';
      const child = !major && r.major !== undefined && rows.some((p) => p.kind === 'major' && p.workflowId === r.major);
      return [
        major ? majorRef(r.workflowId) : `${child ? '  ↳ ' : ''}${r.number ? `INC-${r.number}` : '-'}`,
        major ? `${r.cluster}: ${r.children?.length ?? 0} services` : `${r.cluster}/${r.namespace}/${r.service}`,
        r.phase || '-',
        r.diagnosis || '-',
        r.awaitingApproval ? 'waiting' : '-',
        r.status.toLowerCase(),
        r.startedAt.replace('T', ' ').slice(0, 19),
        major ? '-' : r.major ? majorRef(r.major) : '-',
      ];
    }),
  );
}

/** `incident show MAJOR-…`: the same words as the parent's Temporal UI, then its timeline. */
export function majorView(s: MajorStatus, uiUrl?: string): string {
  return [
    `${majorRef(s.majorId)}  ${s.majorId}`,
    `opened ${s.openedAt}${s.majorAt ? ` · major ${s.majorAt}` : ''}${s.resolvedAt ? ` · resolved ${s.resolvedAt}` : ''}`,
    ...(uiUrl ? [`UI: ${uiUrl}`] : []),
    '',
    plain(majorDetails(s)),
    '',
    `Timeline (${s.timeline.length}):`,
    ...s.timeline.slice(-15).map((e) => `  ${e.at.slice(11, 19)}  ${plain(e.text)}`),
  ].join('\n');
}

export function timelineLine(e: TimelineEntry): string {
  return `${e.at.slice(11, 19)}  ${e.kind.padEnd(12)} ${plain(e.text)}`;
}

export function incidentView(s: IncidentStatus, uiUrl?: string): string {
  const lines = [
    `${s.incidentNumber ? `INC-${s.incidentNumber}  ` : ''}${s.incidentId}`,
    `opened ${s.openedAt}${s.resolvedAt ? ` · resolved ${s.resolvedAt} (${s.resolution ?? ''})` : ''}`,
    ...(uiUrl ? [`UI: ${uiUrl}`] : []),
    ...(s.major
      ? [
          `Major incident: ${majorRef(s.major.id)} (${s.major.role}: ${s.major.role === 'lead' ? 'pages as usual' : 'the parent pages and posts status'}; ${s.major.cause})`,
        ]
      : []),
    '',
    plain(currentDetails(s)),
  ];
  if (s.findingsSummary.length) lines.push('', 'Findings:', ...s.findingsSummary.map((f) => `  ${plain(f)}`));
  lines.push(
    '',
    `Timeline (${s.timeline.length}${s.timelineOmitted ? ` of ${s.timeline.length + s.timelineOmitted}` : ''}):`,
    ...s.timeline.slice(-15).map((e) => `  ${timelineLine(e)}`),
  );
  return lines.join('\n');
}

export function tasksView(lists: { workflowId: string; status: PostIncidentStatus }[]): string {
  if (lists.length === 0) return 'no open post-incident tasks';
  return lists
    .map(({ workflowId, status }) =>
      [
        `${workflowId}${status.reportLocation ? `  (summary draft: ${status.reportLocation})` : ''}`,
        table(
          ['TASK', 'GROUP', 'DUE', 'DONE', 'TITLE'],
          status.tasks.map((t) => [t.id, t.group, t.dueAt.replace('T', ' ').slice(0, 16), t.done ? `${t.done.by}` : '-', t.title]),
        ),
      ].join('\n'),
    )
    .join('\n\n');
}

/** The Temporal UI page of a workflow. */
export function workflowUrl(uiBase: string, namespace: string, workflowId: string): string {
  return `${uiBase}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
