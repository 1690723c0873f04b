// The deployment controller's behaviour beyond the scenarios: progress deadlines,
// rolling updates that keep availability, revision history limits, and garbage
// collection through owner references.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { sandboxFor, waitFor, type TestSandbox } from './helpers.js';

const namespace = 'default';
const name = 'agent-native-framework';
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
const setImage = (t: TestSandbox, image: string) =>
  t.apps.patchNamespacedDeployment({ name, namespace, body: { spec: { template: { spec: { containers: [{ name: 'agent-manager', image }] } } } } }, strategic);

describe('the deployment controller', () => {
  let t: TestSandbox | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('marks a rollout that makes no progress ProgressDeadlineExceeded, and kubectl rollout status fails on it', async () => {
    t = await sandboxFor({ scenario: 'bad-rollout' });
    const sandbox = t;
    await t.apps.patchNamespacedDeployment({ name, namespace, body: { spec: { progressDeadlineSeconds: 1 } } }, merge);
    const condition = await waitFor('the deadline to pass', async () => {
      const d = await sandbox.apps.readNamespacedDeployment({ name, namespace });
      return d.status?.conditions?.find((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded');
    });
    expect(condition).toMatchObject({
      status: 'False',
      message: expect.stringMatching(/^ReplicaSet "agent-native-framework-\w+" has timed out progressing\.$/) as string,
    });
    const status = await t.kubectl('rollout', 'status', 'deployment', name, '--timeout=10s');
    expect(status.code).not.toBe(0);
    expect(status.stderr).toContain('deployment "agent-native-framework" exceeded its progress deadline');
  });

  it('keeps every replica available during a RollingUpdate with maxUnavailable 0', async () => {
    t = await sandboxFor();
    await t.apps.patchNamespacedDeployment(
      { name, namespace, body: { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } } } },
      merge,
    );
    await setImage(t, 'agent-native-framework:v1.4.3');
    let lowest = Infinity;
    let done = false;
    while (!done) {
      const d = await t.apps.readNamespacedDeployment({ name, namespace });
      lowest = Math.min(lowest, d.status?.availableReplicas ?? 0);
      expect(d.status?.replicas ?? 0).toBeLessThanOrEqual(3);
      done =
        d.status?.observedGeneration === d.metadata?.generation &&
        d.status?.updatedReplicas === 2 &&
        d.status.replicas === 2 &&
        d.status.availableReplicas === 2;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(lowest).toBe(2);
    const pods = await t.core.listNamespacedPod({ namespace, labelSelector: `app=${name}` });
    expect(pods.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.spec?.containers[0]?.image)).toEqual([
      'agent-native-framework:v1.4.3',
      'agent-native-framework:v1.4.3',
    ]);
  });

  it('keeps at most revisionHistoryLimit old replica sets', async () => {
    t = await sandboxFor();
    const sandbox = t;
    await t.apps.patchNamespacedDeployment({ name, namespace, body: { spec: { revisionHistoryLimit: 1 } } }, merge);
    await setImage(t, 'agent-native-framework:v1.4.3');
    await waitFor(
      'the rollout',
      () =>
        sandbox.sandbox.isRecovered() &&
        sandbox.apps
          .readNamespacedDeployment({ name, namespace })
          .then((d) => d.status?.updatedReplicas === 2 && d.metadata?.annotations?.['deployment.kubernetes.io/revision'] === '3'),
    );
    const revisions = await waitFor('old replica sets to be cleaned up', async () => {
      const rs = await sandbox.apps.listNamespacedReplicaSet({ namespace });
      return rs.items.length === 2 && rs.items.map((r) => r.metadata?.annotations?.['deployment.kubernetes.io/revision']).sort();
    });
    expect(revisions).toEqual(['2', '3']);
  });

  it('deletes replica sets and pods with their deployment, unless asked to orphan them', async () => {
    t = await sandboxFor({ services: 2 });
    const sandbox = t;
    await t.apps.deleteNamespacedDeployment({ name: 'agent-native-framework-001', namespace });
    await t.apps.deleteNamespacedDeployment({ name: 'agent-native-framework-002', namespace, propagationPolicy: 'Orphan' });
    await waitFor(
      'the cascade',
      async () => (await sandbox.core.listNamespacedPod({ namespace, labelSelector: 'app=agent-native-framework-001' })).items.length === 0,
    );
    const orphans = await t.core.listNamespacedPod({ namespace, labelSelector: 'app=agent-native-framework-002' });
    expect(orphans.items).toHaveLength(2);
    expect(orphans.items.every((p) => p.metadata?.deletionTimestamp === undefined)).toBe(true);
    expect(
      (await t.apps.listNamespacedReplicaSet({ namespace, labelSelector: 'app=agent-native-framework-002' })).items[0]?.metadata?.ownerReferences ?? [],
    ).toEqual([]);
  });
});
