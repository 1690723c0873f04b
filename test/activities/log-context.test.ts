// Root cause analysis, "Analyze logs for errors": the runbook's
// `kubectl logs --since=1h | grep -B5 -A5 "ERROR\|FATAL"` as the investigation
// keeps it for the incident summary: grep's blocks, redacted, bounded.
import { describe, expect, it } from 'vitest';
import { contextRanges, rcaExcerpts } from '../../activities/logs.js';
import { redact } from '../../activities/redact.js';
import { logExcerptBounds } from '../../workflows/domain.js';
import { incidentSummaryReport } from '../../workflows/render.js';
import type { IncidentRecord } from '../../workflows/records.js';

const log = (n: number, errors: Record<number, string>): string[] => Array.from({ length: n }, (_, i) => errors[i] ?? `INFO line ${i}`);

describe('grep -B5 -A5 "ERROR\\|FATAL"', () => {
  it('takes 5 lines before and after each match, merges blocks that touch, and matches case as grep does', () => {
    const lines = log(40, { 10: 'ERROR boom', 18: 'FATAL exiting', 35: 'error: lower case is not the runbook pattern' });
    // 10 → 5..15, 18 → 13..23: overlapping, one block.
    expect(contextRanges(lines)).toEqual([[5, 23]]);
    expect(contextRanges(log(12, { 0: 'ERROR first', 11: 'FATAL last' }))).toEqual([[0, 11]]);
    expect(contextRanges(log(30, { 2: 'ERROR a', 25: 'ERROR b' }))).toEqual([
      [0, 7],
      [20, 29],
    ]);
    expect(contextRanges(log(30, {}))).toEqual([]);
  });

  it('keeps the latest blocks of every stream, the context lines around the match, redacted', () => {
    const token = 'sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345';
    const crashed = log(20, { 9: `INFO connecting with api_key=${token}`, 12: 'FATAL startup failed: invalid configuration' });
    const excerpts = rcaExcerpts([{ pod: 'web-1', previous: true, lines: crashed }], redact.withLiterals([token]));
    expect(excerpts).toHaveLength(1);
    const [block] = excerpts;
    expect(block?.pod).toBe('web-1');
    expect(block?.previous).toBe(true);
    expect(block?.lines[0]).toBe('INFO line 7');
    expect(block?.lines).toContain('FATAL startup failed: invalid configuration');
    expect(block?.lines.at(-1)).toBe('INFO line 17');
    expect(JSON.stringify(excerpts)).not.toContain(token);
  });

  it('stays within its bounds however much the logs say', () => {
    const noisy = Array.from({ length: 1000 }, (_, i) => (i % 3 === 0 ? `ERROR request ${i} failed ${'x'.repeat(600)}` : `INFO ok ${i}`));
    const sparse = Array.from({ length: 1000 }, (_, i) => (i % 50 === 0 ? `ERROR rare ${i}` : `INFO ${i}`));
    const streams = [
      { pod: 'a', previous: false, lines: noisy },
      { pod: 'b', previous: false, lines: sparse },
    ];
    const excerpts = rcaExcerpts(streams, redact);
    expect(excerpts.length).toBeLessThanOrEqual(logExcerptBounds.maxBlocks);
    expect(excerpts.map((e) => e.pod)).toContain('b');
    for (const e of excerpts) {
      expect(e.lines.length).toBeLessThanOrEqual(logExcerptBounds.maxBlockLines);
      for (const line of e.lines) expect(line.length).toBeLessThanOrEqual(logExcerptBounds.maxLineLength);
    }
    expect(excerpts.flatMap((e) => e.lines).join('\n').length).toBeLessThanOrEqual(logExcerptBounds.maxChars);
    // One merged block of the noisy stream is cut to its end; the summary says how much was left out.
    expect(excerpts.find((e) => e.pod === 'a')?.omitted).toBeGreaterThan(900);
    expect(excerpts.find((e) => e.pod === 'a')?.lines.at(-1)).toMatch(/^ERROR request 999 failed x+/);
  });

  it('the incident summary carries the blocks and the system events under the runbook commands, and says so when there were none', () => {
    const record: IncidentRecord = {
      incidentId: 'incident/local/default/web',
      service: { cluster: 'local', namespace: 'default', deployment: 'web' },
      severity: 'critical',
      alert: { name: 'ServiceDown', severity: 'critical', summary: 'down', labels: {}, startsAt: '2026-03-01T12:00:00.000Z', fingerprint: 'f' },
      openedAt: '2026-03-01T12:00:00.000Z',
      resolvedAt: '2026-03-01T12:30:00.000Z',
      resolution: 'manual',
      escalationLevel: 1,
      findingsSummary: [],
      rcaLogs: [{ pod: 'web-1', previous: true, lines: ['INFO starting', 'FATAL startup failed ```'], omitted: 3 }],
      rcaEvents: [
        { time: '2026-03-01T12:01:00Z', type: 'Warning', reason: 'BackOff', object: 'Pod/web-1', message: 'Back-off restarting failed container', count: 7 },
      ],
      actions: [],
      timeline: [],
      timelineOmitted: 0,
    };
    const md = incidentSummaryReport(record);
    expect(md).toContain('## Root cause analysis: error logs\n`kubectl -n default logs -l app=web --since=1h | grep -B5 -A5 "ERROR\\|FATAL"`');
    expect(md).toContain("**web-1** (previous container), 3 earlier line(s) of this block left out:\n```text\nINFO starting\nFATAL startup failed '''\n```");
    expect(md).toContain(
      "### System events\n`kubectl -n default get events --sort-by=.metadata.creationTimestamp | tail -20` (the service's objects)\n\n- 2026-03-01T12:01:00Z Warning **BackOff** Pod/web-1 (x7): Back-off restarting failed container",
    );
    const bare = incidentSummaryReport({ ...record, rcaLogs: undefined, rcaEvents: undefined });
    expect(bare).toContain('No ERROR or FATAL line in the logs the investigations read.');
    expect(bare).toContain('No event about the service in what the investigations read.');
  });
});
