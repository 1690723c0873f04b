// The major incident's markdown for the Temporal UI (current details) and the CLI
// (`incident show MAJOR-…`): the cause, the ladder, every child and its phase. Pure.
import type { MajorStatus } from './messages.js';

/** The Temporal UI's current details: the cause, the ladder, and every child with its phase. */
export function majorDetails(s: MajorStatus): string {
  const rows = s.children.map((c) => `| ${c.incidentId} | ${c.role} | ${c.ended ? `ended (${c.ended})` : c.phase}${c.restored ? ' (restored)' : ''} |`);
  return [
    `## ${s.major ? 'MAJOR incident' : 'Major incident candidate'}: ${s.cause.label}`,
    `**Phase:** ${s.phase} · **Level:** L${s.escalationLevel} · **Services:** ${s.children.length} (${s.children.filter((c) => c.phase === 'resolved').length} resolved)`,
    ...(s.diagnosis ? [`**Shared diagnosis:** ${s.diagnosis.category}: ${s.diagnosis.cause}`] : []),
    `Children: \`MajorIncident = "${s.majorId}"\``,
    '',
    '| incident | role | phase |',
    '| --- | --- | --- |',
    ...rows.slice(0, 100),
  ].join('\n');
}
