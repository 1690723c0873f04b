// kubectl set image deployment/X CONTAINER=IMAGE
import { PatchStrategy } from '@kubernetes/client-node';
import type { ServiceRef } from '../../workflows/domain.js';
import { mutationCommand } from '../../workflows/mitigations.js';
import type { KubeClients } from './cluster.js';
import { deploymentStep, stampedMetadata, templateContainer, type MutationPlan } from './mutation.js';

export function setImage(k: KubeClients, service: ServiceRef, container: string, image: string): MutationPlan {
  return {
    command: mutationCommand(service, { kind: 'set-image', container, image }),
    steps: [
      deploymentStep(k, service, (current, stamp) =>
        templateContainer(current, container).image === image
          ? undefined
          : {
              strategy: PatchStrategy.StrategicMergePatch,
              // Containers merge by name: only this container's image changes.
              body: { metadata: stampedMetadata(current, stamp), spec: { template: { spec: { containers: [{ name: container, image }] } } } },
            },
      ),
    ],
  };
}
