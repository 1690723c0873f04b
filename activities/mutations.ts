// previewMutation and applyMutation: guardrails first, then the verb's steps
// (each kind's guardrail and verb: the catalogue, mitigations.ts).
// Preview sends each write as a server-side dry run (dryRun=All) and describes
// the difference. Apply writes for real, recording the idempotency key and the
// approver on every object it writes; an object that already carries the key
// was written by an earlier attempt of this same action, so it is skipped.
import type { MutationPreview, MutationRequest, MutationResult } from '../workflows/domain.js';
import type { ActivityDeps } from './deps.js';
import { retryWrites } from './kube/call.js';
import { approvedByAnnotation, idempotencyKeyAnnotation, type Stamp } from './kube/mutation.js';
import { checkRequest, planMutation } from './mitigations.js';

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
  const { command, steps } = planMutation(k, request.service, request.action, deps.guardrails);
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
