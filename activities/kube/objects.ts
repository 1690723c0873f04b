// Reads and object facts that several activities share: the service's
// deployment, its replica sets (rollout history) and its pods.
import type { V1Deployment, V1LabelSelector, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import type { ServiceRef } from '../../workflows/domain.js';
import { call, callOptional } from './call.js';
import type { KubeClients } from './cluster.js';

export const revisionAnnotation = 'deployment.kubernetes.io/revision';
export const changeCauseAnnotation = 'kubernetes.io/change-cause';
export const restartedAtAnnotation = 'kubectl.kubernetes.io/restartedAt';
export const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';
export const podTemplateHashLabel = 'pod-template-hash';

/** The deployment, or undefined when it does not exist. */
export function readDeployment(k: KubeClients, service: ServiceRef): Promise<V1Deployment | undefined> {
  const { namespace, deployment: name } = service;
  return callOptional(k, { verb: 'get', resource: 'deployments', name, namespace }, () => k.apps.readNamespacedDeployment({ name, namespace }));
}

/** A label selector in the query syntax (`app=x,tier in (a,b),!canary`). */
export function selectorString(selector: V1LabelSelector | undefined): string {
  const parts = Object.entries(selector?.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const { key, operator, values = [] } of selector?.matchExpressions ?? []) {
    if (operator === 'In') parts.push(`${key} in (${values.join(',')})`);
    else if (operator === 'NotIn') parts.push(`${key} notin (${values.join(',')})`);
    else if (operator === 'Exists') parts.push(key);
    else if (operator === 'DoesNotExist') parts.push(`!${key}`);
  }
  return parts.join(',');
}

export async function listPods(k: KubeClients, namespace: string, deployment: V1Deployment): Promise<V1Pod[]> {
  const labelSelector = selectorString(deployment.spec?.selector);
  const list = await call(k, { verb: 'list', resource: 'pods', namespace }, () => k.core.listNamespacedPod({ namespace, labelSelector }));
  return list.items;
}

/** The replica sets the deployment controls (its rollout history), newest revision first. */
export async function listReplicaSets(k: KubeClients, namespace: string, deployment: V1Deployment): Promise<V1ReplicaSet[]> {
  const labelSelector = selectorString(deployment.spec?.selector);
  const list = await call(k, { verb: 'list', resource: 'replicasets', namespace }, () => k.apps.listNamespacedReplicaSet({ namespace, labelSelector }));
  const uid = deployment.metadata?.uid;
  return list.items
    .filter((rs) => rs.metadata?.ownerReferences?.some((ref) => ref.controller && ref.uid === uid))
    .sort((a, b) => revisionOf(b) - revisionOf(a));
}

export function revisionOf(object: { metadata?: { annotations?: Record<string, string> } }): number {
  const revision = Number(object.metadata?.annotations?.[revisionAnnotation] ?? 0);
  return Number.isFinite(revision) ? revision : 0;
}

export function isPodReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function podRestarts(pod: V1Pod): number {
  return (pod.status?.containerStatuses ?? []).reduce((sum, status) => sum + status.restartCount, 0);
}

/** A pod whose containers all run: one that answers on its ports, ready or not. */
export function isPodRunning(pod: V1Pod): boolean {
  return (
    pod.status?.phase === 'Running' && !pod.metadata?.deletionTimestamp && (pod.status.containerStatuses ?? []).every((s) => s.state?.running !== undefined)
  );
}

/** Pods that count for the service now: not being deleted. */
export function livePods(pods: V1Pod[]): V1Pod[] {
  return pods.filter((pod) => !pod.metadata?.deletionTimestamp);
}

/** ISO time of a Date or a string the client left undeserialized. */
export function isoTime(value: Date | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
