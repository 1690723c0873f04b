// A short chaos game day, as an SRE runs it: `npm run gameday -- --chaos
// --scenarios bad-rollout,scaled-to-zero --json`. Given both outages, while the
// worker is SIGKILLed at points of each incident and the Temporal dev server is
// restarted on its database once, then each incident is diagnosed as the runbook
// says, its fix is applied and verified, it resolves after the monitor and starts
// its follow-up; every change reached the cluster exactly once, and no message
// went out twice.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GamedayReport } from '../../local-stack/gameday/report.js';
import { runToEnd } from '../helpers/processes.js';

describe('npm run gameday -- --chaos', () => {
  it('given a bad rollout and a scale to zero under worker kills and a Temporal restart, then both recover and every change is written once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'incident-gameday-'));
    const run = await runToEnd(
      'npm',
      [
        'run',
        '--silent',
        'gameday',
        '--',
        '--chaos',
        '--scenarios',
        'bad-rollout,scaled-to-zero',
        '--kills-per-scenario',
        '3',
        '--seed',
        '20261130',
        '--monitor',
        '20s',
        '--json',
        '--base-port',
        '18430',
        '--data-dir',
        dataDir,
      ],
      420_000,
    );
    const context = `exit ${run.code}\n${run.stderr.slice(-6000)}`;
    expect(run.stdout.trim().startsWith('{'), context).toBe(true);
    const report = JSON.parse(run.stdout) as GamedayReport;

    // Each incident ended as the runbook says, with its follow-up started and closed.
    expect(
      report.scenarios.map((s) => [s.scenario, s.diagnosis, s.outcome, s.resolution]),
      context,
    ).toEqual([
      ['bad-rollout', 'bad-rollout', 'recovered', 'mitigated'],
      ['scaled-to-zero', 'scaled-to-zero', 'recovered', 'mitigated'],
    ]);
    for (const s of report.scenarios) {
      expect(s.actions, s.scenario).toHaveLength(1);
      expect(s.followUp, s.scenario).toMatchObject({ started: true, closed: true });
      expect(s.timeToMitigateSeconds, s.scenario).not.toBeNull();
    }
    expect(report.scenarios[0]?.actions[0]).toMatch(/rollout undo deployment\/agent-native-framework --to-revision=\d+/);
    expect(report.scenarios[1]?.actions[0]).toMatch(/scale deployment\/agent-native-framework --replicas=2/);

    // The chaos happened: kills at points of each incident, and one restart of Temporal on its database.
    expect(report.chaos?.workerKills, context).toBeGreaterThanOrEqual(4);
    expect(report.chaos?.temporalRestarts).toBe(1);

    // Every approved change written exactly once (the sandbox's audit log).
    const writes = report.exactlyOnce.writes;
    expect(writes).toMatchObject({ applied: 2, duplicates: [], missing: [], unkeyed: [] });
    expect(writes.realWrites).toBeGreaterThanOrEqual(2);

    // Messages (the outbox): every message carries an id the outbox deduplicates on, so none may
    // come twice, not even one whose notify was retried after a kill right after its append.
    const messages = report.exactlyOnce.messages;
    expect(messages.messages).toBeGreaterThan(0);
    expect(messages.unparseable).toBe(0);
    expect(messages.duplicates).toEqual([]);

    // The game day's verdict and exit code agree with what it found.
    expect(report.ok).toBe(true);
    expect(run.code).toBe(0);
  }, 480_000);
});
