// Runbook step 3: `kubectl describe nodes` (conditions, allocatable vs
// requested), `kubectl top pods -l app=X`, `kubectl describe resourcequota`,
// and the FailedScheduling events of the service's pods.
import type { V1Pod } from '@kubernetes/client-node';
import { ResourceFindingsSchema, type ResourceFindings, type ServiceRef } from '../workflows/domain.js';
import type { ActivityDeps } from './injected-deps.js';
import { call, callOrGap } from './kube/call.js';
import type { KubeClients } from './kube/cluster.js';
import { listPods, readDeployment, selectorString } from './kube/objects.js';
import { cpuMillis, memoryBytes } from './quantity.js';
import { redact, truncate } from './redact.js';

const maxSchedulingFailures = 5;

interface PodMetrics {
  metadata?: { name?: string };
  containers?: { name?: string; usage?: { cpu?: string; memory?: string } }[];
}

/** The sum of a pod's container requests, as the scheduler counts them against a node. */
function podRequests(pod: V1Pod): { cpuMillis: number; memoryBytes: number } {
  const containers = pod.spec?.containers ?? [];
  return {
    cpuMillis: containers.reduce((sum, c) => sum + cpuMillis(c.resources?.requests?.cpu), 0),
    memoryBytes: containers.reduce((sum, c) => sum + memoryBytes(c.resources?.requests?.memory), 0),
  };
}

function podMemoryLimit(pod: V1Pod): number | undefined {
  const limits = (pod.spec?.containers ?? []).map((c) => c.resources?.limits?.memory);
  return limits.every((l) => l !== undefined) && limits.length > 0 ? limits.reduce((sum, l) => sum + memoryBytes(l), 0) : undefined;
}

async function nodeFindings(k: KubeClients, gaps: string[]): Promise<ResourceFindings['nodes']> {
  const [nodes, pods] = await Promise.all([
    callOrGap(k, { verb: 'list', resource: 'nodes' }, () => k.core.listNode({}), gaps, 'node conditions and capacity unknown'),
    // What `describe nodes` sums as "Allocated resources": every pod bound to the node that has not finished.
    callOrGap(
      k,
      { verb: 'list', resource: 'pods' },
      () => k.core.listPodForAllNamespaces({ fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' }),
      gaps,
      "other namespaces' requests on the nodes unknown",
    ),
  ]);
  if (!nodes) return [];
  const requested = new Map<string, { cpuMillis: number; memoryBytes: number }>();
  for (const pod of pods?.items ?? []) {
    const node = pod.spec?.nodeName;
    if (!node || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
    const sum = requested.get(node) ?? { cpuMillis: 0, memoryBytes: 0 };
    const add = podRequests(pod);
    requested.set(node, { cpuMillis: sum.cpuMillis + add.cpuMillis, memoryBytes: sum.memoryBytes + add.memoryBytes });
  }
  return nodes.items.map((node) => {
    const name = node.metadata?.name ?? '';
    const conditions = node.status?.conditions ?? [];
    return {
      name,
      ready: conditions.some((c) => c.type === 'Ready' && c.status === 'True'),
      pressure: conditions.filter((c) => c.type !== 'Ready' && c.status === 'True').map((c) => c.type),
      allocatable: { cpuMillis: cpuMillis(node.status?.allocatable?.cpu), memoryBytes: memoryBytes(node.status?.allocatable?.memory) },
      requested: requested.get(name) ?? { cpuMillis: 0, memoryBytes: 0 },
    };
  });
}

async function podUsage(k: KubeClients, namespace: string, pods: V1Pod[], labelSelector: string, gaps: string[]): Promise<ResourceFindings['podUsage']> {
  // metrics.k8s.io is optional in a cluster (metrics-server): without it there are no usage figures, and the findings say so.
  const metrics: unknown = await callOrGap(
    k,
    { verb: 'list', resource: 'pods.metrics.k8s.io', namespace },
    () => k.custom.listNamespacedCustomObject({ group: 'metrics.k8s.io', version: 'v1beta1', namespace, plural: 'pods', labelSelector }),
    gaps,
    'memory and CPU use unknown (kubectl top needs metrics-server)',
  );
  const items = (metrics as { items?: PodMetrics[] } | undefined)?.items ?? [];
  const byName = new Map(pods.map((pod) => [pod.metadata?.name ?? '', pod]));
  return items.map((item) => {
    const name = item.metadata?.name ?? '';
    const pod = byName.get(name);
    return {
      pod: name,
      cpuMillis: (item.containers ?? []).reduce((sum, c) => sum + cpuMillis(c.usage?.cpu), 0),
      memoryBytes: (item.containers ?? []).reduce((sum, c) => sum + memoryBytes(c.usage?.memory), 0),
      memoryLimitBytes: pod ? podMemoryLimit(pod) : undefined,
    };
  });
}

export async function inspectResources(deps: ActivityDeps, service: ServiceRef): Promise<ResourceFindings> {
  const k = deps.kube.clients(service.cluster);
  const { namespace } = service;
  const deployment = await readDeployment(k, service);
  const pods = deployment ? await listPods(k, namespace, deployment) : [];
  const podNames = new Set(pods.map((pod) => pod.metadata?.name ?? ''));
  const gaps: string[] = [];
  const [nodes, usage, quotas, events] = await Promise.all([
    nodeFindings(k, gaps),
    deployment ? podUsage(k, namespace, pods, selectorString(deployment.spec?.selector), gaps) : [],
    callOrGap(k, { verb: 'list', resource: 'resourcequotas', namespace }, () => k.core.listNamespacedResourceQuota({ namespace }), gaps, 'quota use unknown'),
    call(k, { verb: 'list', resource: 'events', namespace }, () => k.core.listNamespacedEvent({ namespace, fieldSelector: 'reason=FailedScheduling' })),
  ]);
  const schedulingFailures = events.items
    .filter((e) => e.reason === 'FailedScheduling' && e.involvedObject.kind === 'Pod' && podNames.has(e.involvedObject.name ?? ''))
    .map((e) => truncate(redact.text(e.message ?? ''), 300));
  return ResourceFindingsSchema.parse({
    nodes,
    podUsage: usage,
    quotas: (quotas?.items ?? []).map((q) => ({ name: q.metadata?.name ?? '', hard: q.status?.hard ?? q.spec?.hard ?? {}, used: q.status?.used ?? {} })),
    schedulingFailures: [...new Set(schedulingFailures)].slice(-maxSchedulingFailures),
    // Sorted: the calls run in parallel, and the order they fail in is not a finding.
    ...(gaps.length > 0 ? { gaps: gaps.sort() } : {}),
  });
}
