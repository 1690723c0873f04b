// The README's runbook mapping (section "The runbook, step by step") is a
// promise: every runbook step, branch, fix, escalation level and duty has a row,
// and every row names a test that exists. A row whose test is renamed or
// removed, or a runbook heading with no row, fails here.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const readme = readFileSync('README.md', 'utf8');
const section = readme.split(/^## /m).find((s) => s.startsWith('The runbook, step by step')) ?? '';
const rows = section
  .split('\n')
  .filter((line) => line.startsWith('| ') && !line.startsWith('| Runbook') && !line.startsWith('| ---'))
  .map((line) => {
    const cells = line.split(/(?<!\\) \| /).map((c) => c.replace(/^\| |\s*\|$/g, ''));
    return { runbook: cells[0] ?? '', proof: cells[2] ?? '' };
  });

/** `file` › "part of a test's name" pairs; a row may cite several. */
function citations(proof: string): { file: string; name: string }[] {
  return [...proof.matchAll(/`([^`]+\.test\.ts)` › "([^"]+)"/g)].map((m) => ({ file: m[1] ?? '', name: m[2] ?? '' }));
}

// The runbook's own headings and duties (docs/service-down-runbook.md), as the rows begin.
const runbookItems = [
  'Detection',
  'Step 1',
  'Step 2',
  'Step 3',
  'Step 4',
  'Step 5',
  'If CrashLoopBackOff',
  'If no pods running',
  'If running but unhealthy',
  'Option 1',
  'Option 2',
  'Option 3',
  'Quick fix: increase memory',
  'Resource issues',
  'Code issues',
  'Configuration issues',
  'RCA',
  'Verification',
  'Monitor: pod restart count',
  'Monitor: response time',
  'Monitor: error rate',
  'Monitor: active agent count',
  'Monitor for 30 minutes',
  'Option 3 undone',
  'Check dashboards',
  'Level 1',
  'Level 2',
  'Level 3',
  'Update status page',
  'Notify stakeholders',
  'Customer notification',
  'Post-incident',
  'Prevention',
];

describe('the runbook mapping in the README', () => {
  it('has a row for each of the runbook steps, branches, fixes, levels and duties', () => {
    expect(rows.length).toBeGreaterThan(runbookItems.length);
    const missing = runbookItems.filter((item) => !rows.some((r) => r.runbook.startsWith(item)));
    expect(missing).toEqual([]);
  });

  it('cites, on every row, tests that exist under the names it gives', () => {
    const broken: string[] = [];
    for (const row of rows) {
      const cited = citations(row.proof);
      if (cited.length === 0) broken.push(`${row.runbook}: no test cited`);
      for (const { file, name } of cited) {
        if (!existsSync(file)) broken.push(`${row.runbook}: ${file} does not exist`);
        else if (!readFileSync(file, 'utf8').includes(name)) broken.push(`${row.runbook}: no test "${name}" in ${file}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
