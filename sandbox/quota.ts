// ResourceQuota: admission (a pod that would exceed a quota is forbidden, as the
// quota admission plugin words it) and the quota controller that keeps
// status.used in step with the namespace's pods.
import { forbidden } from './errors.js';
import { bytes, formatBytes, formatCpu, milliCpu, parseQuantity } from './quantity.js';
import { R } from './resources.js';
import { podResources } from './scheduler.js';
import type { Store } from './store.js';
import type { Pod, ResourceQuota } from './types.js';

type Usage = Record<string, number>;

/** Quota-tracked usage of one pod, in base units (millicores, bytes, count). */
function podUsage(pod: Pod): Usage {
  const r = podResources(pod.spec);
  return {
    pods: 1,
    'requests.cpu': r.requestCpu,
    cpu: r.requestCpu,
    'requests.memory': r.requestMemory,
    memory: r.requestMemory,
    'limits.cpu': r.limitCpu,
    'limits.memory': r.limitMemory,
  };
}

function counts(pod: Pod): boolean {
  return pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

function namespaceUsage(store: Store, namespace: string): Usage {
  const total: Usage = {};
  for (const pod of store.list<Pod>(R.pods, namespace)) {
    if (!counts(pod)) continue;
    for (const [k, v] of Object.entries(podUsage(pod))) total[k] = (total[k] ?? 0) + v;
  }
  return total;
}

const isCpu = (resource: string) => resource === 'cpu' || resource.endsWith('.cpu');
const isMemory = (resource: string) => resource === 'memory' || resource.endsWith('.memory');

function hardValue(resource: string, q: string): number {
  if (isCpu(resource)) return milliCpu(q);
  if (isMemory(resource)) return bytes(q);
  return parseQuantity(q) ?? 0;
}

function format(resource: string, value: number): string {
  if (isCpu(resource)) return formatCpu(value);
  if (isMemory(resource)) return formatBytes(value);
  return String(value);
}

/** Throws 403 Forbidden when creating the pod would exceed a quota in its namespace. */
export function checkQuota(store: Store, pod: Pod): void {
  const namespace = pod.metadata.namespace ?? 'default';
  const quotas = store.list<ResourceQuota>(R.resourcequotas, namespace);
  if (quotas.length === 0) return;
  const used = namespaceUsage(store, namespace);
  const want = podUsage(pod);
  for (const quota of quotas) {
    const exceeded = Object.entries(quota.spec?.hard ?? {})
      .filter(([r, q]) => (want[r] ?? 0) > 0 && (used[r] ?? 0) + (want[r] ?? 0) > hardValue(r, String(q)))
      .map(([r, q]) => ({ r, q: String(q) }));
    if (exceeded.length > 0) {
      const list = (f: (e: { r: string; q: string }) => string) => exceeded.map(f).join(',');
      throw forbidden(
        'pods',
        '',
        pod.metadata.name,
        `exceeded quota: ${quota.metadata.name}, requested: ${list((e) => `${e.r}=${format(e.r, want[e.r] ?? 0)}`)}, used: ${list((e) => `${e.r}=${format(e.r, used[e.r] ?? 0)}`)}, limited: ${list((e) => `${e.r}=${e.q}`)}`,
      );
    }
  }
}

/** Recomputes status.hard and status.used for the quotas of the given namespaces. */
export function syncQuotas(store: Store, namespaces: Iterable<string>): void {
  for (const namespace of namespaces) {
    const quotas = store.list<ResourceQuota>(R.resourcequotas, namespace);
    if (quotas.length === 0) continue;
    const used = namespaceUsage(store, namespace);
    for (const quota of quotas) {
      const hard = Object.fromEntries(Object.entries(quota.spec?.hard ?? {}).map(([r, q]) => [r, String(q)]));
      const status = { hard, used: Object.fromEntries(Object.keys(hard).map((r) => [r, format(r, used[r] ?? 0)])) };
      if (JSON.stringify(status) !== JSON.stringify(quota.status)) store.update(R.resourcequotas, { ...quota, status });
    }
  }
}
