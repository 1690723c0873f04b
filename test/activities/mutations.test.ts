// Mutations on the sandbox and on a real control plane: the dry-run preview says
// what would change and changes nothing; the apply fixes its scenario; a retry
// with the same key writes nothing (proven from the sandbox's audit log, and from
// the real API server's); guardrails refuse before any write.
import { ApplicationFailure } from '@temporalio/common';
import { AppsV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { approvedByAnnotation, fieldManager, idempotencyKeyAnnotation } from '../../activities/kube/mutation.js';
import { FailureTypes } from '../../activities/types.js';
import type { AuditEntry, ScenarioName } from '../../sandbox/index.js';
import type { MitigationAction, MutationRequest } from '../../workflows/domain.js';
import { clusterKinds, clustersForThisFile, eventually, expectNoCanary, investigate, service, type Investigation, type SandboxTestCluster } from './helpers.js';

const sandboxCluster = clustersForThisFile();

let actions = 0;
function request(action: MitigationAction, overrides: Partial<MutationRequest> = {}): MutationRequest {
  return {
    service,
    action,
    idempotencyKey: `incident/sandbox/default/${service.deployment}/action-${++actions}`,
    approvedBy: 'alice@example.com',
    ...overrides,
  };
}

const realWrites = (audit: AuditEntry[]) => audit.filter((e) => !e.dryRun);

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApplicationFailure)) throw new Error(`expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

interface Fix {
  scenario: ScenarioName;
  name: string;
  /** Builds the action from the findings, as the workflow's plan would. */
  action: (f: Investigation) => MitigationAction;
  command: RegExp;
  preview: RegExp[];
  /** Objects the apply writes, in order. */
  writes: string[];
  /** Settled findings to plan from. */
  settled?: (f: Investigation) => void;
}

const restartedAt = '2030-01-01T00:00:00Z';
const fixes: Fix[] = [
  {
    scenario: 'bad-rollout',
    name: 'rollout undo to the previous revision',
    action: (f) => ({ kind: 'rollout-undo', toRevision: f.workload.revisions[1]?.revision ?? 0 }),
    command: /^kubectl -n default rollout undo deployment\/agent-native-framework --to-revision=2$/,
    preview: [/^revision 3 \(image agent-native-framework:v1\.5\.0\) → revision 2 \(image agent-native-framework:v1\.4\.2\)$/],
    writes: ['deployments/agent-native-framework'],
    settled: (f) => expect(f.workload.revisions.length).toBeGreaterThan(1),
  },
  {
    scenario: 'bad-rollout',
    name: "set image to the previous revision's",
    action: (f) => ({ kind: 'set-image', container: 'agent-manager', image: f.workload.revisions[1]?.images[0] ?? '' }),
    command: /^kubectl -n default set image deployment\/agent-native-framework agent-manager=agent-native-framework:v1\.4\.2$/,
    preview: [/^image of agent-manager agent-native-framework:v1\.5\.0 → agent-native-framework:v1\.4\.2$/],
    writes: ['deployments/agent-native-framework'],
    settled: (f) => expect(f.workload.revisions.length).toBeGreaterThan(1),
  },
  {
    scenario: 'oom',
    name: 'a higher memory limit',
    action: () => ({ kind: 'set-resources', container: 'agent-manager', limits: { memory: '4Gi' } }),
    command: /^kubectl -n default set resources deployment\/agent-native-framework -c agent-manager --limits=memory=4Gi$/,
    preview: [/^memory limit of agent-manager 2Gi → 4Gi$/],
    writes: ['deployments/agent-native-framework'],
  },
  {
    scenario: 'cpu-starved',
    name: "the runbook's requests and limits (Resource Issues)",
    action: () => ({
      kind: 'set-resources',
      container: 'agent-manager',
      requests: { memory: '1Gi', cpu: '500m' },
      limits: { memory: '4Gi', cpu: '2000m' },
    }),
    command:
      /^kubectl -n default set resources deployment\/agent-native-framework -c agent-manager --limits=cpu=2000m,memory=4Gi --requests=cpu=500m,memory=1Gi$/,
    // The API server keeps quantities in canonical form: 2000m reads back as 2.
    preview: [
      /^memory limit of agent-manager 2Gi → 4Gi$/,
      /^cpu limit of agent-manager 100m → (2000m|2)$/,
      /^memory request of agent-manager 256Mi → 1Gi$/,
      /^cpu request of agent-manager 50m → 500m$/,
    ],
    writes: ['deployments/agent-native-framework'],
  },
  {
    scenario: 'bad-rollout',
    name: 'a hotfix image a person supplied',
    action: () => ({ kind: 'set-image', container: 'agent-manager', image: 'agent-native-framework:hotfix-v1.0.1' }),
    command: /^kubectl -n default set image deployment\/agent-native-framework agent-manager=agent-native-framework:hotfix-v1\.0\.1$/,
    preview: [/^image of agent-manager agent-native-framework:v1\.5\.0 → agent-native-framework:hotfix-v1\.0\.1$/],
    writes: ['deployments/agent-native-framework'],
  },
  {
    scenario: 'scaled-to-zero',
    name: 'scale to 2',
    action: () => ({ kind: 'scale', replicas: 2 }),
    command: /^kubectl -n default scale deployment\/agent-native-framework --replicas=2$/,
    preview: [/^replicas 0 → 2$/],
    writes: ['deployments/agent-native-framework'],
  },
  {
    scenario: 'config-error',
    name: 'restoring the last applied config and a restart',
    action: (f) => ({
      kind: 'restore-config-map',
      name: 'agent-config',
      keys: Object.fromEntries(f.config.configMaps[0]?.drift.map((d) => [d.key, d.lastAppliedSha256 ?? '']) ?? []),
      restartedAt,
    }),
    command:
      /^kubectl -n default patch configmap agent-config -p '\{"data":\{"AGENT_MAX_WORKERS":"<last applied, sha256 [0-9a-f]{12}>"\}\}' && kubectl -n default rollout restart deployment\/agent-native-framework$/,
    preview: [
      /^config map agent-config AGENT_MAX_WORKERS "eight" → "8" \(the last applied value: 1 bytes, sha256 2c624232cdd2\)$/,
      /^pods restart \(restartedAt \(none\) → 2030-01-01T00:00:00Z\)$/,
    ],
    writes: ['configmaps/agent-config', 'deployments/agent-native-framework'],
  },
  {
    scenario: 'selector-mismatch',
    name: "setting the selector to the pods' labels",
    action: (f) => ({ kind: 'set-service-selector', service: f.health.service.name ?? '', selector: f.health.podLabels }),
    command: /^kubectl -n default set selector service\/agent-native-framework 'app=agent-native-framework'$/,
    preview: [/^selector of service agent-native-framework app=agent-native-framework-v2 → app=agent-native-framework$/],
    writes: ['services/agent-native-framework'],
  },
];

describe.each(clusterKinds)('a fix on the %s cluster, previewed, applied and retried', (kind) => {
  const cluster = clustersForThisFile(kind);
  it.each(fixes.map((fix) => [fix.scenario, fix.name, fix] as const))(
    '%s, fixed by %s',
    async (_scenario, _name, fix) => {
      const started = await cluster(fix.scenario);
      const { controls, activities, run } = started;
      const findings = await eventually(() => run(() => investigate(activities)), fix.settled ?? (() => undefined));
      const req = request(fix.action(findings));

      // The preview: a server-side dry run of every write, nothing changed.
      const preview = await run(() => activities.previewMutation(req));
      expect(preview.command).toMatch(fix.command);
      expect(preview.wouldChange).toBe(true);
      for (const [i, change] of fix.preview.entries()) expect(preview.changes[i]).toMatch(change);
      expect(realWrites(controls.audit())).toEqual([]);
      expect(controls.audit().map((e) => `${e.resource}/${e.name}`)).toEqual(fix.writes);

      // The apply: one write per object, carrying the key, by our field manager.
      const applied = await run(() => activities.applyMutation(req));
      expect(applied).toMatchObject({ command: preview.command, changes: preview.changes, alreadyApplied: false });
      // The retry Temporal would make: the key is on every object, nothing is written again.
      const retried = await run(() => activities.applyMutation(req));
      expect(retried).toMatchObject({ alreadyApplied: true, changes: [], generation: applied.generation });
      const writes = realWrites(controls.audit());
      expect(writes.map((e) => `${e.resource}/${e.name}`)).toEqual(fix.writes);
      for (const write of writes) expect(write).toMatchObject({ verb: 'patch', idempotencyKey: req.idempotencyKey, fieldManager });

      // And the service recovers, as the runbook's verification sees it. The real cluster replaces pods one by one:
      // beside the rest of the suite on 2 cores that took more than 20 s (a CI run failed there), so it gets 60.
      // Under load the deployment can pass its progress deadline first; the controller marks it complete once its pods are ready.
      const rollout = await eventually(
        () => run(() => activities.waitForRollout(service, { timeoutSeconds: kind === 'real' ? 60 : 20 })),
        (r) => expect(r.complete).toBe(true),
        kind === 'real' ? 150_000 : 30_000,
      );
      expect(rollout).toEqual({ complete: true, message: 'deployment "agent-native-framework" successfully rolled out' });
      const verification = await eventually(
        () => run(() => activities.verifyRecovery(service, { restartsBaseline: 0 })),
        (v) => expect(v.checks.filter((c) => !c.ok)).toEqual([]),
      );
      expect(verification.recovered).toBe(true);
      expect(controls.isRecovered()).toBe(true);
      expectNoCanary(started, preview, applied, retried, rollout, verification);
    },
    150_000,
  );
});

describe.each(clusterKinds)('idempotency and state on the %s cluster', (kind) => {
  const cluster = clustersForThisFile(kind);
  it('records the key and the approver on the object', async () => {
    const { activities, run, kubeconfigPath } = await cluster('healthy');
    const req = request({ kind: 'rollout-restart', restartedAt });
    await run(() => activities.applyMutation(req));
    const { KubeConfig, AppsV1Api } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    const deployment = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: service.deployment, namespace: service.namespace });
    expect(deployment.metadata?.annotations).toMatchObject({ [idempotencyKeyAnnotation]: req.idempotencyKey, [approvedByAnnotation]: 'alice@example.com' });
    expect(deployment.spec?.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt']).toBe(restartedAt);
  });

  it('writes nothing when the object already is as asked, and says so in the preview', async () => {
    const { controls, activities, run } = await cluster('healthy');
    const req = request({ kind: 'scale', replicas: 2 });
    expect(await run(() => activities.previewMutation(req))).toMatchObject({ wouldChange: false, changes: [] });
    expect(await run(() => activities.applyMutation(req))).toMatchObject({ alreadyApplied: false, changes: [] });
    expect(controls.audit()).toEqual([]);
  });

  it('puts a key added by a patch away again: a dry-run shows the removal, the apply deletes it, a repeat writes nothing', async () => {
    const { activities, run, kubeconfigPath } = await cluster('healthy');
    await run(() => activities.applyMutation(request({ kind: 'patch-config-map', name: 'agent-config', data: { EXTRA_FLAG: 'on' }, restartedAt })));
    const removal = request({ kind: 'patch-config-map', name: 'agent-config', data: {}, remove: ['EXTRA_FLAG'], restartedAt: '2030-01-01T00:05:00Z' });
    const preview = await run(() => activities.previewMutation(removal));
    expect(preview).toMatchObject({ wouldChange: true, command: expect.stringContaining(`-p '{"data":{"EXTRA_FLAG":null}}'`) as unknown });
    expect(preview.changes.join('\n')).toMatch(/EXTRA_FLAG/);
    await run(() => activities.applyMutation(removal));
    const { KubeConfig, CoreV1Api } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    const cm = await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: 'agent-config', namespace: service.namespace });
    expect(cm.data?.['EXTRA_FLAG']).toBeUndefined();
    expect(cm.data?.['LOG_LEVEL']).toBeDefined();
    const again = request(
      { kind: 'patch-config-map', name: 'agent-config', data: {}, remove: ['EXTRA_FLAG'], restartedAt: '2030-01-01T00:05:00Z' },
      { idempotencyKey: 'k-other' },
    );
    expect((await run(() => activities.previewMutation(again))).changes.filter((c) => c.includes('EXTRA_FLAG'))).toEqual([]);
  });

  it('a second action with a new key writes again', async () => {
    const { controls, activities, run } = await cluster('healthy');
    await run(() => activities.applyMutation(request({ kind: 'rollout-restart', restartedAt: '2030-01-01T00:00:00Z' })));
    await run(() => activities.applyMutation(request({ kind: 'rollout-restart', restartedAt: '2030-01-01T00:05:00Z' })));
    expect(realWrites(controls.audit())).toHaveLength(2);
  });
});

describe.each(clusterKinds)('an approval bound to its dry-run on the %s cluster', (kind) => {
  const cluster = clustersForThisFile(kind);
  async function deployments(kubeconfigPath: string) {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    return kc.makeApiClient(AppsV1Api);
  }

  it('writes nothing when someone changed the object since the approved dry-run, and says what a dry-run shows now', async () => {
    const { activities, run, kubeconfigPath } = await cluster('healthy');
    const req = request({ kind: 'scale', replicas: 4 });
    const approved = await run(() => activities.previewMutation(req));
    expect(approved.changes).toEqual(['replicas 2 → 4']);
    // `kubectl scale --replicas=3` by someone else, between the approval and the apply.
    const api = await deployments(kubeconfigPath);
    await api.patchNamespacedDeployment(
      { name: service.deployment, namespace: service.namespace, body: { spec: { replicas: 3 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );

    const failure = await failureOf(run(() => activities.applyMutation({ ...req, approvedChanges: approved.changes })));
    expect(failure.type).toBe(FailureTypes.ApprovedPreviewChanged);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/^the object changed since the dry-run that was approved: it showed replicas 2 → 4; a dry-run now shows replicas 3 → 4$/);
    expect(failure.details?.[0]).toMatchObject({ wouldChange: true, changes: ['replicas 3 → 4'] });
    const deployment = await api.readNamespacedDeployment({ name: service.deployment, namespace: service.namespace });
    expect(deployment.spec?.replicas).toBe(3);
    expect(deployment.metadata?.annotations?.[idempotencyKeyAnnotation]).toBeUndefined();
  });

  it('applies when the dry-run still holds, and a retry after its write is not taken for a change', async () => {
    const { activities, run, kubeconfigPath } = await cluster('healthy');
    const req = request({ kind: 'scale', replicas: 4 });
    const approved = await run(() => activities.previewMutation(req));
    const bound = { ...req, approvedChanges: approved.changes };
    expect(await run(() => activities.applyMutation(bound))).toMatchObject({ alreadyApplied: false, changes: approved.changes });
    // Temporal's retry of an attempt whose answer was lost: the object carries the key, the dry-run now shows nothing.
    expect(await run(() => activities.applyMutation(bound))).toMatchObject({ alreadyApplied: true, changes: [] });
    const deployment = await (await deployments(kubeconfigPath)).readNamespacedDeployment({ name: service.deployment, namespace: service.namespace });
    expect(deployment.spec?.replicas).toBe(4);
  });
});

describe('refusals', () => {
  // One cluster for all: none of these may write, so none can disturb another.
  let shared: SandboxTestCluster;
  beforeAll(async () => {
    shared = await sandboxCluster('healthy');
  });
  it.each([
    [
      'a namespace outside the allowed ones',
      request({ kind: 'scale', replicas: 2 }, { service: { ...service, namespace: 'kube-system' } }),
      FailureTypes.GuardrailViolation,
      /namespace 'kube-system' are not allowed/,
    ],
    ['more replicas than the maximum', request({ kind: 'scale', replicas: 40 }), FailureTypes.GuardrailViolation, /40 replicas exceeds the maximum of 6/],
    [
      'memory above the ceiling',
      request({ kind: 'set-resources', container: 'agent-manager', limits: { memory: '16Gi' } }),
      FailureTypes.GuardrailViolation,
      /exceeds the memory ceiling of 4Gi/,
    ],
    [
      'a container the deployment does not have',
      request({ kind: 'set-image', container: 'sidecar', image: 'x:1' }),
      FailureTypes.BadRequest,
      /has no container 'sidecar' \(it has: agent-manager\)/,
    ],
    [
      'an image that is not an image reference',
      request({ kind: 'set-image', container: 'agent-manager', image: "app:v1'&&kubectl" }),
      FailureTypes.BadRequest,
      /set image: .* is not an image reference/,
    ],
    [
      'a revision not in the history',
      request({ kind: 'rollout-undo', toRevision: 42 }),
      FailureTypes.NotFound,
      /unable to find revision 42 .* \(it has: 2, 1\)/,
    ],
    [
      'a deployment that does not exist',
      request({ kind: 'rollout-restart', restartedAt }, { service: { ...service, deployment: 'nope' } }),
      FailureTypes.NotFound,
      /404 reading deployments\/nope in default/,
    ],
    [
      'a masked value written back',
      request({ kind: 'patch-config-map', name: 'agent-config', data: { API_TOKEN: '***' }, restartedAt }),
      FailureTypes.BadRequest,
      /carries the redaction mask for API_TOKEN/,
    ],
  ])('refuse %s, permanently and before any write', async (_case, req, type, message) => {
    const { sandbox, activities, run } = shared;
    for (const attempt of [() => activities.previewMutation(req), () => activities.applyMutation(req)] as (() => Promise<unknown>)[]) {
      const failure = await failureOf(run(attempt));
      expect(failure.type).toBe(type);
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toMatch(message);
      expectNoCanary(shared, failure.message);
    }
    expect(sandbox.audit()).toEqual([]);
  });
});
