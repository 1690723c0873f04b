// The runbook's "Code Issues" fix, `kubectl set image deployment/X agent-manager=IMAGE`,
// as a plan step. Only a person knows which image fixes the code, so nothing in
// diagnose() or plan() proposes it: a person supplies the image (the proposeHotfix
// update, `incident hotfix`), and this turns that request into the step the
// lifecycle dry-runs and asks approval for, always of a human. An expired action a
// person proposes again (the repropose update) becomes a step here the same way.
import type { Findings } from './domain.js';
import type { IncidentData } from './model/snapshot.js';
import { mutationCommand } from './mitigations.js';
import type { PlanContext, PlanStep } from './plan.js';
import type { ActionRecord } from './records.js';

export type HotfixRequestData = NonNullable<IncidentData['hotfix']>;

/** An expired action proposed again by a person: the same change, asked of a human again (after a fresh look and dry-run). */
export function reproposalStep(request: NonNullable<IncidentData['reproposal']>, actions: readonly ActionRecord[]): PlanStep | { refused: string } {
  const original = actions.find((a) => a.n === request.action);
  if (!original) return { refused: `action #${request.action}, proposed again by ${request.by}, is not in this incident` };
  return {
    kind: 'mitigate',
    action: original.action,
    command: original.command,
    why: `${original.why}; proposed again by ${request.by} after the approval of #${original.n} expired${request.comment ? ` (${request.comment})` : ''}`.slice(
      0,
      1000,
    ),
    approval: 'human',
  };
}

export function hotfixStep(request: HotfixRequestData, findings: Findings, ctx: Pick<PlanContext, 'service'>): PlanStep | { refused: string } {
  const containers = findings.workload.containers.map((c) => c.name);
  const container = request.container ?? containers[0];
  if (container === undefined || !containers.includes(container)) {
    return {
      refused: `hotfix image ${request.image} from ${request.by}: deployment ${ctx.service.deployment} has no container ${container ?? '(none)'} (containers: ${containers.join(', ') || 'none'})`,
    };
  }
  const action = { kind: 'set-image', container, image: request.image } as const;
  return {
    kind: 'mitigate',
    action,
    command: mutationCommand(ctx.service, action),
    why: `runbook Resolution step 2, "Code Issues": deploy hotfix ${request.image}, supplied by ${request.by}${request.comment ? ` (${request.comment})` : ''}`,
    approval: 'human',
    requestedBy: request.by,
  };
}
