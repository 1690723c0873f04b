// The deploy runbook (README, "Deploying a new worker version") on the real dev
// server, with the product's workflows on build A and the next release's (a
// changed follow-up and a new notification, behind patched()) on build B.
// Given build A current with incidents open (two awaiting approval) and a
// follow-up running, when build B starts beside A and is promoted, then new
// incidents start on B, the open incidents finish on A, A reports drained once
// they have closed and is stopped, the follow-ups move to B and finish there
// without a nondeterminism error, and no notification is sent twice.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { WorkerDeployments } from '../../client/deployments.js';
import { workerDeploymentOptions } from '../../worker/config.js';
import { TASK_QUEUE, completeTaskSignal, resolveSignal, tasksQuery, type IncidentInput, type IncidentOutcome } from '../../workflows/messages.js';
import { FakeCluster, FakeFleet } from '../fixtures/fake-cluster.js';
import { decide, incidentInput, newService, openIncident, waitForStatus, type IncidentHandle } from '../fixtures/incident-driver.js';
import { nextReleaseTask } from '../fixtures/next-release-workflows.js';
import { againSignal, finishSignal, type pinnedProbe } from '../fixtures/versioning-probe-workflows.js';
import { devServerEnv, eventually, repoRoot, workflowBundle } from '../helpers/temporal.js';

const deploymentName = 'incident-response';
const buildA = 'release-a';
const buildB = 'release-b';
const runFile = promisify(execFile);

let env: TestWorkflowEnvironment;
const fleet = new FakeFleet();
const clusters: FakeCluster[] = [];
const running: { stop: () => Promise<void> }[] = [];

beforeAll(async () => {
  env = await devServerEnv();
});

afterAll(async () => {
  for (const worker of running) await worker.stop();
  await env?.teardown();
});

/** A versioned worker as worker/main.ts makes it (WORKER_BUILD_ID set), over the fake fleet. */
async function startBuild(buildId: string, workflowsPath: string, taskQueue = TASK_QUEUE, name = deploymentName) {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(resolve(repoRoot, workflowsPath)),
    activities: fleet.activities,
    workerDeploymentOptions: workerDeploymentOptions({ WORKER_DEPLOYMENT_NAME: name, WORKER_BUILD_ID: buildId }),
  });
  const run = worker.run();
  const handle = {
    stop: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await run;
    },
  };
  running.push(handle);
  return handle;
}

const behaviors: Record<number, string> = { 1: 'PINNED', 2: 'AUTO_UPGRADE' };

/** The build and versioning behavior Temporal records for a workflow's latest run. */
async function versionOf(workflowId: string): Promise<{ buildId?: string; behavior?: string; status: string }> {
  const d = await env.client.workflow.getHandle(workflowId).describe();
  const info = d.raw.workflowExecutionInfo?.versioningInfo;
  return { buildId: info?.deploymentVersion?.buildId ?? undefined, behavior: behaviors[info?.behavior ?? 0], status: d.status.name };
}

async function workflowTaskFailures(workflowId: string): Promise<string[]> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes).map((e) => e.workflowTaskFailedEventAttributes?.failure?.message ?? '?');
}

/** An incident whose fix is quick to verify and monitor (2 s), so it resolves within the test. */
function quickIncident(prefix: string, autoApprove: boolean): { input: IncidentInput; cluster: FakeCluster } {
  const service = newService(prefix);
  // The worker's approval policy: the rollback without a human, or nothing automatic.
  const cluster = fleet.add(new FakeCluster(service, 'bad-rollout').withPolicy(autoApprove ? { autoApprove: ['rollout-undo'] } : {}));
  clusters.push(cluster);
  const input = incidentInput(service, new Date().toISOString(), { durations: { monitor: 2_000, sampleInterval: 1_000, rolloutTimeout: 20_000 } });
  return { input, cluster };
}

async function completeEveryTask(followUpId: string): Promise<string[]> {
  const handle = env.client.workflow.getHandle(followUpId);
  const status = await handle.query(tasksQuery);
  for (const task of status.tasks.filter((t) => !t.done)) await handle.signal(completeTaskSignal, { taskId: task.id, by: 'carol' });
  return status.tasks.map((t) => t.id);
}

const sent = (event: string) => clusters.flatMap((c) => c.notifications.map((n) => n.notification)).filter((n) => n.event === event);

describe('rolling out a new worker build while incidents are open', () => {
  it('promotes B: new incidents start on B, open ones finish on A, A drains and stops, follow-ups move to B and finish, nothing sent twice', async () => {
    const deployments = new WorkerDeployments(env.client, deploymentName);
    const workerA = await startBuild(buildA, 'workflows/index.ts');
    await deployments.promote(buildA, 30_000);

    // On A: two incidents awaiting approval, one that resolves by itself and leaves its follow-up running.
    const awaiting: IncidentHandle[] = [];
    for (const prefix of ['approve-later', 'resolve-later']) {
      const handle = await openIncident(env.client, quickIncident(prefix, false).input);
      await waitForStatus(handle, (s) => s.phase === 'awaiting-approval', `${prefix} to await approval`);
      awaiting.push(handle);
    }
    const [approveLater, resolveLater] = awaiting as [IncidentHandle, IncidentHandle];
    const early = await openIncident(env.client, quickIncident('early', true).input);
    const earlyOutcome = await early.result();
    const followUpOnA = earlyOutcome.postIncidentWorkflowId;
    // A follow-up starts pinned to its parent's build, and is AUTO_UPGRADE from its first workflow task on.
    const started = await eventually(async () => {
      const v = await versionOf(followUpOnA);
      return v.behavior === 'AUTO_UPGRADE' ? v : undefined;
    }, 'the follow-up to take its first task');
    expect(started).toEqual({ buildId: buildA, behavior: 'AUTO_UPGRADE', status: 'RUNNING' });
    expect(await versionOf(approveLater.workflowId)).toEqual({ buildId: buildA, behavior: 'PINNED', status: 'RUNNING' });

    // Deploy: B beside A, then B current.
    await startBuild(buildB, 'test/fixtures/next-release-workflows.ts');
    await deployments.promote(buildB, 30_000);
    const report = await deployments.describe();
    expect(report?.current).toBe(buildB);
    expect(await deployments.drained(buildA)).toMatchObject({ drained: false });

    // A new incident starts on B and runs B's new code; its follow-up has B's new task.
    const late = await openIncident(env.client, quickIncident('late', true).input);
    const lateOutcome = await late.result();
    expect(await versionOf(late.workflowId)).toEqual({ buildId: buildB, behavior: 'PINNED', status: 'COMPLETED' });
    expect(sent('opened-next-release').map((n) => n.incidentId)).toEqual([late.workflowId]);

    // The incidents open on A finish there, with A's code: approved, and resolved by hand.
    await decide(approveLater, 1, 'approve');
    await resolveLater.signal(resolveSignal, { by: 'bob', reason: 'fixed by hand' });
    const outcomes: IncidentOutcome[] = await Promise.all([approveLater.result(), resolveLater.result()]);
    for (const handle of awaiting) expect(await versionOf(handle.workflowId)).toEqual({ buildId: buildA, behavior: 'PINNED', status: 'COMPLETED' });
    expect(outcomes.map((o) => o.resolution)).toEqual(['mitigated', 'manual']);

    // Retire A as the runbook says: drained (no open incident pinned to it), then stop its workers.
    const drained = await eventually(
      async () => {
        const answer = await deployments.drained(buildA);
        return answer.drained ? answer : undefined;
      },
      'build A to drain',
      20_000,
    );
    expect(drained.open).toMatchObject({ incidents: 0, pinned: 0 });
    const cli = await runFile(process.execPath, [resolve(repoRoot, 'bin/incident.js'), 'deploy', 'drained', buildA], {
      env: { ...process.env, TEMPORAL_ADDRESS: env.connection.options.address, WORKER_DEPLOYMENT_NAME: deploymentName },
    });
    expect(cli.stdout).toContain(`${deploymentName}:${buildA} is drained`);
    await workerA.stop();

    // Every follow-up (started on A before and after the promotion, and on B) finishes on B.
    const followUps = [followUpOnA, ...outcomes.map((o) => o.postIncidentWorkflowId), lateOutcome.postIncidentWorkflowId];
    const taskLists = new Map<string, string[]>();
    for (const id of followUps) taskLists.set(id, await completeEveryTask(id));
    for (const id of followUps) await env.client.workflow.getHandle(id).result();
    for (const id of followUps) expect(await versionOf(id)).toEqual({ buildId: buildB, behavior: 'AUTO_UPGRADE', status: 'COMPLETED' });
    // Follow-ups that moved keep the tasks they started with; the one started on B has B's new task.
    expect(followUps.map((id) => taskLists.get(id)?.includes(nextReleaseTask.id))).toEqual([false, false, false, true]);
    // B's closing note went out once for each follow-up, moved ones included.
    expect(
      sent('post-incident-closed')
        .map((n) => n.id)
        .sort(),
    ).toEqual(followUps.map((id) => `${id}/closing-note`).sort());
    expect(sent('post-incident-tasks')).toHaveLength(followUps.length);
    expect(sent('post-incident-complete')).toHaveLength(followUps.length);

    // Nothing failed and nothing was sent twice.
    for (const id of [...awaiting.map((h) => h.workflowId), early.workflowId, late.workflowId, ...followUps])
      expect(await workflowTaskFailures(id), id).toEqual([]);
    const ids = clusters.flatMap((c) =>
      c.notifications.map((n) => n.notification.id ?? `${n.notification.dedupKey}/${n.notification.event}/${n.notification.summary}`),
    );
    expect(ids.length).toBeGreaterThan(20);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it('a pinned run that continues as new after a new build is promoted stays on its build; new work can go back to unversioned workers', async () => {
    const name = 'versioning-probe';
    const deployments = new WorkerDeployments(env.client, name);
    await startBuild('one', 'test/fixtures/versioning-probe-workflows.ts', name, name);
    await deployments.promote('one', 30_000);
    const handle = await env.client.workflow.start<typeof pinnedProbe>('pinnedProbe', { taskQueue: name, workflowId: 'probe-can', args: [0] });
    await eventually(async () => ((await versionOf(handle.workflowId)).buildId === 'one' ? true : undefined), 'the probe to run on build one');
    await startBuild('two', 'test/fixtures/versioning-probe-workflows.ts', name, name);
    await deployments.promote('two', 30_000);

    await handle.signal(againSignal);
    const next = await eventually(async () => {
      const d = await env.client.workflow.getHandle(handle.workflowId).describe();
      return d.runId !== handle.firstExecutionRunId ? d : undefined;
    }, 'the continue-as-new run');
    await eventually(async () => ((await versionOf(handle.workflowId)).buildId ? true : undefined), 'the new run to take its first task');
    expect(await versionOf(handle.workflowId)).toEqual({ buildId: 'one', behavior: 'PINNED', status: 'RUNNING' });
    await env.client.workflow.getHandle(handle.workflowId, next.runId).signal(finishSignal);
    expect(await env.client.workflow.getHandle(handle.workflowId).result()).toBe(1);

    const fresh = await env.client.workflow.start<typeof pinnedProbe>('pinnedProbe', { taskQueue: name, workflowId: 'probe-fresh', args: [0] });
    await eventually(async () => ((await versionOf(fresh.workflowId)).buildId ? true : undefined), 'the fresh run to take its first task');
    expect(await versionOf(fresh.workflowId)).toEqual({ buildId: 'two', behavior: 'PINNED', status: 'RUNNING' });
    await fresh.signal(finishSignal);
    expect(await fresh.result()).toBe(0);

    // What npm start does with a build left current on its dev server: new work to unversioned workers again.
    await deployments.promoteUnversioned();
    expect(await deployments.describe()).toMatchObject({ name, versions: [expect.anything(), expect.anything()] });
    expect((await deployments.describe())?.current).toBeUndefined();
    expect(await new WorkerDeployments(env.client, 'never-polled').describe()).toBeUndefined();
  });
});
