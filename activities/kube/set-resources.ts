// kubectl set resources deployment/X -c CONTAINER --requests=cpu=...,memory=... --limits=cpu=...,memory=...
import { PatchStrategy } from '@kubernetes/client-node';
import type { ServiceRef } from '../../workflows/domain.js';
import { mutationCommand } from '../../workflows/mitigations.js';
import type { KubeClients } from './cluster.js';
import { deploymentStep, stampedMetadata, templateContainer, type MutationPlan } from './mutation.js';

type Quantities = { cpu?: string | undefined; memory?: string | undefined };

/** Only the quantities the action names; the others stay as they are. */
function given(quantities: Quantities | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(quantities ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

export function setResources(
  k: KubeClients,
  service: ServiceRef,
  container: string,
  requests: Quantities | undefined,
  limits: Quantities | undefined,
): MutationPlan {
  const wanted = { requests: given(requests), limits: given(limits) };
  return {
    command: mutationCommand(service, { kind: 'set-resources', container, requests, limits }),
    steps: [
      deploymentStep(k, service, (current, stamp) => {
        const resources = templateContainer(current, container).resources;
        const unchanged = (['requests', 'limits'] as const).every((kind) =>
          Object.entries(wanted[kind]).every(([resource, value]) => resources?.[kind]?.[resource] === value),
        );
        if (unchanged) return undefined;
        const patch: Record<string, Record<string, string>> = {};
        if (Object.keys(wanted.requests).length) patch.requests = wanted.requests;
        if (Object.keys(wanted.limits).length) patch.limits = wanted.limits;
        return {
          strategy: PatchStrategy.StrategicMergePatch,
          body: { metadata: stampedMetadata(current, stamp), spec: { template: { spec: { containers: [{ name: container, resources: patch }] } } } },
        };
      }),
    ],
  };
}
