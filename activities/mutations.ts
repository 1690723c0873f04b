// previewMutation and applyMutation: guardrails first, then the verb's steps
// (each kind's guardrail and verb: the catalogue, mitigations.ts).
// Preview sends each write as a server-side dry run (dryRun=All) and describes
// the difference. Apply writes for real, recording the idempotency key and the
// approver on every object it writes; an object that already carries the key
// was written by an earlier attempt of this same action, so it is skipped.
// Transient trouble (429, 5xx, no answer) fails the attempt: Temporal's retry
// policy (workflows/retry.ts) is the one layer that retries it, and the next
// attempt reads again and sees by its key a write of ours whose answer was lost.
// A 409 is not trouble but the API server's "read again" (the deployment
// controller's status writes cause one right after a rollout): the step reads and
// decides again in place, a few times, before it counts as a failed attempt.
import type { MutationPreview, MutationRequest, MutationResult } from '../workflows/domain.js';
import type { ActivityDeps } from './injected-deps.js';
import { isConflict } from './kube/call.js';
import { approvedByAnnotation, idempotencyKeyAnnotation, type Stamp } from './kube/mutation.js';
import { checkRequest, planMutation } from './mitigations.js';

interface Outcome {
  command: string;
  changes: string[];
  /** Every object already carried the key: nothing written by this call. */
  alreadyApplied: boolean;
  generation: number;
}

/** Reads again after a 409 at most this often in one attempt; then the 409 fails the attempt, and the policy retries it. */
const conflictRereads = 4;

async function run(deps: ActivityDeps, request: MutationRequest, dryRun: boolean): Promise<Outcome> {
  checkRequest(deps.guardrails, request);
  const k = deps.kube.clients(request.service.cluster);
  const { command, steps } = planMutation(k, request.service, request.action, deps.guardrails);
  const stamp: Stamp = { dryRun, annotations: { [idempotencyKeyAnnotation]: request.idempotencyKey, [approvedByAnnotation]: request.approvedBy } };
  const changes: string[] = [];
  let alreadyApplied = true;
  let generation = 0;
  for (const step of steps) {
    for (let reread = 0; ; reread++) {
      const prepared = await step.prepare();
      if (!dryRun && prepared.key === request.idempotencyKey) {
        // Written by an earlier attempt of this action (maybe one whose answer was lost).
        generation = prepared.generation;
        break;
      }
      try {
        const done = await prepared.write(stamp);
        changes.push(...done.changes);
        alreadyApplied = false;
        generation = done.generation;
        break;
      } catch (err) {
        if (!isConflict(err) || reread >= conflictRereads) throw err;
        await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
      }
    }
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
