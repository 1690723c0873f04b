// kubectl scale deployment/X --replicas=N
import { PatchStrategy } from '@kubernetes/client-node';
import type { ServiceRef } from '../../workflows/domain.js';
import { mutationCommand } from '../../workflows/mitigations.js';
import type { KubeClients } from './cluster.js';
import { deploymentStep, stampedMetadata, type MutationPlan } from './mutation.js';

/**
 * A merge patch of the deployment's spec.replicas rather than kubectl's
 * deployments/scale subresource: the scale subresource cannot carry the
 * idempotency annotation, and a second write for it would leave a window in
 * which the scale is done but a retry cannot tell.
 */
export function scale(k: KubeClients, service: ServiceRef, replicas: number): MutationPlan {
  return {
    command: mutationCommand(service, { kind: 'scale', replicas }),
    steps: [
      deploymentStep(k, service, (current, stamp) =>
        current.spec?.replicas === replicas
          ? undefined
          : { strategy: PatchStrategy.MergePatch, body: { metadata: stampedMetadata(current, stamp), spec: { replicas } } },
      ),
    ],
  };
}
