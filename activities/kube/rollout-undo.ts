// kubectl rollout undo deployment/X --to-revision=N
// As kubectl's DeploymentRollbacker does it: the target revision's replica set
// template minus its pod-template-hash label replaces the deployment's, and
// the deployment's annotations become the replica set's (change-cause) plus the
// deployment's own revision bookkeeping, in one JSON patch.
import { PatchStrategy, type V1Deployment, type V1PodTemplateSpec, type V1ReplicaSet } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import type { ServiceRef } from '../../workflows/domain.js';
import { mutationCommand } from '../../workflows/mitigations.js';
import { canonicalJson as canonical } from '../../workflows/json.js';
import type { Guardrails } from '../injected-deps.js';
import { deploymentChanges } from '../diff.js';
import { checkContainers } from '../guardrails.js';
import { FailureTypes } from '../types.js';
import type { KubeClients } from './cluster.js';
import { deploymentStep, type MutationPlan } from './mutation.js';
import { lastAppliedAnnotation, listReplicaSets, podTemplateHashLabel, revisionAnnotation, revisionOf } from './objects.js';

/** Annotations kubectl keeps from the deployment rather than copying from the replica set. */
const annotationsToSkip = new Set([
  lastAppliedAnnotation,
  revisionAnnotation,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);

/** The replica set's template as the deployment would carry it: without the controller's hash label. */
export function templateOf(rs: V1ReplicaSet): V1PodTemplateSpec {
  const template = structuredClone(rs.spec?.template ?? {});
  if (template.metadata?.labels) delete template.metadata.labels[podTemplateHashLabel];
  return template;
}

/** The annotations the deployment gets: its own bookkeeping, the replica set's, then ours. */
export function rollbackAnnotations(deployment: V1Deployment, rs: V1ReplicaSet, ours: Record<string, string>): Record<string, string> {
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(deployment.metadata?.annotations ?? {})) if (annotationsToSkip.has(key)) annotations[key] = value;
  for (const [key, value] of Object.entries(rs.metadata?.annotations ?? {})) if (!annotationsToSkip.has(key)) annotations[key] = value;
  return { ...annotations, ...ours };
}

function images(template: V1PodTemplateSpec | undefined): string {
  return (template?.spec?.containers ?? []).map((c) => c.image ?? '').join(', ');
}

export function rolloutUndo(k: KubeClients, service: ServiceRef, toRevision: number, guardrails: Guardrails): MutationPlan {
  const name = service.deployment;
  return {
    command: mutationCommand(service, { kind: 'rollout-undo', toRevision }),
    steps: [
      deploymentStep(k, service, async (current, stamp) => {
        if (current.spec?.paused) {
          throw ApplicationFailure.nonRetryable(
            `deployment ${name} is paused: a rollback would not roll out; resume it first (kubectl rollout resume deployment/${name})`,
            FailureTypes.BadRequest,
          );
        }
        const history = await listReplicaSets(k, service.namespace, current);
        const target = history.find((rs) => revisionOf(rs) === toRevision);
        if (!target) {
          throw ApplicationFailure.nonRetryable(
            `unable to find revision ${toRevision} of deployment ${name} in its history (it has: ${history.map(revisionOf).join(', ') || 'none'}); pick one of those`,
            FailureTypes.NotFound,
          );
        }
        const template = templateOf(target);
        checkContainers(guardrails, template.spec?.containers ?? [], `revision ${toRevision}`);
        // kubectl: "skipped rollback (current template already matches revision N)".
        if (canonical(template) === canonical(current.spec?.template)) return undefined;
        return {
          strategy: PatchStrategy.JsonPatch,
          body: [
            { op: 'replace', path: '/spec/template', value: template },
            { op: 'replace', path: '/metadata/annotations', value: rollbackAnnotations(current, target, stamp.annotations) },
            // Not in kubectl's patch: makes the write conditional on what was read (a 409 otherwise).
            { op: 'replace', path: '/metadata/resourceVersion', value: current.metadata?.resourceVersion },
          ],
          describe: (before, after) => [
            `revision ${revisionOf(before)} (image ${images(before.spec?.template)}) → revision ${toRevision} (image ${images(template)})`,
            ...deploymentChanges(before, after).filter((change) => !change.startsWith('image of ')),
          ],
        };
      }),
    ],
  };
}
