// kubectl set selector service/NAME 'key=value,...'
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { ServiceRef } from '../../workflows/domain.js';
import { mutationCommand } from '../../workflows/mitigations.js';
import { selectorChanges } from '../diff.js';
import { call } from './call.js';
import type { KubeClients } from './cluster.js';
import { fieldManager, idempotencyKeyAnnotation, stampedMetadata, type MutationPlan } from './mutation.js';

/** `set selector` replaces the selector: keys not in the new one are removed (null in a merge patch). */
export function selectorPatch(current: Record<string, string>, wanted: Record<string, string>): Record<string, string | null> {
  const patch: Record<string, string | null> = { ...wanted };
  for (const key of Object.keys(current)) if (!(key in wanted)) patch[key] = null;
  return patch;
}

export function setServiceSelector(k: KubeClients, service: ServiceRef, name: string, selector: Record<string, string>): MutationPlan {
  const { namespace } = service;
  const op = { resource: 'services', name, namespace };
  return {
    command: mutationCommand(service, { kind: 'set-service-selector', service: name, selector }),
    steps: [
      {
        target: `services/${name}`,
        async prepare() {
          const current = await call(k, { verb: 'get', ...op }, () => k.core.readNamespacedService({ name, namespace }));
          const before = current.spec?.selector ?? {};
          const generation = current.metadata?.generation ?? 0;
          return {
            key: current.metadata?.annotations?.[idempotencyKeyAnnotation],
            generation,
            async write(stamp) {
              if (selectorChanges(name, before, selector).length === 0) return { changes: [], generation };
              const after = await call(k, { verb: 'patch', ...op }, () =>
                k.core.patchNamespacedService(
                  {
                    name,
                    namespace,
                    body: { metadata: stampedMetadata(current, stamp), spec: { selector: selectorPatch(before, selector) } },
                    fieldManager,
                    dryRun: stamp.dryRun ? 'All' : undefined,
                  },
                  setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
                ),
              );
              return { changes: selectorChanges(name, before, after.spec?.selector), generation: after.metadata?.generation ?? generation };
            },
          };
        },
      },
    ],
  };
}
