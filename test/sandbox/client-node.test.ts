// @kubernetes/client-node 1.4 against the sandbox with no special case: the
// runbook's reads, and its writes with the patch content type each one needs.
import {
  ApiException,
  Metrics,
  NetworkingV1Api,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  Watch,
  type V1Deployment,
  type V1ReplicaSet,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxFor, waitFor, type TestSandbox } from './helpers.js';

const namespace = 'default';
const name = 'agent-native-framework';
const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

async function rejection(promise: Promise<unknown>): Promise<ApiException<string>> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof ApiException) return e as ApiException<string>;
    throw e;
  }
  throw new Error('expected the call to fail');
}

describe('client-node reads (runbook steps 1-5)', () => {
  let t: TestSandbox;
  beforeAll(async () => {
    t = await sandboxFor();
  });
  afterAll(() => t.close());

  it('reads the deployment, its replica sets and pods', async () => {
    const d = await t.apps.readNamespacedDeployment({ name, namespace });
    expect(d.spec?.template.spec?.containers[0]?.name).toBe('agent-manager');
    expect(d.status).toMatchObject({ replicas: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2 });
    expect(d.status?.conditions?.map((c) => [c.type, c.status])).toEqual([
      ['Available', 'True'],
      ['Progressing', 'True'],
    ]);
    const rs = await t.apps.listNamespacedReplicaSet({ namespace, labelSelector: `app=${name}` });
    expect(rs.items.map((r) => r.metadata?.annotations?.['deployment.kubernetes.io/revision']).sort()).toEqual(['1', '2']);
    expect(rs.items.every((r) => r.metadata?.ownerReferences?.[0]?.uid === d.metadata?.uid && r.metadata?.ownerReferences?.[0]?.controller === true)).toBe(
      true,
    );
    const pods = await t.core.listNamespacedPod({ namespace, labelSelector: `app=${name}` });
    expect(pods.items).toHaveLength(2);
    expect(pods.items.every((p) => p.status?.phase === 'Running' && p.status.containerStatuses?.[0]?.ready)).toBe(true);
    // Timestamps arrive as Dates: the serializer understood them.
    expect(pods.items[0]?.metadata?.creationTimestamp).toBeInstanceOf(Date);
  });

  it('reads logs, events, nodes, quota, usage metrics', async () => {
    const pods = await t.core.listNamespacedPod({ namespace, labelSelector: `app=${name}` });
    const pod = pods.items[0]?.metadata?.name ?? '';
    const log = await t.core.readNamespacedPodLog({ name: pod, namespace, tailLines: 3 });
    expect(log.trimEnd().split('\n')).toHaveLength(3);
    const previous = await rejection(t.core.readNamespacedPodLog({ name: pod, namespace, previous: true }));
    expect(previous.code).toBe(400);
    const events = await t.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${pod}` });
    expect(events.items.map((e) => e.reason)).toEqual(expect.arrayContaining(['Scheduled', 'Started']));
    const nodes = await t.core.listNode();
    expect(nodes.items.length).toBeGreaterThanOrEqual(2);
    expect(nodes.items[0]?.status?.allocatable?.memory).toBeDefined();
    const quota = await t.core.listNamespacedResourceQuota({ namespace });
    expect(quota.items[0]?.status?.used?.pods).toBe('2');
    const metrics = await new Metrics(t.kc).getPodMetrics(namespace);
    expect(metrics.items.map((m) => m.metadata.name).sort()).toEqual(pods.items.map((p) => p.metadata?.name).sort());
    expect(metrics.items[0]?.containers[0]?.usage.memory).toMatch(/Ki$/);
  });

  it('reads configuration (secret key names), service account and role bindings, service, endpoints, ingress', async () => {
    const cm = await t.core.readNamespacedConfigMap({ name: 'agent-config', namespace });
    expect(cm.data?.LOG_LEVEL).toBe('info');
    expect(JSON.parse(cm.metadata?.annotations?.['kubectl.kubernetes.io/last-applied-configuration'] ?? '{}')).toMatchObject({ data: cm.data });
    const secret = await t.core.readNamespacedSecret({ name: 'agent-secrets', namespace });
    expect(Object.keys(secret.data ?? {})).toContain('ANTHROPIC_API_KEY');
    await t.core.readNamespacedServiceAccount({ name, namespace });
    const rbac = t.kc.makeApiClient(RbacAuthorizationV1Api);
    const bindings = await rbac.listNamespacedRoleBinding({ namespace });
    expect(bindings.items[0]?.subjects?.[0]).toMatchObject({ kind: 'ServiceAccount', name });
    const clusterBindings = await rbac.listClusterRoleBinding();
    expect(clusterBindings.items.some((b) => b.subjects?.some((s) => s.name === name))).toBe(true);
    const svc = await t.core.readNamespacedService({ name, namespace });
    expect(svc.spec?.ports?.map((p) => p.port)).toEqual([8080, 8000]);
    const ep = await t.core.readNamespacedEndpoints({ name, namespace });
    expect(ep.subsets?.[0]?.addresses).toHaveLength(2);
    const ing = await t.kc.makeApiClient(NetworkingV1Api).listNamespacedIngress({ namespace });
    expect(ing.items[0]?.spec?.rules?.[0]?.http?.paths[0]?.backend.service?.name).toBe(name);
  });

  it('probes health and metrics through the service proxy', async () => {
    // The client parses a JSON answer although the method is typed as returning a string.
    const json = (v: unknown): unknown => (typeof v === 'string' ? JSON.parse(v) : v);
    const live = await t.core.connectGetNamespacedServiceProxyWithPath({ name: `${name}:8080`, namespace, path: 'health/live' });
    expect(json(live)).toEqual({ status: 'ok' });
    const ready = await t.core.connectGetNamespacedServiceProxyWithPath({ name: `${name}:8080`, namespace, path: 'health/ready' });
    expect(json(ready)).toMatchObject({ status: 'ready' });
    const metrics = await t.core.connectGetNamespacedServiceProxyWithPath({ name: `${name}:8000`, namespace, path: 'metrics' });
    expect(String(metrics)).toMatch(/http_requests_total\{method="POST",route="\/v1\/agents\/run",code="200"\} \d+/);
    expect(String(metrics)).toContain('http_request_duration_seconds_bucket');
  });

  it('reports a missing object as ApiException 404 with a Status body', async () => {
    const e = await rejection(t.apps.readNamespacedDeployment({ name: 'nope', namespace }));
    expect(e.code).toBe(404);
    expect(JSON.parse(e.body)).toMatchObject({ kind: 'Status', reason: 'NotFound' });
  });
});

describe('client-node writes', () => {
  let t: TestSandbox;
  beforeAll(async () => {
    t = await sandboxFor({ scenario: 'bad-rollout' });
  });
  afterAll(() => t.close());

  it('rolls back with a JSON patch of the previous revision, as kubectl rollout undo does, and the old replica set gets a new revision', async () => {
    const d = await t.apps.readNamespacedDeployment({ name, namespace });
    const all = await t.apps.listNamespacedReplicaSet({ namespace, labelSelector: `app=${name}` });
    const revision = (rs: V1ReplicaSet) => Number(rs.metadata?.annotations?.['deployment.kubernetes.io/revision']);
    const byRevision = [...all.items].sort((a, b) => revision(b) - revision(a));
    expect(byRevision.map(revision)).toEqual([3, 2, 1]);
    const previous = byRevision[1] as V1ReplicaSet;
    const template = structuredClone(previous.spec?.template);
    delete template?.metadata?.labels?.['pod-template-hash'];
    const cause = previous.metadata?.annotations?.['kubernetes.io/change-cause'] ?? '';
    await t.apps.patchNamespacedDeployment({
      name,
      namespace,
      body: [
        { op: 'replace', path: '/spec/template', value: template },
        {
          op: 'replace',
          path: '/metadata/annotations',
          value: { 'deployment.kubernetes.io/revision': d.metadata?.annotations?.['deployment.kubernetes.io/revision'], 'kubernetes.io/change-cause': cause },
        },
      ],
    });
    await waitFor('recovery after the rollback', () => t.sandbox.isRecovered());
    const rolled = await t.apps.readNamespacedReplicaSet({ name: previous.metadata?.name ?? '', namespace });
    expect(rolled.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('4');
    const after = await t.apps.readNamespacedDeployment({ name, namespace });
    expect(after.metadata?.annotations).toMatchObject({ 'deployment.kubernetes.io/revision': '4', 'kubernetes.io/change-cause': cause });
    expect(after.status?.observedGeneration).toBe(after.metadata?.generation);
  });

  it('restarts with a strategic merge patch, scales through the scale subresource with a merge patch', async () => {
    const before = await t.apps.readNamespacedDeployment({ name, namespace });
    await t.apps.patchNamespacedDeployment(
      {
        name,
        namespace,
        fieldManager: 'incident-worker',
        body: { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } } },
      },
      strategic,
    );
    const scaled = await t.apps.patchNamespacedDeploymentScale({ name, namespace, body: { spec: { replicas: 3 } } }, merge);
    expect(scaled.spec?.replicas).toBe(3);
    await waitFor('three ready replicas of a new revision', async () => {
      const d = await t.apps.readNamespacedDeployment({ name, namespace });
      return (
        d.status?.readyReplicas === 3 &&
        d.status.updatedReplicas === 3 &&
        d.status.replicas === 3 &&
        d.metadata?.annotations?.['deployment.kubernetes.io/revision'] === '5'
      );
    });
    expect((await t.apps.readNamespacedDeployment({ name, namespace })).metadata?.generation).toBeGreaterThan(before.metadata?.generation ?? 0);
    expect(t.sandbox.audit().filter((e) => e.fieldManager === 'incident-worker')).toHaveLength(1);
  });

  it('raises a memory limit by strategic merge (containers merge by name) after a server-side dry run', async () => {
    const body = { spec: { template: { spec: { containers: [{ name: 'agent-manager', resources: { limits: { memory: '4Gi' } } }] } } } };
    const preview = await t.apps.patchNamespacedDeployment({ name, namespace, body, dryRun: 'All' }, strategic);
    expect(preview.spec?.template.spec?.containers[0]?.resources?.limits).toEqual({ cpu: '1', memory: '4Gi' });
    expect((await t.apps.readNamespacedDeployment({ name, namespace })).spec?.template.spec?.containers[0]?.resources?.limits?.memory).toBe('2Gi');
    const applied = await t.apps.patchNamespacedDeployment({ name, namespace, body }, strategic);
    expect(applied.spec?.template.spec?.containers[0]?.image).toBe('agent-native-framework:v1.4.2');
    expect(t.sandbox.audit().map((e) => e.dryRun)).toContain(true);
  });

  it('patches a config map by merge patch and rejects a replace with a stale resourceVersion (409)', async () => {
    const cm = await t.core.readNamespacedConfigMap({ name: 'agent-config', namespace });
    await t.core.patchNamespacedConfigMap({ name: 'agent-config', namespace, body: { data: { LOG_LEVEL: 'DEBUG' } } }, merge);
    const e = await rejection(t.core.replaceNamespacedConfigMap({ name: 'agent-config', namespace, body: { ...cm, data: { ...cm.data, LOG_LEVEL: 'info' } } }));
    expect(e.code).toBe(409);
    expect(JSON.parse(e.body)).toMatchObject({ reason: 'Conflict' });
    expect((await t.core.readNamespacedConfigMap({ name: 'agent-config', namespace })).data?.LOG_LEVEL).toBe('DEBUG');
  });

  it('watches deployments as kubectl rollout status does', async () => {
    const seen: V1Deployment[] = [];
    const abort = await new Watch(t.kc).watch(
      `/apis/apps/v1/namespaces/${namespace}/deployments`,
      { fieldSelector: `metadata.name=${name}` },
      (phase, obj: V1Deployment) => {
        if (phase === 'MODIFIED' || phase === 'ADDED') seen.push(obj);
      },
      () => undefined,
    );
    await t.apps.patchNamespacedDeploymentScale({ name, namespace, body: { spec: { replicas: 2 } } }, merge);
    await waitFor('a watch event with 2 replicas', () => seen.some((d) => d.spec?.replicas === 2));
    abort.abort();
  });

  it('creates and deletes a pod, which terminates gracefully', async () => {
    const body = { metadata: { name: 'debug' }, spec: { containers: [{ name: 'debug', image: 'busybox:1.36' }] } };
    const created = await t.core.createNamespacedPod({ namespace, body });
    expect(created.status?.phase).toBe('Pending');
    await waitFor('the pod to run', async () => (await t.core.readNamespacedPod({ name: 'debug', namespace })).status?.phase === 'Running');
    const deleted = await t.core.deleteNamespacedPod({ name: 'debug', namespace });
    expect(deleted.metadata?.deletionTimestamp).toBeDefined();
    await waitFor('the pod to be gone', async () => (await rejection(t.core.readNamespacedPod({ name: 'debug', namespace }))).code === 404);
  });
});
