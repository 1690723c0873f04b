// kubectl patch configmap NAME -p '{"data":{...}}' && kubectl rollout restart deployment/X
import { PatchStrategy, setHeaderOptions, type V1ConfigMap } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import type { ServiceRef } from '../../workflows/domain.js';
import { mutationCommand } from '../../workflows/mitigations.js';
import { dataChanges } from '../diff.js';
import { MASK, redact } from '../redact.js';
import { FailureTypes } from '../types.js';
import { call } from './call.js';
import type { KubeClients } from './cluster.js';
import { fieldManager, idempotencyKeyAnnotation, stampedMetadata, type MutationPlan, type WriteStep } from './mutation.js';
import { restartStep } from './rollout-restart.js';

export interface ConfigMapWrite {
  /** The data to write, decided from the object as read (it may refuse by throwing). */
  data: (current: V1ConfigMap) => Record<string, string>;
  /** After a real write, a check of the object as read back (it may refuse by throwing). */
  check?: (stored: Record<string, string>, data: Record<string, string>) => void;
  /** Keys to delete (sent as null in the merge patch). */
  remove?: string[];
  /** The change for people; the generic data diff if absent. */
  describe?: (before: Record<string, string>, after: Record<string, string>, data: Record<string, string>) => string[];
}

/** A merge patch of some keys of a config map's data, with our stamp and the read's resourceVersion. */
export function configMapStep(k: KubeClients, namespace: string, name: string, how: ConfigMapWrite): WriteStep {
  const op = { resource: 'configmaps', name, namespace };
  const read = () => call(k, { verb: 'get', ...op }, () => k.core.readNamespacedConfigMap({ name, namespace }));
  return {
    target: `configmaps/${name}`,
    async prepare() {
      const current = await read();
      const before = current.data ?? {};
      const data = how.data(current);
      return {
        key: current.metadata?.annotations?.[idempotencyKeyAnnotation],
        generation: 0,
        async write(stamp) {
          const remove = (how.remove ?? []).filter((key) => before[key] !== undefined);
          if (remove.length === 0 && Object.entries(data).every(([key, value]) => before[key] === value)) return { changes: [], generation: 0 };
          const body = { ...data, ...Object.fromEntries(remove.map((key) => [key, null])) };
          const after = await call(k, { verb: 'patch', ...op }, () =>
            k.core.patchNamespacedConfigMap(
              { name, namespace, body: { metadata: stampedMetadata(current, stamp), data: body }, fieldManager, dryRun: stamp.dryRun ? 'All' : undefined },
              setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
            ),
          );
          if (!stamp.dryRun && how.check) how.check((await read()).data ?? {}, data);
          const stored = after.data ?? {};
          return { changes: how.describe ? how.describe(before, stored, data) : dataChanges(`config map ${name}`, before, stored), generation: 0 };
        },
      };
    },
  };
}

/** Config is read at start-up: the patch is followed by a restart (with the workflow's timestamp) so pods pick it up. */
export function patchConfigMap(
  k: KubeClients,
  service: ServiceRef,
  name: string,
  data: Record<string, string>,
  restartedAt: string,
  remove?: string[],
): MutationPlan {
  // Findings mask secret-looking values; writing the mask back would destroy the real value.
  const masked = Object.entries(data)
    .filter(([, value]) => value.includes(MASK))
    .map(([key]) => key);
  if (masked.length) {
    throw ApplicationFailure.nonRetryable(
      `the new data for config map ${name} carries the redaction mask for ${masked.join(', ')}: those values were hidden in the findings and cannot be restored automatically; a human must set them`,
      FailureTypes.BadRequest,
    );
  }
  const shown = Object.fromEntries(Object.entries(data).map(([key, value]) => [key, redact.value(key, value)]));
  return {
    // People see the data as the findings show it: redacted.
    command: mutationCommand(service, { kind: 'patch-config-map', name, data: shown, ...(remove?.length ? { remove } : {}), restartedAt }),
    steps: [configMapStep(k, service.namespace, name, { data: () => data, ...(remove?.length ? { remove } : {}) }), restartStep(k, service, restartedAt)],
  };
}
