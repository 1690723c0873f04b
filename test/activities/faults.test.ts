// An unreliable API server (the sandbox's fault injection, and on the real
// control plane a proxy in front of it on the worker's path: 429, 500, 503,
// latency, dropped connections): reads succeed by reading again in place, writes
// through Temporal's retry policy (workflows/retry.ts: each activity on its own,
// as the workflow runs it), and a write still happens
// exactly once. Bad credentials fail at once, with a message that says what to do.
import { readFileSync, writeFileSync } from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { FailureTypes } from '../../activities/types.js';
import type { FaultRule } from '../../sandbox/index.js';
import { rolloutWaitRetryPolicy, writeOptions } from '../../workflows/retry.js';
import {
  clusterKinds,
  clustersForThisFile,
  eventually,
  inActivity,
  investigate,
  investigateWithRetries,
  sandboxDeps,
  service,
  withRetries,
  type TestRetryPolicy,
} from './helpers.js';

/**
 * About 20% of requests fail (429 with Retry-After, 500, 503), 20% are 200 ms late,
 * 3% lose their connection. Reads get through by reading again in place (call());
 * writes by Temporal's retry policy alone, attempt by attempt.
 */
const unreliable: FaultRule[] = [
  { status: 429, rate: 0.07 },
  { status: 500, rate: 0.07 },
  { status: 503, rate: 0.07 },
  { latencyMs: 200, rate: 0.2 },
  { drop: true, rate: 0.03 },
];

/** A write the tests below expect to fail: scale the service to two replicas. */
const scaleToTwo = {
  service,
  action: { kind: 'scale' as const, replicas: 2 },
  idempotencyKey: 'incident/x/action-1',
  approvedBy: 'alice',
};

/**
 * Runs CALL as withRetries does (under POLICY, the reads policy unless told),
 * expecting it to fail: the failure (undefined if it succeeded) and how many
 * attempts were made.
 */
async function failureOf(call: () => Promise<unknown>, policy?: TestRetryPolicy): Promise<{ failure: unknown; attempts: number }> {
  let attempts = 0;
  const failure = await withRetries(() => {
    attempts++;
    return call();
  }, policy).then(
    () => undefined,
    (err: unknown) => err,
  );
  return { failure, attempts };
}

describe.each(clusterKinds)('on the %s cluster', (kind) => {
  const startCluster = clustersForThisFile(kind);

  describe('with an unreliable API server', () => {
    it('the investigation finds what it finds on a reliable one', async () => {
      const cluster = await startCluster('bad-rollout');
      const { activities, controls, run, logs } = cluster;
      // Settled: the third revision rolled out and both its pods have crashed once (they keep crashing the same way).
      const reliable = await eventually(
        () => run(() => investigate(activities)),
        (f) => {
          expect(f.workload.revisions.length).toBe(3);
          expect(f.workload.pods.map((p) => p.lastTermination)).toEqual([
            { reason: 'Error', exitCode: 1 },
            { reason: 'Error', exitCode: 1 },
          ]);
        },
      );

      controls.setFaults(unreliable);
      const runs = await Promise.all([1, 2, 3].map(() => investigateWithRetries(activities)));
      controls.setFaults([]);

      for (const { result } of runs) {
        expect(result.workload.revisions).toEqual(reliable.workload.revisions);
        // Pods come most-restarted first; restarts go on between runs, so compare them by name.
        const byName = (f: typeof reliable) => [...f.workload.pods].sort((a, b) => a.name.localeCompare(b.name)).map((p) => [p.name, p.lastTermination]);
        expect(byName(result)).toEqual(byName(reliable));
        expect(result.config).toEqual(reliable.config);
        expect(result.dependencies).toEqual(reliable.dependencies);
        expect(result.health.service).toEqual(reliable.health.service);
        expect(result.health.live.status).toBe(503);
      }
      // The faults were there, and the reads were tried again in place.
      expect(logs.lines.filter((line) => line.includes('Kubernetes API read failed; reading again')).length).toBeGreaterThan(0);
    });

    it('a rollback goes through and is written exactly once, also when Temporal retries the activity', async () => {
      const cluster = await startCluster('bad-rollout');
      const { activities, controls } = cluster;
      const request = {
        service,
        action: { kind: 'rollout-undo' as const, toRevision: 2 },
        idempotencyKey: 'incident/sandbox/default/agent-native-framework/action-1',
        approvedBy: 'policy:auto',
      };

      controls.setFaults(unreliable);
      const preview = await withRetries(() => activities.previewMutation(request), writeOptions.retry);
      const applied = await withRetries(() => activities.applyMutation(request), writeOptions.retry);
      // A retry of the whole activity, as after a worker crash between the write and its completion.
      const retried = await withRetries(() => activities.applyMutation(request), writeOptions.retry);
      controls.setFaults([]);

      expect(preview.result.changes[0]).toBe('revision 3 (image agent-native-framework:v1.5.0) → revision 2 (image agent-native-framework:v1.4.2)');
      expect(applied.result.alreadyApplied).toBe(false);
      expect(retried.result.alreadyApplied).toBe(true);
      const writes = controls.audit().filter((e) => !e.dryRun);
      expect(writes).toHaveLength(1);
      expect(writes[0]).toMatchObject({ verb: 'patch', resource: 'deployments', name: 'agent-native-framework', idempotencyKey: request.idempotencyKey });

      // Asked again until complete: under CI load the real cluster's deployment can pass its progress deadline before its pods are ready.
      const rollout = await eventually(
        () => withRetries(() => activities.waitForRollout(service, { timeoutSeconds: kind === 'real' ? 60 : 20 }), rolloutWaitRetryPolicy),
        (r) => expect(r.result.complete).toBe(true),
        kind === 'real' ? 150_000 : 30_000,
      );
      expect(rollout.result.complete).toBe(true);
    }, 300_000);

    it('a write the API server keeps failing is sent once per attempt, 8 in all, then fails retryably', async () => {
      const cluster = await startCluster('scaled-to-zero');
      cluster.controls.setFaults([{ verb: 'patch', resource: 'deployments', status: 500, rate: 1 }]);
      const { failure, attempts } = await failureOf(() => cluster.activities.applyMutation(scaleToTwo), writeOptions.retry);
      cluster.controls.setFaults([]);
      // Each attempt reads, then sends its one PATCH: 8 PATCHes, where the call, the write loop and the policy used to allow 3 × 5 × 8.
      expect(attempts).toBe(writeOptions.retry.maximumAttempts);
      expect(failure).toMatchObject({ type: FailureTypes.KubernetesUnavailable, nonRetryable: false });
      expect(cluster.controls.audit().filter((e) => !e.dryRun)).toEqual([]);
    });
  });

  describe('with credentials the API server does not accept', () => {
    it('fails at once, non-retryably, saying what to do', async () => {
      const cluster = await startCluster('healthy');
      // The same kubeconfig with a revoked token.
      const revoked = `${cluster.kubeconfigPath}.revoked`;
      writeFileSync(revoked, readFileSync(cluster.kubeconfigPath, 'utf8').replace(/token: .*/, 'token: "revoked-token"'));
      const activities = createActivities({ ...cluster.deps, kube: sandboxDeps({ kubeconfigPath: revoked }).kube });

      const { failure, attempts } = await failureOf(() => activities.inspectWorkload(service));
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect(failure).toMatchObject({ type: FailureTypes.Forbidden, nonRetryable: true });
      expect((failure as ApplicationFailure).message).toMatch(
        /^401 reading deployments\/agent-native-framework in default: the API server of cluster 'sandbox' did not accept the worker's credentials \(kubeconfig context '(sandbox|local)'\).*refresh the kubeconfig token or the service account token$/,
      );
      expect(attempts).toBe(1);
      // Nor does a write try again.
      const write = inActivity(() => activities.applyMutation({ service, action: { kind: 'scale', replicas: 3 }, idempotencyKey: 'k', approvedBy: 'alice' }));
      await expect(write).rejects.toMatchObject({ type: FailureTypes.Forbidden });
      expect(cluster.controls.audit()).toEqual([]);
    });
  });

  describe('when RBAC denies a write (403)', () => {
    it('fails at once, non-retryably, naming the missing right, and writes nothing', async () => {
      const cluster = await startCluster('scaled-to-zero');
      cluster.controls.setFaults([{ verb: 'patch', resource: 'deployments', status: 403, rate: 1 }]);
      const { failure, attempts } = await failureOf(() => cluster.activities.applyMutation(scaleToTwo));
      expect(failure).toMatchObject({ type: FailureTypes.Forbidden, nonRetryable: true });
      expect((failure as ApplicationFailure).message).toMatch(/^403 patching deployments\/agent-native-framework in default: .*lacks 'patch' on deployments/);
      expect(attempts).toBe(1);
      expect(cluster.controls.audit().filter((e) => !e.dryRun)).toEqual([]);
    });
  });
});
