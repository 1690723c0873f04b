// previewMutation and applyMutation: guardrails first, then the verb's steps
// (each kind's guardrail and verb: the catalogue, mitigations.ts).
// Preview sends each write as a server-side dry run (dryRun=All) and describes
// the difference. Apply writes for real, recording the idempotency key and the
// approver on every object it writes; an object that already carries the key
// was written by an earlier attempt of this same action, so it is skipped.
// Transient trouble (429, 5xx, no answer) fails the attempt: Temporal's retry
// policy (workflows/retry.ts) is the one layer that retries it, and the next
// attempt reads again and sees by its key a write of ours whose answer was lost.
// An approved apply dry-runs again first: if the object changed so that the
// changes differ from the dry-run the approver saw, it writes nothing
// (ApprovedPreviewChanged) and the incident asks again with the new dry-run.
// A 409 is not trouble but the API server's "read again" (the deployment
// controller's status writes cause one right after a rollout): the step reads and
// decides again in place, a few times, before it counts as a failed attempt.
import { ApplicationFailure } from '@temporalio/common';
import { maxPreviewChanges, type MutationPreview, type MutationRequest, type MutationResult } from '../workflows/domain.js';
import { FailureTypes } from './types.js';
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

/**
 * `ownFirst`: a dry-run that, like an apply, counts a step whose object already carries this
 * action's key as written (ownSteps) instead of previewing it again.
 */
async function run(deps: ActivityDeps, request: MutationRequest, dryRun: boolean, ownFirst = false): Promise<Outcome & { ownSteps: number }> {
  checkRequest(deps.guardrails, request);
  const k = deps.kube.clients(request.service.cluster);
  const { command, steps } = planMutation(k, request.service, request.action, deps.guardrails);
  const stamp: Stamp = { dryRun, annotations: { [idempotencyKeyAnnotation]: request.idempotencyKey, [approvedByAnnotation]: request.approvedBy } };
  const changes: string[] = [];
  let alreadyApplied = true;
  let generation = 0;
  let ownSteps = 0;
  for (const step of steps) {
    for (let reread = 0; ; reread++) {
      const prepared = await step.prepare();
      if ((!dryRun || ownFirst) && prepared.key === request.idempotencyKey) {
        // Written by an earlier attempt of this action (maybe one whose answer was lost).
        generation = prepared.generation;
        ownSteps++;
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
  return { command, changes, alreadyApplied, generation, ownSteps };
}

/**
 * The approval was given for a dry-run: if a dry-run now shows other changes (someone scaled,
 * rolled out or edited the object meanwhile), nothing is written. Not when an earlier attempt
 * of this action wrote already: finishing that write is the retry, and it shows fewer changes.
 * Compared by changes, not resourceVersion: the deployment controller bumps that with every status write.
 */
async function refuseChangedPreview(deps: ActivityDeps, request: MutationRequest, approved: string[]): Promise<void> {
  const now = await run(deps, request, true, true);
  if (now.ownSteps > 0) return;
  const changes = now.changes.slice(0, maxPreviewChanges);
  if (JSON.stringify(changes) === JSON.stringify(approved)) return;
  const shown = (list: string[]) => (list.length ? list.join('; ') : 'no change');
  throw ApplicationFailure.create({
    type: FailureTypes.ApprovedPreviewChanged,
    nonRetryable: true,
    message: `the object changed since the dry-run that was approved: it showed ${shown(approved)}; a dry-run now shows ${shown(changes)}`,
    details: [{ command: now.command, changes, wouldChange: changes.length > 0 } satisfies MutationPreview],
  });
}

export async function previewMutation(deps: ActivityDeps, request: MutationRequest): Promise<MutationPreview> {
  const { command, changes } = await run(deps, request, true);
  return { command, changes, wouldChange: changes.length > 0 };
}

export async function applyMutation(deps: ActivityDeps, request: MutationRequest): Promise<MutationResult> {
  if (request.approvedChanges) await refuseChangedPreview(deps, request, request.approvedChanges);
  const { ownSteps: _, ...outcome } = await run(deps, request, false);
  deps.logger.info('mutation applied', {
    command: outcome.command,
    idempotencyKey: request.idempotencyKey,
    approvedBy: request.approvedBy,
    alreadyApplied: outcome.alreadyApplied,
    changes: outcome.changes,
  });
  return outcome;
}
