// `incident list` with a storm: each major incident is followed by its services,
// indented, and each service names its major incident; `show MAJOR-…` renders the parent.
import { describe, expect, it } from 'vitest';
import { groupByMajor, type IncidentRow } from '../../client/incidents.js';
import { incidentTable, majorView } from '../../client/cli/render.js';

const row = (workflowId: string, extra: Partial<IncidentRow> = {}): IncidentRow => ({
  workflowId,
  runId: 'r',
  service: workflowId.split('/')[3] ?? '',
  namespace: 'default',
  cluster: 'east',
  phase: 'escalated',
  diagnosis: 'dependency-unreachable',
  awaitingApproval: false,
  status: 'RUNNING',
  startedAt: '2026-11-30T12:00:00.000Z',
  ...extra,
});

describe('incident list with a major incident', () => {
  it('puts each major incident before its services, which name it; other incidents stay as they are', () => {
    const rows = groupByMajor([
      row('incident/east/default/orders', { major: 'major-east-0123abcd', number: 11 }),
      row('incident/east/default/solo', { number: 12 }),
      row('major-east-0123abcd', { kind: 'major', major: 'major-east-0123abcd', phase: 'major', children: ['a', 'b'] }),
      row('incident/east/default/billing', { major: 'major-east-0123abcd', number: 13 }),
    ]);
    expect(rows.map((r) => r.workflowId)).toEqual([
      'incident/east/default/solo',
      'major-east-0123abcd',
      'incident/east/default/orders',
      'incident/east/default/billing',
    ]);
    const lines = incidentTable(rows).split('\n');
    expect(lines[2]).toMatch(/^MAJOR-east-0123abcd\s+east: 2 services\s+major/);
    expect(lines[3]).toMatch(/^ {2}↳ INC-11\s+east\/default\/orders .*MAJOR-east-0123abcd$/);
    expect(lines[1]).toMatch(/^INC-12 .* -$/);
  });

  it('shows a major incident: its cause, level, shared diagnosis and every service with its phase', () => {
    const text = majorView({
      majorId: 'major-east-0123abcd',
      cause: { key: 'dependency:pg', label: 'dependency pg unreachable' },
      cluster: 'east',
      major: true,
      phase: 'major',
      openedAt: '2026-11-30T12:00:00.000Z',
      escalationLevel: 2,
      diagnosis: { category: 'dependency-unreachable', cause: 'pg is unreachable', evidence: [] },
      children: [
        {
          incidentId: 'incident/east/default/orders',
          service: { cluster: 'east', namespace: 'default', deployment: 'orders' },
          title: 't',
          role: 'lead',
          joinedAt: '2026-11-30T12:00:01.000Z',
          phase: 'monitoring',
          restored: true,
          diagnosis: 'dependency-unreachable: pg is unreachable',
        },
      ],
      timeline: [{ at: '2026-11-30T12:15:00.000Z', text: 'L2: 1 of 1 services not restored within 15m' }],
    });
    expect(text).toContain('MAJOR-east-0123abcd');
    expect(text).toContain('MAJOR incident: dependency pg unreachable');
    expect(text).toContain('Level: L2');
    expect(text).toContain('| incident/east/default/orders | lead | monitoring (restored) |');
    expect(text).toContain('12:15:00  L2: 1 of 1 services not restored within 15m');
  });
});
