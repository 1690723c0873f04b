// Replay: recorded incident lifecycles (test/replay/histories/*.json) must replay
// with the current workflow code, so a change that would break running
// incidents fails here first. The guard is shown to be real: an unguarded change
// fails with a DeterminismViolationError, the same change behind patched() passes.
//
// Re-record after an intended, patched change (or a new lifecycle worth keeping):
//   RECORD_HISTORIES=1 npx vitest run test/replay
// Recording rewrites every file: put back the histories recorded by earlier code
// (git checkout them, and their manifest lines), so runs started before a change
// keep proving they replay; add the new ones beside them under new names.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { timeSkippingEnv, workflowBundle } from '../helpers/temporal.js';
import { FakeCluster, FakeFleet, type Scenario } from '../fixtures/fake-cluster.js';
import { decide, incidentInput, newService, openIncident, waitForStatus } from '../fixtures/incident-driver.js';
import { TASK_QUEUE, alertResolvedSignal, alertsSignal, completeTaskSignal, resolveSignal, type IncidentInput } from '../../workflows/messages.js';
import { runbookTasks, type postIncidentWorkflow } from '../../workflows/post-incident.js';

const historiesDir = join(import.meta.dirname, 'histories');
// History files are in the standard JSON format; the workflow ID is not part of a
// history but the workflow derives child IDs and idempotency keys from it.
const manifestFile = join(historiesDir, 'manifest.json');
const workflows = (path: string): string => new URL(path, import.meta.url).pathname;

describe.runIf(process.env['RECORD_HISTORIES'] === '1')('recording lifecycles (RECORD_HISTORIES=1)', () => {
  it('records a few real lifecycles on the time-skipping server', { timeout: 300_000 }, async () => {
    const env = await timeSkippingEnv();
    const fleet = new FakeFleet();
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: TASK_QUEUE, workflowBundle: await workflowBundle(workflows('../../workflows/index.ts')), activities: fleet.activities });
    const manifest: Record<string, string> = {};
    const save = async (name: string, handle: WorkflowHandle): Promise<void> => {
      mkdirSync(historiesDir, { recursive: true });
      writeFileSync(join(historiesDir, `${name}.json`), historyToJSON(await handle.fetchHistory()));
      manifest[`${name}.json`] = handle.workflowId;
      writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
    };
    const open = async (scenario: Scenario, overrides: Partial<IncidentInput> = {}) => {
      const service = newService(scenario);
      const now = await env.currentTimeMs();
      const cluster = fleet.add(new FakeCluster(service, scenario, now));
      const input = incidentInput(service, new Date(now).toISOString(), { incidentNumber: 1000 + Math.floor(now % 1000), ...overrides });
      return { cluster, input, handle: await openIncident(env.client, input) };
    };
    try {
      await worker.runUntil(async () => {
        // Approved rollback, 30-minute monitor, resolved (its month of follow-up is recorded last).
        const rollout = await open('bad-rollout');
        await decide(rollout.handle, 1, 'approve');
        const outcome = await rollout.handle.result();
        await save('bad-rollout-approved.incident', rollout.handle);

        // Regression during the monitor re-opens mitigation.
        const regression = await open('bad-rollout');
        regression.cluster.when('sampleHealth', 5, (w) => void (w.memoryNeed = '400Mi'));
        await decide(regression.handle, 1, 'approve');
        await env.sleep('6m');
        await decide(regression.handle, 2, 'approve');
        await regression.handle.result();
        await save('regression-during-monitor.incident', regression.handle);

        // The emergency ladder with a rejection in the middle.
        const ladder = await open('wedged');
        await decide(ladder.handle, 1, 'approve');
        await decide(ladder.handle, 2, 'reject');
        await decide(ladder.handle, 3, 'approve');
        await ladder.handle.result();
        await save('ladder-with-rejection.incident', ladder.handle);

        // No decision in time: escalated; the human fixes the secret; the alert resolves.
        const secret = await open('missing-secret', { durations: { approvalTimeout: '5m' } });
        await waitForStatus(secret.handle, (s) => s.pendingApproval !== undefined, 'the restart to await approval');
        await env.sleep('6m');
        await waitForStatus(secret.handle, (s) => s.phase === 'escalated', 'escalated');
        secret.cluster.change((w) => void (w.secretKeys = ['ANTHROPIC_API_KEY']));
        await secret.handle.signal(alertResolvedSignal, { fingerprint: secret.input.alert.fingerprint });
        await secret.handle.result();
        await save('approval-expired-then-recovered.incident', secret.handle);

        // Escalated for capacity; L2, L3 and status updates pass; closed by hand.
        const capacity = await open('unschedulable');
        await waitForStatus(capacity.handle, (s) => s.phase === 'escalated', 'escalated');
        await env.sleep('46m');
        await capacity.handle.signal(resolveSignal, { by: 'carol', reason: 'nodes added' });
        await capacity.handle.result();
        await save('unschedulable-resolved-by-hand.incident', capacity.handle);

        // The config drift restored by digest (restore-config-map), approved.
        const drift = await open('config-error');
        await decide(drift.handle, 1, 'approve');
        await drift.handle.result();
        await save('config-restored-by-digest.incident', drift.handle);

        // An alert flood past the history cap while an approval is open: the approval goes on in run 2.
        const flooded = await open('bad-rollout', { limits: { continueAsNewAfterEvents: 200 } });
        await waitForStatus(flooded.handle, (s) => s.pendingApproval !== undefined, 'the rollback to await approval');
        for (let i = 0; i < 150; i++) await flooded.handle.signal(alertsSignal, { firing: [flooded.input.alert], received: 1000 });
        await waitForStatus(flooded.handle, (s) => s.run > 1, 'a second run');
        await decide(flooded.handle, 1, 'approve');
        await flooded.handle.result();
        await save('approval-carried-over.run1.incident', env.client.workflow.getHandle(flooded.handle.workflowId, flooded.handle.signaledRunId));
        await save('approval-carried-over.run2.incident', flooded.handle);

        // Last: the Java test server stops skipping time once an abandoned child has completed.
        const child = env.client.workflow.getHandle<typeof postIncidentWorkflow>(outcome.postIncidentWorkflowId);
        for (const [group, wait] of [['immediate', '1h'], ['follow-up', '8d'], ['long-term', '22d']] as const) {
          await env.sleep(wait);
          for (const task of runbookTasks.filter((t) => t.group === group)) await child.signal(completeTaskSignal, { taskId: task.id, by: 'alice' });
        }
        await child.result();
        await save('bad-rollout-approved.post-incident', child);
      });
    } finally {
      await env.teardown();
    }
  });
});

describe('replay of recorded lifecycles', () => {
  let histories: { file: string; workflowId: string; history: unknown }[] = [];
  let incidents: typeof histories = [];
  // Read when the tests run, not when they are collected: a recording run writes them first.
  beforeAll(() => {
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Record<string, string>;
    histories = readdirSync(historiesDir)
      .filter((f) => f.endsWith('.json') && f !== 'manifest.json')
      .sort()
      .map((file) => ({ file, workflowId: manifest[file] ?? file, history: JSON.parse(readFileSync(join(historiesDir, file), 'utf8')) as unknown }));
    incidents = histories.filter((h) => h.file.endsWith('.incident.json'));
  });

  it('has recorded histories of the incident and the post-incident workflow', () => {
    expect(incidents.length).toBeGreaterThanOrEqual(5);
    expect(histories.some((h) => h.file.endsWith('.post-incident.json'))).toBe(true);
  });

  it('replays every one with the current workflow code', async () => {
    const bundle = await workflowBundle(workflows('../../workflows/index.ts'));
    expect(histories).not.toEqual([]);
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: bundle }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${String(result.error)}`);
    }
    expect(histories.every((h) => h.workflowId !== h.file)).toBe(true);
    expect(failures).toEqual([]);
  });

  it('fails with a DeterminismViolationError when an activity is inserted without patched()', async () => {
    const bundle = await workflowBundle(workflows('../fixtures/incompatible-workflows.ts'));
    expect(incidents).not.toEqual([]);
    for (const { file, workflowId, history } of incidents) {
      const replay = Worker.runReplayHistory({ workflowBundle: bundle }, history, workflowId);
      // The inserted activity meets the history's first timer (or, in runs since patch markers, its first
      // marker): the SDK refuses to go on.
      await expect(replay, file).rejects.toThrow(DeterminismViolationError);
      await expect(Worker.runReplayHistory({ workflowBundle: bundle }, history, workflowId), file).rejects.toThrow(/Nondeterminism error: .*(Activity|Timer|patch marker)/);
    }
  });

  it('replays unchanged when the same change is guarded by patched()', async () => {
    const bundle = await workflowBundle(workflows('../fixtures/patched-workflows.ts'));
    expect(incidents).not.toEqual([]);
    for (const { file, workflowId, history } of incidents) {
      await expect(Worker.runReplayHistory({ workflowBundle: bundle }, history, workflowId), file).resolves.toBeUndefined();
    }
  });
});
