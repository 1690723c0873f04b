// previewMutation and applyMutation: guardrails first, then the verb's steps.
// Preview sends each write as a server-side dry run (dryRun=All) and describes
// the difference. Apply writes for real, recording the idempotency key and the
// approver on every object it writes; an object that already carries the key
// was written by an earlier attempt of this same action, so it is skipped.
import type { MitigationAction, MutationPreview, MutationRequest, MutationResult, ServiceRef } from '../workflows/domain.js';
import type { ActivityDeps } from './deps.js';
import { checkRequest } from './guardrails.js';
import { retryWrites } from './kube/call.js';
import type { KubeClients } from './kube/cluster.js';
import { approvedByAnnotation, idempotencyKeyAnnotation, type MutationPlan, type Stamp } from './kube/mutation.js';
import { patchConfigMap } from './kube/patch-config-map.js';
import { restoreConfigMap } from './kube/restore-config-map.js';
import { rolloutRestart } from './kube/rollout-restart.js';
import { rolloutUndo } from './kube/rollout-undo.js';
import { scale } from './kube/scale.js';
import { setImage } from './kube/set-image.js';
import { setResources } from './kube/set-resources.js';
import { setServiceSelector } from './kube/set-service-selector.js';

function plan(deps: ActivityDeps, k: KubeClients, service: ServiceRef, action: MitigationAction): MutationPlan {
  switch (action.kind) {
    case 'rollout-undo':
      return rolloutUndo(k, service, action.toRevision, deps.guardrails);
    case 'rollout-restart':
      return rolloutRestart(k, service, action.restartedAt);
    case 'scale':
      return scale(k, service, action.replicas);
    case 'set-resources':
      return setResources(k, service, action.container, action.requests, action.limits);
    case 'set-image':
      return setImage(k, service, action.container, action.image);
    case 'patch-config-map':
      return patchConfigMap(k, service, action.name, action.data, action.restartedAt);
    case 'restore-config-map':
      return restoreConfigMap(k, service, action.name, action.keys, action.restartedAt);
    case 'set-service-selector':
      return setServiceSelector(k, service, action.service, action.selector);
  }
}

interface Outcome {
  command: string;
  changes: string[];
  /** Every object already carried the key: nothing written by this call. */
  alreadyApplied: boolean;
  generation: number;
}

async function run(deps: ActivityDeps, request: MutationRequest, dryRun: boolean): Promise<Outcome> {
  checkRequest(deps.guardrails, request);
  const k = deps.kube.clients(request.service.cluster);
  const { command, steps } = plan(deps, k, request.service, request.action);
  const stamp: Stamp = { dryRun, annotations: { [idempotencyKeyAnnotation]: request.idempotencyKey, [approvedByAnnotation]: request.approvedBy } };
  const changes: string[] = [];
  let alreadyApplied = true;
  let generation = 0;
  for (const step of steps) {
    // Set once a write was sent in this call: finding our key after that means
    // our own write landed though its answer was lost, not an earlier attempt.
    let sent = false;
    const done = await retryWrites(k, `${command}: writing ${step.target}`, async () => {
      const prepared = await step.prepare();
      if (!dryRun && prepared.key === request.idempotencyKey) {
        return { changes: sent ? [`${step.target} written (confirmed by its idempotency key)`] : [], generation: prepared.generation, skipped: !sent };
      }
      sent = true;
      return { ...(await prepared.write(stamp)), skipped: false };
    });
    changes.push(...done.changes);
    alreadyApplied &&= done.skipped;
    generation = done.generation;
  }
  return { command, changes, alreadyApplied, generation };
}

export async function previewMutation(deps: ActivityDeps, request: MutationRequest): Promise<MutationPreview> {
  const { command, changes } = await run(deps, request, true);
  return { command, changes, wouldChange: changes.length > 0 };
}

export async function applyMutation(deps: ActivityDeps, request: MutationRequest): Promise<MutationResult> {
  const outcome = await run(deps, request, false);
  deps.logger.info('mutation applied', {
    command: outcome.command,
    idempotencyKey: request.idempotencyKey,
    approvedBy: request.approvedBy,
    alreadyApplied: outcome.alreadyApplied,
    changes: outcome.changes,
  });
  return outcome;
}
