// The end-to-end scenarios, shared by the sandbox's run (scenarios.test.ts) and
// the real control plane's (scenarios-real.test.ts): `npm start -- --scenario
// NAME --auto-approve --monitor 10s --exit-when-resolved` brings up the dev
// server, the cluster, the worker and the receiver, breaks the service, sends
// the alert, and must end with the runbook's diagnosis and outcome: recovered
// where a safe fix exists, escalated to humans where none does.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { npmStartArgs } from '../helpers/npm-start.js';
import { runToEnd } from '../helpers/processes.js';

export interface Summary {
  incidentId: string;
  status: string;
  diagnosis: string | null;
  actionsApplied: string[];
  timeToMitigateSeconds: number | null;
  timeToResolveSeconds: number | null;
}

export const cases: {
  scenario: string;
  diagnosis: string;
  status: 'recovered' | 'escalated';
  action?: RegExp;
  /** The public states the status page got, in order (customers affected); absent: not checked. */
  statusPage?: string[];
  /** What the run's output must show (the monitor's findings); absent: not checked. */
  timeline?: RegExp;
  /**
   * The monitor: 10 s (ten 1 s samples) unless the case needs a longer one. The runbook's
   * 30 minutes, its samples and escalations are the time-skipping tests' to prove; here a
   * monitor is a third of a run's time, and 24 runs per CI.
   */
  monitor?: string;
}[] = [
  { scenario: 'bad-rollout', diagnosis: 'bad-rollout', status: 'recovered', action: /rollout undo deployment\/agent-native-framework --to-revision=\d+/ },
  // The runbook's quick fix: limits.memory 4Gi, not a doubling.
  {
    scenario: 'oom',
    diagnosis: 'oom-killed',
    status: 'recovered',
    action: /set resources deployment\/agent-native-framework -c agent-manager --limits=memory=4Gi$/,
  },
  // Requests and limits cut far below the runbook's: throttled, never ready, not OOM-killed. The runbook's Resource Issues patch.
  {
    scenario: 'cpu-starved',
    diagnosis: 'resource-starved',
    status: 'recovered',
    action: /set resources deployment\/agent-native-framework -c agent-manager --limits=cpu=2000m,memory=4Gi --requests=cpu=500m,memory=1Gi$/,
  },
  { scenario: 'missing-secret', diagnosis: 'missing-key', status: 'escalated' },
  { scenario: 'config-error', diagnosis: 'config-drift', status: 'recovered', action: /configmap/ },
  { scenario: 'scaled-to-zero', diagnosis: 'scaled-to-zero', status: 'recovered', action: /scale deployment\/agent-native-framework --replicas=2/ },
  { scenario: 'unschedulable', diagnosis: 'unschedulable', status: 'escalated' },
  { scenario: 'selector-mismatch', diagnosis: 'selector-mismatch', status: 'recovered', action: /service/ },
  { scenario: 'dependency-down', diagnosis: 'dependency-unreachable', status: 'escalated' },
  // Customers affected: the ingress has no ready backend. The status page follows the incident to resolved.
  {
    scenario: 'release-5xx',
    diagnosis: 'bad-rollout',
    status: 'recovered',
    action: /rollout undo deployment\/agent-native-framework --to-revision=\d+/,
    statusPage: ['investigating', 'identified', 'monitoring', 'resolved'],
  },
  // A false alarm: nothing to fix, verified and monitored.
  { scenario: 'healthy', diagnosis: 'healthy', status: 'recovered' },
  // The rollback restores health, then p99 climbs during the monitor: caught (no Prometheus here: the 10 s default), looked at again until handed over.
  {
    scenario: 'latency-regression',
    diagnosis: 'healthy',
    status: 'escalated',
    action: /rollout undo deployment\/agent-native-framework --to-revision=\d+/,
    timeline: /regression: p99 \d+ ms > 10000 ms \(default, no baseline/,
    // The rolled-back pods serve 20 s at their usual speed before they slow down (sandbox/app.ts, slowAfterMs): long enough to see it.
    monitor: '30s',
  },
];

/** Runs npm start on ports of its own, so a user's running stack is left alone. */
export async function npmStart(args: string[], basePort: number): Promise<{ code: number | null; stdout: string; stderr: string; dataDir: string }> {
  const start = npmStartArgs(args, basePort, 'incident-e2e-');
  return { ...(await runToEnd('npm', start.args, 200_000)), dataDir: start.dataDir };
}

/** The events sent to a channel's outbox in a run's data directory, in order. */
export function outboxEvents(dataDir: string, channel: string): string[] {
  const file = join(dataDir, 'outbox', `${channel}.jsonl`);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { event: string }).event);
}

export function lastJsonLine(stdout: string): Summary {
  const line = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (!line) throw new Error(`no JSON line in the output:\n${stdout.slice(-2000)}`);
  return JSON.parse(line) as Summary;
}

/** One scenario through npm start, checked against its expected diagnosis and outcome. */
export async function expectScenario(c: (typeof cases)[number], basePort: number, extraArgs: string[] = []): Promise<void> {
  const { scenario, diagnosis, status, action, statusPage, timeline, monitor = '10s' } = c;
  const run = await npmStart(['--scenario', scenario, '--auto-approve', '--monitor', monitor, '--exit-when-resolved', ...extraArgs], basePort);
  expect(run.code, `npm start exited ${run.code}\n${run.stderr.slice(-2000)}\n${run.stdout.slice(-3000)}`).toBe(0);
  const summary = lastJsonLine(run.stdout);
  expect(summary).toMatchObject({ incidentId: 'incident/local/default/agent-native-framework', status, diagnosis });
  if (action) {
    expect(
      summary.actionsApplied.some((a) => action.test(a)),
      `actions: ${summary.actionsApplied.join('; ')}`,
    ).toBe(true);
    // A service that regressed after the fix and was handed over is not mitigated.
    if (status === 'recovered') expect(summary.timeToMitigateSeconds).not.toBeNull();
  } else {
    expect(summary.actionsApplied).toEqual([]);
  }
  if (statusPage) expect(outboxEvents(run.dataDir, 'status-page')).toEqual(statusPage);
  if (timeline) expect(run.stdout).toMatch(timeline);
}
