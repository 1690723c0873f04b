// kubectl rollout restart deployment/X (with the restartedAt timestamp the workflow chose)
import { PatchStrategy } from '@kubernetes/client-node';
import type { ServiceRef } from '../../workflows/domain.js';
import { mutationCommand } from '../../workflows/mitigations.js';
import type { KubeClients } from './cluster.js';
import { deploymentStep, stampedMetadata, type MutationPlan, type WriteStep } from './mutation.js';
import { restartedAtAnnotation } from './objects.js';

/** The template annotation kubectl sets; a new value rolls every pod. The same value again changes nothing. */
export function restartStep(k: KubeClients, service: ServiceRef, restartedAt: string): WriteStep {
  return deploymentStep(k, service, (current, stamp) =>
    current.spec?.template?.metadata?.annotations?.[restartedAtAnnotation] === restartedAt
      ? undefined
      : {
          strategy: PatchStrategy.StrategicMergePatch,
          body: { metadata: stampedMetadata(current, stamp), spec: { template: { metadata: { annotations: { [restartedAtAnnotation]: restartedAt } } } } },
        },
  );
}

export function rolloutRestart(k: KubeClients, service: ServiceRef, restartedAt: string): MutationPlan {
  return {
    command: mutationCommand(service, { kind: 'rollout-restart', restartedAt }),
    steps: [restartStep(k, service, restartedAt)],
  };
}
