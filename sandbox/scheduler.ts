// The scheduler: binds each pending pod to a node whose allocatable cpu, memory
// and pod count leave room for the pod's requests, or records why none does
// (PodScheduled=False and a FailedScheduling event, worded as kube-scheduler).
import type { EventRecorder } from './events.js';
import { bytes, milliCpu } from './quantity.js';
import { R } from './resources.js';
import { keyOf, type Store } from './store.js';
import { isoSeconds } from './time.js';
import type { Timing } from './timing.js';
import type { Node, Pod, PodSpec } from './types.js';

export interface PodResources {
  requestCpu: number;
  requestMemory: number;
  limitCpu: number;
  limitMemory: number;
}

/** Sums the containers' requests and limits (millicores, bytes). */
export function podResources(spec: PodSpec): PodResources {
  const r = { requestCpu: 0, requestMemory: 0, limitCpu: 0, limitMemory: 0 };
  for (const c of spec.containers) {
    r.requestCpu += milliCpu(c.resources?.requests?.cpu);
    r.requestMemory += bytes(c.resources?.requests?.memory);
    r.limitCpu += milliCpu(c.resources?.limits?.cpu);
    r.limitMemory += bytes(c.resources?.limits?.memory);
  }
  return r;
}

/** Pods that hold node resources: bound and not finished. */
export function occupiesNode(pod: Pod): boolean {
  return Boolean(pod.spec.nodeName) && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

function nodeReady(node: Node): boolean {
  return (node.status?.conditions ?? []).find((c) => c.type === 'Ready')?.status !== 'False';
}

export class Scheduler {
  private readonly pending = new Set<string>();
  private readonly lastFailure = new Map<string, { at: number; message: string }>();

  constructor(
    private readonly store: Store,
    private readonly events: EventRecorder,
    private readonly timing: Timing,
  ) {
    store.subscribe((change) => {
      if (change.resource !== R.pods) return;
      const pod = change.object as Pod;
      const key = keyOf(pod.metadata.namespace, pod.metadata.name);
      if (change.type !== 'DELETED' && !pod.spec.nodeName && !pod.metadata.deletionTimestamp) this.pending.add(key);
      else {
        this.pending.delete(key);
        this.lastFailure.delete(key);
      }
    });
  }

  schedule(now: number): void {
    if (this.pending.size === 0) return;
    const nodes = this.store.list<Node>(R.nodes);
    const used = new Map<string, { cpu: number; memory: number; pods: number }>(nodes.map((n) => [n.metadata.name, { cpu: 0, memory: 0, pods: 0 }]));
    for (const pod of this.store.list<Pod>(R.pods)) {
      const u = occupiesNode(pod) ? used.get(pod.spec.nodeName ?? '') : undefined;
      if (!u) continue;
      const r = podResources(pod.spec);
      u.cpu += r.requestCpu;
      u.memory += r.requestMemory;
      u.pods += 1;
    }
    for (const key of [...this.pending]) {
      const [namespace, name] = key.split('/') as [string, string];
      const pod = this.store.get<Pod>(R.pods, namespace, name);
      if (!pod) continue;
      const need = podResources(pod.spec);
      const reasons = new Map<string, number>();
      const note = (reason: string) => reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      let best: { node: Node; score: number } | undefined;
      for (const node of nodes) {
        const u = used.get(node.metadata.name);
        if (!u) continue;
        const alloc = node.status?.allocatable ?? {};
        const [cpu, memory, pods] = [milliCpu(alloc.cpu), bytes(alloc.memory), Number(alloc.pods ?? 110)];
        if (node.spec?.unschedulable) note('node(s) were unschedulable');
        else if (!nodeReady(node)) note('node(s) had untolerated taint {node.kubernetes.io/not-ready: }');
        else if (Object.entries(pod.spec.nodeSelector ?? {}).some(([k, v]) => node.metadata.labels?.[k] !== v))
          note("node(s) didn't match Pod's node affinity/selector");
        else {
          const fits = [
            need.requestCpu <= cpu - u.cpu || 'Insufficient cpu',
            need.requestMemory <= memory - u.memory || 'Insufficient memory',
            u.pods < pods || 'Too many pods',
          ];
          const failed = fits.filter((f): f is string => f !== true);
          failed.forEach(note);
          if (failed.length === 0) {
            // Least allocated: spread pods over nodes, as the default scoring does.
            const score = (u.memory + need.requestMemory) / Math.max(memory, 1) + (u.cpu + need.requestCpu) / Math.max(cpu, 1);
            if (!best || score < best.score) best = { node, score };
          }
        }
      }
      if (best) {
        const u = used.get(best.node.metadata.name);
        if (u) {
          u.cpu += need.requestCpu;
          u.memory += need.requestMemory;
          u.pods += 1;
        }
        this.bind(pod, best.node, now);
      } else {
        this.unschedulable(key, pod, nodes.length, reasons, now);
      }
    }
  }

  private bind(pod: Pod, node: Node, now: number): void {
    const conditions = [{ type: 'PodScheduled', status: 'True' as const, lastProbeTime: null, lastTransitionTime: isoSeconds(now) }];
    const bound = this.store.update(R.pods, {
      ...pod,
      spec: { ...pod.spec, nodeName: node.metadata.name },
      status: { ...pod.status, phase: 'Pending', conditions },
    });
    this.events.record(bound, 'Normal', 'Scheduled', `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${node.metadata.name}`, {
      component: 'default-scheduler',
    });
  }

  private unschedulable(key: string, pod: Pod, nodeCount: number, reasons: Map<string, number>, now: number): void {
    const detail = [...reasons]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([r, n]) => `${n} ${r}`)
      .join(', ');
    const message = `0/${nodeCount} nodes are available: ${detail || 'no nodes available to schedule pods'}. preemption: 0/${nodeCount} nodes are available: ${nodeCount} No preemption victims found for incoming pod.`;
    const last = this.lastFailure.get(key);
    // The scheduler retries with back-off; record at most one attempt per back-off period.
    if (last && last.message === message && now - last.at < this.timing.crashLoopMs) return;
    this.lastFailure.set(key, { at: now, message });
    const condition = {
      type: 'PodScheduled',
      status: 'False' as const,
      reason: 'Unschedulable',
      message,
      lastProbeTime: null,
      lastTransitionTime: isoSeconds(now),
    };
    const current = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    const updated =
      current?.status === 'False' && current.message === message
        ? pod
        : this.store.update(R.pods, { ...pod, status: { ...pod.status, phase: 'Pending', conditions: [condition] } });
    this.events.record(updated, 'Warning', 'FailedScheduling', message, { component: 'default-scheduler' });
  }
}
