// Runbook step 1: `kubectl get/describe deployment X`, `kubectl get/describe pods -l app=X`,
// plus the rollout history the root-cause analysis needs.
import type { V1Container, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import { WorkloadFindingsSchema, type ContainerSpec, type PodSummary, type Revision, type ServiceRef, type WorkloadFindings } from '../workflows/domain.js';
import type { ActivityDeps } from './injected-deps.js';
import {
  changeCauseAnnotation,
  isPodReady,
  isoTime,
  listPods,
  listReplicaSets,
  podRestarts,
  podTemplateHashLabel,
  readDeployment,
  revisionOf,
} from './kube/objects.js';
import { redact, truncate } from './redact.js';

const maxRevisions = 10;
const maxPods = 20;

function containerSpec(container: V1Container): ContainerSpec {
  const quantities = (list: Record<string, string> | undefined) => ({ cpu: list?.cpu, memory: list?.memory });
  return {
    name: container.name,
    image: container.image ?? '',
    requests: quantities(container.resources?.requests),
    limits: quantities(container.resources?.limits),
  };
}

function revisionSummary(rs: V1ReplicaSet): Revision {
  const changeCause = rs.metadata?.annotations?.[changeCauseAnnotation];
  return {
    revision: revisionOf(rs),
    replicaSet: rs.metadata?.name ?? '',
    images: (rs.spec?.template?.spec?.containers ?? []).map((c) => c.image ?? ''),
    changeCause: changeCause ? truncate(redact.text(changeCause), 200) : undefined,
    createdAt: isoTime(rs.metadata?.creationTimestamp) ?? '',
    readyReplicas: rs.status?.readyReplicas ?? 0,
  };
}

function podSummary(pod: V1Pod, revisionByHash: Map<string, number>): PodSummary {
  const statuses = pod.status?.containerStatuses ?? [];
  const waiting = statuses.find((s) => s.state?.waiting?.reason)?.state?.waiting?.reason;
  // The last crash: a container's previous termination, or its current one if it is terminated now.
  const terminated = statuses.map((s) => s.lastState?.terminated ?? s.state?.terminated).find((t) => t !== undefined);
  const hash = pod.metadata?.labels?.[podTemplateHashLabel];
  return {
    name: pod.metadata?.name ?? '',
    phase: pod.status?.phase ?? 'Unknown',
    ready: isPodReady(pod),
    restarts: podRestarts(pod),
    waitingReason: waiting,
    lastTermination: terminated ? { reason: terminated.reason ?? 'Unknown', exitCode: terminated.exitCode } : undefined,
    node: pod.spec?.nodeName,
    revision: hash === undefined ? undefined : revisionByHash.get(hash),
    startedAt: isoTime(pod.status?.startTime),
  };
}

/** Unhealthy pods first (they carry the evidence), then by name, so the bound keeps what matters. */
function byEvidence(a: PodSummary, b: PodSummary): number {
  return Number(a.ready) - Number(b.ready) || b.restarts - a.restarts || a.name.localeCompare(b.name);
}

const absent: WorkloadFindings = {
  exists: false,
  desiredReplicas: 0,
  readyReplicas: 0,
  availableReplicas: 0,
  updatedReplicas: 0,
  generation: 0,
  observedGeneration: 0,
  currentRevision: 0,
  selector: {},
  containers: [],
  conditions: [],
  revisions: [],
  pods: [],
};

export async function inspectWorkload(deps: ActivityDeps, service: ServiceRef): Promise<WorkloadFindings> {
  const k = deps.kube.clients(service.cluster);
  const deployment = await readDeployment(k, service);
  if (!deployment) return absent;
  const [replicaSets, pods] = await Promise.all([listReplicaSets(k, service.namespace, deployment), listPods(k, service.namespace, deployment)]);
  const revisionByHash = new Map<string, number>();
  for (const rs of replicaSets) {
    const hash = rs.metadata?.labels?.[podTemplateHashLabel];
    if (hash !== undefined) revisionByHash.set(hash, revisionOf(rs));
  }
  const status = deployment.status;
  return WorkloadFindingsSchema.parse({
    exists: true,
    desiredReplicas: deployment.spec?.replicas ?? 1,
    readyReplicas: status?.readyReplicas ?? 0,
    availableReplicas: status?.availableReplicas ?? 0,
    updatedReplicas: status?.updatedReplicas ?? 0,
    generation: deployment.metadata?.generation ?? 0,
    observedGeneration: status?.observedGeneration ?? 0,
    currentRevision: revisionOf(deployment),
    selector: deployment.spec?.selector?.matchLabels ?? {},
    containers: (deployment.spec?.template?.spec?.containers ?? []).map(containerSpec),
    conditions: (status?.conditions ?? []).map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message ? truncate(redact.text(c.message), 300) : undefined,
    })),
    revisions: replicaSets.slice(0, maxRevisions).map(revisionSummary),
    ...(Object.keys(deployment.spec?.template?.spec?.nodeSelector ?? {}).length > 0 ? { nodeSelector: deployment.spec?.template?.spec?.nodeSelector } : {}),
    pods: pods
      .map((pod) => podSummary(pod, revisionByHash))
      .sort(byEvidence)
      .slice(0, maxPods),
  });
}
