// The remediation governor's continue-as-new on the Temporal CLI dev server (the real
// server's handling of a signal that races a continue-as-new, which the Java
// time-skipping server does not model): a long history continues as new with its
// leases, freezes and policy, and its first run replays on today's code. With
// RECORD_GOVERNOR_HISTORY=<file> it writes that run's history (the replay corpus's).
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { Governors } from '../../client/governor.js';
import type { remediationGovernorWorkflow } from '../../workflows/governor.js';
import { TASK_QUEUE, governorStatusQuery, governorWorkflowId, requestLeaseSignal, type LeaseRequest } from '../../workflows/messages.js';
import { FakeFleet } from '../fixtures/fake-cluster.js';
import { devServerEnv, repoRoot, startIncidentWorker, uniqueId, workflowBundle, type RunningWorker } from '../helpers/temporal.js';

let env: TestWorkflowEnvironment | undefined;
let worker: RunningWorker | undefined;
const day = 24 * 3_600_000;

beforeAll(async () => {
  env = await devServerEnv();
  worker = await startIncidentWorker(env, new FakeFleet().activities);
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  await env?.teardown();
});

describe('the remediation governor on a long history', () => {
  it('continues as new and keeps its leases, freezes and policy', async () => {
    if (!env) throw new Error('no dev server');
    const client = env.client;
    const cluster = uniqueId('cluster');
    const policy = { continueAsNewAfterEvents: 20, leaseTtl: day };
    const request: LeaseRequest = {
      id: 'incident/held/action-1',
      holder: `incident/${cluster}/default/held`,
      service: { cluster, namespace: 'default', deployment: 'held' },
      scopes: ['workload:default/held'],
      automatic: true,
      command: 'kubectl -n default scale deployment/held --replicas=2',
      policy,
    };
    const first = await client.workflow.signalWithStart<typeof remediationGovernorWorkflow, [LeaseRequest]>('remediationGovernorWorkflow', {
      workflowId: governorWorkflowId(cluster),
      taskQueue: TASK_QUEUE,
      args: [{ cluster, policy }],
      signal: requestLeaseSignal,
      signalArgs: [request],
    });
    const governors = new Governors(client);
    for (let i = 0; i < 12; i++) await governors.freeze(cluster, { by: 'alice', namespace: `ns-${i}`, for: '1d', reason: `freeze ${i}` });

    const handle = client.workflow.getHandle(governorWorkflowId(cluster));
    const status = await handle.query(governorStatusQuery);
    expect(status.run).toBeGreaterThan(1);
    expect((await handle.describe()).runId).not.toBe(first.signaledRunId);
    expect(status.leases.map((l) => l.id)).toEqual([request.id]);
    expect(status.freezes.map((f) => f.namespace).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `ns-${i}`).sort());
    expect(status.policy.continueAsNewAfterEvents).toBe(20);

    const history = await client.workflow.getHandle(governorWorkflowId(cluster), first.signaledRunId).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle(`${repoRoot}/workflows/index.ts`) }, history, governorWorkflowId(cluster));
    if (process.env.RECORD_GOVERNOR_HISTORY) writeFileSync(process.env.RECORD_GOVERNOR_HISTORY, historyToJSON(history));
    await handle.terminate('test over');
  }, 120_000);
});
